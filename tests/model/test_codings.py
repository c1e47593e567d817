"""The codings store: validation, re-anchoring, atomic and concurrent writes."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from analyse.model.codebook import load_codebook
from analyse.model.codings import (CodingStore, coding_record, coverage_record, load_codings,
                             segment_codes)
from analyse.model.corpus import load_corpus
from analyse.errors import CodingsError, UsageError


def _setup(project: Path):
    corpus = load_corpus(project / "corpus")
    book = load_codebook(project / "codebook" / "balises.yaml")
    store = CodingStore(project / "corpus" / "codings")
    return corpus, book, store


def test_round_trip_and_segment_mapping(project: Path):
    corpus, book, store = _setup(project)
    seg = corpus.segments_of("le-mene-test")[1]
    store.append("A", [coding_record(seg, "ENG.1", "A", memo="note"), coverage_record("le-mene-test", "A")])
    codings = load_codings(corpus, book)
    assert not codings.problems
    row = codings.frame.iloc[0]
    assert (row.segment, row.code, row.dimension, row.memo, row.origin) == (seg.id, "ENG.1", "ENG", "note", "human")
    assert row.score is None
    per_segment = segment_codes(codings, corpus, "A")
    # covered document: every segment present, uncoded ones as empty sets
    assert per_segment == {"le-mene-test#1": set(), "le-mene-test#2": {"ENG.1"}, "le-mene-test#3": set()}


def _write_lines(store: CodingStore, coder: str, records: list) -> None:
    store.folder.mkdir(parents=True, exist_ok=True)
    store.path(coder).write_text("".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records), encoding="utf-8")


def test_every_bad_line_is_reported_with_file_and_line(project: Path):
    corpus, book, store = _setup(project)
    seg = corpus.segments_of("le-mene-test")[0]
    good = coding_record(seg, "ENG.2", "A")
    _write_lines(store, "A", [
        good,                                                   # 1 ok
        {**good, "code": "ENG.99"},                             # 2 unknown code
        {**good, "doc": "nowhere"},                             # 3 unknown doc
        {**good, "start": 10, "end": 5},                        # 4 end <= start
        {**good, "start": 0, "end": 99999, "quote": "absent"},  # 5 beyond text, quote not found
        "{not json",                                            # 6
        {**good, "quote": "texte qui n'existe pas"},            # 7 quote mismatch
        {**good, "coder": "B"},                                 # 8 wrong coder
        {**good, "at": "hier"},                                 # 9 bad date
    ])
    codings = load_codings(corpus, book)
    by_line = {p.line: p.message for p in codings.problems.errors}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "code inconnu « ENG.99 »" in by_line[2]
    assert "document inconnu « nowhere »" in by_line[3]
    assert "doit être plus grand que start" in by_line[4]
    assert "au-delà de la fin du texte" in by_line[5]
    assert "JSON invalide" in by_line[6]
    assert "la citation ne correspond pas" in by_line[7]
    assert "codeur « B » dans le fichier de A" in by_line[8]
    assert "ISO 8601" in by_line[9]
    assert all(p.path.endswith("A.jsonl") for p in codings.problems)
    assert len(codings.frame) == 1          # the valid line is kept


def test_moved_quote_is_reanchored_and_reported(project: Path):
    corpus, book, store = _setup(project)
    seg = corpus.segments_of("le-mene-test")[2]
    store.append("A", [coding_record(seg, "ENG.3", "A")])
    # A correction above the coded text shifts it by six characters.
    path = project / "corpus" / "le-mene" / "le-mene-test.md"
    path.write_text(path.read_text(encoding="utf-8").replace("on commence.", "on commence enfin."),
                    encoding="utf-8")
    corpus = load_corpus(project / "corpus")
    codings = load_codings(corpus, book)
    assert not codings.problems.errors
    [warning] = codings.problems.warnings
    assert "codage déplacé" in warning.message and warning.line == 1
    row = codings.frame.iloc[0]
    assert row.moved and row.start == seg.start + len(" enfin")
    assert corpus.documents["le-mene-test"].body[row.start:row.end] == seg.text
    assert row.segment == "le-mene-test#3"


def test_unknown_coder_is_a_usage_error(project: Path):
    corpus, book, store = _setup(project)
    store.append("A", [coverage_record("le-mene-test", "A")])
    with pytest.raises(UsageError, match="codeur.*inconnu.*Z.*disponibles : A"):
        load_codings(corpus, book, coders=["Z"])


def test_store_refuses_other_coders_records_and_bad_ids(project: Path):
    corpus, _, store = _setup(project)
    seg = corpus.segments[0]
    with pytest.raises(CodingsError):
        store.append("A", [coding_record(seg, "ENG.1", "B")])
    with pytest.raises(UsageError):
        store.path("../etc/passwd")


def test_writes_touch_only_the_coders_file(project: Path):
    corpus, _, store = _setup(project)
    seg = corpus.segments[0]
    store.append("B", [coding_record(seg, "ENG.1", "B")])
    before = store.path("B").read_bytes()
    store.append("A", [coding_record(seg, "ENG.2", "A")])
    store.rewrite("A", lambda r: r.get("code") != "ENG.2")
    assert store.path("B").read_bytes() == before
    # the log keeps the coding and records its removal: the state is empty
    assert store.records("A") == []
    assert [json.loads(line).get("type") for line in store.read_lines("A")] == [None, "removed"]
    assert not list(store.folder.glob("*.tmp"))


def test_rewrite_keeps_unreadable_lines(project: Path):
    _, _, store = _setup(project)
    corpus = load_corpus(project / "corpus")
    cov = {"type": "coverage", "doc": "x", "coder": "A", "at": "2020-01-01"}
    _write_lines(store, "A", ["{broken", cov, coding_record(corpus.segments[0], "ENG.1", "A")])
    removed = store.rewrite("A", lambda r: False)
    assert removed == 1                                  # the coding; a coverage line is never withdrawn
    lines = store.path("A").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "{broken" and json.loads(lines[3])["type"] == "removed"
    assert store.records("A") == [cov]


def test_append_many_writes_every_coder_or_none(project: Path, monkeypatch):
    import analyse.fileio

    corpus, _, store = _setup(project)
    seg = corpus.segments[0]
    store.append("A", [coding_record(seg, "ENG.1", "A")])
    before = store.path("A").read_bytes()
    batch = {"A": [coding_record(seg, "ENG.2", "A")], "B": [coding_record(seg, "ENG.2", "B")], "C": []}
    # A record filed under the wrong coder stops the whole batch before any write.
    with pytest.raises(CodingsError):
        store.append_many({**batch, "B": [coding_record(seg, "ENG.2", "A")]})
    # The disk failing on the second file leaves the first one unchanged too.
    real, calls = analyse.fileio._write_temp, []

    def failing(path, data, fsync):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(path, data, fsync)

    monkeypatch.setattr(analyse.fileio, "_write_temp", failing)
    with pytest.raises(CodingsError, match="rien n'a été modifié"):
        store.append_many(batch)
    assert calls == ["A.jsonl", "B.jsonl"]
    assert store.path("A").read_bytes() == before and not store.path("B").exists()
    assert not [p for p in store.folder.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    assert store.append_many(batch) == {"A": 1, "B": 1}
    assert [r["code"] for r in store.records("A")] == ["ENG.1", "ENG.2"]
    assert [r["code"] for r in store.records("B")] == ["ENG.2"]


def test_replace_swaps_records_and_keeps_the_rest(project: Path):
    corpus, _, store = _setup(project)
    seg = corpus.segments[0]
    keep, old = coding_record(seg, "ENG.1", "A"), coding_record(seg, "ENG.2", "A")
    store.append("A", [keep, old])
    store.replace("A", [old], [dict(old, memo="relu")])
    assert [(r["code"], r["memo"]) for r in store.records("A")] == [("ENG.1", ""), ("ENG.2", "relu")]
    store.replace("A", [keep], [])
    assert [r["code"] for r in store.records("A")] == ["ENG.2"]


def _append_many(folder: str, worker: int, n: int) -> None:
    store = CodingStore(folder)
    for i in range(n):
        store.append("A", [{"doc": "le-mene-test", "start": 0, "end": 1, "quote": "B", "code": "ENG.1",
                            "coder": "A", "at": "2020-01-01T00:00:00+00:00", "origin": "human",
                            "score": None, "memo": f"w{worker}-{i}"}])


def test_two_processes_appending_lose_nothing(project: Path):
    folder = str(project / "corpus" / "codings")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(folder, w, 40)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    lines = CodingStore(folder).read_lines("A")
    memos = sorted(json.loads(line)["memo"] for line in lines)
    assert len(memos) == 80 and len(set(memos)) == 80


def test_segment_spans_find_what_segment_for_finds():
    """load_codings finds a coding's segment by bisection: the same segment as the full scan, for
    spans inside, across, between and beyond the segments of every bundled document."""
    import random

    from analyse.model.codings import SegmentSpans, segment_for

    corpus = load_corpus(Path(__file__).resolve().parents[2] / "corpus")
    spans = SegmentSpans(corpus.segments)
    rng = random.Random(21)
    for doc in corpus.documents:
        segs = corpus.segments_of(doc)
        for _ in range(150):
            start = rng.randrange(0, segs[-1].end + 50)
            end = start + rng.randrange(0, 600)
            assert spans.find(doc, start, end) is segment_for(segs, start, end), (doc, start, end)
        for s in segs:
            assert spans.find(doc, s.start, s.end) is s
        for a, b in zip(segs, segs[1:]):    # straddling two segments with equal shares: the first wins
            k = min(a.end - a.start, b.end - b.start, 5)
            assert spans.find(doc, a.end - k, b.start + k) is a is segment_for(segs, a.end - k, b.start + k)
    assert spans.find("absent", 0, 10) is None


def test_each_line_is_parsed_once(project: Path, monkeypatch):
    """Checking for records an old reader split already parses every line: load_codings reuses it."""
    corpus, book, store = _setup(project)
    segs = corpus.segments_of("le-mene-test")
    store.append("A", [coding_record(s, "ENG.1", "A", memo="a\u2028b") for s in segs]
                 + [coverage_record("le-mene-test", "A")])
    n_lines = len(store.read_lines("A"))
    calls = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda s, *a, **k: calls.append(s) or real(s, *a, **k))
    codings = load_codings(corpus, book)
    assert len(codings.frame) == len(segs) and set(codings.frame["memo"]) == {"a\u2028b"}
    assert len(calls) == n_lines == len(segs) + 1


def test_reading_codings_and_memos_takes_no_lock_library(project: Path):
    """filelock is imported where a file is written (or a killed writer's leftovers cleaned)."""
    import subprocess
    import sys

    corpus, book, store = _setup(project)
    store.append("A", [coverage_record("le-mene-test", "A")])
    code = ("import sys\n"
            "from analyse.model.corpus import load_corpus\n"
            "from analyse.model.codebook import load_codebook\n"
            "from analyse.model.codings import load_codings\n"
            "from analyse.model.memos import memos_path, validate_memos\n"
            f"root = {str(project)!r}\n"
            "c = load_corpus(root + '/corpus')\n"
            "assert len(load_codings(c, load_codebook(root + '/codebook/balises.yaml')).coverage) == 1\n"
            "validate_memos(memos_path(root + '/corpus'))\n"
            "print('filelock' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.split()[-1] == "False"
