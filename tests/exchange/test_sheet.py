"""Coding sheets: export, validation of every row, import into the coder's file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from analyse.cli import main
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, coverage_record, load_codings, segment_codes
from analyse.model.corpus import load_corpus
from analyse.errors import UsageError
from analyse.exchange.sheet import COLUMNS, export_sheet, import_sheet, read_sheet


def _setup(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    return corpus, book, store


def _seg(corpus, sid):
    return next(s for s in corpus.segments if s.id == sid)


def _seed(corpus, store):
    """B coded le-mene-test#2 with ENG.1 and COOP.1; A coded malaunay-test#1."""
    store.append("B", [coding_record(_seg(corpus, "le-mene-test#2"), "ENG.1", "B", memo="net"),
                       coding_record(_seg(corpus, "le-mene-test#2"), "COOP.1", "B", memo="net"),
                       coding_record(_seg(corpus, "malaunay-test#3"), "VAL.1", "B")])
    store.append("A", [coding_record(_seg(corpus, "malaunay-test#1"), "SYS.2", "A"),
                       coverage_record("malaunay-test", "A")])


def _pairs(project, coder, docs):
    corpus, book, store = _setup(project)
    frame = load_codings(corpus, book, store.folder, coders=[coder]).frame
    frame = frame[frame["doc"].isin(docs)]
    return set(zip(frame["segment"], frame["code"]))


def _cli(project, *args):
    return main([*args, "--corpus", str(project / "corpus"),
                 "--codebook", str(project / "codebook" / "balises.yaml")])


def test_export_xlsx_layout_prefill_and_dropdown(project: Path, tmp_path: Path):
    corpus, book, store = _setup(project)
    _seed(corpus, store)
    out = tmp_path / "b.xlsx"
    assert export_sheet(corpus, book, store, "B", out, territory="le-mene") == 3
    wb = load_workbook(out)
    ws = wb["segments"]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    by_id = {r[0]: dict(zip(COLUMNS, r)) for r in rows[1:]}
    assert sorted(by_id) == ["le-mene-test#1", "le-mene-test#2", "le-mene-test#3"]
    # prefilled in codebook order (ENG before COOP), the shared memo once
    assert by_id["le-mene-test#2"]["codes"] == "ENG.1; COOP.1"
    assert by_id["le-mene-test#2"]["memo"] == "net"
    assert by_id["le-mene-test#1"]["codes"] in (None, "")
    assert by_id["le-mene-test#2"]["text"] == _seg(corpus, "le-mene-test#2").text
    assert by_id["le-mene-test#1"]["role"] == "elu"
    assert ws.freeze_panes == "A2"
    assert ws["F2"].alignment.wrap_text and ws.column_dimensions["F"].width >= 60
    # the drop-down: a list pointing at a range of the codebook sheet, lenient to typed lists
    (dv,) = ws.data_validations.dataValidation
    assert dv.type == "list" and "codebook!" in dv.formula1 and not dv.showErrorMessage
    assert str(dv.sqref) == "G2:G4"
    cb = wb["codebook"]
    assert [c.value for c in cb[1]][:5] == ["id", "label", "dimension", "kind", "definition"]
    col = dv.formula1.split("!")[1].split(":")[0].strip("$").rstrip("0123456789").strip("$")
    assert cb.column_dimensions[col].hidden
    listed = [cb[f"{col}{i}"].value for i in range(1, len(book.codes) + 1)]
    assert listed == list(book.codes)
    meta = {r[0]: r[1] for r in wb["meta"].iter_rows(values_only=True)}
    assert wb["meta"].sheet_state == "hidden" and meta["coder"] == "B" and meta["document"] == "le-mene-test"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_round_trip_unchanged_sheet_keeps_codings_and_records_coverage(project: Path, tmp_path: Path, suffix):
    corpus, book, store = _setup(project)
    _seed(corpus, store)
    before = _pairs(project, "B", ["le-mene-test", "malaunay-test"])
    a_bytes = store.path("A").read_bytes()
    out = tmp_path / f"b{suffix}"
    export_sheet(corpus, book, store, "B", out)
    result, counts = import_sheet(out, "B", corpus, book, store)
    assert not result.problems
    assert counts == {"added": 0, "removed": 0, "kept": 3, "documents": 2}
    assert _pairs(project, "B", ["le-mene-test", "malaunay-test"]) == before
    codings = load_codings(corpus, book, store.folder)
    assert set(codings.coverage.loc[codings.coverage.coder == "B", "doc"]) == {"le-mene-test", "malaunay-test"}
    assert store.path("A").read_bytes() == a_bytes


def test_edited_sheet_replaces_the_coders_codings_of_its_documents(project: Path, tmp_path: Path):
    corpus, book, store = _setup(project)
    _seed(corpus, store)
    a_bytes = store.path("A").read_bytes()
    out = tmp_path / "b.xlsx"
    export_sheet(corpus, book, store, "B", out, docs=["le-mene-test"])
    wb = load_workbook(out)
    ws = wb["segments"]
    ws["G2"] = "SYS.1 ;ECH"           # segment #1: two typed codes, odd spacing
    ws["H2"] = "=vu en réunion"        # a memo typed as text that looks like a formula
    ws["H2"].data_type = "s"
    ws["G3"] = "ENG.1"                # segment #2: COOP.1 removed, ENG.1 kept
    wb.save(out)
    assert _cli(project, "sheet", "import", str(out), "--coder", "B") == 0
    codings = load_codings(corpus, book, store.folder, coders=["B"])
    got = segment_codes(codings, corpus, "B")
    assert got["le-mene-test#1"] == {"SYS.1", "ECH"}
    assert got["le-mene-test#2"] == {"ENG.1"}
    assert got["le-mene-test#3"] == set()          # covered: "no code applies"
    # malaunay was not exported: B's coding there is untouched, and not covered
    frame = codings.frame
    assert set(frame.loc[frame.doc == "malaunay-test", "code"]) == {"VAL.1"}
    assert "malaunay-test#3" not in got
    memo = frame.loc[(frame.segment == "le-mene-test#1"), "memo"]
    assert set(memo) == {"=vu en réunion"}
    whole = frame[frame.segment == "le-mene-test#1"].iloc[0]
    seg = _seg(corpus, "le-mene-test#1")
    assert (whole.start, whole.end, whole.quote, whole.origin) == (seg.start, seg.end, seg.text, "human")
    assert store.path("A").read_bytes() == a_bytes


def test_every_bad_row_is_reported_and_nothing_written(project: Path, tmp_path: Path, capsys):
    corpus, book, store = _setup(project)
    _seed(corpus, store)
    out = tmp_path / "b.xlsx"
    export_sheet(corpus, book, store, "B", out)
    b_bytes = store.path("B").read_bytes()
    wb = load_workbook(out)
    ws = wb["segments"]
    ws["G2"] = "ENG.1; ENG.99"        # unknown code, row 2
    ws["G3"] = "eng.1"                # wrong case, row 3
    ws["F4"] = "Texte réécrit."       # edited text, row 4
    ws["A5"] = "le-mene-test#42"      # edited segment id, row 5
    ws.delete_rows(7)                 # malaunay-test#3 removed
    wb.save(out)
    assert _cli(project, "sheet", "import", str(out), "--coder", "B") == 1
    err = capsys.readouterr().err
    assert f"{out}:2: erreur: colonne « codes » : code inconnu « ENG.99 »" in err
    assert f"{out}:3: erreur: colonne « codes » : code inconnu « eng.1 » (vouliez-vous dire ENG.1 ?)" in err
    assert f"{out}:4: erreur: colonne « text »" in err
    assert f"{out}:5: erreur: colonne « segment » : id de segment inconnu « le-mene-test#42 »" in err
    assert "le segment « malaunay-test#1 » du document « malaunay-test » manque" in err  # its id was edited
    assert "le segment « malaunay-test#3 » du document « malaunay-test » manque" in err
    assert "rien n'a été importé" in err
    assert store.path("B").read_bytes() == b_bytes


def test_renamed_column_empty_file_and_bad_encoding(project: Path, tmp_path: Path):
    corpus, book, store = _setup(project)
    out = tmp_path / "b.csv"
    export_sheet(corpus, book, store, "B", out)
    text = out.read_text(encoding="utf-8-sig").replace(",codes,", ",code,", 1)
    out.write_text(text, encoding="utf-8")
    problems = [str(p) for p in read_sheet(out, "B", corpus, book).problems]
    assert problems == [f"{out}:1: erreur: la colonne « codes » manque (trouvé : 'code') "
                        f"(la ligne d'en-tête doit être : {', '.join(COLUMNS)})"]
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n", encoding="utf-8")
    assert "le fichier est vide" in str(read_sheet(empty, "B", corpus, book).problems.items[0])
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(COLUMNS).encode() + "\nle-mene-test#1,le-mene,x,P1,elu,été,,\n".encode("latin-1"))
    (p,) = read_sheet(latin, "B", corpus, book).problems
    assert p.line == 2 and "pas en UTF-8" in p.message and "CSV UTF-8" in p.hint
    with pytest.raises(UsageError):
        read_sheet(tmp_path / "b.ods", "B", corpus, book)
    assert store.coders() == []


def test_csv_import_covers_documents_present_and_accepts_semicolon_delimiter(project: Path, tmp_path: Path):
    corpus, book, store = _setup(project)
    out = tmp_path / "b.csv"
    export_sheet(corpus, book, store, "B", out, docs=["malaunay-test"])
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[2][COLUMNS.index("codes")] = "VAL.2;MGT"
    with open(out, "w", encoding="utf-8", newline="") as fh:   # as a French-locale spreadsheet saves it
        csv.writer(fh, delimiter=";").writerows(rows)
    result, counts = import_sheet(out, "B", corpus, book, store)
    assert not result.problems and result.docs == ["malaunay-test"] and counts["added"] == 2
    codings = load_codings(corpus, book, store.folder)
    assert list(codings.coverage["doc"]) == ["malaunay-test"]
    assert segment_codes(codings, corpus, "B")["malaunay-test#2"] == {"VAL.2", "MGT"}


def test_dry_run_and_wrong_coder_write_nothing(project: Path, tmp_path: Path, capsys):
    corpus, book, store = _setup(project)
    _seed(corpus, store)
    out = tmp_path / "b.xlsx"
    assert _cli(project, "sheet", "export", "--coder", "B", "--docs", "le-mene-test", "--out", str(out)) == 0
    b_bytes = store.path("B").read_bytes()
    wb = load_workbook(out)
    wb["segments"]["G2"] = "ECH"
    wb.save(out)
    wb["segments"]["H4"] = "rien ici"    # a memo on a row without code: warned, not kept
    wb.save(out)
    assert _cli(project, "sheet", "import", str(out), "--coder", "B", "--dry-run") == 0
    captured = capsys.readouterr()
    assert "1 codage(s) ajouté(s)" in captured.out
    assert f"{out}:4: attention: colonne « memo » : le mémo de « le-mene-test#3 » n'est pas conservé" in captured.err
    assert _cli(project, "sheet", "import", str(out), "--coder", "A") == 1
    assert "exportée pour le codeur « B »" in capsys.readouterr().err
    assert store.path("B").read_bytes() == b_bytes
    assert _cli(project, "sheet", "export", "--coder", "B", "--docs", "nope", "--out", str(out)) == 2
