"""The Jupyter coding panel, driven without a browser."""

from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as widgets
import pytest

from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, load_codings, segment_codes
from analyse.model.corpus import load_corpus
from analyse.errors import UsageError
from analyse.ui.panel import CodingPanel, coding_panel
from analyse.coding.suggestions import SuggestionFile


@pytest.fixture
def setup(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    seg = {s.id: s for s in corpus.segments}
    # coder A's file must never change while B codes
    store.append("A", [coding_record(seg["le-mene-test#1"], "ENG.2", "A")])
    return corpus, book, store, seg, store.path("A").read_bytes()


def _lines(store, coder):
    return store.records(coder)      # the replayed state (the log also holds events)


def _panel(setup, **kw):
    corpus, book, store, _, _ = setup
    return CodingPanel("le-mene-test", "B", corpus=corpus, codebook=book, store=store, **kw)


def test_toggle_on_writes_a_line_and_off_removes_it(setup):
    corpus, book, store, seg, a_bytes = setup
    panel = _panel(setup)
    panel.widget()
    panel.go(1)
    panel.checkboxes["COOP.2"].value = True          # as a click in the browser
    (rec,) = _lines(store, "B")
    s = seg["le-mene-test#2"]
    assert (rec["code"], rec["start"], rec["end"], rec["quote"], rec["origin"]) == ("COOP.2", s.start, s.end,
                                                                                   s.text, "human")
    assert "COOP.2" in panel.definition.value and "Définition de COOP.2" in panel.definition.value
    panel.toggle("ECH")
    assert segment_codes(load_codings(corpus, book, store.folder), corpus, "B", covered_only=False) == {
        "le-mene-test#2": {"COOP.2", "ECH"}}
    panel.checkboxes["COOP.2"].value = False
    assert [r["code"] for r in _lines(store, "B")] == ["ECH"]
    assert store.path("A").read_bytes() == a_bytes


def test_memo_is_saved_and_reloaded(setup):
    corpus, book, store, _, a_bytes = setup
    panel = _panel(setup)
    panel.widget()
    panel.toggle("VAL.3")
    (box,) = panel.memos.children
    box.value = "l'élue parle <du> budget"
    (rec,) = _lines(store, "B")
    assert rec["memo"] == "l'élue parle <du> budget" and rec["code"] == "VAL.3"
    again = _panel(setup)
    assert again.memo("VAL.3") == "l'élue parle <du> budget"
    with pytest.raises(UsageError):
        again.set_memo("ECH", "pas coché")
    assert store.path("A").read_bytes() == a_bytes


def test_valence_is_chosen_in_the_panel_and_saved(setup):
    corpus, book, store, _, a_bytes = setup
    panel = _panel(setup)
    panel.widget()
    panel.toggle("VAL.3")
    (menu,) = panel.valences.children
    assert menu.value == "à l'œuvre" and menu.description == "VAL.3"
    menu.value = "contestée"
    (rec,) = _lines(store, "B")
    assert rec["code"] == "VAL.3" and rec["valence"] == "contestée"
    again = _panel(setup)
    again.widget()
    assert again.valence("VAL.3") == "contestée" and again.valences.children[0].value == "contestée"
    again.valences.children[0].value = "à l'œuvre"          # back to the default: the field goes away
    (rec,) = _lines(store, "B")
    assert "valence" not in rec
    assert store.path("A").read_bytes() == a_bytes


def test_navigation_and_next_uncoded(setup):
    panel = _panel(setup)
    panel.widget()
    panel.toggle("ENG.1")                  # segment 1 coded
    panel.go(2)
    panel.toggle("ENG.1")                  # segment 3 coded
    panel.go(0)
    assert panel.next_uncoded().id == "le-mene-test#2"
    panel.b_next.click()
    assert panel.segment.id == "le-mene-test#3" and "Segment 3 / 3" in panel.header.value
    panel.b_next.click()                   # stays on the last one
    assert panel.index == 2
    panel.b_prev.click()
    assert panel.index == 1
    panel.toggle("ENG.1")
    assert panel.next_uncoded() is None and panel.index == 1
    panel.b_uncoded.click()
    assert "chaque segment de ce document a un code" in panel.status.value


def test_segment_text_is_escaped_and_checkboxes_follow_the_segment(setup, project: Path):
    corpus, book, store, seg, _ = setup
    panel = _panel(setup)
    panel.widget()
    panel.toggle("SYS.1")
    panel.b_next.click()
    assert not panel.checkboxes["SYS.1"].value
    panel.b_prev.click()
    assert panel.checkboxes["SYS.1"].value
    assert "<b>P1 (élue)</b> · rôle : elu" in panel.text.header_html
    panel.segments[1] = panel.segments[1].__class__(**{**panel.segments[1].__dict__, "text": "<script>x</script>"})
    panel.refresh()
    # the neighbours are HTML, escaped; the segment itself is text (the browser sets textContent)
    assert "<script>" not in panel.text.after_html and "&lt;script&gt;" in panel.text.after_html
    panel.next()
    assert panel.text.text == "<script>x</script>" and "&lt;script&gt;" not in panel.text.text
    # search: accents and case ignored, other codes hidden
    shown = panel.filter_codes("définition de coop.2")
    assert shown == ["COOP.2"] and panel.checkboxes["ENG.1"].layout.display == "none"
    assert panel.filter_codes("") == list(book.codes)


def test_suggestions_accept_writes_a_human_coding_reject_does_not(setup, tmp_path: Path):
    corpus, book, store, seg, a_bytes = setup
    s = seg["le-mene-test#1"]
    sf = SuggestionFile(tmp_path / "sugg" / "le-mene.jsonl")
    base = {"doc": s.doc, "start": s.start, "end": s.end, "quote": s.text, "coder": "rule",
            "at": "2026-01-01T00:00:00+00:00", "origin": "rule", "memo": "règles : « x »", "segment": s.id}
    sf.write([dict(base, code="ENG.3", score=0.8), dict(base, code="VAL.1", score=0.4)])
    panel = _panel(setup, suggestions=tmp_path / "sugg" / "le-mene.jsonl")
    panel.widget()
    assert [r["code"] for r in panel.pending_suggestions()] == ["ENG.3", "VAL.1"]
    # shown only when the coder asks (the button, or the key s)
    assert "sur demande" in panel.suggestions.children[0].value
    panel.b_suggest.click()
    assert len(panel.suggestions.children) == 2
    reject = panel.suggestions.children[1].children[1]
    assert reject.description == "Rejeter"
    reject.click()                          # VAL.1 rejected
    assert not store.path("B").exists()
    accept = panel.suggestions.children[0].children[0]
    assert accept.description == "Accepter"
    accept.click()                          # ENG.3 accepted
    (rec,) = _lines(store, "B")
    # accepted from a suggestion: model-assisted (issue 19), with the suggestion's score
    assert (rec["code"], rec["origin"], rec["score"], rec["start"]) == ("ENG.3", "model-assisted", 0.8, s.start)
    assert panel.codes() == ["ENG.3"] and panel.checkboxes["ENG.3"].value
    assert panel.pending_suggestions() == []
    assert "Aucune suggestion" in panel.suggestions.children[0].value
    assert set(sf.decisions()["decision"]) == {"accepted", "rejected"}
    assert store.path("A").read_bytes() == a_bytes


def test_document_termine_records_coverage(setup):
    corpus, book, store, seg, a_bytes = setup
    box = coding_panel("le-mene-test", "B", corpus=corpus, codebook=book, store=store)
    assert isinstance(box, widgets.VBox)
    panel = box.panel
    panel.toggle("MGT")
    panel.b_finish.click()
    assert _lines(store, "B")[-1]["type"] == "coverage"
    codings = load_codings(corpus, book, store.folder)
    assert list(codings.coverage["doc"]) == ["le-mene-test"]
    assert segment_codes(codings, corpus, "B") == {"le-mene-test#1": {"MGT"}, "le-mene-test#2": set(),
                                                   "le-mene-test#3": set()}
    assert "document terminé" in panel.header.value
    assert store.path("A").read_bytes() == a_bytes


def test_bad_arguments_are_usage_errors(setup):
    corpus, book, store, _, _ = setup
    with pytest.raises(UsageError, match="document inconnu « nope »"):
        CodingPanel("nope", "B", corpus=corpus, codebook=book, store=store)
    with pytest.raises(UsageError, match="« rule » est un codeur automatique"):
        CodingPanel("le-mene-test", "rule", corpus=corpus, codebook=book, store=store)
    panel = CodingPanel("le-mene-test", "B", corpus=corpus, codebook=book, store=store)
    with pytest.raises(UsageError, match="code inconnu « ENG.99 »"):
        panel.toggle("ENG.99")
    assert not store.path("B").exists()


def test_valence_is_saved_reloaded_and_checked(setup):
    corpus, book, store, _, a_bytes = setup
    panel = _panel(setup)
    panel.widget()
    panel.toggle("ENG.1")
    panel.set_valence("ENG.1", "mise en échec")
    (rec,) = _lines(store, "B")
    assert rec["valence"] == "mise en échec"
    again = _panel(setup)
    assert again.valence("ENG.1") == "mise en échec"
    again.set_valence("ENG.1", "à l'œuvre")
    assert "valence" not in _lines(store, "B")[0]
    with pytest.raises(UsageError, match="valence inconnue"):
        again.set_valence("ENG.1", "bof")
    with pytest.raises(UsageError, match="cocher le code"):
        again.set_valence("SYS.1", "contestée")
    assert store.path("A").read_bytes() == a_bytes


def test_chooser_never_defaults_to_a_real_coder(setup):
    from analyse.errors import UsageError
    from analyse.ui.panel import PanelChooser

    corpus, book, store, _, _ = setup
    chooser = PanelChooser(corpus=corpus, codebook=book, store=store)
    doc_id = chooser.documents()[0][1]
    with pytest.raises(UsageError, match="codeur"):
        chooser.open(doc_id, "")
    with pytest.raises(UsageError, match="document"):
        chooser.open(None, "B")
    assert chooser.open(doc_id, "Z").coder == "Z"
    chooser.widget()   # builds without a browser


def test_timecodes_are_shown_to_go_back_to_the_recording(project: Path):
    from tests.helpers import FRONT_MATTER, write_doc

    body = ("**P1 (élue)** : [00:03:12] On commence par le tour de table.\n\n"
            "[00:04:05-00:04:30] Et là, on parle du jardin.\n")
    write_doc(project / "corpus", "le-mene", "le-mene-enregistre",
              FRONT_MATTER.format(id="le-mene-enregistre", territory="le-mene") + body)
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    panel = CodingPanel("le-mene-enregistre", "B", corpus=corpus, codebook=book,
                        store=CodingStore(project / "corpus" / "codings"))
    panel.widget()
    assert "enregistrement : 00:03:12" in panel.text.header_html
    panel.next()
    assert "enregistrement : 00:04:05–00:04:30" in panel.text.header_html
