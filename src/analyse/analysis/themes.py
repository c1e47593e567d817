"""Inductive themes: Reinert classes of the text units, and NMF topics beside them.

The codebook says what the team looks for; the classes say which lexical
worlds the speakers themselves build. This module runs the classification
(:mod:`analyse.analysis.units` → :mod:`analyse.analysis.reinert`) and
describes each class the way IRaMuTeQ does:

* **forms**: for each class and lemma, the χ² (1 d.f.) of the 2 × 2 table
  *unit in the class* × *unit contains the lemma*, over classified units,
  signed (negative: the class avoids the lemma), with its p-value; active
  forms (which made the classes) and supplementary forms (which did not);
* **illustrative variables**: the same χ² for each territory, role,
  atelier, kind and document, taken as a modality a unit has or not;
* **typical units**: the units of the class with the largest sum of the
  (positive, significant) χ² of the active forms they contain.

**Topics** are a second lens on the same units: NMF (scikit-learn) of the
TF-IDF of active forms, with ``k`` topics, started from the SVD (``nndsvda``,
deterministic). Its stability is checked over seeds: each further seed draws
a bootstrap resample of the units and NMF's small random start values
(``nndsvdar``); each run's topics are matched to the reference topics
(Hungarian matching on the cosine of their word vectors), and the mean
matched cosine says how far a topic is a property of the corpus rather than
of a seed or of a few units. (Plain random starts were tried first: they
often stop in a worse local optimum, even on planted worlds, which says
more about the optimiser than about the corpus.)

Examples
--------
>>> themes = classify_themes(tokens, segments_frame(corpus), exclude=speaker_names(corpus))  # doctest: +SKIP
>>> themes.classes                                                                                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import chi2 as chi2_law

from analyse.analysis.reinert import (CHI2_05, Classification, chi2_2x2, double_classification,
                                      simple_classification)
from analyse.analysis.units import UnitMatrices, context_units, unit_matrices
from analyse.errors import UsageError

VARIABLES = ("territory", "role", "atelier", "kind", "doc")
WORD_COLUMNS = ["class", "lemma", "type", "n_class", "n_total", "share_class", "chi2", "p"]
VARIABLE_COLUMNS = ["class", "variable", "modality", "n_class", "n_total", "chi2", "p"]


@dataclass
class Themes:
    """A lexical classification of text units and its description.

    ``units`` has one row per text unit (canonical order) with its segment,
    metadata, text (when the segments had one) and ``class`` (1 … k, or
    ``<NA>`` when unclassified).
    """

    units: pd.DataFrame
    matrices: UnitMatrices
    classification: Classification
    params: dict
    words: pd.DataFrame = field(default_factory=pd.DataFrame)
    variables: pd.DataFrame = field(default_factory=pd.DataFrame)
    typical: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def k(self) -> int:
        return self.classification.k

    @property
    def classified_share(self) -> float:
        """Share of units (with at least one active form or not) that got a class."""
        return float(self.units["class"].notna().mean()) if len(self.units) else 0.0

    def top_words(self, cls: int, n: int = 10) -> list[str]:
        w = self.words
        w = w[(w["class"] == cls) & (w["type"] == "active") & (w["chi2"] >= CHI2_05)]
        return w["lemma"].head(n).tolist()

    @property
    def classes(self) -> pd.DataFrame:
        """One row per class: units, share of classified units, top words."""
        counts = self.units["class"].value_counts()
        n = int(self.units["class"].notna().sum())
        rows = [{"class": c, "units": int(counts.get(c, 0)), "share": counts.get(c, 0) / n if n else 0.0,
                 "words": ", ".join(self.top_words(c, 10))} for c in range(1, self.k + 1)]
        return pd.DataFrame(rows, columns=["class", "units", "share", "words"])


def _class_indicator(labels: np.ndarray, k: int) -> sparse.csr_matrix:
    rows = np.flatnonzero(labels >= 0)
    return sparse.csr_matrix((np.ones(len(rows)), (labels[rows], rows)), shape=(k, len(labels)))


def _profile(indicator: sparse.csr_matrix, x: sparse.csr_matrix, names: np.ndarray, kind: str,
             classified: np.ndarray) -> pd.DataFrame:
    """Signed χ² and p-value of every (class, column) 2 × 2 table, over classified units."""
    x = x[classified]
    ind = indicator[:, classified]
    n = len(classified)
    if not n or not x.shape[1]:
        return pd.DataFrame(columns=WORD_COLUMNS)
    n_cj = (ind @ x).toarray()
    n_c = np.asarray(ind.sum(axis=1)).ravel()[:, None]
    n_j = np.asarray(x.sum(axis=0)).ravel()[None, :]
    chi = chi2_2x2(n_cj, n_c, n_j, n)
    signed = np.where(n_cj >= n_c * n_j / n, chi, -chi)
    cls, col = np.nonzero((n_cj > 0) | (chi >= CHI2_05))
    frame = pd.DataFrame({
        "class": cls + 1, "lemma": names[col], "type": kind, "n_class": n_cj[cls, col].astype(int),
        "n_total": np.broadcast_to(n_j, n_cj.shape)[cls, col].astype(int),
        "share_class": n_cj[cls, col] / np.maximum(n_c[cls, 0], 1),
        "chi2": signed[cls, col], "p": chi2_law.sf(chi[cls, col], 1),
    })
    return frame


def _variable_matrix(units: pd.DataFrame) -> tuple[sparse.csr_matrix, pd.DataFrame]:
    """Units × modality indicator of the illustrative variables present in ``units``."""
    blocks, names = [], []
    for var in VARIABLES:
        if var not in units.columns:
            continue
        values = units[var].fillna("sans").astype(str).to_numpy()
        modalities, codes = np.unique(values, return_inverse=True)
        blocks.append(sparse.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)),
                                        shape=(len(codes), len(modalities))))
        names.extend((var, m) for m in modalities)
    if not blocks:
        return sparse.csr_matrix((len(units), 0)), pd.DataFrame(columns=["variable", "modality"])
    return sparse.hstack(blocks).tocsr(), pd.DataFrame(names, columns=["variable", "modality"])


def typical_units(themes: Themes, n: int = 5) -> pd.DataFrame:
    """The ``n`` most typical units of each class: largest sum of the class's positive significant χ².

    Returns ``class, rank, unit, segment, score`` (and ``text`` when known), sorted by class and rank.
    """
    m = themes.matrices
    labels = themes.classification.labels
    w = themes.words
    weights = np.zeros((themes.k, len(m.terms)))
    pos = {t: j for j, t in enumerate(m.terms)}
    active = w[(w["type"] == "active") & (w["chi2"] >= CHI2_05)]
    weights[active["class"].to_numpy() - 1, active["lemma"].map(pos).to_numpy()] = active["chi2"].to_numpy()
    scores = np.zeros(len(labels))
    for c in range(themes.k):
        rows = np.flatnonzero(labels == c)
        scores[rows] = m.active[rows] @ weights[c]
    frame = themes.units[["unit", "segment"] + (["text"] if "text" in themes.units.columns else [])].copy()
    frame["class"] = themes.units["class"]
    frame["score"] = scores
    frame["_order"] = np.arange(len(frame))
    frame = frame[frame["class"].notna()].sort_values(["class", "score", "_order"], ascending=[True, False, True])
    frame = frame.groupby("class", sort=True).head(n).copy()
    frame["rank"] = frame.groupby("class").cumcount() + 1
    cols = ["class", "rank", "unit", "segment", "score"] + (["text"] if "text" in frame.columns else [])
    return frame[cols].reset_index(drop=True)


def classify_themes(tokens: pd.DataFrame, segments: pd.DataFrame, k: int = 10, seed: int = 0,
                    unit_size: int = 40, min_freq: int = 3, exclude: frozenset[str] = frozenset(),
                    double: bool = True, second_size: int | None = None, min_members: int | None = None,
                    min_split_members: int = 5, n_typical: int = 5, mutual: bool = False,
                    tree_k: int | None = None) -> Themes:
    """Reinert classification of the text units of a corpus, described.

    Parameters
    ----------
    tokens : DataFrame
        Token frame with sentences (``analyse.nlp.token_frame(corpus, layer, sentences=True)``).
    segments : DataFrame
        :func:`analyse.model.corpus.segments_frame` (or any frame with ``segment, doc, n``;
        ``territory, role, atelier, kind, text`` are used when present).
    k : int
        Largest number of classes (each tree has ``k`` leaves; default 10, as IRaMuTeQ and rainette).
        The double classification may keep fewer.
    seed : int
        Seed of the sparse SVD's start vector (results are deterministic for a seed).
    unit_size : int
        Words per text unit; the double classification's context units hold at
        least ``unit_size`` and ``second_size`` (default 1.5 × ``unit_size``) words.
    min_freq : int
        Units an active form must appear in.
    exclude : set of str
        Words kept out (participants' names: :func:`analyse.analysis.units.speaker_names`).
    double : bool
        Double classification (default) or a single one on the first context size.
    min_members : int, optional
        Smallest crossed class (default: 10, or 1 % of the units when fewer than 1000).
    tree_k : int, optional
        Leaves of each of the double classification's two trees (default
        ``k``, as rainette). Deeper trees give more crossed classes to choose
        from, but the total-χ² criterion then favours small tight sub-classes
        (on planted worlds, ``tree_k = 10`` for 4 worlds classifies under a third
        of the units), so ``k`` is best read as the *maximum* number of classes.
    mutual : bool
        Keep only crossed classes whose two classes are mutually most associated
        (rainette's "classical" analysis; default: every associated crossed class).
    """
    if k < 2:
        raise UsageError("il faut au moins 2 classes (--k)")
    m = unit_matrices(tokens, segments, unit_size=unit_size, min_freq=min_freq, exclude=exclude)
    units = m.units.copy()
    if not m.active.shape[1] or m.active.nnz == 0:
        raise UsageError("aucune forme active : le corpus est trop petit pour une classification",
                         hint="baissez --min-freq ou ajoutez des documents")
    second = second_size or int(round(1.5 * unit_size))
    if min_members is None:
        min_members = 10 if len(units) >= 1000 else max(3, len(units) // 100)
    g1 = context_units(units, unit_size)
    if double:
        g2 = context_units(units, second)
        result = double_classification(m.active, g1, g2, k, min_members=min_members,
                                       min_split_members=min_split_members, seed=seed, full=not mutual,
                                       tree_k=tree_k or k)
    else:
        result = simple_classification(m.active, g1, k, min_split_members=min_split_members, seed=seed)
    labels = result.labels
    units["class"] = pd.array(np.where(labels >= 0, labels + 1, 0), dtype="Int64")
    units.loc[labels < 0, "class"] = pd.NA
    if "text" in segments.columns:
        text = segments.drop_duplicates("segment").set_index("segment")["text"]
        full = units["segment"].map(text).fillna("")
        units["text"] = [t[a:b] for t, a, b in zip(full, units["start"], units["end"])]
    themes = Themes(units=units, matrices=m, classification=result,
                    params={"k": k, "seed": seed, "unit_size": unit_size, "second_size": second,
                            "min_freq": min_freq, "double": double, "min_members": min_members,
                            "mutual": mutual, "tree_k": tree_k or k})
    classified = np.flatnonzero(labels >= 0)
    ind = _class_indicator(labels, result.k)
    words = pd.concat([_profile(ind, m.active, m.terms, "active", classified),
                       _profile(ind, m.supplementary, m.supplementary_terms, "supplementary", classified)],
                      ignore_index=True)
    themes.words = words.sort_values(["class", "type", "chi2", "lemma"], ascending=[True, True, False, True],
                                     ignore_index=True)[WORD_COLUMNS]
    var_x, var_names = _variable_matrix(units)
    var = _profile(ind, var_x, np.arange(len(var_names)), "variable", classified)
    pick = var["lemma"].astype(int).to_numpy()
    var = var.assign(variable=var_names["variable"].to_numpy()[pick], modality=var_names["modality"].to_numpy()[pick])
    themes.variables = var.sort_values(["class", "variable", "chi2", "modality"],
                                       ascending=[True, True, False, True], ignore_index=True)[VARIABLE_COLUMNS]
    themes.typical = typical_units(themes, n_typical)
    return themes


# ---------------------------------------------------------------------------
# Topics (NMF) as a second lens
# ---------------------------------------------------------------------------

@dataclass
class Topics:
    """NMF topics of the units: words, unit weights, stability over seeds, and the class × topic table."""

    words: pd.DataFrame           # topic, rank, lemma, weight
    unit_weights: np.ndarray      # units × topics (rows of Themes.units; zero rows for empty units)
    stability: pd.DataFrame       # topic, stability (mean matched cosine over other seeds)
    mean_stability: float
    by_class: pd.DataFrame        # class × topic: mean normalised weight of the class's units

    def closest(self) -> pd.Series:
        """Per class, the topic most over-represented in it (largest ratio to the topic's mean weight)."""
        lift = self.by_class / self.by_class.mean(axis=0).replace(0, np.nan)
        return lift.idxmax(axis=1)


def _nmf(x, k: int, seed: int, init: str = "nndsvda"):
    from sklearn.decomposition import NMF

    import warnings

    from sklearn.exceptions import ConvergenceWarning

    model = NMF(n_components=k, init=init, random_state=seed, max_iter=300, tol=1e-3)
    with warnings.catch_warnings():
        # A topic that has not fully converged after 300 steps is still usable; stability says how far.
        warnings.simplefilter("ignore", ConvergenceWarning)
        w = model.fit_transform(x)
    return w, model.components_


def topic_model(themes: Themes, k: int | None = None, seed: int = 0, n_seeds: int = 5, top: int = 10,
                max_df: float = 0.1) -> Topics:
    """NMF on the TF-IDF of the units' active forms, checked over ``n_seeds`` seeds.

    Stability of a topic: its cosine with the topic matched to it (Hungarian
    matching) in each other seed's run (bootstrap resample of the units,
    random start values), averaged; 1 means the same words with the same
    weights whatever the seed.
    """
    from scipy.optimize import linear_sum_assignment
    from sklearn.feature_extraction.text import TfidfTransformer

    k = k or max(themes.k, 2)
    m = themes.matrices
    # Forms in more than max_df of the units (faire, vouloir, chose…) would make every topic alike.
    frequent = np.asarray((m.counts > 0).mean(axis=0)).ravel() > max_df
    counts = m.counts[:, ~frequent].tocsr()
    terms = m.terms[~frequent]
    rows = np.flatnonzero(np.diff(counts.indptr) > 0)
    x = TfidfTransformer(sublinear_tf=True).fit_transform(counts[rows])
    w, h = _nmf(x, k, seed)
    hn = h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
    matched = []
    for s in range(1, n_seeds):
        resample = np.random.default_rng(seed + s).choice(x.shape[0], size=x.shape[0], replace=True)
        _, h2 = _nmf(x[np.sort(resample)], k, seed + s, init="nndsvdar")
        h2 = h2 / np.maximum(np.linalg.norm(h2, axis=1, keepdims=True), 1e-12)
        cos = hn @ h2.T
        r, c = linear_sum_assignment(-cos)
        per = np.zeros(k)
        per[r] = cos[r, c]
        matched.append(per)
    stab = np.mean(matched, axis=0) if matched else np.ones(k)
    word_rows = []
    for t in range(k):
        best = np.lexsort((terms, -h[t]))[:top]
        word_rows.extend((t + 1, j + 1, terms[i], float(h[t, i])) for j, i in enumerate(best) if h[t, i] > 0)
    weights = np.zeros((len(themes.units), k))
    weights[rows] = w
    norm = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    cls = themes.units["class"].astype("float").to_numpy()
    by_class = pd.DataFrame([norm[cls == c].mean(axis=0) for c in range(1, themes.k + 1)],
                            index=pd.Index(range(1, themes.k + 1), name="class"),
                            columns=[f"thème {t + 1}" for t in range(k)])
    return Topics(words=pd.DataFrame(word_rows, columns=["topic", "rank", "lemma", "weight"]),
                  unit_weights=weights,
                  stability=pd.DataFrame({"topic": np.arange(1, k + 1), "stability": stab}),
                  mean_stability=float(np.mean(stab)), by_class=by_class)
