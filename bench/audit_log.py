"""The coder event logs: same codings as the old reader, and what the log costs as it grows.

    .venv/bin/python bench/audit_log.py [--ref 65bf4a0] [--events 0 1000 5000] [--rounds 5]

1. Equivalence: the reader of commit ``--ref`` (before the event log; its
   ``codings.py`` taken from git) and this one, on the coder files of that
   commit and on the current (migrated) ones: the codings frames must be
   identical (coder, document, segment, span, code, origin, memo, date, quote,
   valence, line).
2. Cost: reading a coder file (replay) and one panel write (tick, then un-tick:
   an event) on a copy of the bundled coder A's file with N extra events
   appended, min and median of ``--rounds`` runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

COLS = ["coder", "doc", "segment", "start", "end", "code", "origin", "memo", "at", "quote", "valence", "line"]


def _old_module(ref: str):
    text = subprocess.check_output(["git", "-C", str(ROOT), "show", f"{ref}:src/analyse/model/codings.py"], text=True)
    path = Path(tempfile.mkdtemp()) / "old_codings.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_codings", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_codings"] = module
    spec.loader.exec_module(module)
    return module


def equivalence(ref: str) -> None:
    from analyse.model.codebook import load_codebook
    from analyse.model.codings import load_codings
    from analyse.model.corpus import load_corpus

    old = _old_module(ref)
    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    then = Path(tempfile.mkdtemp())
    names = subprocess.check_output(["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{ref}:corpus/codings"],
                                    text=True).split()
    for name in names:
        if name.endswith(".jsonl"):
            (then / name).write_bytes(subprocess.check_output(["git", "-C", str(ROOT), "show",
                                                               f"{ref}:corpus/codings/{name}"]))
    now = ROOT / "corpus" / "codings"
    base = old.load_codings(corpus, book, then).frame[COLS].reset_index(drop=True)
    for label, reader, folder in [(f"lecteur {ref}, fichiers {ref}", old.load_codings, then),
                                  (f"journal rejoué, fichiers {ref}", load_codings, then),
                                  ("journal rejoué, fichiers migrés", load_codings, now)]:
        frame = reader(corpus, book, folder).frame[COLS].reset_index(drop=True)
        print(f"{label:40s} {len(frame):5d} codages, identiques au lecteur {ref} : {frame.equals(base)}")


def cost(n_events: list[int], rounds: int) -> None:
    from analyse.model.codings import CodingStore, coding_record, event_record
    from analyse.model.corpus import load_corpus

    corpus = load_corpus(ROOT / "corpus")
    seg = corpus.segments[0]
    print(f"{'événements ajoutés':>20s} {'lignes':>7s} {'lecture (ms)':>14s} {'écriture (ms)':>14s}")
    for n in n_events:
        folder = Path(tempfile.mkdtemp())
        shutil.copy(ROOT / "corpus" / "codings" / "A.jsonl", folder / "A.jsonl")
        store = CodingStore(folder)
        filler = coding_record(seg, "ECH", "A", at="2026-01-01T00:00:00+00:00")
        store.append("A", [filler if i % 2 == 0 else event_record("removed", filler, origin="panel")
                           for i in range(n)])
        reads, writes = [], []
        for _ in range(rounds):
            t = time.perf_counter()
            store.records("A")
            reads.append(time.perf_counter() - t)
            rec = coding_record(seg, "ENG.3", "A")
            t = time.perf_counter()
            store.append("A", [rec])
            store.replace("A", [rec], [], origin="panel")
            writes.append((time.perf_counter() - t) / 2)
        lines = len(store.read_lines("A"))
        print(f"{n:20d} {lines:7d} {1000 * min(reads):6.1f} / {1000 * statistics.median(reads):5.1f}"
              f" {1000 * min(writes):6.1f} / {1000 * statistics.median(writes):5.1f}")
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="65bf4a0", help="commit before the event log")
    parser.add_argument("--events", type=int, nargs="+", default=[0, 1000, 5000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    equivalence(args.ref)
    print("(min / médiane)")
    cost(args.events, args.rounds)


if __name__ == "__main__":
    main()
