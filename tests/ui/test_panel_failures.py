"""The panel never says « enregistré » when the write failed, and shows the box as it is on disk."""

from __future__ import annotations

import errno
import html
from pathlib import Path

import pytest

from analyse.errors import CodingsError
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record
from analyse.model.corpus import load_corpus
from analyse.ui.panel import CodingPanel


@pytest.fixture
def panel(project: Path):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    store.append("B", [coding_record(corpus.segments_of("le-mene-test")[0], "ENG.2", "B", memo="ancien")])
    p = CodingPanel("le-mene-test", "B", corpus=corpus, codebook=load_codebook(project / "codebook" / "balises.yaml"),
                    store=store)
    p.widget()
    return p


FAILURES = {
    "verrou": CodingsError("le fichier du codeur B est verrouillé depuis plus de 60 s", "B.jsonl",
                           hint="un autre programme l'écrit"),
    "droits": PermissionError(errno.EACCES, "Permission denied", "corpus/codings/B.jsonl"),
    "disque-plein": OSError(errno.ENOSPC, "No space left on device"),
    "autre": RuntimeError("panne"),
}
EXPECTED = {"verrou": "verrouillé", "droits": "pas le droit d'écrire", "disque-plein": "le disque est plein",
            "autre": "rien n'a été enregistré"}


def _failing(exc):
    def write(*args, **kwargs):
        raise exc
    return write


@pytest.mark.parametrize("kind", FAILURES)
def test_ticking_a_box_that_cannot_be_saved(panel, kind, monkeypatch):
    before = panel.store.path("B").read_bytes()
    monkeypatch.setattr(panel.store, "update_many", _failing(FAILURES[kind]))
    panel.checkboxes["VAL.1"].value = True          # what a click does
    assert panel.checkboxes["VAL.1"].value is False  # back to the state on disk
    assert "Non enregistré" in panel.status.value and EXPECTED[kind] in html.unescape(panel.status.value)
    assert "Enregistré au fur" not in panel.status.value
    assert panel.codes() == ["ENG.2"] and panel.store.path("B").read_bytes() == before


@pytest.mark.parametrize("kind", FAILURES)
def test_unticking_and_memo_that_cannot_be_saved(panel, kind, monkeypatch):
    monkeypatch.setattr(panel.store, "update_many", _failing(FAILURES[kind]))
    panel.checkboxes["ENG.2"].value = False
    assert panel.checkboxes["ENG.2"].value is True
    assert "Non enregistré" in panel.status.value
    box = panel.memos.children[0]
    box.value = "nouveau"
    assert "Non enregistré" in panel.status.value
    assert panel.memo("ENG.2") == "ancien" and panel.memos.children[0].value == "ancien"


def test_unreadable_coder_file_is_a_french_one_liner(project: Path):
    corpus = load_corpus(project / "corpus")
    path = project / "corpus" / "codings" / "B.jsonl"
    path.write_bytes(b'{"memo": "caf\xe9"}\n')
    with pytest.raises(CodingsError, match="n'est pas en UTF-8") as info:
        CodingPanel("le-mene-test", "B", corpus=corpus, codebook=project / "codebook" / "balises.yaml")
    assert info.value.path.endswith("B.jsonl") and info.value.line == 1
