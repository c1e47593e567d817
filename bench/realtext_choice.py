"""Choose the learned coder's design with a real-text training pool: validation set V, pool, corpus.

Third protocol of issue 19 (decided by the lead, 1 December 2026). Roles of the real-text sets:

* ``tests/data/devset/`` (« V », 74 paragraphs of other towns): VALIDATION set. It chooses settings,
  never trains, and never chooses a threshold (its labels are read only to measure).
* ``training/*/`` (« P », the real-text training pool: ``training/autres-villes-1/`` is the former
  test set devset-2, retired on 2026-12-01; more folders may join): TRAINING material, read by
  :func:`analyse.coding.realtext.read_training_pool`, joined to the fit as rows of the internal
  cross-validation grouped by town, with a design weight.
* a fresh TEST set (devset-3): never seen here; the lead measures it once, after this choice is final.

This rule was written and committed before any candidate of this protocol was computed.

Candidates
----------
A *design* is fitted once per fold; its *decision settings* are applied to the stored scores
(``SegmentCoder.with_decisions``), never refitted. Designs (``DESIGN_GRID``, 12):

* weight of the real-text pool's rows ``w`` in {0, 1, 3} (0: the pool is not joined at all — the
  designs of main);
* metadata features (atelier, role, document kind) on / off;
* the référentiel as in the two existing designs: down-weighted extra documents (weight 0.5,
  « corpus ») or rows of the internal cross-validation grouped by blocks (weight 1, « texte-reel »).

Decision settings (``DECISION_GRID``): ``dimension_shift`` in DIMENSION_SHIFTS × ``code_shift`` in
CODE_SHIFTS × ``abstain_shift`` in ABSTAIN_SHIFTS; and ``realtext_precision`` in REALTEXT_TARGETS ×
``code_shift`` in REALTEXT_CODE_SHIFTS (dimension thresholds chosen on the out-of-fold scores of the
design's real-text rows — the pool and, in "cv" mode, the référentiel — never on V; only for designs
that have such rows). ``balise_level`` stays off (no level held 0.5 balise precision last time).

Measures of a candidate
-----------------------
* **V**: the model trained as shipped (whole corpus, codebook, référentiel, pool) scores V.
* **P, out of fold**: each pool text is scored by a model that did not see its town: the shipped
  model's internal cross-validation (grouped folds: corpus documents, référentiel blocks, pool towns)
  gives its out-of-fold score, and it is decided by thresholds chosen again WITHOUT the rows of its
  inner fold (``SegmentCoder.without_rows``: every threshold — codes, dimensions, « rien à coder »,
  real-text dimension thresholds — is cross-fitted). With w = 0 the shipped model never saw P and
  scores it directly.
* **LOTO**: the corpus, one territory left out (4 fits; the pool and the référentiel join every
  training side, never a test side); only corpus segments are tested.

Dimension figures count a dimension as suggested when one of its codes or its dimension head fires
(``union_dimensions``); false alarms are the share of the texts carrying no code on which a code or
a dimension head fires (``false_alarm_rate_with_dimensions``).

Selection rule
--------------
1. Eligible: dimension micro-precision >= 0.75 on V AND on P (out of fold); false-alarm rate <= 0.2
   on V's uncoded texts AND on P's uncoded texts; corpus leave-one-territory-out dimension
   micro-precision >= 0.7.
2. Chosen: the best dimension micro-F1 on V. Ties (equal V F1 rounded to 3 decimals) go to the best
   P dimension micro-F1 (rounded to 3 decimals), then the best LOTO dimension micro-F1, then the
   smallest total |shift| (closest to the thresholds chosen on the training data), then the name.
3. If no candidate is eligible: said so, and the current default (« corpus ») stays.
   No fallback floor.

Every candidate's row is printed and kept (``--json``); the table is ``bench/realtext_choice-table.md``.
"""

from __future__ import annotations

RULE = {"min_precision": 0.75, "max_false_alarm": 0.2, "min_loto_precision": 0.7, "decimals": 3}
WEIGHTS = (0.0, 1.0, 3.0)
REFERENTIEL_DESIGNS = {"extra": ("extra", 0.5), "cv": ("cv", 1.0)}
DIMENSION_SHIFTS = (-1.0, -0.5, -0.25, 0.0, 0.5, 1.0, 1.5, 2.0)
CODE_SHIFTS = (0.0, 1.0, 2.0)
ABSTAIN_SHIFTS = (0.0, 1.0, float("inf"))
REALTEXT_TARGETS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
REALTEXT_CODE_SHIFTS = (0.0, 1.0)


def eligible(r: dict) -> bool:
    """Step 1 of the rule (module docstring)."""
    fa = (r["v_false_alarm"], r["p_false_alarm"])
    return (r["v_dim_precision"] >= RULE["min_precision"] and r["p_dim_precision"] >= RULE["min_precision"]
            and all(v is not None and v <= RULE["max_false_alarm"] for v in fa)
            and r["loto_dim_precision"] >= RULE["min_loto_precision"])


def total_shift(r: dict) -> float:
    return sum(min(abs(v), 10.0) for k, v in r["settings"].items() if k.endswith("shift"))


def choose(rows: list[dict]) -> dict | None:
    """Steps 1 to 3 of the rule: the chosen row, or None (no candidate eligible: the default stays)."""
    ok = [r for r in rows if eligible(r)]
    if not ok:
        return None
    d = RULE["decimals"]
    return min(ok, key=lambda r: (-round(r["v_dim_f1"], d), -round(r["p_dim_f1"], d), -r["loto_dim_f1"],
                                  total_shift(r), r["candidate"]))


# --------------------------------------------------------------------------- the computation
# (written after the rule above was committed; it computes what the rule names)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _bench import coder_frame  # noqa: E402
import joblib  # noqa: E402
import numpy as np  # noqa: E402

from analyse.coding.autocode import (METADATA_COLUMNS, SegmentCoder, balise_codes, compose_training,  # noqa: E402
                                     dimension_map, knowledge_documents, pool_rows_of, realtext_pool,
                                     realtext_rows_of, referentiel_blocks)
from analyse.coding.evaluate import (_texts_frame, decide_scores, indicator,  # noqa: E402
                                     read_devset, territory_splits, transfer_metrics, union_dimensions)
from analyse.coding.knowledge import default_referentiel_path  # noqa: E402
from analyse.coding.realtext import training_folders  # noqa: E402

# neutral decisions at fit time: the candidates set them afterwards (with_decisions)
NEUTRAL = {"dimension_shift": 0.0, "code_shift": 0.0, "abstain_shift": 0.0, "balise_level": None,
           "realtext_precision": None}
DESIGN_GRID = [{"weight": w, "metadata": meta, "referentiel": ref}
               for ref in REFERENTIEL_DESIGNS for meta in (True, False) for w in WEIGHTS]


def design_name(d: dict) -> str:
    ref = ("référentiel en documents ajoutés (0,5)" if d["referentiel"] == "extra"
           else "référentiel en validation croisée (1)")
    return f"texte réel ×{d['weight']:g}, {'avec' if d['metadata'] else 'sans'} métadonnées, {ref}"


def composition_of(d: dict) -> dict:
    mode, weight = REFERENTIEL_DESIGNS[d["referentiel"]]
    # V never chooses a threshold under this protocol
    return {"referentiel_mode": mode, "referentiel_weight": weight, "realtext_weight": d["weight"],
            "realtext_validation": False}


def settings_name(settings: dict) -> str:
    def num(v):
        return "∞" if np.isinf(v) else f"{v:g}".replace(".", ",")
    if settings.get("realtext_precision") is not None:
        return (f"seuils de dimension sur texte réel à {num(settings['realtext_precision'])}, "
                f"codes −{num(settings['code_shift'])}")
    ds = settings["dimension_shift"]
    return ", ".join([f"dim +{num(-ds)}" if ds < 0 else f"dim −{num(ds)}", f"codes −{num(settings['code_shift'])}",
                      f"rien +{num(settings['abstain_shift'])}"])


def decision_grid(has_realtext_rows: bool) -> list[dict]:
    grid = [{**NEUTRAL, "dimension_shift": ds, "code_shift": cs, "abstain_shift": ab}
            for ds, cs, ab in itertools.product(DIMENSION_SHIFTS, CODE_SHIFTS, ABSTAIN_SHIFTS)]
    if has_realtext_rows:
        grid += [{**NEUTRAL, "code_shift": cs, "realtext_precision": t}
                 for t, cs in itertools.product(REALTEXT_TARGETS, REALTEXT_CODE_SHIFTS)]
    return grid


def fit(d: dict, codes, book, data):
    Xt, yt, groups, weights, extra = data
    params = {"labels": codes, "dimensions": dimension_map(book), "balises": balise_codes(book),
              "metadata": METADATA_COLUMNS if d["metadata"] else (), **NEUTRAL}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SegmentCoder(**params).fit(Xt, yt, groups=groups, extra=extra, sample_weight=weights,
                                           realtext_rows=realtext_rows_of(Xt))
    return model, pool_rows_of(Xt)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--designs", nargs="*", type=int, help="indices of DESIGN_GRID (default: all)")
    ap.add_argument("--training", nargs="*", type=Path, help="pool folders (default: every lot of training/)")
    ap.add_argument("--devset", type=Path, default=ROOT / "tests" / "data" / "devset", help="the validation set V")
    ap.add_argument("--cache", type=Path, help="NLP cache folder (default: the project's)")
    ap.add_argument("--store", type=Path, default=ROOT / "outputs" / "realtext_choice",
                    help="folder keeping each design's fitted fold models (re-used when there)")
    ap.add_argument("--json", type=Path, help="also write every candidate's row as JSON lines")
    ap.add_argument("--table", type=Path, help="write the Markdown table there")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    book, layer, X, y = coder_frame(args.cache)
    codes = list(book.codes)
    extra_docs = knowledge_documents(book, layer, None)[:3]
    ref = referentiel_blocks(book, layer, default_referentiel_path(ROOT))[:3]
    folders = args.training if args.training is not None else training_folders(ROOT)
    pool = realtext_pool(book, layer, folders)
    Xp, yp, pool_info = pool[0], pool[1], pool[3]
    Y, Yp_true = indicator(y, codes), indicator(yp, codes)
    uncoded = np.array([not s for s in y])
    texts, labels1, _ = read_devset(args.devset)
    texts = [t for t in texts if t["id"] in labels1]
    Xv = _texts_frame([t["text"] for t in texts], layer, "devset-eval")
    Yv = indicator([labels1[t["id"]] for t in texts], codes)
    v_towns = {str(t.get("town", "")).strip().lower() for t in texts}
    p_towns = {str(r).split(":", 1)[1] for r in pool[2]}
    print(f"# pool: {pool_info['texts']} textes, {pool_info['towns']} villes, "
          f"{len(pool_info['folders'])} dossiers ({', '.join(f['name'] for f in pool_info['folders'])}), "
          f"empreinte {pool_info['hash']} ; villes communes avec V : {sorted(v_towns & p_towns) or 'aucune'}",
          file=sys.stderr, flush=True)
    rows = []
    for index in (args.designs if args.designs is not None else range(len(DESIGN_GRID))):
        d = DESIGN_GRID[index]
        name = design_name(d)
        composition = composition_of(d)
        key = json.dumps({**d, "pool": pool_info["hash"] if d["weight"] else None}, sort_keys=True)
        stored = args.store / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.joblib"
        models = joblib.load(stored) if stored.is_file() else {}
        t0 = time.perf_counter()

        def fitted(k, data, models=models, stored=stored, d=d, name=name):
            if k not in models:
                t = time.perf_counter()
                models[k] = fit(d, codes, book, data())
                print(f"# {name} {k}: {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
                stored.parent.mkdir(parents=True, exist_ok=True)
                joblib.dump(models, stored)
            return models[k]

        loto = []
        for k, (train, test) in enumerate(territory_splits(X["territory"])):
            model, _ = fitted(("loto", k), lambda: compose_training(X.iloc[train], [y[i] for i in train],
                                                                    extra_docs, ref, pool, composition))
            loto.append((model, test, model._all_proba(X.iloc[test])))
        full, pool_mask = fitted(("full",), lambda: compose_training(X, y, extra_docs, ref, pool, composition))
        Sv = full._all_proba(Xv)
        joined = bool(pool_mask.any())
        Sp = full.oof_scores_[pool_mask] if joined else full._all_proba(Xp)
        p_folds = full.oof_fold_[pool_mask] if joined else None
        has_rows = bool(realtext_rows_of_model(full))
        seconds = round(time.perf_counter() - t0)
        for settings in decision_grid(has_rows):
            Yl = np.zeros((len(X), len(codes)), dtype=int)
            Dl = np.zeros((len(X), 6), dtype=int)
            for model, test, scores in loto:
                Yl[test], Dl[test] = decide_scores(model.with_decisions(**settings), scores, codes)
            m = full.with_decisions(**settings)
            Yw, Dw = decide_scores(m, Sv, codes)
            if joined:
                Ypp = np.zeros((len(Xp), len(codes)), dtype=int)
                Dpp = np.zeros((len(Xp), 6), dtype=int)
                for k in np.unique(p_folds):
                    at = np.flatnonzero(p_folds == k)
                    Ypp[at], Dpp[at] = decide_scores(m.without_rows(m.oof_fold_ == k), Sp[at], codes)
            else:
                Ypp, Dpp = decide_scores(m, Sp, codes)
            a = transfer_metrics(Y, Yl, codes, book, D_pred=union_dimensions(Yl, codes, book, Dl))
            v = transfer_metrics(Yv, Yw, codes, book, D_pred=union_dimensions(Yw, codes, book, Dw))
            p = transfer_metrics(Yp_true, Ypp, codes, book, D_pred=union_dimensions(Ypp, codes, book, Dpp))
            row = {"candidate": f"{name} : {settings_name(settings)}", "design": index, "design_name": name,
                   "settings": settings,
                   "v_dim_precision": v["dimension"]["micro_precision"], "v_dim_recall": v["dimension"]["micro_recall"],
                   "v_dim_f1": v["dimension"]["micro_f1"], "v_false_alarm": v["false_alarm_rate_with_dimensions"],
                   "v_balise_f1": v["balise"]["micro_f1"],
                   "p_dim_precision": p["dimension"]["micro_precision"], "p_dim_recall": p["dimension"]["micro_recall"],
                   "p_dim_f1": p["dimension"]["micro_f1"], "p_false_alarm": p["false_alarm_rate_with_dimensions"],
                   "p_balise_f1": p["balise"]["micro_f1"],
                   "loto_dim_precision": a["dimension"]["micro_precision"], "loto_dim_f1": a["dimension"]["micro_f1"],
                   "corpus_false_alarm": round(float((Yl.any(axis=1) | Dl.any(axis=1))[uncoded].mean()), 4),
                   "seconds_per_design": seconds}
            row["eligible"] = eligible(row)
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    best = choose(rows)
    if args.json:
        with args.json.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    table = render_table(rows, best, pool_info, v_towns & p_towns)
    if args.table:
        args.table.write_text(table, encoding="utf-8")
    print(table)
    return 0


def realtext_rows_of_model(model) -> int:
    """How many real-text training rows chose the model's real-text dimension thresholds."""
    source = getattr(model, "realtext_source_", None)
    return 0 if source is None else int(np.sum(np.asarray(source) == "rows"))


def render_table(rows: list[dict], best: dict | None, pool_info: dict, shared_towns) -> str:
    def f(v):
        return "—" if v is None else f"{v:.3f}".replace(".", ",")
    lots = ", ".join(f"`{x['name']}` ({x['texts']} textes, empreinte {x['hash']})" for x in pool_info["folders"])
    out = ["# Tous les candidats de `bench/realtext_choice.py` (apprentissage sur texte réel, issue 19)", "",
           f"Produit par `python bench/realtext_choice.py --table bench/realtext_choice-table.md` (règle : docstring "
           f"du banc, validée avant tout calcul). Matériau d'apprentissage de texte réel (« P ») : {lots} — "
           f"{pool_info['texts']} textes de {pool_info['towns']} villes (empreinte {pool_info['hash']}) ; villes "
           f"communes avec V : {', '.join(sorted(shared_towns)) or 'aucune'}. V = tests/data/devset (validation : "
           "ne choisit aucun seuil) ; P hors pli = chaque texte noté par la validation croisée interne du modèle "
           "livré (plis par ville) et décidé par des seuils choisis sans son pli (au poids 0, noté par le modèle "
           "livré, qui ne l'a pas vu) ; LOTO = corpus, un territoire de côté. « dim −x » abaisse les seuils des "
           "têtes de dimension de x en logit (« dim +x » : les relève) ; « codes −x » de même pour les codes ; "
           "« rien +x » relève « rien à coder » ; « seuils de dimension sur texte réel à p » : choisis sur les "
           "lignes de texte réel hors pli (P et, en validation croisée, le référentiel). Fausses alertes : part des "
           "textes sans code où un code ou une tête de dimension se déclenche.", "",
           "| candidat | éligible | V préc. dim. | V rappel dim. | V F1 dim. | V fausses alertes | P préc. dim. | "
           "P rappel dim. | P F1 dim. | P fausses alertes | LOTO préc. dim. | LOTO F1 dim. | corpus fausses alertes |",
           "| --- |" + " --- |" * 12]
    for r in rows:
        mark = "**" if r is best else ""
        out.append(f"| {mark}{r['candidate']}{mark} | {'oui' if r['eligible'] else 'non'} | {f(r['v_dim_precision'])} | "
                   f"{f(r['v_dim_recall'])} | {f(r['v_dim_f1'])} | {f(r['v_false_alarm'])} | "
                   f"{f(r['p_dim_precision'])} | {f(r['p_dim_recall'])} | {f(r['p_dim_f1'])} | "
                   f"{f(r['p_false_alarm'])} | {f(r['loto_dim_precision'])} | {f(r['loto_dim_f1'])} | "
                   f"{f(r['corpus_false_alarm'])} |")
    out += ["", f"{sum(r['eligible'] for r in rows)} candidats éligibles sur {len(rows)}.",
            "choisi : " + (best["candidate"] if best else
                           "aucun candidat éligible : la conception par défaut actuelle (« corpus ») reste"), ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
