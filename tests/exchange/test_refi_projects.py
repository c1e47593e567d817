"""Whole REFI-QDA projects from NVivo and ATLAS.ti: documents, candidate codes, codings, memos.

The expected counts are taken from each sample's ``project.qde`` with lxml,
independently of the code under test. The samples live outside the repository
(``../shared/refi-qda/samples/``); without them the tests skip, except under CI
where they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from analyse.exchange.plaintext import detect_speakers, text_to_body
from analyse.exchange.refi_project import import_whole_project, read_territory_map
from analyse.model.codebook import CANONICAL_IDS, load_codebook, render_codebook, validate_codebook
from analyse.model.codings import load_codings
from analyse.model.corpus import load_corpus, load_document

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "refi-qda" / "samples"
NS = "{urn:QDA-XML:project:1.0}"
ATLAS_PSEUDO_USER = "c32a2bd5-537f-4838-8b17-df9efbafdf4b"
NVIVO_WIN = "nvivo-win-12.6-oltas0517.qdpx"
NVIVO_MAC = "nvivo-mac-12.7-oltasszkepticizmus-17june.qdpx"
ALL = [NVIVO_WIN, NVIVO_MAC, "nvivo-mac-15.0-qc-project.qdpx",
       "atlasti-mac-8.4.0-refi-standard-project-nosources.qdpx", "atlasti-win-23.2.3-ponte-target.qdpx"]


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"REFI-QDA sample {name} missing from {SAMPLES} (required under CI)")
        pytest.skip(f"sample {name} not found in {SAMPLES}")
    return path


def expected_counts(path: Path) -> dict:
    """Documents, codes, codings and memos, counted straight from the archive."""
    with zipfile.ZipFile(path) as zf:
        names = {n.lower(): n for n in zf.namelist()}
        qde = next(n for n in zf.namelist() if "/" not in n and n.lower().endswith(".qde"))
        root = etree.fromstring(zf.read(qde))

        def text_of(src) -> str:
            content = src.find(f"{NS}PlainTextContent")
            if content is not None:
                return content.text or ""
            rel = (src.get("plainTextPath") or "").replace("internal://", "").lower()
            entry = names.get(f"sources/{rel}")
            return zf.read(entry).decode("utf-8-sig") if entry else ""

        def non_blank(el) -> bool:
            return el is not None and bool((el.text or "").strip())

        docs = codings = memos = 0
        for src in root.iter(f"{NS}TextSource"):
            has_text = bool(text_of(src).strip())
            docs += has_text
            memos += non_blank(src.find(f"{NS}Description"))
            for sel in src.findall(f"{NS}PlainTextSelection"):
                memos += non_blank(sel.find(f"{NS}Description"))
                for c in sel.findall(f"{NS}Coding"):
                    user = (c.get("creatingUser") or sel.get("creatingUser") or "").lower()
                    codings += has_text and user != ATLAS_PSEUDO_USER
        memos += len(root.findall(f".//{NS}Note")) + non_blank(root.find(f"{NS}Description"))
        assert not root.findall(f".//{NS}NoteRef"), "a sample with NoteRef needs a finer count"
        return {"documents": docs, "codes": len(root.findall(f".//{NS}Code")), "codings": codings,
                "memos": memos}


def new_project(tmp: Path) -> Path:
    """An empty corpus and the real codebook (with its comments)."""
    (tmp / "corpus" / "codings").mkdir(parents=True)
    (tmp / "codebook").mkdir()
    shutil.copy(ROOT / "codebook" / "balises.yaml", tmp / "codebook" / "balises.yaml")
    return tmp


def run_import(proj: Path, path: Path, **kw):
    corpus = load_corpus(proj / "corpus")
    book = load_codebook(proj / "codebook" / "balises.yaml")
    return import_whole_project(path, corpus, book, proj / "corpus" / "codings", **kw)


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


@pytest.fixture(scope="module", params=ALL)
def imported(request, tmp_path_factory):
    """Each sample imported once into a fresh project, then imported again."""
    path = sample(request.param)
    proj = new_project(tmp_path_factory.mktemp("refi"))
    first = run_import(proj, path, territory="importe")
    after_first = tree_digest(proj)
    second = run_import(proj, path, territory="importe")
    return {"path": path, "proj": proj, "first": first, "second": second,
            "unchanged": tree_digest(proj) == after_first}


def test_counts_match_the_file(imported):
    want = expected_counts(imported["path"])
    r = imported["first"]
    got = {"documents": len(r.documents), "codes": len(r.codes_new), "codings": r.n_codings,
           "memos": r.coding_memos + len(r.memos)}
    assert got == want


def test_written_project_validates(imported):
    proj, r = imported["proj"], imported["first"]
    corpus = load_corpus(proj / "corpus")
    assert not corpus.problems.errors, corpus.problems.errors[:3]
    for doc_id in r.documents:
        doc = corpus.documents[doc_id]
        assert doc.path == str(Path("importe") / f"{doc_id}.md")
        assert doc.meta["source_guid"] and doc.kind == "entretien" and doc.atelier == "none"
    book = load_codebook(proj / "codebook" / "balises.yaml")
    # Candidate codes are kept apart: status emergent, dimension EMG (not declared), never a balise.
    assert set(book.codes) >= set(CANONICAL_IDS) and not any(c.id.startswith("EMG.") for c in book.balises)
    assert [c["id"] for c in r.codes_new] == [k for k in book.emergent if k.startswith("EMG.")]
    assert all(c.status == "emergent" and c.source_guid and c.dimension == "EMG" and "EMG" not in book.dimensions
               for c in book.codes.values() if c.id.startswith("EMG."))
    codings = load_codings(corpus, book, proj / "corpus" / "codings")
    assert not codings.problems.errors, codings.problems.errors[:3]
    assert not codings.frame["moved"].any()
    assert len(codings.frame) == r.n_codings
    memos = proj / "corpus" / "memos.jsonl"
    lines = [json.loads(x) for x in memos.read_text(encoding="utf-8").splitlines()] if memos.exists() else []
    assert len(lines) == len(r.memos)
    assert all({"target", "text", "author", "at"} <= set(m) for m in lines)
    # the same file as `analyse memo`: its format, read by the memos store, no problem for validate
    from analyse.model.memos import MemoStore, validate_memos
    assert len(MemoStore(memos).records()) == len(lines)
    assert not validate_memos(memos).errors


def test_second_import_adds_nothing(imported):
    r = imported["second"]
    assert (len(r.documents), len(r.codes_new), r.n_codings, len(r.memos)) == (0, 0, 0, 0)
    assert imported["unchanged"]
    first = imported["first"]
    assert len(r.documents_present) == len(first.documents)
    assert r.codes_present == len(first.codes_new)
    assert sum(r.duplicates.values()) == first.n_codings


def test_nvivo_codings_land_on_whole_comments(imported):
    """NVivo counts UTF-16 units with CRs: read right, coded comments start where a segment starts."""
    if imported["path"].name not in (NVIVO_WIN, NVIVO_MAC):
        pytest.skip("NVivo samples only")
    proj = imported["proj"]
    corpus = load_corpus(proj / "corpus")
    codings = load_codings(corpus, load_codebook(proj / "codebook" / "balises.yaml"), proj / "corpus" / "codings")
    starts = {(s.doc, s.start) for s in corpus.segments}
    at_start = sum((d, s) in starts for d, s in zip(codings.frame["doc"], codings.frame["start"]))
    assert at_start >= 0.85 * len(codings.frame)  # SOURCES.md: 281/303 (Windows), 275/297 (Mac)


def test_dry_run_writes_nothing(tmp_path):
    proj = new_project(tmp_path)
    before = tree_digest(proj)
    r = run_import(proj, sample(NVIVO_WIN), territory="oltas", dry_run=True)
    assert len(r.documents) == 2 and r.n_codings == 303
    assert tree_digest(proj) == before


def test_coder_map_and_territory_map(tmp_path):
    proj = new_project(tmp_path)
    (tmp_path / "map.csv").write_text("source,territoire\nvideos_10_selected,oltas-dix\n", encoding="utf-8")
    r = run_import(proj, sample(NVIVO_WIN), territory="oltas", coder_map={"Gergo": "G"},
                   territory_map=read_territory_map(tmp_path / "map.csv"))
    assert set(r.codings) == {"G"}
    assert sorted(map(str, r.document_paths.values())) == sorted([
        str(Path("oltas") / "videos-selection.md"), str(Path("oltas-dix") / "videos-10-selected.md")])


def test_cli_dry_run_in_french(tmp_path, capsys):
    from analyse.cli import main

    proj = new_project(tmp_path)
    cwd = os.getcwd()
    os.chdir(proj)
    try:
        code = main(["refi", "import", str(sample(NVIVO_MAC)), "--territory", "oltas", "--dry-run"])
        bad = main(["refi", "import", str(sample(NVIVO_MAC)), "--territory", "Pas Un Slug"])
    finally:
        os.chdir(cwd)
    out = capsys.readouterr()
    assert code == 0 and bad == 2
    assert "codes candidats : 152 nouveau(x)" in out.out and "essai : rien n'a été écrit" in out.out
    assert not list((proj / "corpus").glob("oltas*"))


# ---------------------------------------------------------------- text -> body, codebook

def test_dialogue_becomes_participants(tmp_path):
    """Speakers follow analyse import's conventions (case, role label, timecode); offsets still map."""
    text = ("Entretien du 3 mai\n\nMarie : Bonjour.\nOn commence ?\nPAUL (élu) : Oui.\n\n"
            "[00:01:02] Marie : Alors :\nla question est simple.\n")
    assert detect_speakers(text) == ["Marie", "Paul"]
    body, people, bmap = text_to_body(text)
    assert [p["name"] for p in people] == ["inconnu", "Marie", "Paul"]
    assert "**P2 (élu)** : Oui." in body and "**P1** : [00:01:02] Alors :" in body
    folder = tmp_path / "t"
    folder.mkdir()
    meta = "\n".join(["---", "id: d", "title: d", "territory: t", "kind: entretien", "atelier: none",
                      "date: 2020-01-01", "language: fr", "synthetic: false", "participants:"]
                     + [f"  - {{id: {p['id']}, name: {p['name']}, role: autre}}" for p in people] + ["---", ""])
    (folder / "d.md").write_text(meta + body, encoding="utf-8")
    doc, segments, problems = load_document(folder / "d.md", tmp_path)
    assert not problems.errors, problems.errors
    assert [s.speaker for s in segments] == ["P0", "P1", "P1", "P2", "P1", "P1"]
    assert segments[4].start_time == "00:01:02"
    for word in ("On commence", "Oui.", "la question"):
        start = text.index(word)
        assert body[bmap.start(start):bmap.end(start + len(word))] == word


def test_emergent_codes_validate_apart(tmp_path):
    base = (ROOT / "codebook" / "balises.yaml").read_text(encoding="utf-8")
    path = tmp_path / "cb.yaml"
    path.write_text(base + "\n  - {id: EMG.colere, label: Colère, status: emergent}\n"
                    "  - {id: EMG.rage, label: Rage, status: emergent, parent: EMG.colere}\n", encoding="utf-8")
    book, problems = validate_codebook(path)
    assert book is not None and not problems.errors
    assert book["EMG.rage"].status == "emergent" and book.dimension_of("EMG.rage") == "EMG"
    assert "EMG.rage" in book.emergent and "EMG.rage" not in {c.id for c in book.balises}
    assert "\n    EMG.rage" in render_codebook(book).split("Codes candidats hors dimensions")[1]
    path.write_text(base + "\n  - {id: EMG.y, status: emergent}\n", encoding="utf-8")  # no label
    assert validate_codebook(path)[0] is None
    path.write_text(base + "\n  - {id: EMG.x, label: X, status: candidat}\n", encoding="utf-8")
    assert validate_codebook(path)[0] is None


QDE = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p" origin="ATLAS.ti 23" creationDateTime="2023-01-02T10:00:00Z">
  <Users><User guid="11111111-1111-1111-1111-111111111111" name="Marie Curie"/></Users>
  <CodeBook><Codes>
    <Code guid="22222222-2222-2222-2222-222222222222" name="Jardins partagés" isCodable="true">
      <Description>Les biens partagés</Description></Code>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="33333333-3333-3333-3333-333333333333" name="Atelier Mené.txt"
                creationDateTime="2023-05-04T09:00:00Z">
      <PlainTextContent>Marie : Bonjour.
Paul : On parle des communs.
Marie : Oui.
</PlainTextContent>
      <PlainTextSelection guid="44444444-4444-4444-4444-444444444444" startPosition="{start}" endPosition="{end}"
                          creatingUser="11111111-1111-1111-1111-111111111111">
        <Description>mémo de sélection</Description>
        <Coding guid="55555555-5555-5555-5555-555555555555" creatingUser="11111111-1111-1111-1111-111111111111"
                creationDateTime="2023-05-04T10:00:00Z">
          <CodeRef targetGUID="22222222-2222-2222-2222-222222222222"/>
          <NoteRef targetGUID="66666666-6666-6666-6666-666666666666"/>
        </Coding>
      </PlainTextSelection>
      <NoteRef targetGUID="77777777-7777-7777-7777-777777777777"/>
    </TextSource>
  </Sources>
  <Notes>
    <Note guid="66666666-6666-6666-6666-666666666666" name="n1"><PlainTextContent>note du codage</PlainTextContent></Note>
    <Note guid="77777777-7777-7777-7777-777777777777" name="n2" creatingUser="11111111-1111-1111-1111-111111111111"
          creationDateTime="2023-05-05T10:00:00Z"><PlainTextContent>note de la source</PlainTextContent></Note>
  </Notes>
</Project>
"""


def test_dialogue_source_with_notes(tmp_path):
    text = "Marie : Bonjour.\nPaul : On parle des communs.\nMarie : Oui.\n"
    start = text.index("On parle")
    qdpx = tmp_path / "p.qdpx"
    with zipfile.ZipFile(qdpx, "w") as zf:
        zf.writestr("project.qde", QDE.format(start=start, end=start + len("On parle des communs.")))
    proj = new_project(tmp_path / "proj")
    r = run_import(proj, qdpx, territory="le-mene")
    assert list(r.documents) == ["atelier-mene"]
    corpus = load_corpus(proj / "corpus")
    doc = corpus.documents["atelier-mene"]
    assert [(p.id, p.name) for p in doc.participants] == [("P1", "Marie"), ("P2", "Paul")]
    assert doc.date == "2023-05-04" and doc.meta["source_guid"] == "33333333-3333-3333-3333-333333333333"
    [coding] = r.codings["marie-curie"]
    assert coding["quote"] == "On parle des communs." and coding["code"] == "EMG.jardins-partages"
    assert coding["memo"] == "mémo de sélection\n\nnote du codage" and r.coding_memos == 2
    book = load_codebook(proj / "codebook" / "balises.yaml")
    assert book.emergent["EMG.jardins-partages"].definition == "Les biens partagés"
    [memo] = [json.loads(x) for x in (proj / "corpus" / "memos.jsonl").read_text(encoding="utf-8").splitlines()]
    assert (memo["target_type"], memo["target"]) == ("document", "atelier-mene") and memo["text"] == "note de la source"
    assert memo["author"] == "marie-curie" and memo["at"] == "2023-05-05T10:00:00Z"
    again = run_import(proj, qdpx, territory="le-mene")
    assert (len(again.documents), again.n_codings, len(again.memos)) == (0, 0, 0)


def test_codebook_file_brings_candidate_codes(tmp_path):
    proj = new_project(tmp_path)
    r = run_import(proj, sample("taguette-1.5.2-codebook.qdc"), territory="t")
    assert [c["label"] for c in r.codes_new] == ["interesting", "economy", "economy.rent"]
    assert load_codebook(proj / "codebook" / "balises.yaml").emergent["EMG.economy-rent"].parent == "EMG.economy"


def test_our_own_export_adds_nothing(tmp_path):
    """Round trip: the bundled corpus exported as .qdpx comes back as already present."""
    from analyse.exchange.refi import export_project

    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "corpus", proj / "corpus")
    shutil.copytree(ROOT / "codebook", proj / "codebook")
    corpus = load_corpus(proj / "corpus")
    book = load_codebook(proj / "codebook" / "balises.yaml")
    export_project(corpus, book, tmp_path / "ours.qdpx", proj / "corpus" / "codings")
    before = tree_digest(proj)
    r = run_import(proj, tmp_path / "ours.qdpx", territory="le-mene")
    assert (len(r.documents), len(r.codes_new), r.n_codings) == (0, 0, 0)
    assert len(r.documents_present) == len(corpus.documents) and sum(r.duplicates.values()) > 0
    assert tree_digest(proj) == before
