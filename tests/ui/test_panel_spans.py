"""Coding a passage within a segment: selected in the browser (the view's synced state) or by sentences,
written with its offsets and quote, and read by the rest of the toolkit as a coding of its segment."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyse.errors import UsageError
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, load_codings, segment_codes
from analyse.model.corpus import load_corpus
from analyse.analysis.retrieval import retrieve
from analyse.reliability.agreement import reliability_data
from analyse.ui.panel import CodingPanel, sentence_spans
from tests.helpers import FRONT_MATTER, run_cli, write_doc

BODY = ("**P1 (élue)** : On a ouvert la cantine aux producteurs du coin. Les parents ont suivi, "
        "et maintenant ils siègent au comité.\n\n"
        "**P2 (DGS)** : Le budget, lui, n'a pas bougé.\n")


@pytest.fixture
def setup(project: Path):
    write_doc(project / "corpus", "le-mene", "le-mene-cantine",
              FRONT_MATTER.format(id="le-mene-cantine", territory="le-mene") + BODY)
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    panel = CodingPanel("le-mene-cantine", "B", corpus=corpus, codebook=book, store=store)
    panel.widget()
    return panel, corpus, book, store


def _lines(store, coder):
    return store.records(coder)       # the replayed state of the coder's log (un-ticking appends an event)


def test_selection_in_the_browser_then_a_ticked_code_writes_the_passage(setup):
    panel, corpus, book, store = setup
    seg = panel.segment
    phrase = "Les parents ont suivi"
    a = seg.text.index(phrase)
    # the browser sets the view's synced state; the selection took the space before: trimmed
    panel.text.selection = [a - 1, a + len(phrase)]
    assert panel.selection == (a, a + len(phrase)) and panel.text.selection == [a, a + len(phrase)]
    assert phrase in panel.selection_info.value
    panel.checkboxes["ENG.2"].value = True                     # a click on the code
    (rec,) = _lines(store, "B")
    assert (rec["code"], rec["start"], rec["end"], rec["quote"]) == ("ENG.2", seg.start + a, seg.start + a + len(phrase),
                                                                    phrase)
    assert panel.doc.body[rec["start"]:rec["end"]] == phrase
    # the passage is highlighted in the view and listed under it; the selection is spent
    assert panel.text.spans == [{"start": a, "end": a + len(phrase), "codes": ["ENG.2"], "color": "#ffe58a",
                                 "title": "ENG.2 — Libellé ENG.2"}]
    assert panel.selection is None and panel.text.selection == []
    assert panel.checkboxes["ENG.2"].value is True
    assert "Les parents ont suivi" in panel.passage_list.children[0].children[1].value
    # a whole-segment code beside it is not a passage
    panel.checkboxes["VAL.1"].value = True
    assert [p["code"] for p in panel.passages()] == ["ENG.2"] and panel.codes() == ["ENG.2", "VAL.1"]
    # read again from disk by a new panel: the same passage
    again = CodingPanel("le-mene-cantine", "B", corpus=corpus, codebook=book, store=store)
    assert [(p["code"], p["start"], p["end"]) for p in again.passages()] == [("ENG.2", a, a + len(phrase))]
    # its « Retirer » button removes that passage only
    panel.passage_list.children[0].children[0].click()
    assert [r["code"] for r in _lines(store, "B")] == ["VAL.1"] and panel.passages() == []


def test_toggle_with_a_span_switches_that_passage_and_unticking_removes_every_coding(setup):
    panel, corpus, book, store = setup
    seg = panel.segment
    assert panel.toggle("SYS.1", span=(0, 10)) is True
    assert panel.toggle("SYS.1", span=(20, 30)) is True
    assert panel.toggle("SYS.1", span=(0, 10)) is False        # the same passage again: off
    (rec,) = _lines(store, "B")
    assert (rec["start"], rec["end"], rec["quote"]) == (seg.start + 20, seg.start + 30, seg.text[20:30])
    panel.toggle("SYS.1", span=(0, 10))
    panel.toggle("SYS.1")                                      # whole segment: off takes every passage
    assert not _lines(store, "B") and panel.codes() == []
    # the whole text selected is a whole-segment coding
    panel.toggle("SYS.1", span=(0, len(seg.text)))
    (rec,) = _lines(store, "B")
    assert (rec["start"], rec["end"]) == (seg.start, seg.end) and panel.passages() == []
    for bad in [(5, 5), (-1, 4), (0, len(seg.text) + 1), ("a", 2), (3,)]:
        with pytest.raises(UsageError, match="hors du segment|espaces"):
            panel.toggle("SYS.2", span=bad)
    with pytest.raises(UsageError, match="espaces"):
        panel.select(seg.text.index(" "), seg.text.index(" ") + 1)
    assert [r["code"] for r in _lines(store, "B")] == ["SYS.1"]


def test_sentences_are_the_keyboard_friendly_way_to_pick_a_passage(setup):
    panel, corpus, book, store = setup
    seg = panel.segment
    assert sentence_spans("On commence. Et là, le jardin !") == [(0, 12), (13, 31)]
    first, second = panel.sentences()
    assert seg.text[slice(*first)] == "On a ouvert la cantine aux producteurs du coin."
    assert seg.text[slice(*second)].startswith("Les parents") and seg.text[slice(*second)].endswith("comité.")
    assert len(panel.sentence_buttons.children) == 2
    panel.sentence_buttons.children[1].value = True            # the button « 2 »
    assert panel.selection == second and panel.text.selection == list(second)
    panel.code_selection("COOP.1")
    (rec,) = _lines(store, "B")
    assert rec["quote"] == seg.text[slice(*second)]
    assert panel.sentence_buttons.children[1].value is False   # the selection is spent
    with pytest.raises(UsageError, match="phrase n° 3"):
        panel.select_sentences([3])
    assert panel.select_sentences([1, 2]) is None              # both sentences: the whole segment


def test_passages_are_read_by_load_codings_validate_retrieve_and_agreement_as_their_segment(setup, capsys):
    panel, corpus, book, store = setup
    project = Path(corpus.root).parent
    seg = panel.segment
    panel.toggle("ENG.2", span=(5, 25))
    panel.finish()
    # coder C codes the same segment as a whole: the two agree on ENG.2 for that segment
    other = CodingPanel("le-mene-cantine", "C", corpus=corpus, codebook=book, store=store)
    other.toggle("ENG.2")
    other.finish()
    codings = load_codings(corpus, book, store.folder)
    assert not list(codings.problems)
    row = codings.frame[codings.frame["coder"] == "B"].iloc[0]
    assert (row["segment"], row["start"], row["end"]) == (seg.id, seg.start + 5, seg.start + 25)
    assert segment_codes(codings, corpus, "B")[seg.id] == {"ENG.2"}
    found = retrieve(corpus, book, codings, "ENG.2", coders=["B"])
    assert list(zip(found["segment"], found["quote"])) == [(seg.id, seg.text[5:25])]
    rel = reliability_data(codings, corpus, ["B", "C"], codebook=book)
    code_i, unit_i = rel.codes.index("ENG.2"), rel.units.index(seg.id)
    assert list(rel.values[code_i, :, unit_i]) == [1, 1]
    code, out = run_cli(project, "validate", capsys=capsys)
    assert code == 0 and "0 erreur(s)" in out.out, out.out


def test_a_passage_whose_text_moved_is_still_shown_in_its_segment(setup):
    panel, corpus, book, store = setup
    seg = panel.segment
    rec = coding_record(seg, "ENG.3", "B", start=seg.start + 5, end=seg.start + 25, body=panel.doc.body)
    store.append("B", [dict(rec, start=rec["start"] + 3, end=rec["end"] + 3)])   # offsets off, quote right
    panel.reload()
    (p,) = panel.passages()
    assert (p["start"], p["end"]) == (5, 25)
