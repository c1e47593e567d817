"""Choose the learned coder's decisions for real text: validation set V, référentiel blocks, corpus.

Second protocol of issue 19 (decided by the lead, 30 November 2026). tests/data/devset/ (« V »,
74 real paragraphs about other towns, 16 without transition content) has been measured three times
and is now, openly, a VALIDATION set: its figures choose settings and thresholds. Its labels are
never training data. A new test set of other towns, unseen here, is measured by the lead once
before and once after.

Each fitted design of :class:`SegmentCoder` is fitted once per fold and its raw head scores kept:

* **V**: scored by the model trained as shipped (whole corpus, codebook, référentiel);
* **the référentiel's paragraphs**, labelled by the section they stand in: 5-fold cross-validation
  grouped by blocks of ``BLOCK`` consecutive paragraphs (each model: whole corpus, codebook and
  the other blocks);
* **corpus, leave one territory out**: for the false alarms on uncoded segments and for reference.

Candidates are decision settings applied to those stored scores, never refits: a few GLOBAL
parameters, one per level, so that 74 paragraphs do not choose 68 thresholds —
``dimension_shift`` and ``code_shift`` (every dimension head's, every code's threshold lowered by
that much on the logit scale), ``abstain_shift`` (the « rien à coder » threshold raised by that
much), and ``balise_level`` (inside a suggested dimension with no code of its own, its best
balise is suggested when its calibrated score reaches that level).

Selection rule, written and committed before any candidate of this protocol was computed:

1. Eligible: dimension micro-precision >= 0.75 on V AND on the référentiel blocks, and
   false-alarm rate (a code or a dimension head fires) <= 0.2 on V's uncoded paragraphs AND on
   the corpus's uncoded segments (territory left out).
2. Chosen: the best dimension micro-F1 on V; candidates within 0.01 of it are tied, and the tie
   goes to the best référentiel dimension micro-F1, then to the smallest total shift (closest
   to the corpus-chosen thresholds).
3. Then ``balise_level`` (it never changes the dimension figures: a balise is only added inside a
   dimension already suggested): among the levels whose balise micro-precision is >= 0.5 on V and
   on the référentiel, the best balise micro-F1 on V (ties: référentiel, then the higher level);
   none qualifies: no balise is added.
4. If no candidate is eligible, the precision floor of step 1 becomes 0.7 (the issue's target);
   if still none, main's decisions stay.

Every candidate's row is printed and kept (``--json``).

Usage: ``python bench/transfer_choice.py [--groups NAME…] [--cache DIR] [--json OUT] [--store DIR]`` (``--store``:
the fitted fold models are kept there, and a second run prints the table without refitting).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.model_selection import GroupKFold  # noqa: E402

from analyse.coding.autocode import (SegmentCoder, add_referentiel, dimension_map,  # noqa: E402
                                     knowledge_documents, referentiel_blocks)
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
    "référentiel en validation croisée (poids 0,5), sans n-grammes de caractères": {
        "referentiel": "cv", "weight": 0.5, "params": {"char_ngrams": None}},
    "référentiel en validation croisée (poids 0,5), sans métadonnées": {
        "referentiel": "cv", "weight": 0.5, "params": {"metadata": ()}},
    "référentiel en validation croisée (poids 1), sans métadonnées": {
        "referentiel": "cv", "weight": 1.0, "params": {"metadata": ()}},
    "défaut + prototypes (grille et référentiel)": {"referentiel": "extra", "weight": 0.5,
                                                    "params": {"prototypes": True}},
    "référentiel en validation croisée (poids 0,5), prototypes (grille)": {
        "referentiel": "cv", "weight": 0.5, "params": {"prototypes": True}},
    "référentiel en validation croisée (poids 0,5), C=1": {"referentiel": "cv", "weight": 0.5, "params": {"C": 1.0}},
    "défaut + prototypes ×10": {"referentiel": "extra", "weight": 0.5,
                                "params": {"prototypes": True, "prototype_scale": 10.0}},
    "défaut + prototypes, sans métadonnées": {"referentiel": "extra", "weight": 0.5,
                                              "params": {"prototypes": True, "metadata": ()}},
}
DIMENSION_TARGETS = (None, 0.75, 0.7, 0.6)      # None: the codes' target (0.8)


def fold_data(X, y, train, ref, extra_docs, design):
    """Training rows, labels, groups, row weights and extra documents of one fit (as ``train_model`` composes them)."""
    Xt = X.iloc[train].reset_index(drop=True)
    return add_referentiel(Xt, [y[i] for i in train], list(Xt["doc"]), extra_docs, ref, design["referentiel"],
                           design["weight"])


def fit(design, codes, book, data):
    Xt, yt, groups, weights, extra = data
    # a group's params are changes from main's design (no prototypes), whatever SegmentCoder's defaults are now
    params = {"labels": codes, "dimensions": dimension_map(book), "prototypes": False, **design["params"],
              "dimension_precision": min(t for t in DIMENSION_TARGETS if t is not None)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SegmentCoder(**params).fit(Xt, yt, groups=groups, extra=extra, sample_weight=weights)


def variants(model):
    return {t: model.with_targets(model.target_precision, model.abstain_precision, t) for t in DIMENSION_TARGETS}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groups", nargs="*", help="names of GROUPS (default: all)")
    ap.add_argument("--cache", type=Path, help="NLP cache folder (default: the project's)")
    ap.add_argument("--json", type=Path, help="also write the table as JSON lines")
    ap.add_argument("--store", type=Path, help="folder keeping each group's fitted fold models (re-used if there)")
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
    for name in args.groups or GROUPS:          # in the order asked
        design = GROUPS[name]
        t0 = time.perf_counter()
        digest = hashlib.sha1(json.dumps(design, sort_keys=True).encode()).hexdigest()[:16]
        stored = args.store / f"{digest}.joblib" if args.store else None
        models = joblib.load(stored) if stored is not None and stored.is_file() else {}

        def fitted(key, data):
            if key not in models:
                models[key] = fit(design, codes, book, data())
            return models[key]

        # corpus, leave one territory out (the référentiel wholly in training when the design uses it)
        loto = {t: (np.zeros_like(Y), np.zeros((len(X), len(DIMENSIONS)), dtype=int)) for t in DIMENSION_TARGETS}
        for k, (train, test) in enumerate(territory_splits(X["territory"])):
            model = fitted(("loto", k), lambda: fold_data(X, y, train, (Xr, yr, gr), extra_docs, design))
            for t, m in variants(model).items():
                Yp, Dp = _predict(m, X.iloc[test], codes)
                loto[t][0][test], loto[t][1][test] = Yp, Dp
        # the référentiel by blocks (every design here trains on it)
        ref = {t: (np.zeros_like(Yr), np.zeros_like(Dr)) for t in DIMENSION_TARGETS}
        everything = np.arange(len(X))
        splits = list(GroupKFold(REFERENTIEL_FOLDS).split(Xr, groups=gr))
        for k, (rtrain, rtest) in enumerate(splits):
            held_in = (Xr.iloc[rtrain].reset_index(drop=True), [yr[i] for i in rtrain], [gr[i] for i in rtrain])
            model = fitted(("referentiel", k), lambda: fold_data(X, y, everything, held_in, extra_docs, design))
            for t, m in variants(model).items():
                Yp, Dp = _predict(m, Xr.iloc[rtest], codes)
                ref[t][0][rtest], ref[t][1][rtest] = Yp, Dp
        seconds = time.perf_counter() - t0
        if stored is not None:
            stored.parent.mkdir(parents=True, exist_ok=True)
            joblib.dump(models, stored)
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
