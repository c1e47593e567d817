"""The main job at scale: ``analyse batch`` on the corpus replicated 1×, 4× (16×), territories included.

Each scale is a real project folder: every document copied under a new id AND a new territory slug
(4× the corpus is 4× the territories), its codings copied too; ``analyse validate`` must pass on
it. The NLP cache is parsed once on the 1× corpus (that cost is printed apart) and given to the
replicas (identical texts), so the batch is timed as a warm re-run, the way a team re-runs it.

Printed for each scale: wall and CPU time of the whole process tree (min and median over the
rounds), the peak resident memory of the largest single process and of the whole tree, the size
of the output, and the ratio to 1× measured in the same run. Without 16× in ``--scales`` the 16×
time is projected from the 1×→4× growth (power law), and said to be a projection.

Targets (issue #21): 4× in ≤ 5× the 1× time; 16× in ≤ 20×, with the peak of any one process
≤ 2× its 1× peak.

Usage::

    .venv/bin/python bench/scale.py [--scales 1 4] [--rounds 1] [--jobs 2] [--src /other/checkout/src]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (SERIES_HEADERS, alternate, analyse_cmd, copy_nlp_cache, env_for, notebooks_for,  # noqa: E402
                    replicate_project, run, sources, table)

TARGETS = {4: 5.0, 16: 20.0}
MEMORY_RATIO = 2.0


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--rounds", type=int, default=1, help="alternated rounds (default 1: a batch is long)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--src", action="append", help="another src folder to measure alternately (e.g. main's)")
    ap.add_argument("--keep", help="keep the projects in this folder")
    args = ap.parse_args()
    scales = sorted(set([1] + args.scales))
    srcs = sources(args.src)
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        projects = {}
        for scale in scales:
            projects[scale] = replicate_project(work / f"x{scale}", scale)
            check = run(analyse_cmd("validate"), cwd=projects[scale], env=env_for(srcs["ici"]), check=False)
            docs = check.stdout.strip().splitlines()[-1] if check.stdout.strip() else ""
            print(f"{scale:>3}× : {docs}", flush=True)
            if check.code != 0:
                print(check.stdout[-2000:], check.stderr[-2000:])
                return 2
        def env(label: str, scale: int) -> dict:
            # one cache per library copy: each pays its own cold parse
            return env_for(srcs[label], {"BALISES_NLP_CACHE": str(projects[scale] / ".cache" / f"nlp-{label}")})

        for label in srcs:
            # the one cold parse, on the 1× corpus; the replicas get its cache files
            parse = run(analyse_cmd("specificities", "--json"), cwd=projects[1], env=env(label, 1))
            print(f"[{label}] analyse du corpus 1× par spaCy (cache froid, une fois) : {parse.wall:.1f} s mur, "
                  f"{parse.cpu:.1f} s CPU", flush=True)
        for scale in scales[1:]:
            for label in srcs:
                copy_nlp_cache(projects[1] / ".cache" / f"nlp-{label}", projects[scale] / ".cache" / f"nlp-{label}",
                               scale)

        out_sizes: dict[tuple[str, int], float] = {}

        def case(label: str, src: Path, scale: int):
            def go():
                out = projects[scale] / "outputs" / "rapport"
                shutil.rmtree(out, ignore_errors=True)
                r = run(analyse_cmd("batch", "--out", str(out), "--jobs", str(args.jobs),
                                    "--notebooks", str(notebooks_for(src))), cwd=projects[scale],
                        env=env(label, scale), check=False)
                if r.code != 0:
                    print(f"[{label}] {scale}× : batch exit {r.code}\n{r.stderr[-1500:]}", flush=True)
                out_sizes[(label, scale)] = folder_mb(out)
                print(f"  [{label}] {scale}× : {r.wall:.1f} s mur, {r.cpu:.1f} s CPU, pic {r.peak_one_mb:.0f} MiB "
                      f"(1 processus) / {r.peak_tree_mb:.0f} MiB (arbre)", flush=True)
                return r
            return go

        cases = {(label, scale): case(label, src, scale) for scale in scales for label, src in srcs.items()}
        series = alternate(cases, args.rounds)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    verdicts = []
    for label in srcs:
        base = series[(label, 1)]
        rows = []
        for scale in scales:
            s = series[(label, scale)]
            rows.append([f"{scale}×", s.min("wall"), s.median("wall"), s.min("cpu"), s.median("cpu"),
                         s.max("peak_one_mb"), s.max("peak_tree_mb"), out_sizes.get((label, scale), 0.0),
                         f"×{s.median('wall') / base.median('wall'):.2f}", f"×{s.median('cpu') / base.median('cpu'):.2f}",
                         f"×{s.max('peak_one_mb') / base.max('peak_one_mb'):.2f}"])
        print(f"\n[{label}] analyse batch --jobs {args.jobs}, {args.rounds} tour(s) alterné(s)")
        print(table(rows, SERIES_HEADERS[:1] + SERIES_HEADERS[1:] + ["sortie MiB", "mur / 1×", "CPU / 1×", "pic 1 proc. / 1×"]))
        t1 = base.median("wall")
        for scale, limit in TARGETS.items():
            if scale in scales:
                ratio = series[(label, scale)].median("wall") / t1
                mem = series[(label, scale)].max("peak_one_mb") / base.max("peak_one_mb")
                ok = ratio <= limit and (scale < 16 or mem <= MEMORY_RATIO)
                verdicts.append(ok)
                print(f"  {scale}× : {ratio:.2f}× le temps de 1× (cible ≤ {limit:g}×)"
                      + (f", pic mémoire ×{mem:.2f} (cible ≤ {MEMORY_RATIO:g}×)" if scale == 16 else "")
                      + f" : {'atteinte' if ok else 'MANQUÉE'}")
        if 16 not in scales and 4 in scales:
            # from CPU time too: on a loaded machine the wall time of one run says little
            for what in ("wall", "cpu"):
                t1w, t4 = base.median(what), series[(label, 4)].median(what)
                b = math.log(max(t4, 1e-9) / t1w) / math.log(4)
                print(f"  16× non mesuré : PROJECTION ({'temps réel' if what == 'wall' else 'temps CPU'}) "
                      f"{t1w * 16 ** b:.0f} s = {16 ** b:.1f}× 1× (croissance en n^{b:.2f} extrapolée de 1× à 4×, "
                      "pas une mesure)")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
