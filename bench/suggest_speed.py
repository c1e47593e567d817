"""Speed of ``analyse suggest`` as users run it: the real command in a new process, warm NLP cache.

A project holds the bundled corpus replicated ``--replicas`` times inside its territories (new
document ids), so one territory has that many times its segments. The spaCy parse is done once on
the 1× corpus (``analyse specificities``, cold cache) and the model trained there (``analyse
train``): both costs are printed apart, as the parse cost a cold run would add. The replicas get
the 1× cache files (identical texts) and the model.

Then, alternated for ``--rounds`` rounds (the order rotating): ``python -c pass`` (the start-up
floor), ``analyse suggest --territory T --no-rules`` (learned model only: reads lemmas from the
cache) and ``analyse suggest --territory T`` (rules too: the rule matcher needs spaCy's Docs, so
the model is loaded), each for a coder who covered nothing (every segment of T gets suggestions).
Min and median of wall and CPU time, segments per second of wall time (start-up included).

Target: the model-only command ≥ 5,000 segments/s, start-up included (median wall).

Usage: ``python bench/suggest_speed.py [--replicas 20] [--rounds 3] [--territory le-mene] [--src ../main/src]``.
Exits 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (PYTHON, SERIES_HEADERS, alternate, analyse_cmd, copy_nlp_cache, env_for,  # noqa: E402
                    fmt_series, replicate_project, run, sources, table)

TARGET = 5000.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--territory", default="le-mene")
    ap.add_argument("--src", action="append", help="another src folder to measure alternately (e.g. main's)")
    args = ap.parse_args()
    srcs = sources(args.src)
    work = Path(tempfile.mkdtemp(prefix="bench-suggest-"))
    try:
        projects = {}
        for label, src in srcs.items():
            small = replicate_project(work / f"{label}-1", 1)
            env = env_for(src)
            parse = run(analyse_cmd("specificities", "--json"), cwd=small, env=env)
            train = run(analyse_cmd("train", "--coder", "A", "--no-progress"), cwd=small, env=env)
            print(f"[{label}] coût d'analyse spaCy du corpus 1× (cache froid) : {parse.wall:.1f} s mur, "
                  f"{parse.cpu:.1f} s CPU ; entraînement (cache chaud) : {train.wall:.1f} s mur, {train.cpu:.1f} s CPU",
                  flush=True)
            big = replicate_project(work / f"{label}-{args.replicas}", args.replicas, new_territories=False)
            copy_nlp_cache(small / ".cache" / "nlp", big / ".cache" / "nlp", args.replicas)
            (big / "outputs" / "models").mkdir(parents=True, exist_ok=True)
            shutil.copy(small / "outputs" / "models" / "model.joblib", big / "outputs" / "models" / "model.joblib")
            projects[label] = big
        segments = {}

        def suggest(label: str, src: Path, rules: bool):
            def go():
                out = projects[label] / "outputs" / f"s-{rules}.jsonl"
                out.unlink(missing_ok=True)
                r = run(analyse_cmd("suggest", "--territory", args.territory, "--coder", "ZZ", "--out", str(out),
                                    "--no-progress", *([] if rules else ["--no-rules"])),
                        cwd=projects[label], env=env_for(src))
                found = re.search(r"(\d+) segment", r.stdout)
                segments[label] = int(found.group(1)) if found else 0
                return r
            return go

        cases = {("python -c pass", None): lambda: run([PYTHON, "-c", "pass"])}
        for label, src in srcs.items():
            cases[(label, "modèle")] = suggest(label, src, rules=False)
            cases[(label, "règles + modèle")] = suggest(label, src, rules=True)
        series = alternate(cases, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = series[("python -c pass", None)]
    rows = [fmt_series("python -c pass", base, base) + [""]]
    for label in srcs:
        for what in ("modèle", "règles + modèle"):
            s = series[(label, what)]
            rows.append(fmt_series(f"[{label}] suggest, {what}", s, base)
                        + [f"{segments[label] / s.median('wall'):,.0f}"])
    print(f"\n{args.rounds} tours alternés ; territoire {args.territory} : {segments[next(iter(srcs))]} segments "
          f"({args.replicas} répliques du corpus)")
    print(table(rows, SERIES_HEADERS + ["× python", "segments/s (mur)"]))
    rate = segments["ici"] / series[("ici", "modèle")].median("wall")
    ok = rate >= TARGET
    print(f"suggest (modèle seul), démarrage compris : {rate:,.0f} segments/s (cible ≥ {TARGET:,.0f}) : "
          f"{'atteinte' if ok else 'MANQUÉE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
