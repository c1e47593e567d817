"""Does the cross-territory analysis grow linearly with the corpus AND its territories?

Projects whose corpus is the bundled one replicated 1×, 4× (16×) under new document ids and new
territory slugs (4× the corpus is 4× the territories), codings copied too. In a NEW process per
run, the whole analysis as a report does it: load the corpus, the codings, the coded material;
code × territory tables (by territory, role and atelier), invariance with a 500-replicate bootstrap
(codes and dimensions), co-occurrence (segments and documents), the token and entity tables from
the NLP cache, specificities with flesh and skeleton. The NLP cache is parsed once on 1× (printed
apart) and given to the replicas, so token building is read from the cache, as in a re-run.

Printed for each scale: wall and CPU time of the process (min and median over ``--rounds``
alternated rounds), its peak memory, the ratio to 1× measured in the same run, and the median CPU
time of each stage (loading and token building included). Target: 4× ≤ 5× the 1× time, 16× ≤ 20×.

Usage::

    .venv/bin/python bench/analysis_scale.py [--scales 1 4] [--rounds 3] [--src ../main/src]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (PYTHON, alternate, analyse_cmd, copy_nlp_cache, env_for, replicate_project,  # noqa: E402
                    run, sources, table)

TARGETS = {4: 5.0, 16: 20.0}


def child(project: Path, coder: str, cache: Path) -> None:
    stages: dict[str, float] = {}
    clock = [time.process_time()]

    def stage(name: str) -> None:
        now = time.process_time()
        stages[name] = stages.get(name, 0.0) + now - clock[0]
        clock[0] = now

    from analyse import nlp
    from analyse.analysis.cooccurrence import cooccurrence
    from analyse.analysis.invariants import code_territory_table, coded_material, invariance_table
    from analyse.analysis.specificities import skeleton_candidates, specificities, territory_flesh
    from analyse.model.codings import load_codings
    from analyse.model.corpus import load_corpus, segments_frame
    stage("imports")
    corpus = load_corpus(project / "corpus")
    stage("corpus")
    codings = load_codings(corpus, None, coders=[coder])
    material = coded_material(corpus, codings, coders=coder)
    stage("codages")
    tables = [code_territory_table(material, by=by) for by in ("territory", ["territory", "role"], "atelier")]
    inv = invariance_table(material, n_boot=500, seed=0)
    inv_dim = invariance_table(material, level="dimension", n_boot=500, seed=0)
    pairs = [cooccurrence(material, unit=u) for u in ("segment", "document")]
    stage("invariants")
    layer = nlp.NLPLayer(cache_dir=cache, progress=False)
    tokens, entities = nlp.token_frame(corpus, layer), nlp.entity_frame(corpus, layer)
    stage("tokens")
    spec = specificities(tokens, segments_frame(corpus))
    flesh, skeleton = territory_flesh(spec), skeleton_candidates(spec)
    stage("spécificités")
    print(json.dumps({"stages": stages, "documents": len(corpus.documents), "territories": len(corpus.territories),
                      "tokens": len(tokens), "parsed": layer.stats.get("segments_parsed", 0),
                      "rows": sum(map(len, tables)) + len(inv) + len(inv_dim) + sum(map(len, pairs))
                      + len(spec) + len(flesh) + len(skeleton) + len(entities)}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--coder", default="A")
    ap.add_argument("--src", action="append", help="another src folder to measure alternately (e.g. main's)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[0]), args.coder, Path(args.child[1]))
        return 0
    scales = sorted(set([1] + args.scales))
    srcs = sources(args.src)
    work = Path(tempfile.mkdtemp(prefix="bench-analysis-"))
    info: dict = {}
    try:
        projects = {s: replicate_project(work / f"x{s}", s) for s in scales}
        for label, src in srcs.items():
            # one cache per library copy: each pays its own cold parse
            parse = run(analyse_cmd("specificities", "--json"), cwd=projects[1],
                        env=env_for(src, {"BALISES_NLP_CACHE": str(projects[1] / ".cache" / f"nlp-{label}")}))
            print(f"[{label}] analyse spaCy du corpus 1× (cache froid, une fois) : {parse.wall:.1f} s mur, "
                  f"{parse.cpu:.1f} s CPU", flush=True)
        for s in scales[1:]:
            for label in srcs:
                copy_nlp_cache(projects[1] / ".cache" / f"nlp-{label}", projects[s] / ".cache" / f"nlp-{label}", s)

        def case(label, src, scale):
            def go():
                r = run([PYTHON, __file__, "--child", str(projects[scale]), str(projects[scale] / ".cache" / f"nlp-{label}"),
                         "--coder", args.coder], env=env_for(src))
                info.setdefault((label, scale), []).append(json.loads(r.stdout.strip().splitlines()[-1]))
                return r
            return go

        series = alternate({(label, s): case(label, src, s) for label, src in srcs.items() for s in scales},
                           args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ok = True
    stage_names = list(info[(next(iter(srcs)), 1)][0]["stages"])
    for label in srcs:
        base = series[(label, 1)]
        rows = []
        for s in scales:
            x, meta = series[(label, s)], info[(label, s)][0]
            stages = [statistics.median(i["stages"][n] for i in info[(label, s)]) for n in stage_names]
            rows.append([f"{s}×", meta["documents"], meta["territories"], meta["tokens"], x.min("wall"),
                         x.median("wall"), x.min("cpu"), x.median("cpu"), x.max("peak_one_mb"),
                         f"×{x.median('wall') / base.median('wall'):.2f}", f"×{x.median('cpu') / base.median('cpu'):.2f}",
                         *stages])
            if meta["parsed"]:
                print(f"[{label}] attention : {meta['parsed']} segments analysés par spaCy à {s}× (cache incomplet)")
        print(f"\n[{label}] analyse transversale complète dans un nouveau processus, {args.rounds} tours alternés")
        print(table(rows, ["échelle", "documents", "territoires", "tokens", "mur min s", "mur méd. s", "CPU min s",
                           "CPU méd. s", "pic MiB", "mur / 1×", "CPU / 1×", *[f"{n} (CPU s)" for n in stage_names]]))
        for s, limit in TARGETS.items():
            if s in scales:
                ratio = series[(label, s)].median("wall") / base.median("wall")
                good = ratio <= limit
                ok = ok and (good or label != "ici")
                print(f"  {s}× : {ratio:.2f}× le temps de 1× (cible ≤ {limit:g}×) : {'atteinte' if good else 'MANQUÉE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
