"""The workbench driven from pytest: drop-downs for document and coder, context, navigation, writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyse.errors import UsageError
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record
from analyse.model.corpus import load_corpus
from analyse.ui.workbench import NEW_CODER, Workbench

REGISTRY = """\
coders:
  - {id: A, who: "Un modèle", kind: llm, since: 2026-11-20, blind: false, method: "consigne"}
  - {id: C, who: "Claire", kind: human, since: 2026-11-30, blind: false, method: "panneau"}
  - {id: D, who: "Dominique", kind: human, since: 2026-11-30, blind: true, method: "panneau, à l'aveugle"}
"""


@pytest.fixture
def bench(project: Path):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    store.append("A", [coding_record(corpus.segments[0], "ENG.2", "A")])
    store.append("E", [coding_record(corpus.segments[0], "ENG.3", "E")])
    (project / "corpus" / "codings" / "coders.yaml").write_text(REGISTRY, encoding="utf-8")
    book = load_codebook(project / "codebook" / "balises.yaml")
    b = Workbench(corpus, book, store, suggestions=project / "sugg.jsonl")
    b.widget()
    return b, store


def test_nothing_is_chosen_by_default_and_nothing_written_before_a_coder(bench):
    b, store = bench
    assert b.doc_menu.value is None and b.coder_menu.value is None and b.panel is None
    b.doc_menu.value = "le-mene-test"                      # as a choice in the browser
    assert b.panel is None and b.area.children == ()
    assert "le codeur" in b.message.value and "rien n'est écrit" in b.message.value
    # hand coders only: A is a language model in the registry; E's file is not described
    assert [cid for _, cid in b.coders()] == ["C", "D", "E"]
    assert [v for _, v in b.coder_menu.options][-1] == NEW_CODER
    assert sorted(p.name for p in store.folder.glob("*.jsonl")) == ["A.jsonl", "E.jsonl"]


def test_choose_document_and_coder_then_code_with_context_and_navigation(bench):
    b, store = bench
    b.doc_menu.value = "le-mene-test"
    b.coder_menu.value = "C"
    panel = b.panel
    assert panel is not None and panel.coder == "C" and b.area.children == (panel.widget(),)
    assert panel.suggestion_file is not None                   # C is not blind
    segs = panel.segments
    panel.b_next.click()                                       # segment 2: turns before and after shown
    assert segs[0].text in panel.text.before_html and segs[2].text in panel.text.after_html
    assert panel.text.text == segs[1].text
    assert "avant · <b>P1" in panel.text.before_html and "après · <b>P2" in panel.text.after_html
    panel.checkboxes["ECH"].value = True
    (rec,) = [json.loads(line) for line in store.read_lines("C")]
    assert (rec["coder"], rec["code"], rec["doc"]) == ("C", "ECH", "le-mene-test")
    assert rec["codebook_version"] == "0.0.1"
    panel.b_prev.click()
    assert panel.index == 0 and panel.text.before_html == ""
    panel.b_uncoded.click()
    assert panel.segment.id == "le-mene-test#3"
    b.doc_menu.value = "malaunay-test"                         # another document, same coder
    assert b.panel.doc.id == "malaunay-test" and b.panel.coder == "C"


def test_blind_coder_gets_no_suggestions_and_llm_or_machine_coders_are_refused(bench):
    b, store = bench
    b.choose_document("le-mene-test")
    b.coder_menu.value = "D"
    assert b.panel.suggestion_file is None and "à l'aveugle" in b.message.value
    with pytest.raises(UsageError, match="llm"):
        b.choose_coder("A")
    with pytest.raises(UsageError, match="automatique"):
        b.choose_coder("rule")
    assert b.coder == "D"


def test_new_coder_typed_in(bench):
    b, store = bench
    b.doc_menu.value = "le-mene-test"
    b.coder_menu.value = NEW_CODER
    assert b.panel is None and b.new_coder.layout.display is None
    b.new_coder.value = "mauvais nom!"
    b.b_new_coder.click()
    assert "Erreur" in b.message.value and b.panel is None
    b.new_coder.value = "F"
    b.b_new_coder.click()
    assert b.coder == "F" and b.coder_menu.value == "F" and b.panel.coder == "F"
    b.panel.toggle("SYS.2")
    assert [json.loads(line)["code"] for line in store.read_lines("F")] == ["SYS.2"]


def test_memos_on_segment_document_and_project_are_shown_and_signed(bench, project: Path):
    b, store = bench
    with pytest.raises(UsageError, match="avant d'écrire un mémo"):
        b.add_memo("trop tôt")
    b.choose_document("le-mene-test")
    b.choose_coder("C")
    assert b.memo_box.layout.display is None and "Aucun mémo" in b.memo_list.value
    b.memo_text.value = "Même récit qu'à Loos ?"
    b.b_memo.click()                                           # on the current segment, signed C
    b.memo_on.value = "project"
    b.memo_text.value = "Réunion d'équipe : revoir ENG.2."
    b.b_memo.click()
    lines = [json.loads(line) for line in (project / "corpus" / "memos.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(m["target_type"], m["target"], m["author"]) for m in lines] == [
        ("segment", "le-mene-test#1", "C"), ("project", "", "C")]
    assert "Même récit" in b.memo_list.value and "Réunion" in b.memo_list.value
    b.panel.b_next.click()                                     # another segment: its memos only, plus project
    assert "Même récit" not in b.memo_list.value and "Réunion" in b.memo_list.value
    assert b.memo_text.value == ""
