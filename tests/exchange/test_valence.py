"""Valence travels: sheet export/import, REFI-QDA round trip, the codings frame and the material."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook

from analyse.analysis.material import coded_material
from analyse.exchange.refi import export_project, import_project
from analyse.exchange.sheet import export_sheet, import_sheet
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, coverage_record, load_codings


def _setup(project: Path):
    corpus = load_corpus_(project)
    return corpus, load_codebook(project / "codebook" / "balises.yaml"), CodingStore(project / "corpus" / "codings")


def load_corpus_(project):
    from analyse.model.corpus import load_corpus
    return load_corpus(project / "corpus")


def _seg(corpus, sid):
    return next(s for s in corpus.segments if s.id == sid)


def test_sheet_round_trip_keeps_and_changes_valences(project: Path):
    corpus, book, store = _setup(project)
    store.append("B", [coding_record(_seg(corpus, "le-mene-test#1"), "ENG.1", "B", valence="mise en échec"),
                       coding_record(_seg(corpus, "le-mene-test#2"), "COOP.1", "B"),
                       coverage_record("le-mene-test", "B")])
    out = project / "b.xlsx"
    export_sheet(corpus, book, store, "B", out, docs=["le-mene-test"])
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["le-mene-test#1"]["codes"] == "ENG.1!échec"
    # the coder now says COOP.1 is contested and adds SYS.1 at work
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "le-mene-test#2":
            row[header.index("codes")].value = "COOP.1 !contestee; SYS.1"
    wb.save(out)
    result, counts = import_sheet(out, "B", corpus, book, store)
    assert not result.problems.errors, [str(p) for p in result.problems]
    frame = load_codings(corpus, book, store.folder, coders=["B"]).frame.set_index(["segment", "code"])
    assert frame.loc[("le-mene-test#1", "ENG.1"), "valence"] == "mise en échec"
    assert frame.loc[("le-mene-test#2", "COOP.1"), "valence"] == "contestée"
    assert frame.loc[("le-mene-test#2", "SYS.1"), "valence"] == "à l'œuvre"
    lines = [json.loads(x) for x in store.path("B").read_text(encoding="utf-8").splitlines()]
    assert all("valence" not in r for r in lines if r.get("code") == "SYS.1")   # the default is not written


def test_unknown_valence_in_a_sheet_is_reported_and_nothing_written(project: Path):
    corpus, book, store = _setup(project)
    out = project / "b.xlsx"
    export_sheet(corpus, book, store, "B", out, docs=["le-mene-test"])
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    ws.cell(row=2, column=[c.value for c in ws[1]].index("codes") + 1).value = "ENG.1!peut-être"
    wb.save(out)
    result, _ = import_sheet(out, "B", corpus, book, store)
    assert any("valence inconnue" in p.message for p in result.problems.errors)
    assert not store.path("B").exists()


def test_refi_round_trip_carries_valence(project: Path, tmp_path: Path):
    corpus, book, store = _setup(project)
    store.append("A", [coding_record(_seg(corpus, "le-mene-test#1"), "ENG.1", "A", memo="à revoir",
                                     valence="contestée"),
                       coding_record(_seg(corpus, "le-mene-test#2"), "ENG.2", "A"),
                       coverage_record("le-mene-test", "A")])
    qdpx = tmp_path / "p.qdpx"
    export_project(corpus, book, qdpx, store.folder)
    import_project(qdpx, corpus, book, store.folder, {"A": "A2"})
    frame = load_codings(corpus, book, store.folder, coders=["A2"]).frame.set_index(["segment", "code"])
    assert frame.loc[("le-mene-test#1", "ENG.1"), "valence"] == "contestée"
    assert frame.loc[("le-mene-test#1", "ENG.1"), "memo"] == "à revoir"
    assert frame.loc[("le-mene-test#2", "ENG.2"), "valence"] == "à l'œuvre"


def test_material_keeps_the_worst_valence_of_the_chosen_coders(project: Path):
    corpus, book, store = _setup(project)
    seg = _seg(corpus, "le-mene-test#1")
    store.append("A", [coding_record(seg, "ENG.1", "A"), coverage_record("le-mene-test", "A")])
    store.append("B", [coding_record(seg, "ENG.1", "B", valence="mise en échec"),
                       coverage_record("le-mene-test", "B")])
    codings = load_codings(corpus, book, store.folder)
    both = coded_material(corpus, codings, coders=["A", "B"]).codes.set_index(["segment", "code"])
    only_a = coded_material(corpus, codings, coders="A").codes.set_index(["segment", "code"])
    assert both.loc[("le-mene-test#1", "ENG.1"), "valence"] == "mise en échec"
    assert only_a.loc[("le-mene-test#1", "ENG.1"), "valence"] == "à l'œuvre"
