"""The `analyse` command: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyse.model.codings import CodingStore, coding_record, coverage_record
from analyse.model.corpus import load_corpus

from tests.helpers import ROOT, run_cli, write_doc


def run(project: Path, *args: str, capsys=None):
    return run_cli(project, *args, capsys=capsys)


def test_validate_ok_then_broken_inputs(project: Path, capsys):
    code, out = run(project, "validate", capsys=capsys)
    assert code == 0, out.out
    assert "2 documents, 6 segments" in out.out and "0 erreur(s)" in out.out
    write_doc(project / "corpus", "le-mene", "le-mene-bad",
              (project / "corpus/le-mene/le-mene-test.md").read_text(encoding="utf-8")
              .replace("le-mene-test", "le-mene-bad").replace("**P2 (DGS)**", "**P7 (DGS)**"))
    corpus = load_corpus(project / "corpus")
    seg = corpus.segments[0]
    CodingStore(project / "corpus/codings").append("A", [{**coding_record(seg, "NOPE", "A")}])
    code, out = run(project, "validate", capsys=capsys)
    assert code == 1
    assert "le-mene/le-mene-bad.md:" in out.out and "intervenant inconnu « P7 »" in out.out
    assert "A.jsonl:1: erreur: code inconnu « NOPE »" in out.out
    assert "3 documents" in out.out          # the broken file's valid parts still load


def test_stats_json_counts(project: Path, capsys):
    corpus = load_corpus(project / "corpus")
    store = CodingStore(project / "corpus/codings")
    segs = corpus.segments_of("le-mene-test")
    store.append("A", [coding_record(segs[0], "ENG.1", "A"), coding_record(segs[1], "ENG.1", "A"),
                       coverage_record("le-mene-test", "A"), coverage_record("malaunay-test", "A")])
    store.append("B", [coding_record(segs[0], "ENG.2", "B"), coverage_record("le-mene-test", "B")])
    code, out = run(project, "stats", "--json", capsys=capsys)
    assert code == 0
    data = json.loads(out.out)
    assert data["documents"] == 2 and data["segments"] == 6
    coders = {c["coder"]: c for c in data["coders"]}
    assert coders["A"]["segments_covered"] == 6 and coders["A"]["segments_coded"] == 2
    assert coders["B"]["segments_covered"] == 3 and coders["B"]["share_of_corpus"] == 0.5
    assert data["overlap"] == [{"coders": "A+B", "segments": 3, "documents": 1}]
    by_code = {(r["coder"], r["code"]): r["segments"] for r in data["codings_by_code"]}
    assert by_code == {("A", "ENG.1"): 2, ("B", "ENG.2"): 1}


def test_codebook_csv_lists_canonical_ids(project: Path, capsys):
    code, out = run(project, "codebook", "--format", "csv", capsys=capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out.out)))
    assert "MGT" in [r["id"] for r in rows] and all(r["definition"] for r in rows)


def test_user_mistakes_give_one_line_not_a_traceback(tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "analyse.cli", "codebook", "--codebook", str(tmp_path / "x.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("analyse : erreur :") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bundled_corpus_validates():
    proc = subprocess.run([sys.executable, "-m", "analyse.cli", "validate"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]


BLAS_PROBE = """
import sys
from analyse.cli import single_threaded_blas
single_threaded_blas()
import numpy  # noqa: F401
from threadpoolctl import threadpool_info
print(sorted({i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"}))
"""


@pytest.mark.parametrize("preset, expected", [(None, "[1]"), ("2", "[2]")])
def test_a_new_analyse_process_runs_one_openblas_thread_unless_the_user_chose(preset, expected):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset:
        env["OPENBLAS_NUM_THREADS"] = preset
    out = subprocess.run([sys.executable, "-c", BLAS_PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == expected, out.stderr[-2000:]
