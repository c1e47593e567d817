"""Coding stripes: the table computed from codings, its HTML, and the panel's stripe view."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, load_codings
from analyse.model.corpus import load_corpus
from analyse.ui.panel import CodingPanel
from analyse.ui.stripes import STRIPE_COLUMNS, _covered_length, coding_stripes, dimension_colors, stripes_html


def test_covered_length_is_the_union_of_intervals():
    assert _covered_length([]) == 0
    assert _covered_length([(0, 10), (5, 12), (20, 25)]) == 17
    assert _covered_length([(3, 4), (0, 10)]) == 10


def test_stripes_of_a_coder_from_load_codings(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    s1, s2, s3 = corpus.segments_of("le-mene-test")
    body = corpus.documents["le-mene-test"].body
    store.append("A", [
        coding_record(s1, "VAL.2", "A"),
        coding_record(s1, "ENG.1", "A"),
        coding_record(s3, "ENG.1", "A", start=s3.start, end=s3.start + 4, body=body),
        coding_record(s3, "ENG.1", "A", start=s3.start + 2, end=s3.start + 8, body=body),
    ])
    store.append("B", [coding_record(s2, "SYS.1", "B")])        # another coder: not in A's stripes
    frame = load_codings(corpus, book, store.folder).frame
    stripes = coding_stripes(frame[frame["coder"] == "A"], corpus.segments_of("le-mene-test"), book)
    assert list(stripes.columns) == STRIPE_COLUMNS
    # codebook order (ENG before VAL), then segment
    assert list(zip(stripes["code"], stripes["n"], stripes["codings"], stripes["span"])) == [
        ("ENG.1", 1, 1, False), ("ENG.1", 3, 2, True), ("VAL.2", 1, 1, False)]
    passage = stripes.iloc[1]
    assert passage["coverage"] == round(8 / len(s3.text), 4) and passage["dimension"] == "ENG"
    assert stripes.iloc[0]["coverage"] == 1.0
    # the same counts as a pandas recomputation
    a = frame[frame["coder"] == "A"]
    assert dict(a.groupby(["code", "segment"]).size()) == {
        (c, s): n for c, s, n in zip(stripes["code"], stripes["segment"], stripes["codings"])}
    page = stripes_html(stripes, 3, book, current=3)
    colors = dimension_colors(book)
    assert page.count("data-code=") == 3 and page.count("balises-stripe-span") == 1
    assert f"background:{colors['ENG']}" in page and f"background:{colors['VAL']}" in page
    assert "segment 3 · ENG.1 — Libellé ENG.1 · passage (" in page
    assert "tout le segment" in page
    assert stripes_html(stripes.iloc[0:0], 3, book).count("Aucun codage") == 1


def test_the_panel_draws_its_stripes_as_it_codes(project: Path):
    panel = CodingPanel("le-mene-test", "B", corpus=load_corpus(project / "corpus"),
                        codebook=load_codebook(project / "codebook" / "balises.yaml"),
                        store=CodingStore(project / "corpus" / "codings"))
    panel.widget()
    assert "Aucun codage" in panel.stripe_view.value
    panel.toggle("COOP.1")
    panel.next()
    panel.toggle("COOP.1", span=(0, 5))
    table = panel.stripes()
    assert list(zip(table["code"], table["n"], table["span"])) == [("COOP.1", 1, False), ("COOP.1", 2, True)]
    assert "data-code='COOP.1' data-n='2'" in panel.stripe_view.value
    # a click on a stripe cell (or a segment number) in the browser goes to that segment
    panel.stripe_view._handle_custom_msg({"event": "go", "n": 3}, [])
    assert panel.index == 2 and "Segment 3 / 3" in panel.header.value
    panel.stripe_view._handle_custom_msg({"event": "go", "n": 1}, [])
    assert panel.index == 0
    assert isinstance(table, pd.DataFrame)
