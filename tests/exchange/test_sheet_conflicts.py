"""Sheet and reconcile imports never erase, without a word, codings made since the export."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from analyse.model.codings import CodingStore, coding_record, coverage_record
from analyse.model.corpus import load_corpus
from tests.helpers import run_cli


def _store(project: Path):
    return load_corpus(project / "corpus"), CodingStore(project / "corpus" / "codings")


def _export(project: Path, name: str = "f.xlsx") -> Path:
    assert run_cli(project, "sheet", "export", "--coder", "A", "--territory", "le-mene", "--out", name)[0] == 0
    return project / name


def _codes_cell(path: Path, row: int, value):
    wb = load_workbook(path)
    ws = wb["segments"]
    col = [c.value for c in ws[1]].index("codes") + 1
    ws.cell(row=row, column=col, value=value)
    wb.save(path)


def test_codings_added_after_export_stop_the_import_and_are_listed(project: Path, capsys):
    corpus, store = _store(project)
    segs = corpus.segments_of("le-mene-test")
    store.append("A", [coding_record(segs[0], "ENG.1", "A"), coverage_record("le-mene-test", "A")])
    sheet = _export(project)
    # meanwhile, in the panel: a new coding, and a memo rewritten
    store.append("A", [coding_record(segs[1], "VAL.2", "A", memo="vu en atelier")])
    old = store.records("A")[0]
    store.replace("A", [old], [dict(old, memo="nouveau mémo")])
    before = store.path("A").read_bytes()
    code, out = run_cli(project, "sheet", "import", str(sheet), "--coder", "A", capsys=capsys)
    assert code == 1
    assert "VAL.2 de le-mene-test#2" in out.err and "ENG.1 de le-mene-test#1" in out.err
    assert "après l'export de cette feuille" in out.err and "--force" in out.err
    assert store.path("A").read_bytes() == before
    code, out = run_cli(project, "sheet", "import", str(sheet), "--coder", "A", "--force", capsys=capsys)
    assert code == 0
    assert {r["code"] for r in store.records("A") if r.get("type") != "coverage"} == {"ENG.1"}


def test_removals_decided_in_the_sheet_still_go_through(project: Path, capsys):
    corpus, store = _store(project)
    segs = corpus.segments_of("le-mene-test")
    store.append("A", [coding_record(segs[0], "ENG.1", "A")])
    sheet = _export(project)
    store.append("A", [coding_record(segs[2], "VAL.2", "A")])   # added since, on another row, kept by the sheet?
    _codes_cell(sheet, 2, "")                                     # the coder removes ENG.1 in the sheet
    code, out = run_cli(project, "sheet", "import", str(sheet), "--coder", "A", capsys=capsys)
    # VAL.2 was added after the export on a row the sheet leaves empty: refused, named
    assert code == 1 and "VAL.2 de le-mene-test#3" in out.err and "ENG.1" not in out.err
    _codes_cell(sheet, 4, "VAL.2")                                # the coder reports it in the sheet
    code, out = run_cli(project, "sheet", "import", str(sheet), "--coder", "A", capsys=capsys)
    assert code == 0
    assert {r["code"] for r in store.records("A") if r.get("type") != "coverage"} == {"VAL.2"}


def test_formula_without_cached_value_is_not_read_as_no_code(project: Path, capsys):
    corpus, store = _store(project)
    store.append("A", [coding_record(corpus.segments_of("le-mene-test")[0], "ENG.1", "A")])
    sheet = _export(project)
    _codes_cell(sheet, 2, '=IF(1,"ENG.1","")')                 # openpyxl stores no computed value
    before = store.path("A").read_bytes()
    code, out = run_cli(project, "sheet", "import", str(sheet), "--coder", "A", capsys=capsys)
    assert code == 1 and "formule sans valeur calculée" in out.err and "G2" in out.err
    assert store.path("A").read_bytes() == before


def test_csv_export_quotes_formula_like_memos(project: Path):
    corpus, store = _store(project)
    segs = corpus.segments_of("le-mene-test")
    store.append("A", [coding_record(s, "ENG.1", "A", memo=m)
                       for s, m in zip(segs, ['=HYPERLINK("http://x","y")', "+1", "@SUM(A1)"])])
    path = _export(project, "f.csv")
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["memo"] for r in rows] == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'@SUM(A1)"]


def test_reconcile_replace_keeps_consensus_codings_added_since(project: Path, capsys):
    from tests.reliability.test_reconcile import _fill, two_coders

    two_coders(project)
    assert run_cli(project, "reconcile", "--coders", "A", "B", "--out", "d.csv")[0] == 0
    _fill(project / "d.csv", {("ENG.1", "le-mene-r1#2"): "oui", ("ENG.1", "malaunay-r2#1"): "oui",
                              ("VAL.1", "le-mene-r1#1"): "oui", ("VAL.1", "malaunay-r2#4"): "oui"})
    assert run_cli(project, "reconcile", "--apply", "d.csv")[0] == 0
    corpus, store = _store(project)
    seg = corpus.segments_of("le-mene-r1")[2]
    store.append("consensus", [coding_record(seg, "COOP.2", "consensus", at="2999-01-01T00:00:00+00:00")])
    before = store.path("consensus").read_bytes()
    code, out = run_cli(project, "reconcile", "--apply", "d.csv", "--replace", capsys=capsys)
    assert code == 1 and "COOP.2" in out.err and "--force" in out.err
    assert store.path("consensus").read_bytes() == before
    code, out = run_cli(project, "reconcile", "--apply", "d.csv", "--replace", "--force", capsys=capsys)
    assert code == 0
    assert "COOP.2" not in {r.get("code") for r in store.records("consensus")}   # withdrawn (an event)
