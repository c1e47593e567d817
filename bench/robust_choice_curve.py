"""Learning curve of the real-text pool: does more labelled real text still help the learned coder, and by how much?

Issue 19, fourth protocol. The design chosen by ``bench/robust_choice.py`` (``--design``, default the
chosen one of ``--choice``, a JSON row of that bench) is trained with 0 %, 25 %, 50 %, 75 % and 100 % of the
pool's towns (``analyse.coding.selection.nested_group_subsets``: the towns shuffled once with ``--seed``,
each subset holding the smaller ones; a town is wholly in or out), the corpus, the codebook and the
référentiel always in. Decisions are fixed (the chosen candidate's settings). Measured at each size:

* **V** (validation set, 74 texts): scored by the model trained at that size;
* **P** (every text of the full pool, whatever the size): a text whose town is in the training subset is
  scored out of fold (the model's internal cross-validation, grouped by town) and decided by thresholds
  chosen without its inner fold; a text whose town is not in the subset is scored by the model trained at
  that size, which never saw it. Either way no model saw its town, and P is the same texts at every size;
* **V+P**: the two counted together (as the selection rule counts them).

Printed: a table (dimension precision / recall / micro-F1, false alarms), the slope of the F1 per 100 pool
texts (least squares over the sizes with the pool joined, 25 % to 100 %), and a PNG plot
(``--plot``, default ``bench/robust_choice_curve.png``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


def slope_per_100(n_texts, values) -> float:
    """Least-squares slope of ``values`` against ``n_texts``, per 100 texts (nan with fewer than 2 points)."""
    x, v = np.asarray(n_texts, dtype=float), np.asarray(values, dtype=float)
    if len(x) < 2 or np.ptp(x) == 0:
        return float("nan")
    return float(np.polyfit(x, v, 1)[0] * 100)


def fit_scoring(d, codes, book, data, frames):
    """Like robust_choice.fit_one, also keeping nothing but what the curve reads."""
    from robust_choice import fit_one

    return fit_one(d, codes, book, data, frames)


def main() -> int:
    from joblib import Parallel, delayed

    import robust_choice as rc
    from _bench import coder_frame
    from analyse.coding.autocode import compose_training, knowledge_documents, pool_rows_of, realtext_pool, \
        referentiel_blocks
    from analyse.coding.evaluate import (_texts_frame, decide_scores, dimension_indicator, indicator, read_devset,
                                         union_dimensions)
    from analyse.coding.knowledge import default_referentiel_path
    from analyse.coding.realtext import training_folders
    from analyse.coding.selection import dimension_counts, nested_group_subsets, pooled

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--choice", type=Path, help="JSON lines of bench/robust_choice.py --json: its chosen row "
                                                "(the first eligible best by the rule) gives the design and settings")
    ap.add_argument("--design", type=int, help="index of robust_choice.DESIGN_GRID (overrides --choice)")
    ap.add_argument("--settings", help="decision settings as JSON (overrides --choice)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--devset", type=Path, default=ROOT / "tests" / "data" / "devset")
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--plot", type=Path, default=ROOT / "bench" / "robust_choice_curve.png")
    ap.add_argument("--table", type=Path, help="also write the Markdown table there")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    chosen = None
    if args.choice:
        rows = [json.loads(x) for x in args.choice.read_text(encoding="utf-8").splitlines() if x.strip()]
        chosen = rc.choose(rows)
    design = args.design if args.design is not None else (chosen["design"] if chosen else 0)
    settings = (json.loads(args.settings) if args.settings else
                chosen["settings"] if chosen else {**rc.NEUTRAL, "dimension_shift": -1.0, "code_shift": 1.0,
                                                    "abstain_shift": 1.0})
    settings = {k: (float("inf") if v == "inf" else v) for k, v in settings.items()}
    d = rc.DESIGN_GRID[design]
    book, layer, X, y = coder_frame(args.cache)
    codes = list(book.codes)
    extra_docs = knowledge_documents(book, layer, None)[:3]
    ref = referentiel_blocks(book, layer, default_referentiel_path(ROOT))[:3]
    pool = realtext_pool(book, layer, training_folders(ROOT))
    Xp, yp, gp, info = pool
    texts, labels1, _ = read_devset(args.devset)
    texts = [t for t in texts if t["id"] in labels1]
    Xv = _texts_frame([t["text"] for t in texts], layer, "devset-eval")
    Dv_true = dimension_indicator(indicator([labels1[t["id"]] for t in texts], codes), codes, book)
    Dp_true = dimension_indicator(indicator(yp, codes), codes, book)
    masks = nested_group_subsets(gp, FRACTIONS[1:], seed=args.seed)
    masks = [np.zeros(len(Xp), dtype=bool)] + masks
    jobs = []
    for mask in masks:
        sub = (Xp[mask].reset_index(drop=True), [yp[i] for i in np.flatnonzero(mask)], [gp[i] for i in np.flatnonzero(mask)])
        data = compose_training(X, y, extra_docs, ref, sub, rc.composition_of(d))
        jobs.append((data, [Xv, Xp[~mask]] if (~mask).any() else [Xv]))
    print(f"# {rc.design_name(d)} : {rc.settings_name(settings)} ; {len(jobs)} ajustements", file=sys.stderr,
          flush=True)
    results = Parallel(n_jobs=args.jobs)(delayed(fit_scoring)(d, codes, book, data, frames) for data, frames in jobs)
    out = []
    for frac, mask, (data, _), (model, scores, seconds) in zip(FRACTIONS, masks, jobs, results):
        m = model.with_decisions(**settings)
        Yw, Dw = decide_scores(m, scores[0], codes)
        v = dimension_counts(Dv_true, union_dimensions(Yw, codes, book, Dw), fired=np.c_[Yw, Dw])
        Yp = np.zeros((len(Xp), len(codes)), dtype=int)
        Dp = np.zeros((len(Xp), 6), dtype=int)
        if (~mask).any():
            Yp[~mask], Dp[~mask] = decide_scores(m, scores[1], codes)
        if mask.any():
            in_model = pool_rows_of(data[0])
            oof, folds = model.oof_scores_[in_model], model.oof_fold_[in_model]
            at_pool = np.flatnonzero(mask)      # compose_training keeps the pool's order
            for k in np.unique(folds):
                sel = folds == k
                Yp[at_pool[sel]], Dp[at_pool[sel]] = decide_scores(
                    model.without_rows(model.oof_fold_ == k).with_decisions(**settings), oof[sel], codes)
        p = dimension_counts(Dp_true, union_dimensions(Yp, codes, book, Dp), fired=np.c_[Yp, Dp])
        both = pooled([v, p])
        row = {"fraction": frac, "pool_texts": int(mask.sum()), "pool_towns": len({gp[i] for i in np.flatnonzero(mask)}),
               **v.as_dict("v_"), **p.as_dict("p_"), **both.as_dict("pooled_"),
               "pooled_precision_bound": both.precision_lower_bound(), "fit_s": round(seconds)}
        out.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    joined = [r for r in out if r["pool_texts"]]
    slopes = {f"{s}_{m}": slope_per_100([r["pool_texts"] for r in joined], [r[f"{s}_{m}"] for r in joined])
              for s in ("v", "p", "pooled") for m in ("dim_precision", "dim_recall", "dim_f1")}
    table = render(out, slopes, d, settings, info, args.seed, round(time.perf_counter() - t0))
    print(table)
    if args.table:
        args.table.write_text(table, encoding="utf-8")
    plot(out, args.plot, rc.design_name(d), rc.settings_name(settings))
    print(f"figure : {args.plot}")
    return 0


def _f(v, sign: bool = False):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    return (f"{v:+.3f}" if sign else f"{v:.3f}").replace(".", ",").replace("-", "−")


def render(rows, slopes, d, settings, info, seed, seconds) -> str:
    import robust_choice as rc

    out = ["# Courbe d'apprentissage du matériau de texte réel (`bench/robust_choice_curve.py`)", "",
           f"Conception : {rc.design_name(d)} ; décisions fixes : {rc.settings_name(settings)}. Matériau : "
           f"{info['texts']} textes de {info['towns']} villes (empreinte {info['hash']}), sous-ensembles emboîtés "
           f"par ville (graine {seed}). V = jeu de validation (74 textes) ; P = tous les textes du matériau, notés "
           f"par un modèle qui n'a pas vu leur ville (hors pli s'ils sont appris, directement sinon) ; V+P = un seul "
           f"compte. Durée : {seconds} s.", "",
           "| part des villes | textes appris | villes | V préc. / rappel / F1 | V fausses alertes | "
           "P préc. / rappel / F1 | P fausses alertes | V+P préc. / rappel / F1 | V+P justes / propositions |",
           "| --- |" + " --- |" * 8]
    for r in rows:
        out.append(f"| {r['fraction']:.0%} | {r['pool_texts']} | {r['pool_towns']} | "
                   f"{_f(r['v_dim_precision'])} / {_f(r['v_dim_recall'])} / {_f(r['v_dim_f1'])} | {_f(r['v_false_alarm'])} | "
                   f"{_f(r['p_dim_precision'])} / {_f(r['p_dim_recall'])} / {_f(r['p_dim_f1'])} | {_f(r['p_false_alarm'])} | "
                   f"{_f(r['pooled_dim_precision'])} / {_f(r['pooled_dim_recall'])} / {_f(r['pooled_dim_f1'])} | "
                   f"{r['pooled_hits']} / {r['pooled_proposals']} |".replace("%", " %"))
    out += ["", "Pente par 100 textes appris (moindres carrés, de 25 % à 100 %) : " + " ; ".join(
        f"{label} F1 {_f(slopes[f'{s}_dim_f1'], True)}, précision {_f(slopes[f'{s}_dim_precision'], True)}, "
        f"rappel {_f(slopes[f'{s}_dim_recall'], True)}" for s, label in (("v", "V"), ("p", "P"), ("pooled", "V+P"))) + ".", ""]
    return "\n".join(out)


def plot(rows, path: Path, design: str, settings: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["pool_texts"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True)
    for ax, (key, title) in zip(axes, (("dim_precision", "précision"), ("dim_recall", "rappel"),
                                       ("dim_f1", "F1 micro"))):
        for s, label, style in (("v", "V (validation)", "o-"), ("p", "P (hors pli)", "s-"),
                                ("pooled", "V+P", "^--")):
            ax.plot(n, [r[f"{s}_{key}"] for r in rows], style, label=label)
        ax.set_title(f"{title} par dimension")
        ax.set_xlabel("textes réels appris")
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0, 1)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Courbe d'apprentissage du texte réel — {design} ; {settings}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
