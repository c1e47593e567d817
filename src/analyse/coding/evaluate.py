"""Honest evaluation of the machine coders against a human coder.

Why this module is long: the cross-validation schemes and the three transfer evaluations of
issue 19 (leave-one-territory-out, référentiel, development set) share the same metrics, splits
and report; splitting them would scatter one evaluation over several files.

Two cross-validation schemes, both grouped so that no test segment has a
sibling from the same document in training (segments of one document share
speakers, topic and vocabulary: mixing them would flatter the model):

* ``group_kfold``: :class:`~sklearn.model_selection.GroupKFold` on documents;
* ``leave_one_territory_out``: train on all territories but one, test on it
  (the question a researcher meeting a *new* territory asks).

The learned coder (:class:`~analyse.coding.autocode.SegmentCoder`) is re-fitted in
every training fold, including its per-code thresholds (chosen by an inner
grouped CV on that fold's training data only): the test folds are never used
to tune anything. The rule-based suggester is scored the same way as a
baseline; it learns nothing, so its figures are the same in both schemes.

Metrics, per code: precision, recall, F1, support and Cohen's kappa between
the machine and the human coder. Summaries: micro and macro F1 at *balise*
level (codes of kind balise) and at *dimension* level (a segment is positive
for ENG/SYS/COOP/VAL/MGT/ECH if any of its codes belongs to it). Macro F1
averages the codes (or dimensions) that occur in the human coding.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from analyse.coding.autocode import (BALISE_DIMENSIONS, DEFAULT_DESIGN, RuleSuggester, SegmentCoder, balise_codes,
                                     dimension_map, pool_rows_of, training_data)
from analyse.model.codebook import Codebook
from analyse.model.codings import Codings
from analyse.model.corpus import Corpus
from analyse.errors import UsageError
from analyse.messages import msg
from analyse.textutil import fr_number

DIMENSIONS = BALISE_DIMENSIONS
SCHEMES = {key: msg(f"ev.scheme.{key}") for key in ("group_kfold", "leave_one_territory_out")}
METHODS = {key: msg(f"ev.method.{key}") for key in ("model", "rules")}
LEVELS = ("balise", "dimension")
REFERENTIEL_FOLDS = 5
TARGETS = {("leave_one_territory_out", "dimension"): 0.75, ("leave_one_territory_out", "balise"): 0.5}
# Candidates compared by grouped CV to choose SegmentCoder's defaults (see `analyse evaluate --compare`).
CANDIDATES = {
    "logreg C=10, lemmes 1-2 + caractères 3-5, têtes de dimension, F1 interne ≥ 0,2 (défaut)": {},
    "sans seuil de fiabilité (F1 interne ≥ 0)": {"min_cv_f1": 0.0},
    "F1 interne ≥ 0,3": {"min_cv_f1": 0.3},
    "sans têtes de dimension (dimensions déduites des codes)": {"dimensions": None},
    "avec métadonnées (atelier, rôle, type)": {"metadata": ("atelier", "role", "kind")},
    "sans n-grammes de caractères": {"char_ngrams": None},
    "lemmes en unigrammes seulement": {"word_ngrams": (1, 1)},
    "logreg C=1": {"C": 1.0},
    "svm linéaire calibré C=1": {"classifier": "svm", "C": 1.0},
}
PER_CODE_COLUMNS = ["scheme", "method", "code", "label", "kind", "dimension", "support", "predicted",
                    "precision", "recall", "f1", "kappa"]
SUMMARY_COLUMNS = ["scheme", "method", "level", "micro_precision", "micro_recall", "micro_f1", "macro_f1",
                   "mean_kappa", "segments"]


# --------------------------------------------------------------------------- splits

def document_splits(docs: Sequence[str], n_splits: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """GroupKFold on documents: ``[(train indices, test indices), …]``; a document is never on both sides.

    Examples
    --------
    >>> docs = ["a", "a", "b", "c"]
    >>> [sorted({docs[i] for i in test}) for train, test in document_splits(docs, n_splits=2)]
    [['a'], ['b', 'c']]
    """
    docs = np.asarray(list(docs))
    n = min(n_splits, len(set(docs)))
    if n < 2:
        raise UsageError(msg("ev.two_documents"))
    return list(GroupKFold(n_splits=n).split(np.zeros(len(docs)), groups=docs))


def territory_splits(territories: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave one territory out: one split per territory, tested on that territory alone."""
    territories = np.asarray(list(territories))
    if len(set(territories)) < 2:
        raise UsageError(msg("ev.two_territories"))
    return list(LeaveOneGroupOut().split(np.zeros(len(territories)), groups=territories))


# --------------------------------------------------------------------------- predictions

def indicator(label_sets: Sequence[set[str]], codes: Sequence[str]) -> np.ndarray:
    """0/1 matrix (segments × codes) from sets of codes."""
    index = {c: j for j, c in enumerate(codes)}
    Y = np.zeros((len(label_sets), len(codes)), dtype=int)
    for i, labels in enumerate(label_sets):
        for c in labels:
            if c in index:
                Y[i, index[c]] = 1
    return Y


def dimension_indicator(Y: np.ndarray, codes: Sequence[str], codebook: Codebook) -> np.ndarray:
    """Segments × DIMENSIONS: positive if any code of the segment belongs to the dimension."""
    out = np.zeros((Y.shape[0], len(DIMENSIONS)), dtype=int)
    for k, dim in enumerate(DIMENSIONS):
        cols = [j for j, c in enumerate(codes) if codebook.dimension_of(c) == dim]
        if cols:
            out[:, k] = Y[:, cols].max(axis=1)
    return out


def _fit_fold(params: dict, X: pd.DataFrame, y: list, train, test, extra=None, referentiel=None, validation=None,
              pool=None, composition: dict | None = None):
    from analyse.coding.autocode import compose_training, design_settings, realtext_rows_of

    composition = composition or design_settings(DEFAULT_DESIGN)[0]
    # the référentiel and the real-text pool join the training side only: the test side is corpus rows
    Xt, yt, groups, weights, extra = compose_training(X.iloc[train], [y[i] for i in train], extra, referentiel,
                                                      pool, composition)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SegmentCoder(**params)
        model.fit(Xt, yt, groups=groups, extra=extra, sample_weight=weights, realtext_rows=realtext_rows_of(Xt),
                  validation=validation)
        pred = model.predict(X.iloc[test])
        dims = model.predict_dimensions(X.iloc[test]) if len(model.dimension_classes_) else None
    return (test, [str(c) for c in model.classes_], pred, [str(d) for d in model.dimension_classes_], dims,
            dict(model.skipped_), {k: round(float(v), 4) for k, v in model.unreliable_.items()})


def out_of_fold(X: pd.DataFrame, y: list[set[str]], splits, codebook: Codebook, params: dict | None = None,
                n_jobs: int = 1, extra=None, referentiel=None, validation=None, pool=None,
                composition: dict | None = None) -> tuple[np.ndarray, np.ndarray | None, list[dict]]:
    """Predictions of a freshly fitted :class:`SegmentCoder` for each test fold.

    The model gets every codebook code as ``labels`` and, unless ``params``
    says ``dimensions=None``, dimension heads. ``extra`` (codebook documents) and ``referentiel``
    (``(X, y, groups)`` of :func:`~analyse.coding.autocode.referentiel_blocks`) join every training
    fold as the shipped model uses them (:func:`~analyse.coding.autocode.add_referentiel`), and
    ``validation`` (real texts and labels) chooses the real-text dimension thresholds as it does there.
    ``pool`` (the real-text training pool, :func:`~analyse.coding.autocode.realtext_pool`) joins every
    training side at the weight of ``composition`` (:func:`~analyse.coding.autocode.design_settings`),
    never a test side: only the rows of ``X`` (the corpus) are tested.

    Returns
    -------
    Y_pred : ndarray (segments × codebook codes)
        Every segment predicted once, by the model that did not see its fold.
    D_pred : ndarray (segments × DIMENSIONS) or None
        The dimension heads' predictions (None without dimension heads).
    folds : list of dict
        Per fold: test documents, the codes skipped for lack of examples and
        those dropped for an internal F1 below ``min_cv_f1``.
    """
    from joblib import Parallel, delayed

    codes = list(codebook.codes)
    params = {"labels": codes, "dimensions": dimension_map(codebook), "balises": balise_codes(codebook),
              **(params or {})}
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_fold)(params, X, y, train, test, extra, referentiel, validation, pool, composition)
        for train, test in splits)
    Y_pred = np.zeros((len(X), len(codes)), dtype=int)
    D_pred = np.zeros((len(X), len(DIMENSIONS)), dtype=int) if params["dimensions"] else None
    index = {c: j for j, c in enumerate(codes)}
    folds = []
    for test, classes, pred, dim_classes, dims, skipped, unreliable in results:
        Y_pred[np.ix_(test, [index[c] for c in classes])] = pred
        if D_pred is not None and dims is not None:
            D_pred[np.ix_(test, [DIMENSIONS.index(d) for d in dim_classes])] = dims
        folds.append({"test_documents": sorted(set(X["doc"].iloc[test])), "skipped": skipped,
                      "unreliable": unreliable})
    return Y_pred, D_pred, folds


# --------------------------------------------------------------------------- metrics

def _kappa(a: np.ndarray, b: np.ndarray) -> float:
    if len(np.unique(np.concatenate([a, b]))) < 2:
        return float("nan")          # both coders constant: kappa undefined
    return float(cohen_kappa_score(a, b))


def _counts(Y_true: np.ndarray, Y_pred: np.ndarray):
    # Counted by hand rather than with precision_recall_fscore_support: scikit-learn
    # reads a one-column indicator matrix as a binary vector, not as one label.
    tp = ((Y_true == 1) & (Y_pred == 1)).sum(axis=0)
    fp = ((Y_true == 0) & (Y_pred == 1)).sum(axis=0)
    fn = ((Y_true == 1) & (Y_pred == 0)).sum(axis=0)
    return tp, fp, fn


def _prf(tp, fp, fn):
    tp, fp, fn = (np.asarray(a, dtype=float) for a in (tp, fp, fn))
    p = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    r = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    f = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
    return p, r, f


def code_metrics(Y_true: np.ndarray, Y_pred: np.ndarray, codes: Sequence[str], codebook: Codebook) -> pd.DataFrame:
    """Per code: support, predicted, precision, recall, F1, Cohen's kappa (codes seen on either side)."""
    tp, fp, fn = _counts(Y_true, Y_pred)
    p, r, f = _prf(tp, fp, fn)
    rows = []
    for j, c in enumerate(codes):
        support, predicted = int(tp[j] + fn[j]), int(tp[j] + fp[j])
        if support == 0 and predicted == 0:
            continue
        code = codebook[c]
        rows.append({"code": c, "label": code.label, "kind": code.kind, "dimension": code.dimension,
                     "support": support, "predicted": predicted, "precision": float(p[j]),
                     "recall": float(r[j]), "f1": float(f[j]), "kappa": _kappa(Y_true[:, j], Y_pred[:, j])})
    return pd.DataFrame(rows, columns=PER_CODE_COLUMNS[2:])


def level_metrics(Y_true: np.ndarray, Y_pred: np.ndarray) -> dict:
    """Micro precision/recall/F1, macro F1 and mean kappa over the columns the human used.

    Examples
    --------
    >>> level_metrics(np.array([[1, 0], [0, 1]]), np.array([[1, 1], [0, 0]]))["micro_f1"]
    0.5
    """
    tp, fp, fn = _counts(Y_true, Y_pred)
    p, r, f = _prf(tp.sum(), fp.sum(), fn.sum())
    per_f1 = _prf(tp, fp, fn)[2]
    support = (tp + fn) > 0
    kappas = np.array([_kappa(Y_true[:, j], Y_pred[:, j]) for j in np.flatnonzero(support)])
    return {"micro_precision": float(p), "micro_recall": float(r), "micro_f1": float(f),
            "macro_f1": float(per_f1[support].mean()) if support.any() else 0.0,
            "mean_kappa": float(np.nanmean(kappas)) if kappas.size and not np.isnan(kappas).all() else float("nan"),
            "segments": int(Y_true.shape[0])}


def summarise(Y_true: np.ndarray, Y_pred: np.ndarray, codes: Sequence[str], codebook: Codebook,
              D_pred: np.ndarray | None = None) -> dict:
    """``{"balise": metrics, "dimension": metrics}`` (see :func:`level_metrics`).

    The predicted dimensions are ``D_pred`` when given (a model's dimension
    heads), else derived from the predicted codes like the human ones.
    """
    balise = [j for j, c in enumerate(codes) if codebook[c].kind == "balise"]
    return {
        "balise": level_metrics(Y_true[:, balise], Y_pred[:, balise]),
        "dimension": level_metrics(dimension_indicator(Y_true, codes, codebook),
                                   dimension_indicator(Y_pred, codes, codebook) if D_pred is None else D_pred),
    }


# --------------------------------------------------------------------------- transfer (issue 19)

TRANSFER_SECTIONS = {
    "corpus_leave_one_territory_out": "corpus, un territoire laissé de côté",
    "referentiel": "paragraphes du référentiel, étiquetés par leur section",
    "devset": "textes réels d'autres villes (jeu de développement)",
}
# Real-text sets by role: a validation set may choose settings (tests/data/devset since the second
# protocol of issue 19); a test set is only ever measured.
REALTEXT_ROLES = {"validation": "validation", "test": "test"}


def realtext_key(role: str, folder: str | Path, first: bool) -> str:
    """Section key of a real-text set: ``devset`` for the first validation set (the historical key),
    else ``<role>:<folder name>``."""
    return "devset" if role == "validation" and first else f"{role}:{Path(folder).name}"


def false_alarm_rate(gold_empty: np.ndarray, Y_pred: np.ndarray) -> float | None:
    """Share of the texts that carry no code (``gold_empty``) for which something is suggested."""
    gold_empty = np.asarray(gold_empty, dtype=bool)
    if not gold_empty.any():
        return None
    return float(np.asarray(Y_pred)[gold_empty].any(axis=1).mean())


def union_dimensions(Y_pred: np.ndarray, codes: Sequence[str], codebook: Codebook,
                     D_heads: np.ndarray | None) -> np.ndarray:
    """Predicted dimensions: those of the predicted codes, plus the dimension heads that fire."""
    D = dimension_indicator(Y_pred, codes, codebook)
    return D if D_heads is None else np.maximum(D, D_heads)


def _clean(m: dict) -> dict:
    return {k: (None if isinstance(v, float) and np.isnan(v) else (round(v, 4) if isinstance(v, float) else v))
            for k, v in m.items()}


def transfer_metrics(Y_true: np.ndarray, Y_pred: np.ndarray, codes: Sequence[str], codebook: Codebook,
                     D_true: np.ndarray | None = None, D_pred: np.ndarray | None = None,
                     balise_rows: np.ndarray | None = None) -> dict:
    """Balise and dimension level metrics, and the false-alarm rate on texts that carry no code.

    ``false_alarm_rate`` counts the texts given a code; ``false_alarm_rate_with_dimensions`` also
    those where only a dimension head fires.

    ``D_true`` (default: derived from ``Y_true``) lets a text be labelled at dimension level only;
    ``balise_rows`` restricts the balise level to the texts labelled with a balise.
    """
    balise = [j for j, c in enumerate(codes) if codebook[c].kind == "balise"]
    D_true = dimension_indicator(Y_true, codes, codebook) if D_true is None else D_true
    D_pred = dimension_indicator(Y_pred, codes, codebook) if D_pred is None else D_pred
    rows = np.ones(len(Y_true), dtype=bool) if balise_rows is None else np.asarray(balise_rows, dtype=bool)
    out = {"texts": int(len(Y_true)),
           "dimension": _clean(level_metrics(D_true, D_pred)),
           "balise": _clean(level_metrics(Y_true[rows][:, balise], Y_pred[rows][:, balise])) if rows.any() else None,
           "uncoded_texts": int((D_true.sum(axis=1) == 0).sum()),
           "false_alarm_rate": false_alarm_rate(D_true.sum(axis=1) == 0, Y_pred),
           # a dimension head firing on such a text counts too (the dimension figures above use them)
           "false_alarm_rate_with_dimensions": false_alarm_rate(D_true.sum(axis=1) == 0, np.c_[Y_pred, D_pred]),
           "abstention_rate": float((Y_pred.sum(axis=1) == 0).mean()) if len(Y_pred) else None}
    return out


def _texts_frame(texts: Sequence[str], layer, name: str) -> pd.DataFrame:
    from analyse.coding.autocode import texts_lemmas
    return pd.DataFrame({"text": list(texts), "lemmas": texts_lemmas(list(texts), layer, name)})


def _predict(model: SegmentCoder, X: pd.DataFrame, codes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code and dimension predictions of a fitted model in the codebook's and DIMENSIONS' order."""
    return decide_scores(model, model._all_proba(X), codes)


def decide_scores(model: SegmentCoder, scores: np.ndarray, codes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_predict` from a model's raw head scores (``_all_proba``): decisions without re-scoring."""
    index = {c: j for j, c in enumerate(codes)}
    Y = np.zeros((len(scores), len(codes)), dtype=int)
    Y[:, [index[c] for c in model.classes_]] = model.decide(scores)
    D = np.zeros((len(scores), len(DIMENSIONS)), dtype=int)
    if len(model.dimension_classes_):
        D[:, [DIMENSIONS.index(d) for d in model.dimension_classes_]] = model.decide_dimensions(scores)
    return Y, D


def read_devset(folder: str | Path) -> tuple[list[dict], dict, dict] | None:
    """``texts.jsonl`` (``{"id", "text", "source"}``) and ``labels-1.jsonl``/``labels-2.jsonl`` (``{"id", "codes"}``).

    None when the texts or the first labels are absent; the second labels may be absent (``{}``).
    """
    folder = Path(folder)
    texts_path, l1, l2 = folder / "texts.jsonl", folder / "labels-1.jsonl", folder / "labels-2.jsonl"
    if not (texts_path.is_file() and l1.is_file()):
        return None

    def lines(path):
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]

    texts = lines(texts_path)
    labels = [{r["id"]: set(r.get("codes") or []) for r in lines(p)} if p.is_file() else {} for p in (l1, l2)]
    return texts, labels[0], labels[1]


def transfer_evaluation(X: pd.DataFrame, y: list, codebook: Codebook, layer, Y_loto: np.ndarray,
                        D_loto: np.ndarray | None, params: dict | None, referentiel: Path | None,
                        devset_dir: Path | None | Sequence, loto_note: str, testset_dirs: Sequence = (),
                        validation=None, pool=None, composition: dict | None = None) -> dict:
    """The three transfer evaluations of ``analyse evaluate`` (see :data:`TRANSFER_SECTIONS`).

    (a) reuses the leave-one-territory-out predictions; (b) scores each of the référentiel's
    paragraphs with a model that did not see it: 5-fold cross-validation grouped by blocks of
    consecutive paragraphs, each model trained on the whole corpus, the codebook and the other
    blocks, as the shipped model uses them (a référentiel too short for two blocks is scored whole by
    a model trained without it); (c) scores the development set with the model as shipped (corpus,
    codebook and référentiel). Thresholds are always chosen by grouped CV on the training data,
    never on a set reported here, except the decision settings (shifts, balise level), chosen on the
    validation set (``bench/transfer_choice.py``).

    ``devset_dir`` may be one folder or several (validation sets); ``testset_dirs`` are test sets,
    measured the same way, labelled « test ». Each gets its own section (:func:`realtext_key`).
    ``pool`` (the real-text training pool) joins every fit at ``composition``'s weight; its own
    figures, out of fold, are the section « apprentissage, hors pli » (:func:`pool_section`), never a
    validation or a test.
    """
    from sklearn.model_selection import GroupKFold

    from analyse.coding.autocode import (compose_training, design_settings, knowledge_documents, realtext_rows_of,
                                         referentiel_blocks)

    composition = composition or design_settings(DEFAULT_DESIGN)[0]

    codes = list(codebook.codes)
    params = {"labels": codes, "dimensions": dimension_map(codebook), "balises": balise_codes(codebook),
              **(params or {})}
    Y = indicator(y, codes)
    out: dict = {"sections": TRANSFER_SECTIONS}
    a = transfer_metrics(Y, Y_loto, codes, codebook, D_pred=union_dimensions(Y_loto, codes, codebook, D_loto))
    a["note"] = loto_note
    out["corpus_leave_one_territory_out"] = a
    Xe, ye, we, _ = knowledge_documents(codebook, layer, None)
    Xr, yr, gr, paras = referentiel_blocks(codebook, layer, referentiel)

    def fit(ref_rows):
        Xt, yt, groups, weights, extra = compose_training(X, y, (Xe, ye, we), ref_rows, pool, composition)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SegmentCoder(**params).fit(Xt, yt, groups=groups, extra=extra, sample_weight=weights,
                                               realtext_rows=realtext_rows_of(Xt),
                                               validation=validation[:2] if validation else None)
        return model, pool_rows_of(Xt)

    if len(Xr):
        Yp = np.zeros((len(Xr), len(codes)), dtype=int)
        Dp = np.zeros((len(Xr), len(DIMENSIONS)), dtype=int)
        n_blocks = len(set(gr))
        if n_blocks >= 2:
            splits = list(GroupKFold(n_splits=min(REFERENTIEL_FOLDS, n_blocks)).split(Xr, groups=gr))
            note = (f"validation croisée en {len(splits)} plis par blocs de paragraphes consécutifs : chaque "
                    "paragraphe est noté par un modèle qui ne l'a pas vu (ni ses voisins), entraîné sur tout le "
                    "corpus, la grille et le reste du référentiel comme le modèle livré.")
        else:
            splits = [(np.array([], dtype=int), np.arange(len(Xr)))]
            note = "modèle entraîné sur tout le corpus et la grille, sans le référentiel (trop court pour des plis)."
        for rtrain, rtest in splits:
            held_in = (Xr.iloc[rtrain].reset_index(drop=True), [yr[i] for i in rtrain], [gr[i] for i in rtrain])
            Yp[rtest], Dp[rtest] = _predict(fit(held_in)[0], Xr.iloc[rtest], codes)
        Yt = indicator([{p["balise"]} if p["balise"] else set() for p in paras], codes)
        Dt = np.array([[p["dimension"] == d for d in DIMENSIONS] for p in paras], dtype=int)
        b = transfer_metrics(Yt, Yp, codes, codebook, Dt, union_dimensions(Yp, codes, codebook, Dp),
                             balise_rows=np.array([bool(p["balise"]) for p in paras]))
        b["note"] = note + (" Tout paragraphe est sous une section : le taux de fausses alertes n'a pas de sens ici.")
        b["path"] = str(referentiel)
        out["referentiel"] = b
    else:
        out["referentiel"] = {"skipped": f"référentiel absent ({referentiel}) : section non évaluée"}

    if devset_dir is None:
        validation_dirs = []
    elif isinstance(devset_dir, (str, Path)):
        validation_dirs = [Path(devset_dir)]
    else:
        validation_dirs = [Path(d) for d in devset_dir]
    sets = [("validation", d) for d in validation_dirs] + [("test", Path(d)) for d in testset_dirs]
    if not validation_dirs:
        out["devset"] = {"skipped": msg("ev.realtext.no_validation")}
    model = pool_mask = None
    if pool is not None and len(pool[0]):
        model, pool_mask = fit((Xr, yr, gr))
        out["sections"] = {**out["sections"], "training": msg("ev.pool.title", name=", ".join(
            dict.fromkeys(str(d).split(":", 1)[1] for d in pool[0]["doc"])))}
        out["training"] = pool_section(model, pool, pool_mask, codes, codebook, layer)
    for k, (role, folder) in enumerate(sets):
        key = realtext_key(role, folder, k == 0)
        title = (TRANSFER_SECTIONS["devset"] if key == "devset"
                 else msg("ev.realtext.title", role=REALTEXT_ROLES[role], name=folder.name))
        out["sections"] = {**out["sections"], key: title}
        dev = read_devset(folder)
        if dev is None:
            out[key] = {"skipped": msg("ev.realtext.absent", folder=folder), "role": role, "path": str(folder)}
            continue
        if model is None:
            model = fit((Xr, yr, gr))[0]
        crossfit = validation[2] if validation and k == 0 and role == "validation" else None
        out[key] = realtext_section(model, dev, codes, codebook, layer, role, folder, crossfit)
    return out


VALIDATION_FOLDS = 5


def pool_out_of_fold(model: SegmentCoder, pool_mask: np.ndarray, codes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code and dimension decisions on the pool's training rows, out of fold for heads and thresholds.

    ``pool_mask`` marks the pool's rows among the model's training rows. Each row's score is its
    out-of-fold score of the model's internal cross-validation (grouped by town: a model that did not
    see its town) and it is decided by the thresholds chosen again without the rows of its inner fold
    (:meth:`SegmentCoder.without_rows`). Rows in the pool's order (codebook codes, DIMENSIONS).
    """
    rows = np.flatnonzero(pool_mask)
    Y = np.zeros((len(rows), len(codes)), dtype=int)
    D = np.zeros((len(rows), len(DIMENSIONS)), dtype=int)
    folds = model.oof_fold_[rows]
    for k in np.unique(folds):
        at = np.flatnonzero(folds == k)
        fold_model = model.without_rows(model.oof_fold_ == k)
        Y[at], D[at] = decide_scores(fold_model, model.oof_scores_[rows[at]], codes)
    return Y, D


def pool_section(model: SegmentCoder, pool, pool_mask: np.ndarray, codes: Sequence[str], codebook: Codebook,
                 layer) -> dict:
    """The section « apprentissage, hors pli »: the real-text training pool's figures, per lot and together.

    When the design joins the pool (``pool_mask`` has rows), :func:`pool_out_of_fold`; when it does
    not (weight 0), the shipped model, which never saw the pool, scores it. Labels: ``labels-1``.
    """
    Xp, yp = pool[0], pool[1]
    joined = bool(np.asarray(pool_mask).any())
    if joined:
        Yp, Dp = pool_out_of_fold(model, pool_mask, codes)
    else:
        Yp, Dp = _predict(model, Xp, codes)
    Yt = indicator(yp, codes)
    out = transfer_metrics(Yt, Yp, codes, codebook, D_pred=union_dimensions(Yp, codes, codebook, Dp))
    out.update(role="training", joined=joined, note=msg("ev.pool.note" if joined else "ev.pool.note_unused"),
               towns=len(set(pool[2])), folders=[])
    lots = Xp["doc"].astype(str).to_numpy()
    for lot in dict.fromkeys(lots):
        at = lots == lot
        m = transfer_metrics(Yt[at], Yp[at], codes, codebook,
                             D_pred=union_dimensions(Yp[at], codes, codebook, Dp[at]))
        out["folders"].append({"name": lot.split(":", 1)[1], "texts": m["texts"], "dimension": m["dimension"],
                               "false_alarm_rate_with_dimensions": m["false_alarm_rate_with_dimensions"]})
    return out


def realtext_section(model: SegmentCoder, dev: tuple, codes: Sequence[str], codebook: Codebook, layer,
                     role: str, folder: Path, crossfit: Sequence[str] | None = None) -> dict:
    """Figures of the shipped model on one real-text set (:func:`read_devset`), labelled by its role.

    ``crossfit`` (each text's town), for the validation set whose labels chose the model's real-text
    dimension thresholds: each text is then decided with thresholds chosen without its town
    (:data:`VALIDATION_FOLDS` folds grouped by town), so that its figures stay a validation.
    """
    texts, labels1, labels2 = dev
    texts = [t for t in texts if t["id"] in labels1]
    Xd = _texts_frame([t["text"] for t in texts], layer, f"realtext-{folder.name}")
    source = getattr(model, "realtext_source_", None)
    used = (crossfit is not None and source is not None and getattr(model, "realtext_precision", None) is not None
            and int(np.sum(source == "validation")) == len(texts))
    if used:
        from sklearn.model_selection import GroupKFold

        scores = model._all_proba(Xd)
        Yp = np.zeros((len(texts), len(codes)), dtype=int)
        Dp = np.zeros((len(texts), len(DIMENSIONS)), dtype=int)
        keep = source != "validation"
        val_rows = np.flatnonzero(~keep)
        n_folds = min(VALIDATION_FOLDS, len(set(crossfit)))
        for rest, test in GroupKFold(n_splits=n_folds).split(Xd, groups=list(crossfit)):
            rows = np.r_[np.flatnonzero(keep), val_rows[rest]]
            fold = model.with_realtext(model.realtext_scores_[rows], model.realtext_labels_[rows])
            Yp[test], Dp[test] = decide_scores(fold, scores[test], codes)
    else:
        Yp, Dp = _predict(model, Xd, codes)
    Y1 = indicator([labels1[t["id"]] for t in texts], codes)
    c = transfer_metrics(Y1, Yp, codes, codebook, D_pred=union_dimensions(Yp, codes, codebook, Dp))
    c["role"] = role
    c["path"] = str(folder)
    c["note"] = msg("ev.realtext.note") + (
        msg("ev.realtext.note_validation") + (msg("ev.realtext.note_crossfit", folds=VALIDATION_FOLDS) if used else "")
        if role == "validation" else msg("ev.realtext.note_test"))
    c["sources"] = sorted({str(t.get("source", "")) for t in texts})
    if labels2:
        both = [t for t in texts if t["id"] in labels2]
        Y1b = indicator([labels1[t["id"]] for t in both], codes)
        Y2b = indicator([labels2[t["id"]] for t in both], codes)
        agree = transfer_metrics(Y1b, Y2b, codes, codebook)
        c["agreement_labels_1_2"] = {"texts": len(both), "dimension": agree["dimension"], "balise": agree["balise"]}
    else:
        c["agreement_labels_1_2"] = None
    return c


# --------------------------------------------------------------------------- the evaluation

@dataclass
class Evaluation:
    """Everything ``analyse evaluate`` reports."""

    coder: str
    per_code: pd.DataFrame
    summary: pd.DataFrame
    splits: dict
    folds: dict
    skipped: dict
    comparison: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)
    transfer: dict = field(default_factory=dict)

    def targets(self) -> list[dict]:
        """The project's targets with the measured value, met or missed, and by how much."""
        out = []
        for (scheme, level), target in TARGETS.items():
            row = self.summary[(self.summary.scheme == scheme) & (self.summary.method == "model")
                               & (self.summary.level == level)]
            value = float(row["micro_f1"].iloc[0])
            out.append({"scheme": scheme, "level": level, "metric": "micro_f1", "target": target,
                        "value": round(value, 4), "met": value >= target,
                        "gap": round(max(0.0, target - value), 4)})
        return out

    def as_dict(self) -> dict:
        def clean(v):
            return None if isinstance(v, float) and np.isnan(v) else (round(v, 4) if isinstance(v, float) else v)

        schemes: dict = {}
        for r in self.summary.to_dict(orient="records"):
            schemes.setdefault(r["scheme"], {}).setdefault(r["method"], {})[r["level"]] = {
                k: clean(r[k]) for k in SUMMARY_COLUMNS[3:]}
        return {
            **self.info, "coder": self.coder, "schemes": schemes, "targets": self.targets(),
            "not_learned": self.skipped,
            "transfer": self.transfer,
            "folds": self.folds,
            "comparison": None if self.comparison is None else [
                {k: clean(v) for k, v in r.items()} for r in self.comparison.to_dict(orient="records")],
        }


def evaluation_data(corpus: Corpus, codings: Codings, coder: str, layer) -> tuple[pd.DataFrame, list, list]:
    """The coder's covered segments (model input), their codes, and their parsed Docs (for the rules)."""
    from analyse.nlp import lemma_text, parse_segments

    covered = set(codings.coverage.loc[codings.coverage["coder"] == coder, "doc"])
    segments = [s for s in corpus.segments if s.doc in covered]
    docs, lemmas = [], {}
    for seg, doc in parse_segments(segments, layer):
        docs.append(doc)
        lemmas[seg.id] = lemma_text(doc)
    X, y = training_data(corpus, codings, coder, lemmas)
    return X, y, docs


def compare_models(X: pd.DataFrame, y: list, codes: Sequence[str], codebook: Codebook, splits,
                   candidates: dict | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """Grouped-CV figures of several :class:`SegmentCoder` settings (how the defaults were chosen)."""
    Y = indicator(y, codes)
    rows = []
    for name, params in (candidates or CANDIDATES).items():
        t0 = time.perf_counter()
        Y_pred, D_pred, _ = out_of_fold(X, y, splits, codebook, params, n_jobs)
        s = summarise(Y, Y_pred, codes, codebook, D_pred)
        rows.append({"candidate": name, "params": json.dumps(params), "balise_micro_f1": s["balise"]["micro_f1"],
                     "balise_macro_f1": s["balise"]["macro_f1"], "dimension_micro_f1": s["dimension"]["micro_f1"],
                     "dimension_macro_f1": s["dimension"]["macro_f1"], "seconds": time.perf_counter() - t0})
    return pd.DataFrame(rows)


def evaluate(corpus: Corpus, codebook: Codebook, codings: Codings, coder: str = "A", layer=None,
             n_splits: int = 5, params: dict | None = None, compare: bool = False, n_jobs: int = 1,
             referentiel: str | Path | None = "default", devset_dir: str | Path | None | Sequence = "default",
             knowledge: bool = True, transfer: bool = True, kfold: bool = True,
             testset_dirs: Sequence | str = "default", design: str = DEFAULT_DESIGN,
             training: Sequence | str | None = "default") -> Evaluation:
    """Cross-validate the learned coder and the rules against a human coder.

    Parameters
    ----------
    corpus, codebook, codings
    coder : str
        The human reference (default A); only the documents it covered are used.
    layer : analyse.nlp.NLPLayer, optional
    n_splits : int
        Folds of the document-grouped CV.
    params : dict, optional
        :class:`SegmentCoder` parameters (default: its defaults).
    compare : bool
        Also compare the candidate settings of ``CANDIDATES`` (grouped CV only).
    n_jobs : int
        Folds fitted in parallel.
    design : str
        The named design of :data:`~analyse.coding.autocode.DESIGNS` measured (as ``analyse train``
        builds it; ``params`` win over its parameters).
    training : sequence of folders, "default" or None
        The real-text training pool (``"default"``: every lot under the project's ``training/``).
        It joins every training side at the design's weight, never a test side; its out-of-fold
        figures are the transfer section ``training``.
    testset_dirs : sequence of folders or "default"
        Test sets (``"default"``: every ``tests/data/devset-N`` folder there, each reported on its own).

    Examples
    --------
    >>> ev = evaluate(corpus, book, codings, "A")                       # doctest: +SKIP
    >>> ev.summary.query("scheme == 'leave_one_territory_out'")         # doctest: +SKIP
    """
    from analyse.coding.autocode import design_settings, realtext_pool
    from analyse.coding.realtext import training_folders
    from analyse.nlp import NLPLayer, default_cache_dir

    composition, design_params = design_settings(design)
    params = {**design_params, **(params or {})}
    if coder not in set(codings.coverage["coder"]):
        raise UsageError(msg("ev.no_coverage", coder=coder),
                         hint=msg("ev.coders_with_coverage",
                                  coders=", ".join(sorted(set(codings.coverage["coder"]))) or msg("none")))
    layer = layer or NLPLayer(cache_dir=default_cache_dir(corpus.root))
    X, y, docs = evaluation_data(corpus, codings, coder, layer)
    codes = list(codebook.codes)
    Y = indicator(y, codes)
    splits = {"group_kfold": document_splits(X["doc"], n_splits),
              "leave_one_territory_out": territory_splits(X["territory"])}
    if not kfold:
        del splits["group_kfold"]
    rules = RuleSuggester(codebook, layer.nlp)
    Y_rules = indicator(rules.predict_codes(docs), codes)
    root = Path(corpus.root).parent if corpus.root else Path.cwd()
    if referentiel == "default":
        from analyse.coding.knowledge import default_referentiel_path
        referentiel = default_referentiel_path(root)
    default_devset = root / "tests" / "data" / "devset"
    if isinstance(devset_dir, (list, tuple)):
        devset_dir = [default_devset if d == "default" else Path(d) for d in devset_dir]
    elif devset_dir == "default":
        devset_dir = default_devset
    if testset_dirs == "default":
        # the test sets of other towns (tests/data/devset-N), measured beside the validation set, never tuned
        # on; each is reported on its own: a set that has already judged designs is not a fresh one
        testset_dirs = sorted((p for p in (root / "tests" / "data").glob("devset-*") if (p / "texts.jsonl").is_file()),
                              key=lambda p: (len(p.name), p.name))
    extra = ref_rows = None
    if knowledge:
        from analyse.coding.autocode import knowledge_documents, referentiel_blocks
        Xe, ye, we, _ = knowledge_documents(codebook, layer, None)
        extra = (Xe, ye, we)
        ref_rows = referentiel_blocks(codebook, layer, referentiel)[:3]
    folders = training_folders(root) if training == "default" else [Path(f) for f in (training or [])]
    pool = realtext_pool(codebook, layer, folders)
    # the first validation set's labels choose the real-text dimension thresholds, as in train_model
    from analyse.coding.autocode import validation_texts
    first = (devset_dir[0] if devset_dir else None) if isinstance(devset_dir, list) else devset_dir
    validation = (validation_texts(first, layer) if composition["realtext_validation"]
                  and params.get("realtext_precision") is not None else None)
    per_code, summary, folds, loto = [], [], {}, None
    for scheme, scheme_splits in splits.items():
        Y_model, D_model, folds[scheme] = out_of_fold(X, y, scheme_splits, codebook, params, n_jobs, extra, ref_rows,
                                                      validation[:2] if validation else None, pool, composition)
        if scheme == "leave_one_territory_out":
            loto = (Y_model, D_model)
        for method, Y_pred, D_pred in (("model", Y_model, D_model), ("rules", Y_rules, None)):
            frame = code_metrics(Y, Y_pred, codes, codebook)
            frame.insert(0, "method", method)
            frame.insert(0, "scheme", scheme)
            per_code.append(frame)
            for level, m in summarise(Y, Y_pred, codes, codebook, D_pred).items():
                summary.append({"scheme": scheme, "method": method, "level": level, **m})
    min_positives = SegmentCoder(**params).min_positives
    skipped = {c: int(Y[:, j].sum()) for j, c in enumerate(codes) if Y[:, j].sum() < min_positives}
    comparison = (compare_models(X, y, codes, codebook, splits["group_kfold"], n_jobs=n_jobs)
                  if compare and kfold else None)
    info = {"segments": int(len(X)), "documents": int(X["doc"].nunique()),
            "territories": sorted(set(X["territory"])), "n_splits": len(splits.get("group_kfold", [])),
            "params": {k: v for k, v in SegmentCoder(**params).get_params().items()
                       if k not in ("labels", "dimensions", "balises")},
            "design": design, "composition": composition, "training_pool": pool[3],
            "spacy_pipeline": layer.key}
    transfer_results = {}
    if transfer:
        note = ("seuils choisis dans chaque pli sur les seuls territoires d'entraînement ; la grille"
                + (" et le référentiel" if referentiel is not None and Path(referentiel).is_file() else "")
                + " ajoutés à l'entraînement" if knowledge else "sans documents ajoutés")
        transfer_results = transfer_evaluation(X, y, codebook, layer, loto[0], loto[1], params,
                                               Path(referentiel) if referentiel else None,
                                               devset_dir if isinstance(devset_dir, list)
                                               else (Path(devset_dir) if devset_dir else None), note,
                                               [Path(d) for d in testset_dirs], validation, pool, composition)
    return Evaluation(coder=coder, transfer=transfer_results, per_code=pd.concat(per_code, ignore_index=True),
                      summary=pd.DataFrame(summary, columns=SUMMARY_COLUMNS),
                      splits={k: [(X["doc"].iloc[tr].unique().tolist(), X["doc"].iloc[te].unique().tolist())
                                  for tr, te in v] for k, v in splits.items()},
                      folds=folds, skipped=skipped, comparison=comparison, info=info)


# --------------------------------------------------------------------------- outputs

def _fmt(v) -> str:
    if isinstance(v, float):
        return "—" if np.isnan(v) else fr_number(v, 3)
    return str(v)


def _md_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * len(frame.columns)]
    lines += ["| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def render_markdown(ev: Evaluation) -> str:
    """The evaluation as a French Markdown report."""
    s = ev.summary.copy()
    s["scheme"] = s["scheme"].map(SCHEMES)
    s["method"] = s["method"].map(METHODS)
    s = s.rename(columns={"scheme": "schéma", "method": "méthode", "level": "niveau",
                          "micro_precision": "précision (micro)", "micro_recall": "rappel (micro)",
                          "micro_f1": "F1 micro", "macro_f1": "F1 macro", "mean_kappa": "kappa moyen"})
    out = [msg("ev.md.title", coder=ev.coder), "",
           msg("ev.md.intro", segments=ev.info.get("segments"), documents=ev.info.get("documents"), coder=ev.coder,
               territories=", ".join(ev.info.get("territories", []))),
           "", msg("ev.md.summary"), "", _md_table(s), "", msg("ev.md.targets"), ""]
    for t in ev.targets():
        verdict = msg("ev.md.met") if t["met"] else msg("ev.md.missed", gap=_fmt(t["gap"]))
        out.append(msg("ev.md.target", scheme=SCHEMES[t["scheme"]], level=t["level"], value=_fmt(t["value"]),
                       target=_fmt(t["target"]), verdict=verdict))
    if ev.skipped:
        out += ["", msg("ev.md.skipped"), "",
                ", ".join(f"{c} ({n})" for c, n in ev.skipped.items())]
    if ev.comparison is not None:
        c = ev.comparison.drop(columns=["params"]).rename(columns={
            "candidate": "candidat", "balise_micro_f1": "F1 micro balises", "balise_macro_f1": "F1 macro balises",
            "dimension_micro_f1": "F1 micro dimensions", "dimension_macro_f1": "F1 macro dimensions",
            "seconds": "secondes"})
        out += ["", msg("ev.md.compared"), "", _md_table(c)]
    pc = ev.per_code[ev.per_code["scheme"] == "leave_one_territory_out"]
    wide = pc.pivot_table(index="code", columns="method", values=["f1", "kappa"], aggfunc="first")
    short = {key: msg(f"ev.short.{key}") for key in ("model", "rules")}
    wide.columns = [f"{'F1' if v == 'f1' else 'kappa'} {short[m]}" for v, m in wide.columns]
    support = pc.drop_duplicates("code").set_index("code")["support"]
    wide.insert(0, "support", support)
    wide = wide.reset_index()
    out += ["", msg("ev.md.per_code"), "", _md_table(wide), ""]
    return "\n".join(out)


def plot_f1(ev: Evaluation, path: str | Path, codebook: Codebook | None = None) -> Path:
    """Bar chart of F1 per code, model under both schemes, rules as a reference (French labels)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pc = ev.per_code[ev.per_code["support"] > 0]
    order = list(dict.fromkeys(pc["code"]))
    if codebook is not None:
        order = [c for c in codebook.codes if c in set(order)]
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.22 * len(order)))
    ypos = np.arange(len(order))
    height = 0.38
    for k, scheme in enumerate(SCHEMES):
        f1 = (pc[(pc.scheme == scheme) & (pc.method == "model")].set_index("code")["f1"]
              .reindex(order).fillna(0.0))
        ax.barh(ypos + (k - 0.5) * height, f1.values, height=height, label=msg("ev.plot.model", scheme=SCHEMES[scheme]))
    rules = pc[(pc.scheme == "group_kfold") & (pc.method == "rules")].set_index("code")["f1"].reindex(order)
    ax.plot(rules.values, ypos, "k|", markersize=9, label=msg("ev.plot.rules"))
    ax.set_yticks(ypos, order, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(msg("ev.plot.xlabel"))
    ax.set_title(msg("ev.plot.title", coder=ev.coder), fontsize=10)
    ax.legend(loc="lower right", fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)
    return path


def write_outputs(ev: Evaluation, out_dir: str | Path, codebook: Codebook | None = None) -> list[Path]:
    """CSV tables, the Markdown report and the F1 plot under ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "per_code.csv", out_dir / "summary.csv", out_dir / "evaluation.md",
             out_dir / "evaluation.json"]
    ev.per_code.round(4).to_csv(paths[0], index=False, lineterminator="\n")
    ev.summary.round(4).to_csv(paths[1], index=False, lineterminator="\n")
    paths[2].write_text(render_markdown(ev), encoding="utf-8")
    paths[3].write_text(json.dumps(ev.as_dict(), ensure_ascii=False, indent=2, default=str) + "\n",
                        encoding="utf-8")
    if ev.comparison is not None:
        paths.append(out_dir / "model_comparison.csv")
        ev.comparison.round(4).to_csv(paths[-1], index=False, lineterminator="\n")
    paths.append(plot_f1(ev, out_dir / "f1_par_code.png", codebook))
    return paths
