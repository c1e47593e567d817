"""Bad inputs: each gets its exit code, a French message naming the file and what to do, and no
coder file changes. One case per line of the audit (and of issue #20's smaller items).

A case returns the command line to run and words the output must hold. :data:`MESSAGE` then says,
for every case, what ONE line of the output must hold together: where (the file, and its line where
the problem has one), what is wrong and what to do, in French. Every case also checks the exit code,
that no Python traceback is printed and that every file of the codings folder is byte for byte
unchanged. `pytest -s -k large_enough` prints the counts.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from analyse.model.codings import CodingStore, coding_record, coverage_record
from analyse.model.corpus import load_corpus
from tests.helpers import DOC, FRONT_MATTER, make_codebook, run_cli, write_doc

CASES: dict[str, tuple] = {}


def case(code: int):
    """Register ``setup(project) -> (argv, [words the output must hold])`` with its exit code.

    What the message must say (where, what, what to do) is in :data:`MESSAGE`, below the cases.
    """
    def register(fn):
        CASES[fn.__name__.removeprefix("c_")] = (fn, code)
        return fn
    return register


@pytest.fixture
def base(project: Path) -> Path:
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    segs = corpus.segments_of("le-mene-test")
    store.append("A", [coding_record(segs[0], "ENG.1", "A", memo="premier"), coding_record(segs[1], "SYS.1", "A"),
                       coverage_record("le-mene-test", "A")])
    store.append("B", [coding_record(segs[0], "COOP.1", "B"), coverage_record("le-mene-test", "B")])
    return project


def _codings(p: Path) -> Path:
    return p / "corpus" / "codings"


def _line(p: Path, coder: str = "A", **changes) -> dict:
    rec = json.loads((_codings(p) / f"{coder}.jsonl").read_text(encoding="utf-8").splitlines()[0])
    rec.update(changes)
    return rec


def _add_raw(p: Path, coder: str, text: str) -> None:
    with open(_codings(p) / f"{coder}.jsonl", "a", encoding="utf-8") as fh:
        fh.write(text + "\n")


def _doc(p: Path, text: str, name: str = "le-mene-test") -> list[str]:
    write_doc(p / "corpus", "le-mene", name, text)
    return [f"{name}.md"]


VALIDATE = ["validate"]

# --------------------------------------------------------------------------- corpus


@case(1)
def c_front_matter_not_yaml(p):
    return VALIDATE, _doc(p, DOC.format(id="le-mene-test", territory="le-mene").replace("kind: transcript",
                                                                                        "kind: [transcript"))


@case(1)
def c_front_matter_missing(p):
    return VALIDATE, _doc(p, "**P1 (élue)** : Bonjour.\n")


@case(1)
def c_front_matter_not_closed(p):
    return VALIDATE, _doc(p, "---\nid: le-mene-test\n**P1 (élue)** : Bonjour.\n")


@case(1)
def c_document_not_utf8(p):
    path = p / "corpus" / "le-mene" / "le-mene-test.md"
    path.write_bytes(DOC.format(id="le-mene-test", territory="le-mene").encode("cp1252"))
    return VALIDATE, ["le-mene-test.md"]


@case(1)
def c_territory_differs_from_folder(p):
    return VALIDATE, _doc(p, DOC.format(id="le-mene-test", territory="malaunay"))


@case(1)
def c_id_differs_from_file_name(p):
    return VALIDATE, _doc(p, DOC.format(id="autre-id", territory="le-mene"))


@case(1)
def c_duplicate_document_id(p):
    write_doc(p / "corpus", "malaunay", "le-mene-test", DOC.format(id="le-mene-test", territory="malaunay"))
    return VALIDATE, ["le-mene-test.md"]


@case(1)
def c_missing_title(p):
    return VALIDATE, _doc(p, DOC.format(id="le-mene-test", territory="le-mene").replace('title: "Atelier test"\n', ""))


@case(1)
def c_bad_kind(p):
    return VALIDATE, _doc(p, DOC.format(id="le-mene-test", territory="le-mene").replace("kind: transcript",
                                                                                        "kind: roman"))


@case(1)
def c_bad_atelier(p):
    return VALIDATE, _doc(p, DOC.format(id="le-mene-test", territory="le-mene").replace("atelier: engagement",
                                                                                        "atelier: cuisine"))


@case(1)
def c_impossible_date(p):
    return VALIDATE, _doc(p, DOC.format(id="le-mene-test", territory="le-mene").replace("2018-03-01", "2018-02-30"))


@case(1)
def c_bad_participant_role(p):
    return VALIDATE, _doc(p, DOC.format(id="le-mene-test", territory="le-mene").replace("role: elu", "role: roi"))


@case(1)
def c_participant_declared_twice(p):
    return VALIDATE, _doc(p, DOC.format(id="le-mene-test", territory="le-mene").replace("{id: P2,", "{id: P1,"))


@case(1)
def c_unknown_speaker(p):
    return VALIDATE, _doc(p, DOC.format(id="le-mene-test", territory="le-mene").replace("**P2 (DGS)**",
                                                                                        "**P9 (DGS)**"))


@case(1)
def c_text_before_first_turn(p):
    return VALIDATE, _doc(p, FRONT_MATTER.format(id="le-mene-test", territory="le-mene")
                          + "Une phrase sans locuteur.\n\n**P1 (élue)** : Bonjour.\n")


@case(1)
def c_document_without_segment(p):
    return VALIDATE, _doc(p, FRONT_MATTER.format(id="le-mene-test", territory="le-mene"))


@case(1)
def c_folder_not_a_territory_slug(p):
    write_doc(p / "corpus", "Le Mené", "le-mene-x", DOC.format(id="le-mene-x", territory="Le Mené"))
    return VALIDATE, ["le-mene-x.md"]


@case(1)
def c_corpus_folder_missing(p):
    return ["validate", "--corpus", "nulle-part"], ["nulle-part"]


# --------------------------------------------------------------------------- codebook

def _book(p: Path, **kw) -> Path:
    return make_codebook(p / "codebook" / "balises.yaml", **kw)


def _book_edit(p: Path, old: str, new: str) -> list[str]:
    path = p / "codebook" / "balises.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return ["balises.yaml"]


@case(1)
def c_codebook_not_yaml(p):
    (p / "codebook" / "balises.yaml").write_text("codes: [\n", encoding="utf-8")
    return VALIDATE, ["balises.yaml"]


@case(1)
def c_codebook_duplicate_id(p):
    _book(p, extra=[{"id": "ENG.1", "label": "x", "dimension": "ENG", "kind": "balise", "definition": "d",
                     "include": ["a"], "exclude": ["b"], "examples": ["c", "d"], "keywords": ["k"]}])
    return VALIDATE, ["balises.yaml"]


@case(1)
def c_codebook_parent_cycle(p):
    _book_edit(p, "parent: null", "parent: ENG.2")
    return VALIDATE, _book_edit(p, "parent: null", "parent: ENG.1")


@case(1)
def c_codebook_parent_cycle_in_stats(p):
    _book_edit(p, "parent: null", "parent: ENG.2")
    _book_edit(p, "parent: null", "parent: ENG.1")
    return ["stats"], ["balises.yaml", "la grille a des erreurs"]


@case(1)
def c_codebook_self_parent(p):
    return VALIDATE, _book_edit(p, "parent: null", "parent: ENG.1")


@case(1)
def c_codebook_unknown_parent(p):
    return VALIDATE, _book_edit(p, "parent: null", "parent: XYZ.9")


@case(1)
def c_codebook_missing_canonical(p):
    _book(p, drop=("ENG.3",))
    return VALIDATE, ["balises.yaml"]


@case(1)
def c_codebook_bad_kind(p):
    return VALIDATE, _book_edit(p, "kind: balise", "kind: truc")


@case(1)
def c_codebook_empty_definition(p):
    return VALIDATE, _book_edit(p, "definition: Définition de ENG.1.", "definition: ''")


@case(1)
def c_codebook_bad_pattern(p):
    _book(p, extra=[{"id": "ENG.M9", "label": "x", "dimension": "ENG", "kind": "mode", "parent": "ENG.1",
                     "definition": "d", "include": ["a"], "exclude": ["b"], "examples": ["c", "d"],
                     "patterns": [[{"LEMMES": "faire"}]]}])
    return VALIDATE, ["balises.yaml"]


@case(1)
def c_codebook_file_missing(p):
    return ["validate", "--codebook", "absente.yaml"], ["absente.yaml"]


@case(1)
def c_codebook_not_utf8(p):
    path = p / "codebook" / "balises.yaml"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    return VALIDATE, ["balises.yaml"]


# --------------------------------------------------------------------------- codings (validate)

@case(1)
def c_coding_line_not_json(p):
    _add_raw(p, "A", '{"doc": "le-mene-test", ')
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_line_not_an_object(p):
    _add_raw(p, "A", '["une", "liste"]')
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_missing_fields(p):
    _add_raw(p, "A", json.dumps({"doc": "le-mene-test", "code": "ENG.1"}))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_wrong_coder(p):
    _add_raw(p, "A", json.dumps(_line(p, coder="A", coder_="x") | {"coder": "B"}))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_unknown_document(p):
    _add_raw(p, "A", json.dumps(_line(p, doc="inconnu")))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_unknown_code(p):
    _add_raw(p, "A", json.dumps(_line(p, code="ENG.99")))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_offsets_not_integers(p):
    _add_raw(p, "A", json.dumps(_line(p, start="0")))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_end_before_start(p):
    rec = _line(p)
    _add_raw(p, "A", json.dumps(dict(rec, start=rec["end"], end=rec["start"])))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_bad_origin(p):
    _add_raw(p, "A", json.dumps(_line(p, origin="humain")))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_bad_date(p):
    _add_raw(p, "A", json.dumps(_line(p, at="hier")))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_nan_score(p):
    _add_raw(p, "A", json.dumps(_line(p, score=float("nan"))))
    return VALIDATE, ["A.jsonl:4", "score", "entre 0 et 1"]


@case(1)
def c_coding_score_out_of_range(p):
    _add_raw(p, "A", json.dumps(_line(p, score=3)))
    return VALIDATE, ["A.jsonl:4", "entre 0 et 1"]


@case(1)
def c_coding_score_text(p):
    _add_raw(p, "A", json.dumps(_line(p, score="0,8")))
    return VALIDATE, ["A.jsonl:4", "entre 0 et 1"]


@case(1)
def c_model_line_in_human_file(p):
    _add_raw(p, "A", json.dumps(_line(p, origin="model", score=0.9)))
    return VALIDATE, ["A.jsonl:4", "codeur humain A", "accepter"]


@case(1)
def c_rule_line_in_human_file(p):
    _add_raw(p, "A", json.dumps(_line(p, origin="rule", score=0.5)))
    return VALIDATE, ["A.jsonl:4", "codeur humain A"]


@case(1)
def c_coding_quote_nowhere(p):
    _add_raw(p, "A", json.dumps(_line(p, quote="ce texte n'existe pas")))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coding_offsets_beyond_text(p):
    _add_raw(p, "A", json.dumps(_line(p, start=5000, end=5010, quote="zzz")))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coverage_unknown_document(p):
    _add_raw(p, "A", json.dumps({"type": "coverage", "doc": "inconnu", "coder": "A", "at": "2026-01-01T00:00:00Z"}))
    return VALIDATE, ["A.jsonl:4"]


@case(1)
def c_coder_file_not_utf8(p):
    (_codings(p) / "C.jsonl").write_bytes(b'{"memo": "caf\xe9"}\n')
    return VALIDATE, ["C.jsonl:1", "UTF-8", "enregistrer"]


@case(1)
def c_coder_file_with_space_in_name(p):
    (_codings(p) / "C D.jsonl").write_text("", encoding="utf-8")
    return VALIDATE, ["C D.jsonl", "renommer", "C-D.jsonl"]


@case(1)
def c_coder_file_with_accent_in_name(p):
    (_codings(p) / "Hélène.jsonl").write_text("", encoding="utf-8")
    return VALIDATE, ["Hélène.jsonl", "renommer"]


@case(0)
def c_record_split_by_old_reader(p):
    rec = _line(p, memo="avant\u2028après")
    _add_raw(p, "A", json.dumps(rec, ensure_ascii=False).replace("\u2028", "\n"))
    return VALIDATE, ["A.jsonl:4", "analyse repair"]


@case(0)
def c_raw_line_separator_from_old_writer(p):
    _add_raw(p, "A", json.dumps(_line(p, memo="a\u2029b\x85c"), ensure_ascii=False))
    return VALIDATE, ["0 erreur"]


# --------------------------------------------------------------------------- sheet

def _sheet(p: Path, name: str = "f.xlsx", coder: str = "A") -> Path:
    assert run_cli(p, "sheet", "export", "--coder", coder, "--territory", "le-mene", "--out", name)[0] == 0
    return p / name


def _edit_sheet(path: Path, row: int, column: str, value, sheet: str = "segments") -> None:
    from openpyxl import load_workbook
    wb = load_workbook(path)
    ws = wb[sheet]
    ws.cell(row=row, column=[c.value for c in ws[1]].index(column) + 1, value=value)
    wb.save(path)


def _edit_csv(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8-sig")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8-sig")


def _import(name: str, coder: str = "A", *more) -> list[str]:
    return ["sheet", "import", name, "--coder", coder, *more]


@case(1)
def c_sheet_unknown_code(p):
    _edit_sheet(_sheet(p), 2, "codes", "ENG.1; ENG.99")
    return _import("f.xlsx"), ["f.xlsx:2"]


@case(1)
def c_sheet_code_in_lower_case(p):
    _edit_sheet(_sheet(p), 2, "codes", "eng.1")
    return _import("f.xlsx"), ["f.xlsx:2", "ENG.1"]


@case(1)
def c_sheet_unknown_segment(p):
    _edit_sheet(_sheet(p), 2, "segment", "le-mene-test#99")
    return _import("f.xlsx"), ["f.xlsx:2"]


@case(1)
def c_sheet_duplicated_segment(p):
    _edit_sheet(_sheet(p), 3, "segment", "le-mene-test#1")
    return _import("f.xlsx"), ["f.xlsx:3"]


@case(1)
def c_sheet_text_edited(p):
    _edit_sheet(_sheet(p), 2, "text", "Texte réécrit")
    return _import("f.xlsx"), ["f.xlsx:2"]


@case(1)
def c_sheet_column_renamed(p):
    _edit_sheet(_sheet(p), 1, "codes", "Codes choisis")
    return _import("f.xlsx"), ["f.xlsx:1"]


@case(1)
def c_sheet_row_deleted(p):
    from openpyxl import load_workbook
    path = _sheet(p)
    wb = load_workbook(path)
    wb["segments"].delete_rows(3)
    wb.save(path)
    return _import("f.xlsx"), ["f.xlsx", "le-mene-test#2"]


@case(1)
def c_sheet_other_coder(p):
    _sheet(p, coder="B")
    return _import("f.xlsx", "A"), ["f.xlsx", "--coder B"]


@case(1)
def c_sheet_formula_without_value(p):
    _edit_sheet(_sheet(p), 2, "codes", '=IF(TRUE,"ENG.1","")')
    return _import("f.xlsx"), ["f.xlsx:2", "formule sans valeur calculée"]


@case(1)
def c_sheet_removes_codings_made_since_export(p):
    _sheet(p)
    corpus = load_corpus(p / "corpus")
    CodingStore(_codings(p)).append("A", [coding_record(corpus.segments_of("le-mene-test")[2], "VAL.3", "A")])
    return _import("f.xlsx"), ["f.xlsx", "VAL.3 de le-mene-test#3", "--force"]


@case(1)
def c_sheet_damaged_xlsx(p):
    (p / "f.xlsx").write_bytes(b"PK\x03\x04 pas un classeur")
    return _import("f.xlsx"), ["f.xlsx"]


@case(1)
def c_sheet_empty_csv(p):
    (p / "f.csv").write_text("", encoding="utf-8")
    return _import("f.csv"), ["f.csv"]


@case(1)
def c_sheet_csv_not_utf8(p):
    _sheet(p, "f.csv")
    path = p / "f.csv"
    path.write_bytes(path.read_text(encoding="utf-8-sig").encode("cp1252"))
    return _import("f.csv"), ["f.csv:2"]


@case(1)
def c_sheet_csv_unknown_code(p):
    path = _sheet(p, "f.csv")
    _edit_csv(path, "ENG.1", "ENG.77")
    return _import("f.csv"), ["f.csv:2"]


@case(2)
def c_sheet_wrong_extension(p):
    (p / "f.ods").write_bytes(b"x")
    return _import("f.ods"), ["f.ods"]


@case(2)
def c_sheet_missing_file(p):
    return _import("absente.xlsx"), ["absente.xlsx"]


@case(2)
def c_sheet_export_bad_extension(p):
    return ["sheet", "export", "--coder", "A", "--out", "f.txt"], ["f.txt"]


@case(2)
def c_sheet_invalid_coder_id(p):
    _sheet(p)
    return _import("f.xlsx", "C D"), ["C D"]


@case(1)
def c_sheet_export_coder_file_not_utf8(p):
    (_codings(p) / "A.jsonl").write_bytes(b'{"memo": "caf\xe9"}\n')
    return ["sheet", "export", "--coder", "A", "--out", "f.xlsx"], ["A.jsonl:1", "UTF-8"]


@case(1)
def c_sheet_import_coder_file_not_utf8(p):
    _sheet(p)
    (_codings(p) / "A.jsonl").write_bytes(b'{"memo": "caf\xe9"}\n')
    return _import("f.xlsx"), ["A.jsonl", "UTF-8"]


@case(1)
def c_sheet_import_into_broken_coder_file(p):
    _sheet(p)
    _add_raw(p, "A", "{pas du json")
    return _import("f.xlsx"), ["A.jsonl"]


# --------------------------------------------------------------------------- REFI-QDA and Taguette

def _qdpx(p: Path, qde: bytes | str, name: str = "p.qdpx", extra: dict | None = None) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", qde)
        for k, v in (extra or {}).items():
            zf.writestr(k, v)
    (p / name).write_bytes(buf.getvalue())
    return p / name


def _refi(name: str, *more) -> list[str]:
    return ["refi", "import", name, *more]


PROJECT = ("<?xml version='1.0' encoding='utf-8'?>\n<Project xmlns='urn:QDA-XML:project:1.0' name='x' "
           "origin='test'>{body}</Project>")


@case(2)
def c_refi_not_a_zip(p):
    (p / "p.qdpx").write_text("ceci est du texte", encoding="utf-8")
    return _refi("p.qdpx"), ["p.qdpx"]


@case(2)
def c_refi_damaged_zip(p):
    (p / "p.qdpx").write_bytes(b"PK\x03\x04 pas vraiment un zip")
    return _refi("p.qdpx"), ["p.qdpx"]


@case(2)
def c_refi_no_project_qde(p):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("lisez-moi.txt", "rien")
    (p / "p.qdpx").write_bytes(buf.getvalue())
    return _refi("p.qdpx"), ["p.qdpx"]


@case(2)
def c_refi_qde_not_xml(p):
    _qdpx(p, "<Project><Users>")
    return _refi("p.qdpx"), ["p.qdpx:project.qde"]


@case(2)
def c_refi_root_not_project(p):
    _qdpx(p, "<?xml version='1.0'?><html/>")
    return _refi("p.qdpx"), ["p.qdpx:project.qde"]


@case(2)
def c_refi_billion_laughs(p):
    lol = ("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
           + "".join(f"<!ENTITY lol{i} '{('&lol' + (str(i - 1) if i > 1 else '') + ';') * 10}'>" for i in range(1, 10))
           + "]><Project xmlns='urn:QDA-XML:project:1.0'>&lol9;</Project>")
    _qdpx(p, lol)
    return _refi("p.qdpx"), ["p.qdpx"]


@case(2)
def c_refi_external_entity_not_followed(p):
    xxe = ("<?xml version='1.0'?><!DOCTYPE p [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
           "<Project xmlns='urn:QDA-XML:project:1.0' name='&x;' origin='t'/>")
    _qdpx(p, xxe)
    return _refi("p.qdpx", "--dry-run"), ["p.qdpx"]


@case(2)
def c_refi_entry_too_large(p, monkeypatch=None):
    import analyse.exchange.refi as refi
    refi.MAX_ENTRY_BYTES = 1000        # restored by the test (see _run_case)
    _qdpx(p, PROJECT.format(body="<!--" + "x" * 5000 + "-->"))
    return _refi("p.qdpx"), ["p.qdpx", "refusé", "Mio"]


@case(2)
def c_refi_archive_too_large(p):
    import analyse.exchange.refi as refi
    refi.MAX_ARCHIVE_BYTES = 1000
    _qdpx(p, PROJECT.format(body=""), extra={"sources/a.txt": "y" * 5000})
    return _refi("p.qdpx"), ["p.qdpx", "archive refusée"]


@case(2)
def c_refi_text_file_named_sqlite3(p):
    (p / "export.sqlite3").write_text("ceci n'est pas une base\n", encoding="utf-8")
    return _refi("export.sqlite3", "--coder-map", "admin=C"), ["export.sqlite3", "Exporter le projet"]


@case(2)
def c_refi_taguette_without_coder_map(p):
    db = sqlite3.connect(p / "t.sqlite3")
    db.execute("create table projects (id integer)")
    db.commit()
    db.close()
    return _refi("t.sqlite3"), ["t.sqlite3"]


@case(2)
def c_refi_missing_file(p):
    return _refi("absent.qdpx"), ["absent.qdpx"]


@case(2)
def c_refi_bad_coder_map(p):
    assert run_cli(p, "refi", "export", "--out", "p.qdpx")[0] == 0
    return _refi("p.qdpx", "--coder-map", "A:A2"), ["A:A2"]


@case(1)
def c_refi_into_coder_file_not_utf8(p):
    assert run_cli(p, "refi", "export", "--out", "p.qdpx")[0] == 0
    (_codings(p) / "A2.jsonl").write_bytes(b'{"memo": "caf\xe9"}\n')
    return _refi("p.qdpx", "--coder-map", "A=A2"), ["A2.jsonl:1", "UTF-8"]


@case(0)
def c_refi_zip_slip_source_not_followed(p):
    body = ("<Users><User guid='11111111-1111-1111-1111-111111111111' name='Z'/></Users>"
            "<Sources><TextSource guid='22222222-2222-2222-2222-222222222222' name='le-mene-test' "
            "plainTextPath='internal://../../../etc/passwd'/></Sources>")
    _qdpx(p, PROJECT.format(body=body))
    return _refi("p.qdpx", "--coder-map", "Z=Z"), ["p.qdpx"]


# --------------------------------------------------------------------------- reconcile

def _decisions(p: Path) -> None:
    from tests.reliability.test_reconcile import two_coders
    two_coders(p)
    assert run_cli(p, "reconcile", "--coders", "A", "B", "--out", "d.csv")[0] == 0


@case(2)
def c_reconcile_decisions_missing(p):
    return ["reconcile", "--apply", "absent.csv", "--coders", "A", "B"], ["absent.csv"]


@case(2)
def c_reconcile_decisions_not_utf8(p):
    _decisions(p)
    (p / "d.csv").write_bytes((p / "d.csv").read_text(encoding="utf-8-sig").encode("cp1252"))
    return ["reconcile", "--apply", "d.csv"], ["d.csv"]


@case(2)
def c_reconcile_decisions_columns_missing(p):
    _decisions(p)
    (p / "d.csv").write_text("a;b\n1;2\n", encoding="utf-8")
    return ["reconcile", "--apply", "d.csv", "--coders", "A", "B"], ["d.csv"]


@case(1)
def c_reconcile_decision_not_understood(p):
    from tests.reliability.test_reconcile import _fill
    _decisions(p)
    _fill(p / "d.csv", {("ENG.1", "le-mene-r1#2"): "peut-être"})
    return ["reconcile", "--apply", "d.csv"], ["d.csv"]


@case(1)
def c_reconcile_unknown_segment(p):
    _decisions(p)
    text = (p / "d.csv").read_text(encoding="utf-8-sig").replace("le-mene-r1#2", "le-mene-r1#77", 1)
    (p / "d.csv").write_text(text, encoding="utf-8-sig")
    return ["reconcile", "--apply", "d.csv"], ["d.csv"]


@case(2)
def c_reconcile_as_a_compared_coder(p):
    _decisions(p)
    return ["reconcile", "--apply", "d.csv", "--as", "A"], ["A"]


@case(1)
def c_reconcile_replace_would_erase_newer_consensus(p):
    from tests.reliability.test_reconcile import _fill
    _decisions(p)
    _fill(p / "d.csv", {("ENG.1", "le-mene-r1#2"): "oui", ("ENG.1", "malaunay-r2#1"): "oui",
                        ("VAL.1", "le-mene-r1#1"): "oui", ("VAL.1", "malaunay-r2#4"): "oui"})
    assert run_cli(p, "reconcile", "--apply", "d.csv")[0] == 0
    seg = load_corpus(p / "corpus").segments_of("le-mene-r1")[2]
    CodingStore(_codings(p)).append("consensus", [coding_record(seg, "COOP.2", "consensus",
                                                                at="2999-01-01T00:00:00+00:00")])
    return ["reconcile", "--apply", "d.csv", "--replace"], ["consensus.jsonl", "--force"]


@case(2)
def c_reconcile_out_exists(p):
    _decisions(p)
    return ["reconcile", "--coders", "A", "B", "--out", "d.csv"], ["d.csv"]


# --------------------------------------------------------------------------- suggest, segments, agreement

@case(2)
def c_suggest_model_outside_project(p):
    (p / "ailleurs.joblib").write_bytes(b"\x80\x04 pickle venu d'ailleurs")
    (p / "in.jsonl").write_text('{"id": 1, "text": "x"}\n', encoding="utf-8")
    return ["suggest", "--texts", "in.jsonl", "--out", "out.jsonl", "--model", "ailleurs.joblib",
            "--no-progress"], ["ailleurs.joblib", "--trust-model"]


@case(2)
def c_suggest_texts_not_utf8(p):
    (p / "in.jsonl").write_bytes(b'{"id": 1, "text": "caf\xe9"}\n')
    return ["suggest", "--texts", "in.jsonl", "--out", "out.jsonl"], ["in.jsonl:1"]


@case(2)
def c_suggest_texts_bad_json(p):
    (p / "in.jsonl").write_text('{"id": 1, "text": "x"}\n{"id": 2,\n', encoding="utf-8")
    return ["suggest", "--texts", "in.jsonl", "--out", "out.jsonl"], ["in.jsonl:2"]


@case(2)
def c_suggest_texts_duplicate_id(p):
    (p / "in.jsonl").write_text('{"id": 1, "text": "x"}\n{"id": 1, "text": "y"}\n', encoding="utf-8")
    return ["suggest", "--texts", "in.jsonl", "--out", "out.jsonl"], ["in.jsonl:2"]


@case(2)
def c_suggest_texts_empty(p):
    (p / "in.jsonl").write_text("", encoding="utf-8")
    return ["suggest", "--texts", "in.jsonl", "--out", "out.jsonl"], ["in.jsonl"]


@case(2)
def c_suggest_output_into_codings(p):
    (p / "in.jsonl").write_text('{"id": 1, "text": "x"}\n', encoding="utf-8")
    return ["suggest", "--texts", "in.jsonl", "--out", "corpus/codings/A.jsonl"], ["A.jsonl"]


@case(1)
def c_segments_of_a_broken_document(p):
    _doc(p, "**P1 (élue)** : Bonjour.\n")
    return ["segments", "corpus/le-mene/le-mene-test.md"], ["le-mene-test.md"]


@case(2)
def c_agreement_unknown_coder(p):
    return ["agreement", "--coders", "A", "Z"], ["Z"]



# --------------------------------------------------------------------------- memos, retrieval, registry, project

@case(2)
def c_memo_unknown_target_type(p):
    return ["memo", "add", "--on", "truc:x", "--author", "Claire", "texte"], []


@case(2)
def c_memo_unknown_segment(p):
    return ["memo", "add", "--on", "segment:le-mene-test#99", "--author", "Claire", "texte"], []


@case(1)
def c_memos_file_broken_line(p):
    (p / "corpus" / "memos.jsonl").write_text('{"id": "m-1", "target_type": "project"\n', encoding="utf-8")
    return VALIDATE, ["memos.jsonl:1"]


@case(1)
def c_memos_file_unknown_target_type(p):
    (p / "corpus" / "memos.jsonl").write_text(json.dumps(
        {"id": "m-1", "target_type": "chapitre", "target": "x", "text": "t", "author": "C",
         "at": "2026-01-01T00:00:00+00:00"}) + "\n", encoding="utf-8")
    return VALIDATE, ["memos.jsonl:1"]


@case(1)
def c_coders_registry_not_yaml(p):
    (_codings(p) / "coders.yaml").write_text("coders: [\n", encoding="utf-8")
    return VALIDATE, ["coders.yaml"]


@case(2)
def c_retrieve_unknown_valence(p):
    return ["retrieve", "ENG.1", "--valence", "douteuse"], []


@case(2)
def c_retrieve_unknown_code(p):
    return ["retrieve", "ENG.99"], []


@case(2)
def c_search_empty_query(p):
    return ["search", "  "], []


@case(2)
def c_project_file_not_toml(p):
    (p / "balises.toml").write_text("[project\n", encoding="utf-8")
    return ["stats"], ["balises.toml"]


def _taguette(p: Path, spans, **kw) -> Path:
    from tests.exchange.test_taguette import fake_export
    text = load_corpus(p / "corpus").documents["le-mene-test"].body
    return fake_export(p / "t.sqlite3", text, spans(text), name="le-mene-test", **kw)


@case(2)      # like every unreadable import file (not a zip, XML mal formé)
def c_taguette_highlight_beyond_text(p):
    _taguette(p, lambda text: [(0, 7, ["ENG.1"]), (len(text) + 5, 0, ["VAL.1"])])
    return _refi("t.sqlite3", "--coder-map", "admin=A"), ["t.sqlite3"]


@case(2)
def c_taguette_two_projects(p):
    _taguette(p, lambda text: [(0, 7, ["ENG.1"])], projects=2)
    return _refi("t.sqlite3", "--coder-map", "admin=A"), ["t.sqlite3"]


@case(2)
def c_taguette_imported_as_a_whole_project(p):
    _taguette(p, lambda text: [(0, 7, ["ENG.1"])])
    return _refi("t.sqlite3", "--coder-map", "admin=A", "--territory", "le-mene"), ["t.sqlite3"]


@case(2)
def c_taguette_without_coder_map(p):
    _taguette(p, lambda text: [(0, 7, ["ENG.1"])])
    return _refi("t.sqlite3"), ["t.sqlite3"]


@case(1)
def c_memos_file_not_utf8(p):
    (p / "corpus" / "memos.jsonl").write_bytes(b'{"id": "m-1"}\n{"text": "caf\xe9"}\n')
    return VALIDATE, ["memos.jsonl:2"]


@case(1)
def c_memo_added_to_a_memos_file_not_utf8(p):
    (p / "corpus" / "memos.jsonl").write_bytes(b'{"text": "caf\xe9"}\n')
    return ["memo", "add", "--on", "project", "--author", "Claire", "texte"], ["memos.jsonl:1"]


@case(1)
def c_memos_file_is_a_folder(p):
    (p / "corpus" / "memos.jsonl").mkdir()
    return VALIDATE, ["memos.jsonl"]


@case(1)
def c_coder_file_is_a_folder(p):
    (_codings(p) / "Z.jsonl").mkdir()
    return VALIDATE, ["Z.jsonl"]


@case(1)
def c_fiche_not_utf8(p):
    (p / "fiches").mkdir()
    (p / "fiches" / "ENG.1.yaml").write_bytes(b"code: ENG.1\nconcept: caf\xe9\n")
    return ["fiches", "--check"], ["ENG.1.yaml:2"]


# --------------------------------------------------------------------------- what each message must say

# For each case, the words ONE line of the output must hold together: where (the file, and its line
# where the problem has one), what is wrong (in French), and what to do (in French). A case whose
# input is accepted (exit 0, nothing to fix) is listed in ACCEPTED instead.
MESSAGE: dict[str, list[str]] = {
    # corpus
    "front_matter_not_yaml": ["le-mene-test.md:6", "l'en-tête n'est pas du YAML valide : « , » ou « ] » attendu",
                              "vérifier l'indentation"],
    "front_matter_missing": ["le-mene-test.md", "en-tête YAML manquant", "commencer le fichier par une ligne « --- »"],
    "front_matter_not_closed": ["le-mene-test.md", "l'en-tête n'est pas fermé", "ajouter une ligne « --- »"],
    "document_not_utf8": ["le-mene-test.md:12", "n'est pas en UTF-8", "l'enregistrer en UTF-8"],
    "territory_differs_from_folder": ["le-mene-test.md:4", "diffère de son dossier", "écrire territory: le-mene"],
    "id_differs_from_file_name": ["le-mene-test.md:2", "diffère du nom du fichier", "renommer le fichier ou l'id"],
    "duplicate_document_id": ["malaunay/le-mene-test.md", "est aussi celui de le-mene/le-mene-test.md",
                              "changer l'id (et le nom du fichier)"],
    "missing_title": ["le-mene-test.md:2", "champ obligatoire « title » manquant", "ajouter le champ manquant"],
    "bad_kind": ["le-mene-test.md:5", "« roman » n'est pas une valeur permise", "valeurs permises : transcript"],
    "bad_atelier": ["le-mene-test.md:6", "« cuisine » n'est pas une valeur permise", "valeurs permises : engagement"],
    "impossible_date": ["le-mene-test.md:7", "n'existe pas dans le calendrier", "écrire AAAA-MM-JJ"],
    "bad_participant_role": ["le-mene-test.md:11", "« roi » n'est pas une valeur permise", "valeurs permises : elu"],
    "participant_declared_twice": ["le-mene-test.md:12", "déclaré deux fois", "donner à chaque participant son propre id"],
    "unknown_speaker": ["le-mene-test.md:18", "intervenant inconnu « P9 »", "le déclarer dans participants"],
    "text_before_first_turn": ["le-mene-test.md:14", "texte avant le premier tour de parole",
                               "commencer le paragraphe par un marqueur"],
    "document_without_segment": ["le-mene-test.md:14", "aucun segment", "ajouter des tours de parole"],
    "folder_not_a_territory_slug": ["le-mene-x.md", "n'est pas un nom de territoire", "lettres minuscules, chiffres et tirets"],
    "corpus_folder_missing": ["nulle-part", "dossier du corpus introuvable", "indiquer --corpus CHEMIN"],
    # codebook
    "codebook_not_yaml": ["balises.yaml:2", "YAML invalide : une valeur est attendue", "vérifier l'indentation"],
    "codebook_duplicate_id": ["balises.yaml:394", "« ENG.1 » en double (déjà ligne 19)", "donner un id neuf"],
    "codebook_parent_cycle": ["balises.yaml:19", "cycle de parents ENG.1 -> ENG.2 -> ENG.1", "corriger « parent »"],
    "codebook_parent_cycle_in_stats": ["balises.yaml:19", "cycle de parents", "corriger « parent »"],
    "codebook_self_parent": ["balises.yaml:19", "cycle de parents ENG.1 -> ENG.1", "corriger « parent »"],
    "codebook_unknown_parent": ["balises.yaml:19", "le parent « XYZ.9 » n'existe pas", "corriger « parent »"],
    "codebook_missing_canonical": ["balises.yaml", "le code canonique « ENG.3 » manque", "remettre ce code dans la grille"],
    "codebook_bad_kind": ["balises.yaml:19", "le type « truc » n'est pas l'un de", "écrire l'un d'eux"],
    "codebook_empty_definition": ["balises.yaml:19", "« definition » est vide", "le remplir"],
    "codebook_bad_pattern": ["balises.yaml:394", "clé(s) de motif non prise(s) en charge : ['LEMMES']",
                             "clés possibles"],
    "codebook_file_missing": ["absente.yaml", "fichier de grille introuvable", "indiquer --codebook CHEMIN"],
    "codebook_not_utf8": ["balises.yaml", "n'est pas en UTF-8", "l'enregistrer en UTF-8"],
    # codings
    "coding_line_not_json": ["A.jsonl:4", "JSON invalide : nom de champ attendu entre guillemets",
                             "corriger la ligne"],
    "coding_line_not_an_object": ["A.jsonl:4", "une ligne doit être un objet JSON", "corriger la ligne ou la retirer"],
    "coding_missing_fields": ["A.jsonl:4", "champ(s) manquant(s) : start", "les ajouter à la ligne"],
    "coding_wrong_coder": ["A.jsonl:4", "codeur « B » dans le fichier de A", "déplacer la ligne dans B.jsonl"],
    "coding_unknown_document": ["A.jsonl:4", "document inconnu « inconnu »", "l'id doit être celui de l'en-tête"],
    "coding_unknown_code": ["A.jsonl:4", "code inconnu « ENG.99 »", "utiliser un id de"],
    "coding_offsets_not_integers": ["A.jsonl:4", "doivent être des entiers", "écrire les positions sans guillemets"],
    "coding_end_before_start": ["A.jsonl:4", "doit être plus grand que start", "corriger les positions"],
    "coding_bad_origin": ["A.jsonl:4", "l'origine « humain »", "écrire l'une de ces valeurs"],
    "coding_bad_date": ["A.jsonl:4", "n'est pas une date-heure ISO 8601", "écrire par exemple 2026-03-01"],
    "coding_nan_score": ["A.jsonl:4", "score nan invalide", 'mettre "score": null'],
    "coding_score_out_of_range": ["A.jsonl:4", "score 3 invalide", 'mettre "score": null'],
    "coding_score_text": ["A.jsonl:4", "score '0,8' invalide", 'mettre "score": null'],
    "model_line_in_human_file": ["A.jsonl:4", "codage d'origine « model »", "l'accepter dans le panneau, ou retirer la ligne"],
    "rule_line_in_human_file": ["A.jsonl:4", "codage d'origine « rule »", "l'accepter dans le panneau, ou retirer la ligne"],
    "coding_quote_nowhere": ["A.jsonl:4", "la citation ne correspond pas au texte", "corriger start/end ou la citation"],
    "coding_offsets_beyond_text": ["A.jsonl:4", "positions au-delà de la fin du texte", "corriger start/end"],
    "coverage_unknown_document": ["A.jsonl:4", "couverture d'un document inconnu", "corriger l'id du document"],
    "coder_file_not_utf8": ["C.jsonl:1", "n'est pas en UTF-8", "l'enregistrer en UTF-8"],
    "coder_file_with_space_in_name": ["C D.jsonl", "n'est pas un identifiant de codeur valide", "renommer le fichier"],
    "coder_file_with_accent_in_name": ["Hélène.jsonl", "n'est pas un identifiant de codeur valide", "renommer le fichier"],
    "record_split_by_old_reader": ["A.jsonl:4", "enregistrement coupé en deux lignes", "lancer `analyse repair`"],
    # sheet
    "sheet_unknown_code": ["f.xlsx:2", "code inconnu « ENG.99 »", "utiliser les ids de la feuille codebook"],
    "sheet_code_in_lower_case": ["f.xlsx:2", "code inconnu « eng.1 »", "vouliez-vous dire ENG.1"],
    "sheet_unknown_segment": ["f.xlsx:2", "id de segment inconnu « le-mene-test#99 »", "exporter à nouveau la feuille"],
    "sheet_duplicated_segment": ["f.xlsx:3", "est déjà ligne 2", "garder une ligne par segment"],
    "sheet_text_edited": ["f.xlsx:2", "diffère du corpus", "ne pas modifier le texte"],
    "sheet_column_renamed": ["f.xlsx:1", "la colonne « codes » manque", "la ligne d'en-tête doit être"],
    "sheet_row_deleted": ["f.xlsx", "le segment « le-mene-test#2 »", "ne pas supprimer de lignes"],
    "sheet_other_coder": ["f.xlsx", "exportée pour le codeur « B »", "utiliser --coder B"],
    "sheet_formula_without_value": ["f.xlsx:2", "formule sans valeur calculée", "remplacer la formule par sa valeur"],
    "sheet_removes_codings_made_since_export": ["f.xlsx", "l'import l'effacerait", "relancer avec --force"],
    "sheet_damaged_xlsx": ["f.xlsx", "classeur illisible : ce n'est pas un fichier zip", "l'enregistrer à nouveau en .xlsx"],
    "sheet_empty_csv": ["f.csv", "le fichier est vide", "exporter une feuille"],
    "sheet_csv_not_utf8": ["f.csv:2", "n'est pas en UTF-8", "CSV UTF-8"],
    "sheet_csv_unknown_code": ["f.csv:2", "code inconnu « ENG.77 »", "utiliser les ids de la feuille codebook"],
    "sheet_wrong_extension": ["f.ods", "impossible de lire", "importer une feuille de codage .xlsx ou .csv"],
    "sheet_missing_file": ["absente.xlsx", "fichier introuvable", "vérifier le chemin"],
    "sheet_export_bad_extension": ["f.txt", "impossible d'écrire", "doit finir par .xlsx ou .csv"],
    "sheet_invalid_coder_id": ["« C D »", "identifiant de codeur invalide", "lettres, chiffres"],
    "sheet_export_coder_file_not_utf8": ["A.jsonl:1", "n'est pas en UTF-8", "l'enregistrer en UTF-8"],
    "sheet_import_coder_file_not_utf8": ["A.jsonl:1", "n'est pas en UTF-8", "le corriger d'abord"],
    "sheet_import_into_broken_coder_file": ["A.jsonl:4", "JSON invalide", "le corriger d'abord (analyse validate)"],
    # REFI-QDA and Taguette
    "refi_not_a_zip": ["p.qdpx", "archive REFI-QDA illisible (ce n'est pas un fichier zip)", "exporter à nouveau le projet"],
    "refi_damaged_zip": ["p.qdpx", "archive REFI-QDA illisible (ce n'est pas un fichier zip)", "exporter à nouveau"],
    "refi_no_project_qde": ["p.qdpx", "aucun project.qde dans l'archive", "exporter à nouveau le projet au format REFI-QDA"],
    "refi_qde_not_xml": ["p.qdpx:project.qde:1", "XML mal formé", "l'exporter à nouveau"],
    "refi_root_not_project": ["p.qdpx:project.qde:1", "pas un projet REFI-QDA", "exporter le projet au format REFI-QDA"],
    "refi_billion_laughs": ["p.qdpx:project.qde:1", "déclare des entités XML", "vérifier la provenance du fichier"],
    "refi_external_entity_not_followed": ["p.qdpx:project.qde:1", "déclare des entités XML",
                                          "vérifier la provenance du fichier"],
    "refi_entry_too_large": ["p.qdpx:project.qde", "élément « project.qde » refusé", "vérifier la provenance du fichier"],
    "refi_archive_too_large": ["p.qdpx", "archive refusée", "vérifier la provenance du fichier"],
    "refi_text_file_named_sqlite3": ["export.sqlite3", "n'est pas une base SQLite", "« Exporter le projet » donne le bon fichier"],
    "refi_taguette_without_coder_map": ["t.sqlite3", "pas un export de projet Taguette", "Exporter le projet"],
    "refi_missing_file": ["absent.qdpx", "fichier introuvable", "vérifier son chemin"],
    "refi_bad_coder_map": ["« A:A2 »", "n'a pas la forme AUTRE=CODEUR", "par exemple --coder-map"],
    "refi_into_coder_file_not_utf8": ["A2.jsonl:1", "n'est pas en UTF-8", "l'enregistrer en UTF-8"],
    "refi_zip_slip_source_not_followed": ["p.qdpx:project.qde:2", "n'est pas dans l'archive",
                                          "exporter le projet avec ses sources"],
    # reconcile
    "reconcile_decisions_missing": ["absent.csv", "fichier de décisions introuvable", "indiquer le CSV"],
    "reconcile_decisions_not_utf8": ["d.csv", "n'est pas en UTF-8", "CSV UTF-8"],
    "reconcile_decisions_columns_missing": ["d.csv", "colonne(s) manquante(s)", "garder son en-tête"],
    "reconcile_decision_not_understood": ["d.csv:2", "décision « peut-être » incomprise", "écrire oui ou non"],
    "reconcile_unknown_segment": ["d.csv:2", "segment inconnu « le-mene-r1#77 »", "garder la colonne segment"],
    "reconcile_as_a_compared_coder": ["« A »", "le consensus ne peut pas être enregistré", "choisir un nouveau nom"],
    "reconcile_replace_would_erase_newer_consensus": ["consensus.jsonl", "--replace l'effacerait", "relancer avec --force"],
    "reconcile_out_exists": ["d.csv", "le fichier existe", "choisir un autre nom de fichier"],
    # suggest, segments, agreement
    "suggest_model_outside_project": ["ailleurs.joblib", "modèle refusé", "ajouter --trust-model"],
    "suggest_texts_not_utf8": ["in.jsonl:1", "n'est pas en UTF-8", "l'enregistrer en UTF-8"],
    "suggest_texts_bad_json": ["in.jsonl:2", "JSON invalide : nom de champ attendu", "corriger la ligne"],
    "suggest_texts_duplicate_id": ["in.jsonl:2", "id 1 en double (déjà ligne 1)", "donner à chaque texte son propre id"],
    "suggest_texts_empty": ["in.jsonl", "le fichier d'entrée est vide", "écrire un objet"],
    "suggest_output_into_codings": ["A.jsonl", "refus d'écrire des propositions", "--out outputs/suggestions/"],
    "segments_of_a_broken_document": ["le-mene-test.md", "en-tête YAML manquant", "commencer le fichier"],
    "agreement_unknown_coder": ["codeur(s) inconnu(s) : Z", "disponibles : A, B", "corpus/codings"],
    # memos, retrieval, registry, project, Taguette
    "memo_unknown_target_type": ["« truc:x »", "cible de mémo inconnue", "coding:CODEUR:SEGMENT:CODE"],
    "memo_unknown_segment": ["« le-mene-test#99 »", "segment inconnu", "voir `analyse segments FICHIER`"],
    "memos_file_broken_line": ["memos.jsonl:1", "JSON invalide : virgule attendue", "corriger la ligne"],
    "memos_file_unknown_target_type": ["memos.jsonl:1", "type de cible inconnu « chapitre »", "écrire l'un des types"],
    "coders_registry_not_yaml": ["coders.yaml:2", "YAML invalide : une valeur est attendue", "vérifier l'indentation"],
    "retrieve_unknown_valence": ["« douteuse »", "valence inconnue", "valences possibles"],
    "retrieve_unknown_code": ["« ENG.99 »", "code inconnu", "voir la grille avec `analyse codebook`"],
    "search_empty_query": ["recherche vide", "donner un mot", "une expression régulière"],
    "project_file_not_toml": ["balises.toml", "TOML invalide", "voir la section « Le fichier balises.toml »"],
    "taguette_highlight_beyond_text": ["t.sqlite3", "dépassent son texte", "exporter à nouveau le projet"],
    "taguette_two_projects": ["t.sqlite3", "2 projets dans le fichier, 1 attendu", "exporter un seul projet"],
    "taguette_imported_as_a_whole_project": ["t.sqlite3", "un export Taguette reprend des documents du corpus",
                                             "sans --territory"],
    "memos_file_not_utf8": ["memos.jsonl:2", "n'est pas en UTF-8", "l'enregistrer en UTF-8"],
    "memo_added_to_a_memos_file_not_utf8": ["memos.jsonl:1", "n'est pas en UTF-8", "aucun mémo n'est ajouté"],
    "memos_file_is_a_folder": ["memos.jsonl", "impossible de lire le fichier des mémos", "vérifier que c'est bien un fichier"],
    "coder_file_is_a_folder": ["Z.jsonl", "impossible de lire le fichier du codeur Z", "vérifier les droits"],
    "fiche_not_utf8": ["ENG.1.yaml:2", "n'est pas en UTF-8", "l'enregistrer en UTF-8"],
    "taguette_without_coder_map": ["t.sqlite3", "ne dit pas qui a fait chaque surlignage", "--coder-map admin="],
}
# Inputs that are accepted as they are (nothing to fix): the case asserts exit 0 and its words only.
ACCEPTED = {"raw_line_separator_from_old_writer"}


# --------------------------------------------------------------------------- the runner

def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of the codings folder, and the memos file beside it (research data both)."""
    files = [q for q in sorted(folder.iterdir()) if q.is_file() and not q.name.endswith(".lock")]
    memos = folder.parent / "memos.jsonl"
    return {q.name: q.read_bytes() for q in files + ([memos] if memos.is_file() else [])}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, base: Path, capsys):
    import analyse.exchange.refi as refi

    fn, expected = CASES[name]
    limits = refi.MAX_ENTRY_BYTES, refi.MAX_ARCHIVE_BYTES
    try:
        argv, words = fn(base)
        capsys.readouterr()
        before = _snapshot(_codings(base))
        code, out = run_cli(base, *argv, capsys=capsys)
    finally:
        refi.MAX_ENTRY_BYTES, refi.MAX_ARCHIVE_BYTES = limits
    text = out.out + out.err
    assert code == expected, text
    assert "Traceback" not in text
    for word in words:
        assert word in text, (word, text)
    if name not in ACCEPTED:
        said = MESSAGE[name]
        assert any(all(w in line for w in said) for line in text.splitlines()), \
            f"no line says {said} together:\n{text}"
    if expected:
        shown = out.err if out.err.strip() else out.out
        assert shown.strip(), "no message"
    assert _snapshot(_codings(base)) == before, "a coder file (or the memos file) changed"


def test_the_suite_is_large_enough():
    assert not (set(MESSAGE) | ACCEPTED) ^ set(CASES), "every case says where, what and what to do"
    assert all(len(words) >= 3 for words in MESSAGE.values())
    assert len(MESSAGE) >= 80
    print(f"{len(CASES)} bad inputs; {len(MESSAGE)} with a French message naming the file, what is wrong "
          f"and what to do; {len(ACCEPTED)} accepted as they are")
