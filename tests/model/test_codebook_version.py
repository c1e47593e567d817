"""Every new coding records the codebook version it was made against; older lines stay valid."""

from __future__ import annotations

import json
from pathlib import Path

from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, load_codings
from analyse.model.corpus import load_corpus
from analyse.ui.panel import CodingPanel


def test_coding_record_has_the_version_only_when_given(project: Path):
    seg = load_corpus(project / "corpus").segments[0]
    assert "codebook_version" not in coding_record(seg, "ENG.1", "A")
    assert coding_record(seg, "ENG.1", "A", codebook_version="1.2.0")["codebook_version"] == "1.2.0"


def test_panel_writes_the_version_and_old_lines_still_load(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    store.append("B", [coding_record(corpus.segments[1], "ENG.2", "B")])      # an older line, no version
    panel = CodingPanel("le-mene-test", "B", corpus=corpus, codebook=book, store=store)
    panel.toggle("SYS.1")
    lines = [json.loads(line) for line in store.read_lines("B")]
    assert "codebook_version" not in lines[0] and lines[1]["codebook_version"] == book.version == "0.0.1"
    codings = load_codings(corpus, book, store.folder)
    assert codings.problems.errors == [] and len(codings.frame) == 2


def test_sheet_import_records_the_version(project: Path, tmp_path: Path):
    import csv

    from analyse.exchange.sheet import COLUMNS, export_sheet, import_sheet

    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    out = tmp_path / "b.csv"
    export_sheet(corpus, book, store, "B", out, docs=["malaunay-test"])
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[2][COLUMNS.index("codes")] = "VAL.2"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    import_sheet(out, "B", corpus, book, store)
    (rec,) = [r for r in store.records("B") if r.get("type") != "coverage"]
    assert rec["codebook_version"] == book.version
