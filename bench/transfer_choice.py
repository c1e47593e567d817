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
import itertools
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _bench import coder_frame  # noqa: E402
import joblib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.model_selection import GroupKFold  # noqa: E402

from analyse.coding.autocode import (METADATA_COLUMNS, SegmentCoder, add_referentiel, balise_codes,  # noqa: E402
                                     dimension_map, knowledge_documents, referentiel_blocks)
from analyse.coding.evaluate import (DIMENSIONS, _texts_frame, decide_scores,  # noqa: E402
                                     indicator, read_devset, territory_splits, transfer_metrics, union_dimensions)
from analyse.coding.knowledge import default_referentiel_path  # noqa: E402

RULE = {"min_precision": 0.75, "fallback_precision": 0.7, "max_false_alarm": 0.2, "tie": 0.01,
        "min_balise_precision": 0.5}
REFERENTIEL_FOLDS = 5
# One fit per design and fold; the candidates of a design only change its decisions (no refit).
# "referentiel": "extra" = down-weighted extra documents, never used to choose thresholds (main's design);
# "cv" = rows of the training data, grouped by blocks, whose out-of-fold scores take part in the thresholds.
GROUPS = {
    "défaut": {"referentiel": "extra", "weight": 0.5, "params": {}},
    "référentiel en validation croisée (poids 0,5)": {"referentiel": "cv", "weight": 0.5, "params": {}},
    "référentiel en validation croisée (poids 1), sans métadonnées": {
        "referentiel": "cv", "weight": 1.0, "params": {"metadata": ()}},
    "référentiel en validation croisée (poids 0,5), sans n-grammes de caractères": {
        "referentiel": "cv", "weight": 0.5, "params": {"char_ngrams": None}},
    "référentiel en validation croisée (poids 2), sans métadonnées": {
        "referentiel": "cv", "weight": 2.0, "params": {"metadata": ()}},
    "référentiel en validation croisée (poids 1), sans métadonnées ni n-grammes de caractères": {
        "referentiel": "cv", "weight": 1.0, "params": {"metadata": (), "char_ngrams": None}},
}
# The decision settings: one global parameter per level (SegmentCoder.with_decisions).
# negative: thresholds raised (added after the first table showed V's precision under 0.75 at 0)
DIMENSION_SHIFTS = (-1.0, -0.5, -0.25, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
CODE_SHIFTS = (0.0, 1.0, 2.0, 3.0)
ABSTAIN_SHIFTS = (0.0, 1.0, float("inf"))
# Real-text dimension thresholds (SegmentCoder.realtext_precision): chosen on the référentiel's out-of-fold
# scores (when the design cross-validates it) and on V, V itself scored in folds grouped by town.
REALTEXT_TARGETS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
REALTEXT_CODE_SHIFTS = (0.0, 1.0)
V_FOLDS = 5
BALISE_LEVELS = (None, 0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
# main's decisions, whatever the defaults of SegmentCoder are now
MAIN_DECISIONS = {"dimension_shift": 0.0, "code_shift": 0.0, "abstain_shift": 0.0, "balise_level": None,
                  "realtext_precision": None}


def fold_data(X, y, train, ref, extra_docs, design):
    """Training rows, labels, groups, row weights and extra documents of one fit (as ``train_model`` composes them)."""
    Xt = X.iloc[train].reset_index(drop=True)
    return add_referentiel(Xt, [y[i] for i in train], list(Xt["doc"]), extra_docs, ref, design["referentiel"],
                           design["weight"])


def fit(design, codes, book, data):
    Xt, yt, groups, weights, extra = data
    # a group's params are changes from main's design (metadata features on), whatever the defaults are now
    params = {"labels": codes, "dimensions": dimension_map(book), "balises": balise_codes(book),
              "metadata": METADATA_COLUMNS, **design["params"], **MAIN_DECISIONS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SegmentCoder(**params).fit(Xt, yt, groups=groups, extra=extra, sample_weight=weights)


def decisions(parts, codes, n, settings):
    """Code and dimension predictions (codebook order) of fold models with these decision settings.

    ``parts``: ``(model, rows, scores, realtext)``; ``realtext`` = ``(scores, dimension labels)`` of
    the real texts that choose that model's dimension thresholds when ``realtext_precision`` is set.
    """
    Y = np.zeros((n, len(codes)), dtype=int)
    D = np.zeros((n, len(DIMENSIONS)), dtype=int)
    for model, rows, scores, realtext in parts:
        m = model.with_decisions(**{**settings, "realtext_precision": None})
        if settings.get("realtext_precision") is not None:
            m = m.with_decisions(realtext_precision=settings["realtext_precision"]).with_realtext(*realtext)
        Y[rows], D[rows] = decide_scores(m, scores, codes)
    return Y, D


def realtext_of(model, n_corpus, extra_scores=None, extra_labels=None):
    """Real-text scores and dimension labels for one fold model: its out-of-fold référentiel rows (the rows
    after the ``n_corpus`` corpus rows, present when the design cross-validates the référentiel) and V."""
    n, d = len(model.classes_), len(model.dimension_classes_)
    S, D = [model.oof_scores_[n_corpus:]], [model.oof_labels_[n_corpus:, n:n + d]]
    if extra_scores is not None:
        S.append(extra_scores)
        D.append(extra_labels)
    return np.vstack(S), np.vstack(D)


def name_of(settings) -> str:
    def num(v):
        return "∞" if np.isinf(v) else f"{v:g}".replace(".", ",")
    if settings.get("realtext_precision") is not None:
        parts = [f"seuils de dimension sur texte réel à {num(settings['realtext_precision'])}",
                 f"codes −{num(settings['code_shift'])}"]
    else:
        ds = settings["dimension_shift"]
        parts = [f"dim +{num(-ds)}" if ds < 0 else f"dim −{num(ds)}", f"codes −{num(settings['code_shift'])}",
                 f"rien +{num(settings['abstain_shift'])}"]
    if settings.get("balise_level") is not None:
        parts.append(f"balise ≥ {num(settings['balise_level'])}")
    return ", ".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groups", nargs="*", help="names of GROUPS (default: all)")
    ap.add_argument("--cache", type=Path, help="NLP cache folder (default: the project's)")
    ap.add_argument("--json", type=Path, help="also write the table as JSON lines")
    ap.add_argument("--store", type=Path, help="folder keeping each group's fitted fold models (re-used if there)")
    ap.add_argument("--devset", type=Path, default=ROOT / "tests" / "data" / "devset",
                    help="the validation set V (default: tests/data/devset)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    book, layer, X, y = coder_frame(args.cache)
    codes = list(book.codes)
    extra_docs = knowledge_documents(book, layer, None)[:3]
    Xr, yr, gr, paras = referentiel_blocks(book, layer, default_referentiel_path(ROOT))
    Y = indicator(y, codes)
    uncoded = np.array([not s for s in y])
    Dr = np.array([[p["dimension"] == d for d in DIMENSIONS] for p in paras], dtype=int)
    Yr = indicator([{p["balise"]} if p["balise"] else set() for p in paras], codes)
    balise_rows = np.array([bool(p["balise"]) for p in paras])
    texts, labels1, _ = read_devset(args.devset)
    texts = [t for t in texts if t["id"] in labels1]
    Xv = _texts_frame([t["text"] for t in texts], layer, "devset-eval")
    Yv = indicator([labels1[t["id"]] for t in texts], codes)
    yv = [labels1[t["id"]] for t in texts]
    v_folds = [test for _, test in GroupKFold(V_FOLDS).split(Xv, groups=[t.get("town", t["id"]) for t in texts])]
    v_uncoded = Yv.sum(axis=1) == 0
    rows = []
    for name in args.groups or GROUPS:          # in the order asked
        design = GROUPS[name]
        t0 = time.perf_counter()
        digest = hashlib.sha1(json.dumps(design, sort_keys=True).encode()).hexdigest()[:16]
        stored = args.store / f"{digest}.joblib" if args.store else None
        models = joblib.load(stored) if stored is not None and stored.is_file() else {}

        def fitted(key, data):
            if key not in models:
                t = time.perf_counter()
                models[key] = fit(design, codes, book, data())
                print(f"# {name} {key}: {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
                if stored is not None:
                    stored.parent.mkdir(parents=True, exist_ok=True)
                    joblib.dump(models, stored)
            return models[key]

        # scores once per fold model; every candidate decides from them
        loto, ref = [], []
        for k, (train, test) in enumerate(territory_splits(X["territory"])):
            model = fitted(("loto", k), lambda: fold_data(X, y, train, (Xr, yr, gr), extra_docs, design))
            Sv = model._all_proba(Xv)
            loto.append((model, test, model._all_proba(X.iloc[test]),
                         realtext_of(model, len(train), Sv, model.dimension_labels(yv))))
        everything = np.arange(len(X))
        for k, (rtrain, rtest) in enumerate(GroupKFold(REFERENTIEL_FOLDS).split(Xr, groups=gr)):
            held_in = (Xr.iloc[rtrain].reset_index(drop=True), [yr[i] for i in rtrain], [gr[i] for i in rtrain])
            model = fitted(("referentiel", k), lambda: fold_data(X, y, everything, held_in, extra_docs, design))
            Sv = model._all_proba(Xv)
            ref.append((model, rtest, model._all_proba(Xr.iloc[rtest]),
                        realtext_of(model, len(X), Sv, model.dimension_labels(yv))))
        model = fitted(("full",), lambda: fold_data(X, y, everything, (Xr, yr, gr), extra_docs, design))
        Sv, Dv_model = model._all_proba(Xv), model.dimension_labels(yv)
        val = []
        for test in v_folds:          # V's own thresholds never see the fold they decide
            rest = np.setdiff1d(np.arange(len(Xv)), test)
            val.append((model, test, Sv[test], realtext_of(model, len(X), Sv[rest], Dv_model[rest])))
        seconds = round(time.perf_counter() - t0)

        def measure(settings, name=name, loto=loto, ref=ref, val=val, seconds=seconds):   # bound now, not late
            Yl, Dl = decisions(loto, codes, len(X), settings)
            a = transfer_metrics(Y, Yl, codes, book, D_pred=union_dimensions(Yl, codes, book, Dl))
            Yp, Dp = decisions(ref, codes, len(Xr), settings)
            b = transfer_metrics(Yr, Yp, codes, book, Dr, union_dimensions(Yp, codes, book, Dp),
                                 balise_rows=balise_rows)
            Yw, Dw = decisions(val, codes, len(Xv), settings)
            v = transfer_metrics(Yv, Yw, codes, book, D_pred=union_dimensions(Yw, codes, book, Dw))
            return {
                "candidate": f"{name} : {name_of(settings)}", "group": name, "settings": settings,
                "v_dim_precision": v["dimension"]["micro_precision"], "v_dim_recall": v["dimension"]["micro_recall"],
                "v_dim_f1": v["dimension"]["micro_f1"], "v_false_alarm": v["false_alarm_rate_with_dimensions"],
                "v_balise_precision": v["balise"]["micro_precision"], "v_balise_f1": v["balise"]["micro_f1"],
                "ref_dim_precision": b["dimension"]["micro_precision"], "ref_dim_f1": b["dimension"]["micro_f1"],
                "ref_balise_precision": (b["balise"] or {}).get("micro_precision"),
                "ref_balise_f1": (b["balise"] or {}).get("micro_f1"),
                "loto_dim_precision": a["dimension"]["micro_precision"], "loto_dim_f1": a["dimension"]["micro_f1"],
                "loto_balise_f1": a["balise"]["micro_f1"],
                "corpus_false_alarm": round(float((Yl.any(axis=1) | Dl.any(axis=1))[uncoded].mean()), 4),
                "seconds_per_group": seconds,
            }

        grid = [{"dimension_shift": ds, "code_shift": cs, "abstain_shift": ab, "balise_level": None,
                 "realtext_precision": None}
                for ds, cs, ab in itertools.product(DIMENSION_SHIFTS, CODE_SHIFTS, ABSTAIN_SHIFTS)]
        grid += [{"dimension_shift": 0.0, "code_shift": cs, "abstain_shift": 0.0, "balise_level": None,
                  "realtext_precision": t} for t, cs in itertools.product(REALTEXT_TARGETS, REALTEXT_CODE_SHIFTS)]
        for settings in grid:
            row = measure(settings)
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        GROUP_MEASURE[name] = measure
    best = choose(rows)
    balise_rows_out = []
    if best is not None:
        for level in BALISE_LEVELS[1:]:
            r = GROUP_MEASURE[best["group"]]({**best["settings"], "balise_level": level})
            balise_rows_out.append(r)
            print(json.dumps(r, ensure_ascii=False), flush=True)
    level = choose_balise_level(balise_rows_out)
    table = rows + balise_rows_out
    if args.json:
        with args.json.open("w", encoding="utf-8") as fh:
            for r in table:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print_table(table, best, level)
    return 0


GROUP_MEASURE: dict = {}


def eligible(r, floor):
    return (r["v_dim_precision"] >= floor and r["ref_dim_precision"] >= floor
            and (r["v_false_alarm"] or 0.0) <= RULE["max_false_alarm"]
            and r["corpus_false_alarm"] <= RULE["max_false_alarm"])


def choose(rows):
    """Steps 1, 2 and 4 of the rule (module docstring)."""
    for floor in (RULE["min_precision"], RULE["fallback_precision"]):
        ok = [r for r in rows if eligible(r, floor)]
        if ok:
            top = max(r["v_dim_f1"] for r in ok)
            tied = [r for r in ok if r["v_dim_f1"] >= top - RULE["tie"]]
            shift = lambda r: sum(min(abs(v), 10.0) for k, v in r["settings"].items()  # noqa: E731
                                  if k.endswith("shift"))
            return max(tied, key=lambda r: (r["ref_dim_f1"], -shift(r)))
    return None


def choose_balise_level(rows):
    """Step 3 of the rule."""
    ok = [r for r in rows if (r["v_balise_precision"] or 0) >= RULE["min_balise_precision"]
          and (r["ref_balise_precision"] or 0) >= RULE["min_balise_precision"]]
    if not ok:
        return None
    return max(ok, key=lambda r: (r["v_balise_f1"], r["ref_balise_f1"] or 0, r["settings"]["balise_level"]))


def print_table(rows, best, level):
    def f(v):
        return "—" if v is None else f"{v:.3f}".replace(".", ",")
    print("| candidat | V préc. dim. | V F1 dim. | V fausses alertes | V F1 balises | réf. préc. dim. | réf. F1 dim. | "
          "réf. F1 balises | LOTO préc. dim. | LOTO F1 dim. | corpus fausses alertes | LOTO F1 balises |")
    print("| --- |" + " --- |" * 11)
    for r in rows:
        print(f"| {r['candidate']} | {f(r['v_dim_precision'])} | {f(r['v_dim_f1'])} | {f(r['v_false_alarm'])} | "
              f"{f(r['v_balise_f1'])} | {f(r['ref_dim_precision'])} | {f(r['ref_dim_f1'])} | {f(r['ref_balise_f1'])} | "
              f"{f(r['loto_dim_precision'])} | {f(r['loto_dim_f1'])} | {f(r['corpus_false_alarm'])} | "
              f"{f(r['loto_balise_f1'])} |")
    print("choisi :", best["candidate"] if best else "aucun candidat éligible : les décisions de main restent")
    print("niveau des balises :", level["candidate"] if level else "aucun niveau ne tient la précision 0,5")


if __name__ == "__main__":
    sys.exit(main())
