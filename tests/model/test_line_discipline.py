"""One line discipline for every JSON-lines file: ``\\n`` only ends a record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyse.fileio import LINE_SEPARATORS, dumps_line, split_lines
from analyse.model.codebook import load_codebook
from analyse.model.codings import CodingStore, coding_record, coverage_record, load_codings
from analyse.model.corpus import load_corpus
from tests.helpers import FRONT_MATTER, run_cli, write_doc

NAMES = {"\u2028": "U+2028", "\u2029": "U+2029", "\x85": "U+0085", "\x0b": "VT", "\x0c": "FF",
         "\x1c": "FS", "\x1d": "GS", "\x1e": "RS"}
SEPS = pytest.mark.parametrize("sep", LINE_SEPARATORS, ids=[NAMES[s] for s in LINE_SEPARATORS])


def _setup(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    return corpus, book, CodingStore(project / "corpus" / "codings")


def _raw_lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8").split("\n")[:-1]


@SEPS
def test_memo_with_separator_stays_one_line(project: Path, sep: str):
    corpus, book, store = _setup(project)
    seg = corpus.segments[0]
    rec = coding_record(seg, "ENG.1", "A", memo=f"collé depuis Word{sep}suite")
    store.append("A", [rec, coverage_record(seg.doc, "A")])
    store.append("A", [coding_record(seg, "ENG.2", "A")])     # a second write keeps it whole
    raw = store.path("A").read_bytes().decode("utf-8")
    assert sep not in raw and len(_raw_lines(store.path("A"))) == 3
    assert raw.splitlines() == raw.split("\n")[:-1]             # any line splitter agrees
    assert store.records("A")[0]["memo"] == f"collé depuis Word{sep}suite"
    codings = load_codings(corpus, book)
    assert not codings.problems and list(codings.frame["memo"])[0] == f"collé depuis Word{sep}suite"


@SEPS
def test_document_text_with_separator_codes_and_validates(project: Path, sep: str):
    body = f"**P1 (élue)** : Premier{sep}morceau du tour, collé d'un PDF.\n"
    write_doc(project / "corpus", "le-mene", "le-mene-test", FRONT_MATTER.format(id="le-mene-test",
                                                                                territory="le-mene") + body)
    corpus, book, store = _setup(project)
    seg = corpus.segments_of("le-mene-test")[0]
    assert sep in seg.text
    store.append("A", [coding_record(seg, "ENG.1", "A")])
    assert len(_raw_lines(store.path("A"))) == 1
    codings = load_codings(corpus, book)
    assert not codings.problems and list(codings.frame["segment"]) == [seg.id]
    code, _ = run_cli(project, "validate")
    assert code == 0


@SEPS
def test_raw_separator_written_by_old_version_is_read(project: Path, sep: str):
    corpus, book, store = _setup(project)
    rec = coding_record(corpus.segments[0], "ENG.1", "A", memo=f"a{sep}b")
    store.folder.mkdir(parents=True, exist_ok=True)
    store.path("A").write_text(json.dumps(rec, ensure_ascii=False) + "\r\n", encoding="utf-8")
    assert store.records("A") == [rec]
    assert not load_codings(corpus, book).problems
    store.append("A", [coding_record(corpus.segments[1], "ENG.1", "A")])
    assert sep not in store.path("A").read_text(encoding="utf-8")
    assert store.records("A")[0] == rec


RAW_IN_JSON = ("\u2028", "\u2029", "\x85")    # json.dumps(ensure_ascii=False) left these raw


def test_old_writer_escaped_the_c0_separators_already():
    assert all(c not in json.dumps(c, ensure_ascii=False) for c in LINE_SEPARATORS if c not in RAW_IN_JSON)
    assert all(c in json.dumps(c, ensure_ascii=False) for c in RAW_IN_JSON)


@pytest.mark.parametrize("sep", RAW_IN_JSON, ids=[NAMES[s] for s in RAW_IN_JSON])
def test_record_split_by_old_reader_is_rejoined_and_repaired(project: Path, sep: str, capsys):
    body = f"**P1 (élue)** : Premier{sep}morceau du tour.\n"
    write_doc(project / "corpus", "le-mene", "le-mene-test", FRONT_MATTER.format(id="le-mene-test",
                                                                                territory="le-mene") + body)
    corpus, book, store = _setup(project)
    seg = corpus.segments_of("le-mene-test")[0]
    rec = coding_record(seg, "ENG.1", "A", memo=f"note{sep}seconde ligne")
    other = coding_record(seg, "ENG.2", "A")
    # what the old store left: splitlines() cut the record at the separator, then wrote "\n"
    broken = json.dumps(rec, ensure_ascii=False).replace(sep, "\n")
    store.folder.mkdir(parents=True, exist_ok=True)
    store.path("A").write_text(broken + "\n" + json.dumps(other, ensure_ascii=False) + "\n", encoding="utf-8")
    codings = load_codings(corpus, book)
    assert not codings.problems.errors
    assert [p.line for p in codings.problems.warnings] == [1]
    assert "analyse repair" in codings.problems.warnings[0].hint
    assert len(store.records("A")) == 2
    code, out = run_cli(project, "repair", capsys=capsys)
    assert code == 0 and "1 enregistrement(s) recollé(s)" in out.out
    assert store.records("A") == [rec, other]          # the separator chosen is the document's
    assert len(_raw_lines(store.path("A"))) == 2
    assert not load_codings(corpus, book).problems


def test_three_piece_split_and_unrelated_broken_line(project: Path):
    corpus, book, store = _setup(project)
    rec = coding_record(corpus.segments[0], "ENG.1", "A", memo="a\u2028b\u2029c")
    broken = json.dumps(rec, ensure_ascii=False).replace("\u2028", "\n").replace("\u2029", "\n")
    store.folder.mkdir(parents=True, exist_ok=True)
    store.path("A").write_text("{pas du json\n" + broken + "\n", encoding="utf-8")
    recs = store.records("A")
    assert len(recs) == 1 and recs[0]["memo"] == "a\u2028b\u2028c"
    assert "{pas du json" in store.read_lines("A")           # what cannot be read is never dropped


@SEPS
def test_suggestion_files_and_decision_log(tmp_path: Path, sep: str):
    from analyse.coding.suggestions import _read_jsonl, write_lines

    path = tmp_path / "s.jsonl"
    write_lines(path, [dumps_line({"segment": "d#1", "code": "ENG.1", "memo": f"x{sep}y"})])
    assert len(split_lines(path.read_text(encoding="utf-8"))) == 1
    assert path.read_text(encoding="utf-8").count("\n") == 1 and sep not in path.read_text(encoding="utf-8")
    assert _read_jsonl(path)[0]["memo"] == f"x{sep}y"


def test_split_lines_only_on_newline():
    text = 'a\u2028b\x85c\x0bd\x0ce\x1cf\x1dg\x1eh\u2029i\r\nj\n'
    assert split_lines(text) == ['a\u2028b\x85c\x0bd\x0ce\x1cf\x1dg\x1eh\u2029i', 'j']
    assert all(json.loads(dumps_line({"t": text}))["t"] == text for _ in range(1))
    assert len(dumps_line({"t": text}).splitlines()) == 1
