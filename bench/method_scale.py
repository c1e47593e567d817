"""Cost of the invariant analysis (two-stage bootstrap + permutations + per-code reliability) with the corpus.

The bundled corpus's coded material is replicated under new document ids *and new territories*
(1×, 4×, 16×: 4, 16, 64 territories), the codings with it, so that the work grows as it would in a
network of villes pairs. Each size runs in a new process (start-up and imports included, as a user
pays them), alternated over rounds; min and median wall and CPU times are printed with the ratio to 1×.
Targets (issue #15): 1× ≤ 60 s on this machine; 16× ≤ 20 × the 1× time.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (1, 4, 16)
ROUNDS = 3
N_BOOT, N_PERM = 500, 999

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import pandas as pd
from analyse.project import Project
from analyse.analysis.material import coded_material, material_from_frames
from analyse.analysis.invariants import invariance_table
from analyse.reliability.agreement import reliability_data
from analyse.reliability.per_code import code_reliability
factor, n_boot, n_perm = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
p = Project.load(sys.argv[4])
corpus = p.load_corpus(); book = p.load_codebook(); codings = p.load_codings(corpus, book)
base = coded_material(corpus, codings, coders="A")
rel = reliability_data(codings, corpus, ["A", "B"], codebook=book)
segs, codes = [], []
for k in range(factor):
    s = base.segments.copy(); c = base.codes.copy()
    s["doc"] = s["doc"] + f"~{k}"; s["territory"] = s["territory"] + f"-{k}"
    s["segment"] = s["segment"].str.replace("#", f"~{k}#", regex=False)
    c["segment"] = c["segment"].str.replace("#", f"~{k}#", regex=False)
    segs.append(s); codes.append(c)
material = material_from_frames(pd.concat(segs, ignore_index=True), pd.concat(codes, ignore_index=True))
t1 = time.perf_counter()
table = code_reliability(rel, n_boot=n_boot)
inv = invariance_table(material, n_boot=n_boot, n_perm=n_perm, reliability=table)
t2 = time.perf_counter()
print(json.dumps({"segments": len(material.segments), "territories": len(material.territories),
                  "analysis_s": t2 - t1, "total_s": t2 - t0,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(factor: int) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    before = __import__("resource").getrusage(__import__("resource").RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-c", CHILD, str(factor), str(N_BOOT), str(N_PERM), str(ROOT)],
                         capture_output=True, text=True, check=True)
    after = __import__("resource").getrusage(__import__("resource").RUSAGE_CHILDREN)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data["wall_s"] = time.perf_counter() - t0
    data["cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return data


def main() -> None:
    results: dict[int, list[dict]] = {f: [] for f in SIZES}
    for _ in range(ROUNDS):
        for f in SIZES:              # alternated: every round runs every size
            results[f].append(run(f))
    base = statistics.median(r["wall_s"] for r in results[1])
    print(f"bootstrap {N_BOOT} tirages, {N_PERM} permutations ; {ROUNDS} tours alternés, nouveau processus")
    print(f"{'taille':<7}{'territoires':>12}{'segments':>10}{'mur min':>9}{'mur méd.':>10}{'CPU méd.':>10}"
          f"{'analyse méd.':>14}{'mémoire max':>13}{'× 1×':>7}")
    for f in SIZES:
        rs = results[f]
        med = statistics.median(r["wall_s"] for r in rs)
        print(f"{f}×{'':<5}{rs[0]['territories']:>12}{rs[0]['segments']:>10}{min(r['wall_s'] for r in rs):>9.1f}"
              f"{med:>10.1f}{statistics.median(r['cpu_s'] for r in rs):>10.1f}"
              f"{statistics.median(r['analysis_s'] for r in rs):>14.1f}"
              f"{max(r['peak_mib'] for r in rs):>11.0f} Mo{med / base:>7.1f}")
    r16 = statistics.median(r["wall_s"] for r in results[16]) / base
    print(f"cible 1× ≤ 60 s : {'atteinte' if base <= 60 else 'MANQUÉE'} ; "
          f"cible 16× ≤ 20 × 1× : {'atteinte' if r16 <= 20 else 'MANQUÉE'} ({r16:.1f} ×)")


if __name__ == "__main__":
    main()
