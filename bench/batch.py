"""The main job with ``--jobs 2`` against ``--jobs 1``: alternated pairs of real ``analyse batch`` runs.

Each run is the real command in a new process (start-up, corpus loading and the batch's own serial
part included), on the bundled corpus with a warm NLP cache (one untimed run first). Runs go in
pairs whose order alternates (1 then 2, 2 then 1, …), so that neither setting always runs on the
warmer or the quieter machine; the verdict is on the median of the per-pair ratios, and every
pair's ratio is printed with the min and median wall and CPU times of each setting. Per-notebook
times (kernel start, execution, rendering) of the last run of each setting are printed too.

Targets: ``--jobs 2`` ≤ 0.55 × ``--jobs 1`` (issue #21; #13 asked ≤ 0.65), median of the pairs, on a 2-core
machine; the median notebook execution ≤ 1.5 × the median kernel start (issue #13), over every notebook
of every timed run. Both are ratios: work taken off every report (kernels forked ready, no fixed waits)
speeds ``--jobs 1`` more than ``--jobs 2`` and makes the kernel start nearly nil, so both ratios rise while
both settings get faster; read them beside the absolute times printed above them.

Usage: .venv/bin/python bench/batch.py [--pairs 3] [--audience chercheurs|groupe-miroir] [--src ../main/src]
Exit status 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (ROOT, SERIES_HEADERS, Series, analyse_cmd, env_for, fmt_series, notebooks_for, run,  # noqa: E402
                    sources, table)

TARGET = 0.55
EXECUTION_TARGET = 1.5    # median execution / median kernel start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--audience", default="chercheurs", choices=["chercheurs", "groupe-miroir"])
    ap.add_argument("--src", action="append", help="another src folder to measure alternately (e.g. main's)")
    args = ap.parse_args()
    srcs = sources(args.src)
    work = Path(tempfile.mkdtemp(prefix="bench-batch-", dir=ROOT / "outputs"))
    timings: dict = {}
    every: dict[str, list[dict]] = {}     # every notebook of every timed run, per library copy
    serial: dict[tuple, list[float]] = {}  # wall time outside the jobs (start-up, plan, context, publish)

    def batch(label: str, src: Path, jobs: int):
        out = work / f"{label}-{jobs}"
        travail = work / f"{label}-{jobs}-travail"     # timings go to the working folder, never published
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(travail, ignore_errors=True)
        r = run(analyse_cmd("batch", "--out", str(out), "--jobs", str(jobs), "--audience", args.audience,
                            "--notebooks", str(notebooks_for(src))), cwd=ROOT, env=env_for(src))
        timings[(label, jobs)] = json.loads((travail / "timings.json").read_text(encoding="utf-8"))
        every.setdefault(label, []).extend(timings[(label, jobs)])
        jobs_t = timings[(label, jobs)]
        if all(t.get("started") for t in jobs_t):    # the batch records when each job ran
            serial.setdefault((label, jobs), []).append(
                r.wall - (max(t["finished"] for t in jobs_t) - min(t["started"] for t in jobs_t)))
        return r

    series = {(label, jobs): Series() for label in srcs for jobs in (1, 2)}
    ratios: dict[str, list[float]] = {label: [] for label in srcs}
    try:
        for label, src in srcs.items():
            print(f"[{label}] préchauffage (cache NLP, contexte partagé, noyau)…", flush=True)
            batch(label, src, 2)
            every[label] = []     # the warm-up run is not timed
            serial.clear()
        for p in range(args.pairs):
            for label, src in (list(srcs.items()) if p % 2 == 0 else list(srcs.items())[::-1]):
                pair = {}
                for jobs in ((1, 2) if p % 2 == 0 else (2, 1)):
                    pair[jobs] = batch(label, src, jobs)
                    series[(label, jobs)].runs.append(pair[jobs])
                ratios[label].append(pair[2].wall / pair[1].wall)
                # the load average says whether other processes took cores: two reports in parallel gain
                # little when a third process keeps a core busy
                print(f"  paire {p + 1} [{label}] : --jobs 1 {pair[1].wall:.1f} s, --jobs 2 {pair[2].wall:.1f} s, "
                      f"rapport {ratios[label][-1]:.2f} (charge moyenne sur 1 min : {os.getloadavg()[0]:.1f})",
                      flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ok = True
    for label in srcs:
        print(f"\n[{label}] analyse batch, {args.pairs} paires alternées")
        print(table([fmt_series(f"--jobs {j}", series[(label, j)]) for j in (1, 2)], SERIES_HEADERS))
        for jobs in (1, 2):
            print(f"  notebooks (--jobs {jobs}) : " + ", ".join(
                f"{t['name']} {t['kernel_start_s']:.1f}+{t['execution_s']:.1f}+{t['rendering_s']:.1f} s"
                for t in timings[(label, jobs)]) + "  (noyau + exécution + rendu)")
            if serial.get((label, jobs)):
                print(f"  part série (--jobs {jobs}) : hors notebooks, médiane "
                      f"{statistics.median(serial[(label, jobs)]):.1f} s (démarrage, plan, contexte partagé, "
                      "publication)")
        kernel = statistics.median(t["kernel_start_s"] for t in every[label])
        execution = statistics.median(t["execution_s"] for t in every[label])
        print(f"  notebooks ({len(every[label])} exécutions) : démarrage du noyau médian {kernel:.1f} s, exécution "
              f"médiane {execution:.1f} s, rapport {execution / kernel:.2f} (cible ≤ {EXECUTION_TARGET}) : "
              f"{'atteinte' if execution <= EXECUTION_TARGET * kernel else 'MANQUÉE'}")
        med = statistics.median(ratios[label])
        verdict = med <= TARGET
        if label == "ici":
            ok = verdict
        print(f"  rapports par paire : {', '.join(f'{r:.2f}' for r in ratios[label])} ; médiane {med:.2f}, "
              f"min {min(ratios[label]):.2f}, max {max(ratios[label]):.2f} (cible ≤ {TARGET}) : "
              f"{'atteinte' if verdict else 'MANQUÉE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
