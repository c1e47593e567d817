"""Learning curve of the learned coder: does uncertainty sampling need fewer coded segments?

A simulated coder replays coder A's codings. One territory is held out as the test; the other
territories' covered segments are the pool the coder works through. Both strategies start from
the same first ``--seed`` segments (document order), then code ``--step`` more segments at a time:

* **document order**: the next segments in corpus order (what a coder does without help);
* **uncertainty**: the segments the current model is least sure of
  (:func:`analyse.coding.active.usefulness`, what « segment suivant le plus utile » proposes).

After each step the model is retrained on what has been coded (thresholds chosen by its own
grouped CV, as always) and scored on the held-out territory: dimension and balise micro-F1.
The reference is the model trained on the whole pool, i.e. coder A's leave-one-territory-out
figure for that territory. The verdict says, for each strategy, the first number of coded
segments whose F1 reaches that reference (and 95 % of it), or that it never does.

The simulation model is :class:`SegmentCoder` with 3 inner folds, without character n-grams and
without the codebook and référentiel documents (``--chars`` and ``--knowledge`` add them), to keep
the ~2 × steps trainings affordable; both strategies use the same model.

Usage: ``python bench/learning_curve.py [--territory malaunay] [--seed 60] [--step 80] [--cache DIR]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _bench import coder_frame  # noqa: E402
import numpy as np  # noqa: E402

from analyse.coding.active import usefulness  # noqa: E402
from analyse.coding.autocode import ModelError, SegmentCoder, dimension_map, knowledge_documents  # noqa: E402
from analyse.coding.evaluate import (_predict, indicator, transfer_metrics,  # noqa: E402
                                     union_dimensions)


def fit_and_score(X, y, rows, test, book, extra, cv, chars):
    """Dimension and balise micro-F1 on ``test`` of a model trained on ``rows`` (None: could not train)."""
    codes = list(book.codes)
    model = SegmentCoder(labels=codes, dimensions=dimension_map(book), cv=cv,
                         **({} if chars else {"char_ngrams": None}))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X.iloc[rows], [y[i] for i in rows], groups=X["doc"].iloc[rows], extra=extra)
    except (ModelError, ValueError):
        return None, (0.0, 0.0)
    Xt = X.iloc[test]
    Yp, Dp = _predict(model, Xt, codes)
    m = transfer_metrics(indicator([y[i] for i in test], codes), Yp, codes, book,
                         D_pred=union_dimensions(Yp, codes, book, Dp))
    return model, (m["dimension"]["micro_f1"], (m["balise"] or {}).get("micro_f1") or 0.0)


def first_reaching(sizes, f1s, target):
    return next((n for n, f in zip(sizes, f1s) if f >= target - 1e-9), None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--territory", default="malaunay", help="held-out territory (default malaunay)")
    ap.add_argument("--seed", type=int, default=60, help="segments coded first, in document order (default 60)")
    ap.add_argument("--step", type=int, default=80, help="segments coded between two trainings (default 80)")
    ap.add_argument("--cv", type=int, default=3, help="inner folds of each training (default 3)")
    ap.add_argument("--knowledge", action="store_true", help="add the codebook and référentiel documents")
    ap.add_argument("--chars", action="store_true", help="with character n-grams (as the shipped model; slower)")
    ap.add_argument("--cache", type=Path, help="NLP cache folder (default: the project's)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    book, layer, X, y = coder_frame(args.cache)
    extra = None
    if args.knowledge:
        from analyse.coding.knowledge import default_referentiel_path
        Xe, ye, we, _ = knowledge_documents(book, layer, default_referentiel_path(ROOT))
        extra = (Xe, ye, we)
    territory = X["territory"].to_numpy()
    if args.territory not in set(territory):
        print(f"territoire inconnu « {args.territory} » : {', '.join(sorted(set(territory)))}")
        return 2
    test = np.flatnonzero(territory == args.territory)
    pool = np.flatnonzero(territory != args.territory)          # corpus order = document order
    t0 = time.perf_counter()
    _, reference = fit_and_score(X, y, pool, test, book, extra, args.cv, args.chars)
    print(f"held out: {args.territory} ({len(test)} segments); pool: {len(pool)} segments of coder A; "
          f"reference (whole pool, i.e. leave-one-territory-out): dimension F1 {reference[0]:.3f}, "
          f"balise F1 {reference[1]:.3f} ({time.perf_counter() - t0:.0f} s a training)", flush=True)
    sizes = list(range(args.seed, len(pool), args.step)) + [len(pool)]
    curves = {}
    for strategy in ("document order", "uncertainty"):
        coded = list(pool[:args.seed])
        rest = list(pool[args.seed:])
        f1s = []
        for size in sizes:
            model, f1 = fit_and_score(X, y, np.array(coded), test, book, extra, args.cv, args.chars)
            f1s.append(f1)
            print(f"{strategy:>15}: {len(coded):4d} coded → dimension F1 {f1[0]:.3f}, balise F1 {f1[1]:.3f}"
                  + ("" if model is not None else " (no code learnable yet)"), flush=True)
            take = min(args.step, len(rest)) if size != sizes[-1] else 0
            if not take:
                continue
            if strategy == "uncertainty" and model is not None:
                u = usefulness(model, X.iloc[rest])
                chosen = set(np.argsort(-u, kind="stable")[:take])
            else:
                chosen = set(range(take))
            coded += [rest[i] for i in sorted(chosen)]
            rest = [r for i, r in enumerate(rest) if i not in chosen]
        curves[strategy] = f1s
    print("\nsegments coded | dim F1 doc order | dim F1 uncertainty | balise F1 doc order | balise F1 uncertainty")
    for k, n in enumerate(sizes):
        d, u = curves["document order"][k], curves["uncertainty"][k]
        print(f"{n:14d} | {d[0]:16.3f} | {u[0]:18.3f} | {d[1]:19.3f} | {u[1]:21.3f}")
    print()
    for level, j in (("dimension", 0), ("balise", 1)):
        means = {s: float(np.mean([f[j] for f in c])) for s, c in curves.items()}
        print(f"{level} F1 averaged over the curve (area under it / its width): "
              + "; ".join(f"{s} {m:.3f}" for s, m in means.items()))
    for level, j in (("dimension", 0), ("balise", 1)):
        if reference[j] < 0.2:
            print(f"{level}: the reference F1 ({reference[j]:.3f}) is too low for a verdict: a few segments "
                  "more or less decide it")
            continue
        for share in (1.0, 0.95):
            target = reference[j] * share
            got = {s: first_reaching(sizes, [f[j] for f in c], target) for s, c in curves.items()}
            say = "; ".join(f"{s}: {n if n is not None else 'never'}" for s, n in got.items())
            d, u = got["document order"], got["uncertainty"]
            if u is not None and (d is None or u < d):
                verdict = "uncertainty sampling gets there with fewer coded segments"
            elif u == d:
                verdict = "no difference at this step size"
            else:
                verdict = "uncertainty sampling does NOT get there sooner"
            print(f"{level} F1 ≥ {share:.0%} of the reference ({target:.3f}): {say} → {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
