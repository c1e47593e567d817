"""REFI-QDA export/import: schema validity, determinism, round trip, other tools' quirks, bad input."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from analyse.cli import main
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, coverage_record, load_codings
from analyse.model.corpus import load_corpus
from analyse.errors import AnalyseError, UsageError
from analyse.exchange.refi import (ATLAS_PSEUDO_USER, OffsetConverter, RefiCode, _coder_for, check_qdpx,
                          codebook_qdc, codebook_taguette_csv, export_project, guid_for, import_project,
                          match_code, read_project)

from tests.helpers import REFI, ROOT, make_codebook, require_shared, run_cli, write_doc

SAMPLES = REFI / "samples"
# skipped when ../shared/refi-qda is missing, failed if CI is set (fixture refi_qda in conftest)
needs_refi = pytest.mark.usefixtures("refi_qda")

MODE = {"id": "ENG.M1", "label": "Créer les conditions", "dimension": "ENG", "kind": "mode", "parent": "ENG.1",
        "definition": "Un mode.", "include": ["quand"], "exclude": ["sinon"], "examples": ["a", "b"],
        "keywords": ["conditions"]}
# A body with an astral character (counts 2 in UTF-16) before the coded text.
EMOJI_DOC = """---
id: le-mene-emoji
title: "Atelier émoji"
territory: le-mene
kind: transcript
atelier: valeur
date: 2018-03-02
language: fr
synthetic: true
participants:
  - {id: P1, name: "Nadine Testu", role: elu}
  - {id: P3, name: "Jean Citoyen", role: citoyen}
---
**P1 (élue)** : On a ri 😀 puis on a planté des arbres.

**P3 (habitant)** : Le café associatif a ouvert en mai.
"""


def schema(name: str):
    return etree.XMLSchema(etree.parse(str(REFI / name)))


def sample(name: str) -> Path:
    return require_shared(SAMPLES / name)


@pytest.fixture
def coded(project: Path) -> Path:
    """The tiny project plus the emoji document, a mode code, and codings by A and B."""
    make_codebook(project / "codebook" / "balises.yaml", extra=[MODE])
    write_doc(project / "corpus", "le-mene", "le-mene-emoji", EMOJI_DOC)
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus" / "codings")
    segs = {s.id: s for s in corpus.segments}
    body = corpus.documents["le-mene-emoji"].body
    start = body.index("puis on a")
    store.append("A", [
        coding_record(segs["le-mene-test#1"], "ENG.1", "A", at="2026-11-20T10:00:00+00:00"),
        coding_record(segs["le-mene-test#1"], "ENG.M1", "A", at="2026-11-20T10:00:00+00:00", memo="à revoir"),
        coding_record(segs["le-mene-emoji#1"], "VAL.1", "A", start=start, end=start + 27, body=body,
                      at="2026-11-20T10:00:00+00:00"),
        coverage_record("le-mene-test", "A", at="2026-11-20T10:00:00+00:00"),
        coverage_record("le-mene-emoji", "A", at="2026-11-20T10:00:00+00:00"),
    ])
    store.append("B", [coding_record(segs["malaunay-test#3"], "COOP.1", "B", at="2026-11-21T09:00:00Z")])
    return project


def paths(project: Path):
    return project / "corpus", project / "codebook" / "balises.yaml", project / "corpus" / "codings"


def load(project: Path):
    corpus_dir, book_path, _ = paths(project)
    return load_corpus(corpus_dir), load_codebook(book_path)


def coding_sets(corpus, book, folder, coders) -> dict[str, set]:
    frame = load_codings(corpus, book, folder).frame
    return {c: set(frame.loc[frame["coder"] == c, ["doc", "start", "end", "code"]].itertuples(index=False, name=None))
            for c in coders}


def make_qdpx(path: Path, qde: str | bytes, files: dict[str, bytes] | None = None, qde_name="project.qde") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(qde_name, qde if isinstance(qde, bytes) else qde.encode("utf-8"))
        for name, data in (files or {}).items():
            zf.writestr(name, data)
    return path


# ---------------------------------------------------------------- codebook export

def test_guids_are_stable_and_distinct():
    assert guid_for("code", "ENG.1") == guid_for("code", "ENG.1")
    assert guid_for("code", "ENG.1") != guid_for("code", "ENG.2")
    assert guid_for("code", "ENG.1") != guid_for("user", "ENG.1")


@needs_refi
def test_codebook_qdc_is_valid_hierarchical_and_deterministic(coded):
    _, book = load(coded)
    data = codebook_qdc(book)
    assert data == codebook_qdc(book)  # byte-identical re-export
    root = etree.fromstring(data)
    xsd = schema("Codebook.xsd")
    assert xsd.validate(root), xsd.error_log
    ns = {"q": "urn:QDA-XML:codebook:1.0"}
    eng = root.find(f"q:Codes/q:Code[@guid='{guid_for('dimension', 'ENG')}']", ns)
    assert eng.get("isCodable") == "false"
    eng1 = eng.find(f"q:Code[@guid='{guid_for('code', 'ENG.1')}']", ns)
    assert eng1.get("name") == "ENG.1 Libellé ENG.1"
    assert "Définition de ENG.1." in eng1.find("q:Description", ns).text
    assert "À coder si :\n- quand" in eng1.find("q:Description", ns).text
    # The mode sits under its parent balise.
    assert eng1.find(f"q:Code[@guid='{guid_for('code', 'ENG.M1')}']", ns) is not None
    assert len(root.findall(".//q:Code[@isCodable='true']", ns)) == len(book.codes)


def test_export_codebook_cli_and_taguette_csv(coded, capsys):
    corpus_dir, book_path, _ = paths(coded)
    out = coded / "codes.csv"
    assert main(["refi", "export-codebook", "--codebook", str(book_path), "--format", "taguette-csv",
                 "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    # What Taguette's codebook import requires: exactly one of tag/name/path, optional description.
    header = [h.lower() for h in rows[0]]
    assert header == ["tag", "description"]
    _, book = load(coded)
    assert [r[0] for r in rows[1:]] == list(book.codes)
    assert rows[1][1].startswith("Libellé ENG.1 — Définition de ENG.1.")
    assert codebook_taguette_csv(book) == raw.decode("utf-8")


# ---------------------------------------------------------------- project export

@needs_refi
def test_export_project_is_valid_checked_and_deterministic(coded):
    corpus, book = load(coded)
    out1, out2 = coded / "p1.qdpx", coded / "p2.qdpx"
    result = export_project(corpus, book, out1)
    export_project(corpus, book, out2)
    assert out1.read_bytes() == out2.read_bytes()
    assert (result["sources"], result["codings"], result["users"]) == (3, 4, 2)
    assert check_qdpx(out1).errors == []
    zf = zipfile.ZipFile(out1)
    root = etree.fromstring(zf.read("project.qde"))
    xsd = schema("Project.xsd")
    assert xsd.validate(root), xsd.error_log
    ns = {"q": "urn:QDA-XML:project:1.0"}
    # The source text is the body, UTF-8 without BOM, so offsets need no conversion.
    sguid = guid_for("source", "le-mene-emoji")
    raw = zf.read(f"Sources/{sguid}.txt")
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert text == corpus.documents["le-mene-emoji"].body
    sel = root.find(f".//q:TextSource[@guid='{sguid}']/q:PlainTextSelection", ns)
    start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
    assert text[start:end] == "puis on a planté des arbres"
    assert sel.get("creatingUser") == guid_for("user", "A")
    assert sel.find("q:Coding/q:CodeRef", ns).get("targetGUID") == guid_for("code", "VAL.1")
    # Variables on sources, territories as cases, coverage as a set.
    values = {vv.find("q:VariableRef", ns).get("targetGUID"): vv.find("q:TextValue", ns).text
              for vv in root.findall(f".//q:TextSource[@guid='{sguid}']/q:VariableValue", ns)}
    assert values[guid_for("variable", "atelier")] == "valeur"
    assert values[guid_for("variable", "roles")] == "citoyen, elu"
    case = root.find(".//q:Case[@name='le-mene']", ns)
    assert {r.get("targetGUID") for r in case.findall("q:SourceRef", ns)} == \
        {guid_for("source", "le-mene-test"), sguid}
    cov = root.find(".//q:Set[@name='coverage:A']", ns)
    assert len(cov.findall("q:MemberSource", ns)) == 2
    assert root.find(".//q:Set[@name='coverage:B']", ns) is None  # B covered nothing


def _tamper(src: Path, dst: Path, edit) -> Path:
    zin = zipfile.ZipFile(src)
    files = {n: zin.read(n) for n in zin.namelist()}
    files["project.qde"] = edit(files["project.qde"].decode("utf-8")).encode("utf-8")
    return make_qdpx(dst, files.pop("project.qde"), files)


def test_check_qdpx_finds_what_a_schema_cannot(coded):
    corpus, book = load(coded)
    good = coded / "good.qdpx"
    export_project(corpus, book, good)
    a, val1, eng1 = guid_for("user", "A"), guid_for("code", "VAL.1"), guid_for("code", "ENG.1")
    sguid = guid_for("source", "malaunay-test")
    cases = {
        "élément <Code> inconnu": lambda x: x.replace(f'targetGUID="{val1}"', f'targetGUID="{guid_for("code", "nope")}"'),
        "n'est pas un <User>": lambda x: x.replace(f'<User guid="{a}"', f'<User guid="{guid_for("user", "Z")}"'),
        "utilisé deux fois": lambda x: x.replace(f'guid="{eng1}"', f'guid="{val1}"'),
        "n'est pas dans l'archive": lambda x: x.replace(f"internal://{sguid}.txt", "internal://missing.txt"),
        "ne contient pas sa citation": lambda x: x.replace('name="puis on a planté des arbres"', 'name="autre chose"'),
    }
    for i, (expected, edit) in enumerate(cases.items()):
        bad = _tamper(good, coded / f"bad{i}.qdpx", edit)
        messages = [p.message for p in check_qdpx(bad).errors]
        assert any(expected in m for m in messages), (expected, messages)


# ---------------------------------------------------------------- round trips

def test_round_trip_tiny_project_keeps_codings_coverage_and_memos(coded):
    corpus, book = load(coded)
    _, _, folder = paths(coded)
    out = coded / "p.qdpx"
    export_project(corpus, book, out)
    report = import_project(out, corpus, book, folder, {"A": "A2", "B": "B2"})
    assert report.written == {"A2": 5, "B2": 1}
    got = coding_sets(corpus, book, folder, ["A", "A2", "B", "B2"])
    assert got["A2"] == got["A"] and len(got["A"]) == 3
    assert got["B2"] == got["B"] and len(got["B"]) == 1
    codings = load_codings(corpus, book, folder)
    assert set(codings.coverage.loc[codings.coverage["coder"] == "A2", "doc"]) == {"le-mene-test", "le-mene-emoji"}
    assert "à revoir" in set(codings.frame.loc[codings.frame["coder"] == "A2", "memo"])
    # Importing again adds nothing (duplicates are recognised).
    again = import_project(out, corpus, book, folder, {"A": "A2", "B": "B2"})
    assert again.written == {} and again.duplicates == {"A2": 3, "B2": 1}


def test_round_trip_bundled_corpus_loses_nothing(tmp_path, capsys):
    corpus_dir, book_path = ROOT / "corpus", ROOT / "codebook" / "balises.yaml"
    if not (corpus_dir / "codings" / "A.jsonl").is_file():
        pytest.skip("bundled codings not present")
    folder = tmp_path / "codings"
    shutil.copytree(corpus_dir / "codings", folder, ignore=shutil.ignore_patterns("*.lock"))
    out = tmp_path / "projet.qdpx"
    common = ["--corpus", str(corpus_dir), "--codebook", str(book_path), "--codings", str(folder)]
    assert main(["refi", "export", *common, "--out", str(out)]) == 0
    assert main(["refi", "import", str(out), *common, "--coder-map", "A=A2", "B=B2"]) == 0
    corpus, book = load_corpus(corpus_dir), load_codebook(book_path)
    got = coding_sets(corpus, book, folder, ["A", "A2", "B", "B2"])
    assert got["A"] and got["A2"] == got["A"]
    assert got["B"] and got["B2"] == got["B"]
    cov = load_codings(corpus, book, folder).coverage
    for a, b in (("A", "A2"), ("B", "B2")):
        assert set(cov.loc[cov["coder"] == a, "doc"]) == set(cov.loc[cov["coder"] == b, "doc"])


# ---------------------------------------------------------------- other tools

def test_offset_converter_utf16_and_crlf():
    text = "a😀b\r\nc😀d"
    conv = OffsetConverter(text, "utf16")
    assert conv.normalised == "a😀b\ncd".replace("cd", "c😀d")
    # UTF-16 units: a0 😀1-2 b3 CR4 LF5 c6 😀7-8 d9 ; end 10
    assert [conv(u) for u in (0, 1, 3, 4, 6, 7, 9, 10)] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert conv.normalised[conv(7):conv(10)] == "😀d"
    plain = OffsetConverter(text, "codepoints")
    assert plain.normalised[plain(6):plain(8)] == "😀d"  # code points: c5 😀6 d7, minus one dropped CR
    with pytest.raises(IndexError):
        conv(11)


NVIVO_QDE = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Untitled" origin="NVivo for Windows 12.6">
  <Users><User guid="29518289-d0e3-447b-b7dd-ae1d8cd880a0" name="Gergo" /></Users>
  <CodeBook><Codes>
    <Code guid="5067d381-1dc9-4816-81dd-ae1dbfea2ad7" name="Valeur" isCodable="true">
      <Code guid="7142c1bf-1bbe-4073-88dd-ae1dbfec9f8f" name="VAL.1" isCodable="true" />
      <Code guid="7142c1bf-1bbe-4073-88dd-ae1dbfec9f90" name="Libellé COOP.1" isCodable="true" />
      <Code guid="7142c1bf-1bbe-4073-88dd-ae1dbfec9f91" name="inconnu" isCodable="true" />
    </Code></Codes></CodeBook>
  <Sources>
    <TextSource guid="ddbebe1b-306f-4271-acdd-ae1da7c06fcd" name="copie de travail" plainTextPath="internal://ddbebe1b-306f-4271-acdd-ae1da7c06fcd.txt">
      <Description />
      <PlainTextSelection guid="7154a758-6873-4134-badd-ae1dc04d3086" name="" startPosition="{s}" endPosition="{e}" creatingUser="29518289-d0e3-447b-b7dd-ae1d8cd880a0">
        <Description />
        <Coding guid="da50c6de-cd58-40da-a7e3-be4b82d7f00c" creatingUser="29518289-d0e3-447b-b7dd-ae1d8cd880a0" creationDateTime="2025-06-18T02:06:50Z">
          <CodeRef targetGUID="7142c1bf-1bbe-4073-88dd-ae1dbfec9f8f" />
        </Coding>
        <Coding guid="da50c6de-cd58-40da-a7e3-be4b82d7f00d" creatingUser="29518289-d0e3-447b-b7dd-ae1d8cd880a0">
          <CodeRef targetGUID="7142c1bf-1bbe-4073-88dd-ae1dbfec9f90" />
        </Coding>
        <Coding guid="da50c6de-cd58-40da-a7e3-be4b82d7f00e" creatingUser="29518289-d0e3-447b-b7dd-ae1d8cd880a0">
          <CodeRef targetGUID="7142c1bf-1bbe-4073-88dd-ae1dbfec9f91" />
        </Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>
"""


def nvivo_like(coded: Path, target: str, s: int | None = None, e: int | None = None) -> Path:
    """An NVivo-style export of le-mene-emoji: Sources/, BOM, CRLF, UTF-16 positions."""
    corpus, _ = load(coded)
    body = corpus.documents["le-mene-emoji"].body
    raw = body.replace("\n", "\r\n")
    cp = raw.index(target)
    units = len(raw[:cp].encode("utf-16-le")) // 2  # what NVivo writes
    s = units if s is None else s
    e = units + len(target.encode("utf-16-le")) // 2 if e is None else e
    return make_qdpx(coded / "nvivo.qdpx", NVIVO_QDE.replace("{s}", str(s)).replace("{e}", str(e)),
                     {"Sources/ddbebe1b-306f-4271-acdd-ae1da7c06fcd.txt": b"\xef\xbb\xbf" + raw.encode("utf-8")})


def test_import_nvivo_like_project_converts_offsets_and_maps_names(coded):
    corpus, book = load(coded)
    _, _, folder = paths(coded)
    target = "Le café associatif"  # after an emoji and a CRLF: UTF-16 and CR both shift NVivo's offsets
    path = nvivo_like(coded, target)
    report = import_project(path, corpus, book, folder, {"Gergo": "G"})
    recs = report.records["G"]
    body = corpus.documents["le-mene-emoji"].body
    assert {(r["doc"], r["code"]) for r in recs} == {("le-mene-emoji", "VAL.1"), ("le-mene-emoji", "COOP.1")}
    assert all(body[r["start"]:r["end"]] == target == r["quote"] for r in recs)
    assert report.codes_mapped == {"VAL.1": "VAL.1", "Libellé COOP.1": "COOP.1"}  # by id, by label
    assert report.unknown_codes["Valeur::inconnu"] == 1  # reported, not dropped silently
    assert recs[0]["at"] == "2025-06-18T02:06:50Z"
    assert load_codings(corpus, book, folder, ["G"]).problems.errors == []
    # Read as code points (wrong for NVivo) the same positions miss the text.
    wrong = read_project(path, offsets="codepoints")
    sel = wrong.sources[0].selections[0]
    assert wrong.sources[0].text[sel.start:sel.end] != target


def test_unmapped_user_and_unmatched_source_are_reported(coded):
    corpus, book = load(coded)
    _, _, folder = paths(coded)
    path = nvivo_like(coded, "Le café")
    with pytest.raises(UsageError, match="aucun utilisateur « Nobody »"):
        import_project(path, corpus, book, folder, {"Nobody": "N"})
    report = import_project(path, corpus, book, folder, {"29518289-d0e3-447b-b7dd-ae1d8cd880a0": "G"},
                            dry_run=True)
    assert sorted(report.records) == ["G"] and not (folder / "G.jsonl").exists()  # dry run: nothing written
    # A source whose name and text match no document.
    zin = zipfile.ZipFile(path)
    files = {n: zin.read(n) for n in zin.namelist() if n != "project.qde"}
    files = {n: d.replace("café".encode(), b"cafe") for n, d in files.items()}  # same length, other text
    other = make_qdpx(coded / "other.qdpx", zin.read("project.qde"), files)
    r2 = import_project(other, corpus, book, folder, dry_run=True)
    assert r2.unmatched_sources == ["copie de travail"] and r2.records == {}


def test_atlas_code_names_and_pseudo_user(coded):
    _, book = load(coded)
    assert match_code(RefiCode("0", "ENG::ENG.1", ("ENG::ENG.1",)), book) == "ENG.1"
    assert match_code(RefiCode("0", "Dim::libellé  eng.2", ("x",)), book) == "ENG.2"
    assert match_code(RefiCode("0", "ENG.3 anything", ("x",)), book) == "ENG.3"
    assert match_code(RefiCode(guid_for("code", "SYS.1"), "renamed in NVivo", ("x",)), book) == "SYS.1"
    assert match_code(RefiCode(guid_for("dimension", "ENG"), "ENG", ("ENG",)), book) is None
    users = {ATLAS_PSEUDO_USER: {"name": "ATLAS.ti", "id": ""}}
    assert _coder_for(ATLAS_PSEUDO_USER, users, {}) is None


@needs_refi
def test_sample_taguette_codebook_with_empty_sets(coded):
    corpus, book = load(coded)
    path = sample("taguette-1.5.2-codebook.qdc")
    p = read_project(path)
    assert p.kind == "codebook" and p.origin == "Taguette 1.5.2"
    assert sorted(c.name for c in p.codes.values()) == ["economy", "economy.rent", "interesting"]
    report = import_project(path, corpus, book, paths(coded)[2])
    assert report.records == {} and set(report.unknown_codes) == {"economy", "economy.rent", "interesting"}
    # A Taguette codebook made from our CSV (tags = our ids) maps every code.
    ours = path.read_text(encoding="utf-8").replace('name="economy.rent"', 'name="ENG.1"')
    (coded / "t.qdc").write_text(ours, encoding="utf-8")
    assert import_project(coded / "t.qdc", corpus, book, paths(coded)[2]).codes_mapped == {"ENG.1": "ENG.1"}


@needs_refi
@pytest.mark.parametrize("name, users, codes, sources, selections, line_starts", [
    ("nvivo-win-12.6-oltas0517.qdpx", 2, 152, 2, 303, 281),
    ("nvivo-mac-12.7-oltasszkepticizmus-17june.qdpx", 2, 152, 2, 297, 275),
])
def test_sample_nvivo_utf16_offsets(name, users, codes, sources, selections, line_starts):
    p = read_project(sample(name))
    assert (len(p.users), len(p.codes), len(p.sources), p.selections) == (users, codes, sources, selections)
    assert p.unit == "utf16" and p.problems.errors == []

    def at_line_start(project):
        return sum(1 for s in project.sources for x in s.selections if x.start == 0 or s.text[x.start - 1] == "\n")

    # These projects code one comment per line: read right, selections start at line starts
    # (SOURCES.md: 281/303 and 275/297); read as code points, they do not.
    assert at_line_start(p) == line_starts
    assert at_line_start(read_project(sample(name), offsets="codepoints")) < selections // 5
    assert all("\r" not in s.text and not s.text.startswith("\ufeff") for s in p.sources)


@needs_refi
def test_sample_nvivo_mac_15_lowercase_sources_no_selections():
    p = read_project(sample("nvivo-mac-15.0-qc-project.qdpx"))
    assert (len(p.users), len(p.codes), len(p.sources), p.selections) == (2, 262, 2, 0)
    assert [s.text for s in p.sources] == ["\n", "\n"]  # read from lowercase sources/
    assert max(len(c.path) for c in p.codes.values()) == 7


@needs_refi
def test_sample_atlas_84_project_qde_without_sources(coded):
    corpus, book = load(coded)
    path = sample("atlasti-mac-8.4.0-refi-standard-project-nosources.qdpx")
    p = read_project(path)
    assert p.unit == "codepoints" and (len(p.users), len(p.codes), len(p.sources)) == (3, 14, 6)
    assert p.users[ATLAS_PSEUDO_USER]["name"] == "ATLAS.ti"
    assert "Coke::diet Coke" in {c.name for c in p.codes.values()}
    assert p.problems.errors == [] and any("n'est pas dans l'archive" in w.message for w in p.problems.warnings)
    assert any("6 sélection(s) codée(s) sur des images, PDF" in w.message for w in p.problems.warnings)
    report = import_project(path, corpus, book, paths(coded)[2], dry_run=True)
    assert len(report.unmatched_sources) == 6 and report.records == {}
    # ATLAS.ti reuses a PDF selection's GUID for the PlainTextSelection of its text representation.
    assert any("utilisé deux fois (lignes 101 et 131)" in p.message for p in check_qdpx(path).errors)


@needs_refi
def test_sample_atlas_23_ponte():
    target = read_project(sample("atlasti-win-23.2.3-ponte-target.qdpx"))
    assert len(target.users) == 2 and len(target.codes) == 3
    assert sorted(len(c.path) for c in target.codes.values()) == [1, 2, 2]  # "Commits" and its 2 children
    blank = read_project(sample("atlasti-win-23.2.3-ponte-blank.qdpx"))
    assert len(blank.users) == 2 and blank.codes == {} and blank.sources == []


# ---------------------------------------------------------------- bad input

def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.jsonl"))}


def test_bad_inputs_give_one_line_errors_and_change_nothing(coded, capsys):
    corpus_dir, book_path, folder = paths(coded)
    before = _snapshot(folder)
    common = ["--corpus", str(corpus_dir), "--codebook", str(book_path)]
    corrupt = coded / "corrupt.qdpx"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip")
    not_refi = make_qdpx(coded / "notrefi.qdpx", "<?xml version='1.0'?>\n<html><body/></html>")
    broken = make_qdpx(coded / "broken.qdpx", "<?xml version='1.0'?>\n<Project xmlns='urn:QDA-XML:project:1.0'>\n<Users>")
    beyond = nvivo_like(coded, "Le café", s=5, e=100000)
    expected = {corrupt: "archive REFI-QDA illisible", not_refi: "pas un projet REFI-QDA : l'élément racine est <html>",
                broken: "XML mal formé", beyond: "dépasse le texte"}
    for path, message in expected.items():
        assert main(["refi", "import", str(path), *common, "--coder-map", "Gergo=G"]
                    if path == beyond else ["refi", "import", str(path), *common]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err and str(path) in err, err
    assert "nvivo.qdpx:project.qde:13:" in err  # file and line of the bad selection
    assert _snapshot(folder) == before and not (folder / "G.jsonl").exists()
    with pytest.raises(AnalyseError, match="aucun project.qde"):
        read_project(make_qdpx(coded / "empty.qdpx", b"", qde_name="readme.txt"))


def test_qde_not_named_project_qde_and_lowercase_sources(coded):
    corpus, book = load(coded)
    _, _, folder = paths(coded)
    out = coded / "p.qdpx"
    export_project(corpus, book, out)
    zin = zipfile.ZipFile(out)
    files = {n.replace("Sources/", "sources/"): zin.read(n) for n in zin.namelist() if n != "project.qde"}
    files = {n: b"\xef\xbb\xbf" + d.replace(b"\n", b"\r\n") for n, d in files.items()}  # BOM + CRLF
    renamed = make_qdpx(coded / "trial.qdpx", zin.read("project.qde"), files, qde_name="Trial.qde")
    report = import_project(renamed, corpus, book, folder, {"A": "A3"}, dry_run=True)
    got = {(r["doc"], r["start"], r["end"], r["code"]) for r in report.records["A3"] if "code" in r}
    assert got == coding_sets(corpus, book, folder, ["A"])["A"]


def test_source_matched_by_name_with_edited_text_is_reanchored_by_quote(coded):
    corpus, book = load(coded)
    _, _, folder = paths(coded)
    body = corpus.documents["le-mene-emoji"].body
    text = "Note ajoutée en tête.\n" + body  # the other tool's copy has an extra line
    s = text.index("Le café associatif")
    qde = NVIVO_QDE.replace('origin="NVivo for Windows 12.6"', 'origin="QualCoder 3.5"') \
        .replace('name="copie de travail"', 'name="Atelier émoji"').replace("{s}", str(s)) \
        .replace("{e}", str(s + len("Le café associatif")))
    path = make_qdpx(coded / "qc.qdpx", qde, {"sources/ddbebe1b-306f-4271-acdd-ae1da7c06fcd.txt": text.encode()})
    report = import_project(path, corpus, book, folder, {"Gergo": "G"}, dry_run=True)
    recs = report.records["G"]
    assert recs and all(body[r["start"]:r["end"]] == "Le café associatif" for r in recs)
    assert recs[0]["start"] == body.index("Le café associatif")  # matched by title, code points (not NVivo)


# ---------------------------------------------------------------- memos as REFI-QDA notes

MEMO_TARGETS = [("project", "", "Journal : première séance de codage.", "Claire"),
                ("territory", "le-mene", "Le Mené : à comparer avec Loos.", "Claire"),
                ("document", "le-mene-emoji", "Atelier animé, beaucoup de rires.", "Paul Durand"),
                ("segment", "le-mene-test#2", "Même récit qu'à Malaunay ?\u2028(ligne Word)", "Claire"),
                ("code", "ENG.M1", "Définition à resserrer.", "Paul Durand"),
                ("coding", "A:le-mene-test#1:ENG.M1", "Codé un peu vite.", "Claire"),
                ("coding", "B:malaunay-test#3:COOP.1", "D'accord avec B.", "A")]


def _memos(project: Path) -> list[dict]:
    from analyse.model.memos import MemoStore
    store = MemoStore(project / "corpus" / "memos.jsonl")
    for i, (kind, target, text, author) in enumerate(MEMO_TARGETS):
        store.add(kind, target, text, author, at=f"2026-11-2{i}T10:00:00+00:00")
    return store.records()


def _memo_set(records: list[dict]) -> set[tuple]:
    return {(r["target_type"], r["target"], r["text"], r["author"], r["at"]) for r in records}


@needs_refi
def test_memos_are_exported_as_notes_valid_against_the_schema(coded):
    from analyse.model.memos import MemoStore

    _memos(coded)
    corpus, book = load(coded)
    result = export_project(corpus, book, coded / "p.qdpx")
    assert result["memos"] == len(MEMO_TARGETS)
    root = etree.fromstring(zipfile.ZipFile(coded / "p.qdpx").read("project.qde"))
    xsd = schema("Project.xsd")
    assert xsd.validate(root), xsd.error_log
    assert check_qdpx(coded / "p.qdpx").errors == []
    q = "{urn:QDA-XML:project:1.0}"
    notes = {n.get("guid"): n for n in root.iter(f"{q}Note")}
    assert len(notes) == len(MEMO_TARGETS)
    users = {u.get("guid"): u.get("name") for u in root.iter(f"{q}User")}
    owner_of = {}
    for ref in root.iter(f"{q}NoteRef"):
        owner = ref.getparent()
        owner_of[notes[ref.get("targetGUID")].get("name")] = (etree.QName(owner).localname, owner.get("name"))
    # every memo hangs where another QDA tool would look for it
    assert owner_of["project"] == ("Project", book.name or "Balises")
    assert owner_of["territory:le-mene"][0] == "Project"          # a REFI case holds no note
    assert owner_of["document:le-mene-emoji"] == ("TextSource", "le-mene-emoji")
    assert owner_of["segment:le-mene-test#2"] == ("TextSource", "le-mene-test")
    assert owner_of["code:ENG.M1"][0] == "Code" and owner_of["code:ENG.M1"][1].startswith("ENG.M1 ")
    assert owner_of["coding:A:le-mene-test#1:ENG.M1"][0] == "Coding"
    coding = next(r.getparent() for r in root.iter(f"{q}NoteRef")
                  if notes[r.get("targetGUID")].get("name") == "coding:B:malaunay-test#3:COOP.1")
    assert coding.find(f"{q}CodeRef").get("targetGUID") == guid_for("code", "COOP.1")
    for memo in MemoStore(coded / "corpus" / "memos.jsonl").records():
        name = f"{memo['target_type']}:{memo['target']}" if memo["target_type"] != "project" else "project"
        note = next(n for n in notes.values() if n.get("name") == name)
        assert note.find(f"{q}PlainTextContent").text == memo["text"]
        assert users[note.get("creatingUser")] == memo["author"]
        assert note.get("creationDateTime") == memo["at"]


@needs_refi
def test_memos_round_trip_through_refi_notes(coded, tmp_path):
    import shutil

    from analyse.exchange.refi_project import import_whole_project
    from analyse.model.memos import MemoStore

    written = _memo_set(_memos(coded))
    corpus, book = load(coded)
    export_project(corpus, book, tmp_path / "p.qdpx")
    # the same project without its memos: every memo comes back with its exact target, author and date
    other = tmp_path / "other"
    shutil.copytree(coded, other)
    (other / "corpus" / "memos.jsonl").unlink()
    corpus2, book2 = load(other)
    report = import_whole_project(tmp_path / "p.qdpx", corpus2, book2, other / "corpus" / "codings",
                                  territory="le-mene")
    back = MemoStore(other / "corpus" / "memos.jsonl").records()
    assert _memo_set(back) == written and len(back) == len(written) == len(report.memos)
    assert run_cli(other, "validate")[0] == 0
    # importing again adds nothing; nor does importing into the project the memos came from
    again = import_whole_project(tmp_path / "p.qdpx", *load(other), other / "corpus" / "codings",
                                 territory="le-mene")
    assert again.memos == [] and again.memos_present == report.memos_present + len(written)
    same = import_whole_project(tmp_path / "p.qdpx", corpus, book, coded / "corpus" / "codings",
                                territory="le-mene")
    assert same.memos == [] and len(MemoStore(coded / "corpus" / "memos.jsonl").records()) == len(written)
