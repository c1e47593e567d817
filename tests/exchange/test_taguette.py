"""Taguette as a peer: HTML documents, byte offsets, its SQLite export, and a live exchange with a real server."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, coverage_record
from analyse.model.corpus import load_corpus
from analyse.errors import AnalyseError, UsageError
from analyse.exchange.refi import import_project, plan_import, read_project
from analyse.exchange.taguette import (ByteToChar, byte_offsets, document_html, export_documents, html_text,
                              is_taguette_export, read_export)

from tests.helpers import FRONT_MATTER, ROOT, make_codebook, run_cli, write_doc
from tests.exchange.taguette_server import TaguetteServer, find_taguette

# Accents, apostrophes and curly quotes (2-3 bytes each in UTF-8), emoji (4 bytes), and
# characters HTML must escape, before and inside the coded spans.
TRICKY_DOC = FRONT_MATTER.format(id="le-mene-octets", territory="le-mene") + (
    "**P1 (élue)** : L’été dernier, « on a planté 🌱 des haies » avec l’école & les <parents>.\n\n"
    "**P2 (DGS)** : Les “communs” 🌍🌱 ça coûte 3 € — pas plus, c’est ça l’idée.\n")


def body_of(project: Path, doc_id: str) -> str:
    return load_corpus(project / "corpus").documents[doc_id].body


# ---------------------------------------------------------------- HTML and offsets, no server

@pytest.mark.parametrize("text", [
    "simple",
    "« Bonjour » 🌱 & <b>gras</b> \"x\" 'y'",
    "  indenté\n\n\ntrois lignes vides\n",
    "L’été — 3 € 🌍🌱",
])
def test_document_html_text_nodes_are_the_body(text):
    page = document_html(text, "Titre & co")
    body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    assert html_text(body) == text
    assert '<html lang="fr">' in page and "<title>Titre &amp; co</title>" in page
    # The title is in <head>, which Taguette drops: it must not be counted.
    assert "Titre" not in html_text(body)


def test_byte_offsets_round_trip_on_every_span():
    text = "é’« 🌱» a\n😀b"
    conv = ByteToChar(text)
    for start in range(len(text) + 1):
        for end in range(start, len(text) + 1):
            bs, be = byte_offsets(text, start, end)
            assert text.encode("utf-8")[bs:be].decode("utf-8") == text[start:end]
            assert (conv(bs), conv(be)) == (start, end)


def test_byte_inside_a_character_moves_past_it():
    conv = ByteToChar("a🌱b")  # a is byte 0, 🌱 bytes 1-4, b byte 5
    assert [conv(b) for b in range(7)] == [0, 1, 2, 2, 2, 2, 3]
    with pytest.raises(IndexError):
        conv(7)


# ---------------------------------------------------------------- reading an export, no server

SCHEMA = """
CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE documents (id INTEGER PRIMARY KEY, name TEXT, contents TEXT, project_id INTEGER);
CREATE TABLE tags (id INTEGER PRIMARY KEY, project_id INTEGER, path TEXT, description TEXT);
CREATE TABLE highlights (id INTEGER PRIMARY KEY, document_id INTEGER, start_offset INTEGER,
                         end_offset INTEGER, snippet TEXT);
CREATE TABLE highlight_tags (highlight_id INTEGER, tag_id INTEGER);
CREATE TABLE commands (id INTEGER PRIMARY KEY, date DATETIME, payload TEXT);
"""


def fake_export(path: Path, text: str, spans: list[tuple[int, int, list[str]]], name="le-mene-octets",
                projects=1, bad_snippet=False) -> Path:
    """A database with the tables and columns of a Taguette 1.5 project export."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    for p in range(1, projects + 1):
        db.execute("INSERT INTO projects VALUES (?, ?)", (p, f"projet {p}"))
    db.execute("INSERT INTO documents VALUES (1, ?, ?, 1)", (name, "\n".join(
        f"<p>{line.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</p>"
        for line in text.split("\n"))))
    tag_ids = {}
    for hid, (start, end, tags) in enumerate(spans, 1):
        bs, be = byte_offsets(text, start, end) if start <= len(text) else (10 ** 6, 10 ** 6 + 1)
        snippet = "autre chose" if bad_snippet else text[start:end].replace("&", "&amp;").replace("<", "&lt;")
        db.execute("INSERT INTO highlights VALUES (?, 1, ?, ?, ?)", (hid, bs, be, snippet))
        for t in tags:
            tid = tag_ids.setdefault(t, len(tag_ids) + 1)
            db.execute("INSERT OR IGNORE INTO tags VALUES (?, 1, ?, '')", (tid, t))
            db.execute("INSERT INTO highlight_tags VALUES (?, ?)", (hid, tid))
        db.execute("INSERT INTO commands (date, payload) VALUES ('2026-11-20 09:15:00.123', ?)",
                   (json.dumps({"type": "highlight_add", "highlight_id": hid, "tags": []}),))
    db.commit()
    db.close()
    return path


@pytest.fixture
def octets(project: Path) -> Path:
    make_codebook(project / "codebook" / "balises.yaml")
    write_doc(project / "corpus", "le-mene", "le-mene-octets", TRICKY_DOC)
    return project


def test_read_export_turns_bytes_into_code_points(octets, tmp_path):
    text = body_of(octets, "le-mene-octets")
    s1 = text.index("des haies")
    s2 = text.index("ça coûte")
    db = fake_export(tmp_path / "t.sqlite3", text, [(s1, s1 + 9, ["ENG.1", "VAL.1"]), (s2, s2 + 8, ["VAL.1"])])
    assert is_taguette_export(db)
    p = read_project(db)  # recognised by content, whatever its name
    assert (p.origin, p.unit, p.kind) == ("Taguette", "utf8", "project")
    [source] = p.sources
    assert source.text == text and source.name == "le-mene-octets"
    got = [(text[s.start:s.end], sorted(p.codes[c.code].name for c in s.codings), s.codings[0].at)
           for s in source.selections]
    assert got == [("des haies", ["ENG.1", "VAL.1"], "2026-11-20T09:15:00+00:00"),
                   ("ça coûte", ["VAL.1"], "2026-11-20T09:15:00+00:00")]
    assert not p.problems.items


def test_taguette_import_needs_a_coder_and_writes_to_it(octets, tmp_path):
    corpus = load_corpus(octets / "corpus")
    book = load_codebook(octets / "codebook" / "balises.yaml")
    text = corpus.documents["le-mene-octets"].body
    s = text.index("🌍🌱")
    db = fake_export(tmp_path / "t.sqlite3", text, [(s, s + 2, ["VAL.1"])])
    folder = octets / "corpus" / "codings"
    with pytest.raises(UsageError, match="--coder-map admin="):
        import_project(db, corpus, book, folder)
    report = import_project(db, corpus, book, folder, coder_map={"admin": "T"})
    assert report.written == {"T": 1}
    rec = json.loads((folder / "T.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert (rec["start"], rec["end"], rec["quote"], rec["code"]) == (s, s + 2, "🌍🌱", "VAL.1")


def test_taguette_export_errors_name_the_file_and_change_nothing(octets, tmp_path):
    corpus = load_corpus(octets / "corpus")
    book = load_codebook(octets / "codebook" / "balises.yaml")
    text = corpus.documents["le-mene-octets"].body
    folder = octets / "corpus" / "codings"
    CodingStore(folder).append("T", [coverage_record("le-mene-octets", "T", at="2026-11-20T10:00:00+00:00")])
    before = (folder / "T.jsonl").read_bytes()
    # One good highlight and one beyond the text: all or nothing.
    beyond = fake_export(tmp_path / "beyond.sqlite3", text, [(0, 4, ["ENG.1"]), (len(text) + 5, 0, ["ENG.1"])])
    with pytest.raises(AnalyseError, match="dépassent son texte") as err:
        import_project(beyond, corpus, book, folder, coder_map={"admin": "T"})
    assert "beyond.sqlite3" in str(err.value) and "rien n'a été importé" in str(err.value)
    assert (folder / "T.jsonl").read_bytes() == before
    # An SQLite file that is not a Taguette export.
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(AnalyseError, match="pas un export de projet Taguette"):
        read_export(other)
    with pytest.raises(AnalyseError, match="2 projets"):
        read_export(fake_export(tmp_path / "two.sqlite3", text, [], projects=2))
    # A snippet that disagrees with the offsets is reported, not silently trusted.
    odd = read_export(fake_export(tmp_path / "odd.sqlite3", text, [(0, 4, ["ENG.1"])], bad_snippet=True))
    assert ["l'extrait de Taguette" in w.message for w in odd.problems.warnings] == [True]


def test_export_taguette_cli_writes_html_and_codebook(octets, capsys):
    code, out = run_cli(octets, "refi", "export-taguette", "--territory", "le-mene", "--out", "vers-taguette",
                        capsys=capsys)
    assert code == 0, out.err
    folder = octets / "vers-taguette"
    corpus = load_corpus(octets / "corpus")
    expected = sorted(d.id for d in corpus.documents.values() if d.territory == "le-mene")
    assert sorted(p.stem for p in folder.glob("*.html")) == expected
    page = (folder / "le-mene-octets.html").read_text(encoding="utf-8")
    assert html_text(page.split("<body>")[1].split("</body>")[0]) == corpus.documents["le-mene-octets"].body
    rows = list(csv.DictReader(io.StringIO((folder / "codebook.csv").read_text(encoding="utf-8"))))
    assert {r["tag"] for r in rows} == set(load_codebook(octets / "codebook" / "balises.yaml").codes)
    code, out = run_cli(octets, "refi", "export-taguette", "--docs", "nope", "--out", "x", capsys=capsys)
    assert code != 0 and "document(s) inconnu(s)" in out.err


# ---------------------------------------------------------------- a real Taguette server

try:
    TAGUETTE = find_taguette()
except FileNotFoundError as exc:  # BALISES_TAGUETTE set to a missing file: a broken set-up must fail
    TAGUETTE = str(exc)

needs_taguette = pytest.mark.skipif(TAGUETTE is None, reason="taguette is not installed (make test installs it "
                                                             "into .venv-taguette)")


@pytest.fixture
def taguette(tmp_path_factory):
    server = TaguetteServer(TAGUETTE, tmp_path_factory.mktemp("taguette"))
    yield server
    server.stop()
    assert server.proc.returncode is not None  # stopped, not left running


@pytest.fixture
def exchange(project: Path) -> Path:
    """The tricky document coded by A on sub-spans, plus a bundled document with all of A's codings."""
    shutil.copy(ROOT / "codebook" / "balises.yaml", project / "codebook" / "balises.yaml")
    write_doc(project / "corpus", "le-mene", "le-mene-octets", TRICKY_DOC)
    bundled = "le-mene-valeur"
    shutil.copy(ROOT / "corpus" / "le-mene" / f"{bundled}.md", project / "corpus" / "le-mene" / f"{bundled}.md")
    corpus = load_corpus(project / "corpus")
    body = corpus.documents["le-mene-octets"].body
    segs = {s.id: s for s in corpus.segments}
    at = "2026-11-20T10:00:00+00:00"
    records = []
    for quote, code in [("« on a planté 🌱 des haies »", "ENG.1"), ("des haies", "SYS.1"),
                        ("“communs” 🌍🌱", "VAL.1"), ("ça coûte 3 € — pas plus", "VAL.1"),
                        ("ça coûte 3 € — pas plus", "ECH")]:
        s = body.index(quote)
        seg = next(x for x in corpus.segments if x.doc == "le-mene-octets" and x.start <= s < x.end)
        records.append(coding_record(seg, code, "A", start=s, end=s + len(quote), body=body, at=at))
    records.append(coding_record(segs["le-mene-octets#1"], "COOP.1", "A", at=at))  # a whole segment
    for line in (ROOT / "corpus" / "codings" / "A.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("doc") == bundled and rec.get("type") != "coverage":
            records.append(rec)
    CodingStore(project / "corpus" / "codings").append("A", records)
    return project


def coding_keys(folder: Path, coder: str) -> set[tuple]:
    lines = (folder / f"{coder}.jsonl").read_text(encoding="utf-8").splitlines()
    return {(r["doc"], r["start"], r["end"], r["code"], r["quote"])
            for r in map(json.loads, lines) if r.get("type") != "coverage"}


@needs_taguette
def test_live_taguette_round_trip(exchange, taguette, tmp_path, capsys):
    corpus = load_corpus(exchange / "corpus")
    book = load_codebook(exchange / "codebook" / "balises.yaml")
    folder = exchange / "corpus" / "codings"
    originals = coding_keys(folder, "A")
    assert len(originals) > 30  # the bundled document brings real volume

    # What a researcher would do: our files in, through Taguette's own forms and API.
    files = {p.name: p for p in export_documents(corpus, book, tmp_path / "vers-taguette",
                                                 ["le-mene-octets", "le-mene-valeur"])}
    project = taguette.create_project("Balises — échange")
    taguette.import_codebook(project, files["codebook.csv"].read_bytes())
    tags = taguette.tags(project)
    assert set(book.codes) <= set(tags)  # every code became a tag, names unchanged
    doc_ids = {}
    for doc_id in ("le-mene-octets", "le-mene-valeur"):
        doc_ids[doc_id] = taguette.add_document(project, doc_id, files[f"{doc_id}.html"].read_text(encoding="utf-8"))
        # Taguette's stored text is our body, character for character.
        assert html_text(taguette.contents(project, doc_ids[doc_id])) == corpus.documents[doc_id].body
    # One highlight per span, carrying all the codes put on it, offsets in UTF-8 bytes.
    spans: dict[tuple, list[int]] = {}
    for doc, start, end, code, _ in originals:
        spans.setdefault((doc, start, end), []).append(tags[code])
    for (doc, start, end), tag_ids in sorted(spans.items()):
        bs, be = byte_offsets(corpus.documents[doc].body, start, end)
        taguette.add_highlight(project, doc_ids[doc], bs, be, sorted(tag_ids))

    # Taguette's own highlight export shows our quotes: it placed the bytes where we meant.
    _, raw = taguette.request(f"/project/{project}/export/highlights/.csv")
    shown = {(r["document"], r["tag"], " ".join(r["content"].split()))
             for r in csv.DictReader(io.StringIO(raw.decode("utf-8")))}
    assert shown == {(doc, code, " ".join(quote.split())) for doc, _, _, code, quote in originals}

    # Its codebook export (.qdc, empty <Sets/> and all) maps back onto our ids.
    qdc = tmp_path / "codebook.qdc"
    qdc.write_bytes(taguette.get(f"/project/{project}/export/codebook.qdc"))
    cb = read_project(qdc)
    assert cb.kind == "codebook" and cb.origin.startswith("Taguette")
    report = plan_import(cb, corpus, book)
    assert set(report.codes_mapped) == set(book.codes) and all(k == v for k, v in report.codes_mapped.items())
    assert set(report.unknown_codes) == {"interesting"}  # Taguette's default tag, not ours

    # Its project export brings every highlight back at the same characters, with the same codes.
    export = tmp_path / "projet.sqlite3"
    export.write_bytes(taguette.get(f"/project/{project}/export/project.sqlite3"))
    code, out = run_cli(exchange, "refi", "import", str(export), "--coder-map", "admin=T", capsys=capsys)
    assert code == 0, out.err
    assert f"T : {len(originals)} codage(s)" in out.out
    assert coding_keys(folder, "T") == originals
    # Importing the same export again adds nothing.
    code, out = run_cli(exchange, "refi", "import", str(export), "--coder-map", "admin=T", capsys=capsys)
    assert code == 0 and f"{len(originals)} déjà présent(s)" in out.out
    assert len((folder / "T.jsonl").read_text(encoding="utf-8").splitlines()) == len(originals)
