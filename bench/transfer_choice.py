"""Choose the learned coder's transfer design on the corpus and the référentiel, never on the development set.

Each candidate design of :class:`SegmentCoder` (how the référentiel is used, features, precision
targets) is measured on two validation sets:

* **corpus, leave one territory out**: trained on three territories (with the codebook's texts and,
  when the design uses it, the référentiel), tested on the fourth; dimension precision and micro-F1,
  and the false-alarm rate on the held-out territories' uncoded segments (a code *or* a dimension
  head fires where coder A coded nothing);
* **the référentiel's paragraphs**, labelled by the section they stand in: evaluated whole by a model
  that never saw them, or, when the design trains on the référentiel, by 5-fold cross-validation
  grouped by blocks of ``BLOCK`` consecutive paragraphs (a held-out paragraph's neighbours are
  held out with it).

Selection rule, fixed before any run (issue 19): among the candidates whose dimension precision is
≥ 0.75 on BOTH validation sets and whose false-alarm rate on the corpus's uncoded segments is ≤ 0.2,
the one with the highest mean of the two dimension micro-F1; if none beats the default, the default
stays. Candidates differing only by precision targets share one fit per fold
(:meth:`SegmentCoder.with_targets`, the same model as a refit: tested).

The development set of other towns (tests/data/devset) is not read here: it is only reported, by
``analyse evaluate``, once per design.

Usage: ``python bench/transfer_choice.py [--groups NAME…] [--cache DIR] [--json OUT]``.
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

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.model_selection import GroupKFold  # noqa: E402

from analyse.coding.autocode import (SegmentCoder, dimension_map, knowledge_documents,  # noqa: E402
                                     referentiel_blocks)
from analyse.coding.evaluate import (DIMENSIONS, _predict, evaluation_data, indicator,  # noqa: E402
                                     territory_splits, transfer_metrics, union_dimensions)
from analyse.coding.knowledge import default_referentiel_path  # noqa: E402
from analyse.model.codebook import load_codebook  # noqa: E402
from analyse.model.codings import load_codings  # noqa: E402
from analyse.model.corpus import load_corpus  # noqa: E402
from analyse.nlp import NLPLayer, default_cache_dir  # noqa: E402

RULE = {"min_precision": 0.75, "max_false_alarm": 0.2}
REFERENTIEL_FOLDS = 5
# One fit per group and fold; the variants of a group only change the dimension heads' target.
# "referentiel": "extra" = down-weighted extra documents, never used to choose thresholds (main's design);
# "cv" = rows of the training data, grouped by blocks, whose out-of-fold scores take part in the thresholds.
GROUPS = {
    "défaut": {"referentiel": "extra", "weight": 0.5, "params": {}},
    "référentiel en validation croisée (poids 0,5)": {"referentiel": "cv", "weight": 0.5, "params": {}},
    "référentiel en validation croisée (poids 0,5), sans métadonnées": {
        "referentiel": "cv", "weight": 0.5, "params": {"metadata": ()}},
    "référentiel en validation croisée (poids 1), sans métadonnées": {
        "referentiel": "cv", "weight": 1.0, "params": {"metadata": ()}},
}
DIMENSION_TARGETS = (None, 0.7, 0.6)      # None: the codes' target (0.8)


def fold_data(X, y, train, ref, extra_docs, design):
    """Training rows, labels, groups, row weights and extra documents of one fit."""
    Xt, yt = X.iloc[train].reset_index(drop=True), [y[i] for i in train]
    groups, weights = list(Xt["doc"]), np.ones(len(Xt))
    Xe, ye, we = extra_docs
    Xr, yr, gr = ref
    if design["referentiel"] == "cv" and len(Xr):
        Xt = pd.concat([Xt, Xr], ignore_index=True)
        yt = yt + list(yr)
        groups += list(gr)
        weights = np.r_[weights, np.full(len(Xr), design["weight"])]
    elif design["referentiel"] == "extra" and len(Xr):
        Xe = pd.concat([Xe, Xr], ignore_index=True)
        ye = list(ye) + list(yr)
        we = np.r_[we, np.full(len(Xr), design["weight"])]
    return Xt, yt, groups, weights, (Xe, ye, we)


def fit(design, codes, book, data):
    Xt, yt, groups, weights, extra = data
    params = {"labels": codes, "dimensions": dimension_map(book), **design["params"],
              "dimension_precision": min(t for t in DIMENSION_TARGETS if t is not None)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SegmentCoder(**params).fit(Xt, yt, groups=groups, extra=extra,
                                          sample_weight=None if np.all(weights == 1) else weights)


def variants(model):
    return {t: model.with_targets(model.target_precision, model.abstain_precision, t) for t in DIMENSION_TARGETS}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groups", nargs="*", help="names of GROUPS (default: all)")
    ap.add_argument("--cache", type=Path, help="NLP cache folder (default: the project's)")
    ap.add_argument("--json", type=Path, help="also write the table as JSON lines")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    layer = NLPLayer(cache_dir=args.cache or default_cache_dir(corpus.root), progress=False)
    X, y, _ = evaluation_data(corpus, codings, "A", layer)
    codes = list(book.codes)
    extra_docs = knowledge_documents(book, layer, None)[:3]
    Xr, yr, gr, paras = referentiel_blocks(book, layer, default_referentiel_path(ROOT))
    Y = indicator(y, codes)
    uncoded = np.array([not s for s in y])
    Dr = np.array([[p["dimension"] == d for d in DIMENSIONS] for p in paras], dtype=int)
    Yr = indicator([{p["balise"]} if p["balise"] else set() for p in paras], codes)
    balise_rows = np.array([bool(p["balise"]) for p in paras])
    rows = []
    for name, design in GROUPS.items():
        if args.groups and name not in args.groups:
            continue
        t0 = time.perf_counter()
        # corpus, leave one territory out (the référentiel wholly in training when the design uses it)
        loto = {t: (np.zeros_like(Y), np.zeros((len(X), len(DIMENSIONS)), dtype=int)) for t in DIMENSION_TARGETS}
        for train, test in territory_splits(X["territory"]):
            model = fit(design, codes, book, fold_data(X, y, train, (Xr, yr, gr), extra_docs, design))
            for t, m in variants(model).items():
                Yp, Dp = _predict(m, X.iloc[test], codes)
                loto[t][0][test], loto[t][1][test] = Yp, Dp
        # the référentiel: whole, or by blocks when the design trains on it
        ref = {t: (np.zeros_like(Yr), np.zeros_like(Dr)) for t in DIMENSION_TARGETS}
        everything = np.arange(len(X))
        if design["referentiel"] == "none":
            splits = [(np.array([], int), np.arange(len(paras)))]
        else:
            splits = list(GroupKFold(REFERENTIEL_FOLDS).split(Xr, groups=gr))
        for rtrain, rtest in splits:
            held_in = (Xr.iloc[rtrain].reset_index(drop=True), [yr[i] for i in rtrain], [gr[i] for i in rtrain])
            model = fit(design, codes, book, fold_data(X, y, everything, held_in, extra_docs, design))
            for t, m in variants(model).items():
                Yp, Dp = _predict(m, Xr.iloc[rtest], codes)
                ref[t][0][rtest], ref[t][1][rtest] = Yp, Dp
        seconds = time.perf_counter() - t0
        for t in DIMENSION_TARGETS:
            Yl, Dl = loto[t]
            a = transfer_metrics(Y, Yl, codes, book, D_pred=union_dimensions(Yl, codes, book, Dl))
            fires = Yl.any(axis=1) | Dl.any(axis=1)
            b = transfer_metrics(Yr, ref[t][0], codes, book, Dr, union_dimensions(ref[t][0], codes, book, ref[t][1]),
                                 balise_rows=balise_rows)
            row = {"candidate": name + ("" if t is None else f", dimensions {t}".replace(".", ",")),
                   "design": {**design, "dimension_precision": t},
                   "loto_dim_precision": a["dimension"]["micro_precision"], "loto_dim_f1": a["dimension"]["micro_f1"],
                   "ref_dim_precision": b["dimension"]["micro_precision"], "ref_dim_f1": b["dimension"]["micro_f1"],
                   "corpus_false_alarm": round(float(fires[uncoded].mean()), 4),
                   "loto_balise_f1": a["balise"]["micro_f1"], "ref_balise_f1": (b["balise"] or {}).get("micro_f1"),
                   "seconds_per_group": round(seconds)}
            row["eligible"] = bool(row["loto_dim_precision"] >= RULE["min_precision"]
                                   and row["ref_dim_precision"] >= RULE["min_precision"]
                                   and row["corpus_false_alarm"] <= RULE["max_false_alarm"])
            row["mean_dim_f1"] = round((row["loto_dim_f1"] + row["ref_dim_f1"]) / 2, 4)
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            if args.json:
                with args.json.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    eligible = [r for r in rows if r["eligible"]]
    best = max(eligible, key=lambda r: r["mean_dim_f1"]) if eligible else None
    print("| candidat | préc. dim. LOTO | F1 dim. LOTO | préc. dim. réf. | F1 dim. réf. | fausses alertes | "
          "moyenne F1 | éligible |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['candidate']} | {r['loto_dim_precision']:.3f} | {r['loto_dim_f1']:.3f} | "
              f"{r['ref_dim_precision']:.3f} | {r['ref_dim_f1']:.3f} | {r['corpus_false_alarm']:.3f} | "
              f"{r['mean_dim_f1']:.3f} | {'oui' if r['eligible'] else 'non'} |")
    print("choisi :", best["candidate"] if best else "aucun candidat éligible : le défaut reste")
    return 0


if __name__ == "__main__":
    sys.exit(main())
