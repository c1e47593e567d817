"""Benchmark of the main job: the full batch with --jobs 2 against --jobs 1, in one run.

Target (issue "batch"): on a 2-core machine, the parallel wall time is at most
0.65 of the sequential one. Both runs use a warm NLP cache (a first parse is
done before timing), so the comparison is about running notebooks in
parallel, not about spaCy. Per-notebook times (kernel start, execution,
rendering) are printed for both runs.

Usage: .venv/bin/python bench/batch.py [--audience chercheurs|groupe-miroir]
Exit status 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from analyse.reporting.batch import run_batch  # noqa: E402

TARGET = 0.65


def timed_run(jobs: int, out: Path, audience: str):
    t0 = time.perf_counter()
    result = run_batch(ROOT, None, out, jobs=jobs, audience=audience, progress=False)
    wall = time.perf_counter() - t0
    if not result.ok:
        failed = [(j.name, j.error) for j in result.jobs if not j.ok]
        raise SystemExit(f"batch failed with --jobs {jobs}: {failed}")
    return wall, result


def show(label: str, wall: float, result) -> None:
    print(f"\n{label}: {wall:.1f} s au total")
    print(f"  {'rapport':<16} {'noyau':>7} {'exécution':>10} {'rendu':>7}")
    for j in result.jobs:
        print(f"  {j.name:<16} {j.kernel_start_s:>6.1f}s {j.execution_s:>9.1f}s {j.rendering_s:>6.1f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audience", default="chercheurs", choices=["chercheurs", "groupe-miroir"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-", dir=ROOT / "outputs"))
    try:
        print("Préchauffage (cache NLP, noyau)…", flush=True)
        timed_run(2, work / "warm", args.audience)
        seq, seq_result = timed_run(1, work / "jobs1", args.audience)
        par, par_result = timed_run(2, work / "jobs2", args.audience)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    show("--jobs 1", seq, seq_result)
    show("--jobs 2", par, par_result)
    ratio = par / seq
    verdict = "OK" if ratio <= TARGET else "MANQUÉ"
    print(f"\nrapport parallèle / séquentiel = {ratio:.2f} (cible ≤ {TARGET}) : {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
