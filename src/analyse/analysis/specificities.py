"""Vocabulary specific to each territory, vocabulary shared by all, and named entities.

The codes say *what* recurs; the words say *how each place says it*. A lemma
over-represented in one territory is part of its flesh (its places, projects,
local idioms); a frequent lemma used at the same rate everywhere is a
candidate for the shared skeleton.

Input is the token frame of the NLP layer (:mod:`analyse.nlp`): one row per
token with ``segment, i, text, lemma, pos, is_stop, ent_type``, and a frame
giving each segment's ``territory``. Only content words count: ``pos`` in
NOUN, PROPN, VERB, ADJ, not stop words, with at least one letter. Lemmas are
lower-cased, except proper nouns, which keep their capital.

Two measures compare the lemma's frequency ``a`` in a territory of ``T``
content tokens with its frequency ``f`` in the whole corpus of ``N``:

* **log-likelihood G²** (Dunning 1993) of the 2 × 2 table
  ``[[a, T − a], [f − a, N − T − (f − a)]]``::

      G² = 2 Σ O ln(O / E),   E = row total × column total / N

  signed: positive when ``a`` exceeds its expectation ``f T / N``
  (over-represented), negative otherwise. |G²| ≥ 3.84 ↔ p < 0.05, ≥ 10.83 ↔
  p < 0.001 (χ² with one degree of freedom).
* **Lafon's specificity** (Lafon 1980, as in Lexico and TXM): under the
  hypergeometric model (drawing ``T`` tokens out of ``N`` of which ``f`` are
  the lemma), the probability of a frequency at least as extreme::

      a ≥ f T / N :  spec = −log10 P(X ≥ a)   (positive: over-represented)
      a <  f T / N :  spec = +log10 P(X ≤ a)   (negative: under-represented)

  computed with ``scipy.stats.hypergeom`` in log space, so tails as small as
  1e-300 stay finite. |spec| ≥ 2 means a probability below 1 %, the usual
  "specific" threshold of TXM.

Examples
--------
>>> spec = specificities(tokens, segments)          # doctest: +SKIP
>>> territory_flesh(spec, n=10)                     # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyse.errors import UsageError
from analyse.messages import msg

CONTENT_POS = ("NOUN", "PROPN", "VERB", "ADJ")
SPEC_COLUMNS = ["territory", "lemma", "pos", "f", "f_total", "territory_size", "corpus_size",
                "expected", "g2", "specificity"]
TOKEN_COLUMNS = ("segment", "lemma", "pos", "is_stop")
# |specificity| >= 2: a probability under 1 %, TXM's default threshold.
SPECIFIC = 2.0


def _territory_of(segments: pd.DataFrame | dict) -> pd.Series:
    if isinstance(segments, dict):
        return pd.Series(segments, name="territory")
    missing = {"segment", "territory"} - set(segments.columns)
    if missing:
        raise UsageError(msg("spec.segments_columns", columns=", ".join(sorted(missing))))
    return segments.drop_duplicates("segment").set_index("segment")["territory"]


def content_lemmas(tokens: pd.DataFrame, pos: tuple[str, ...] = CONTENT_POS) -> pd.DataFrame:
    """Content-word tokens with a normalised lemma: ``segment, lemma, pos``.

    Examples
    --------
    >>> t = pd.DataFrame({"segment": "s", "lemma": ["Le", "Projet", "Mené", "de", "42"],
    ...                   "pos": ["DET", "NOUN", "PROPN", "ADP", "NUM"], "is_stop": [True, False, False, True, False]})
    >>> content_lemmas(t)["lemma"].tolist()
    ['projet', 'Mené']
    """
    missing = set(TOKEN_COLUMNS) - set(tokens.columns)
    if missing:
        raise UsageError(msg("spec.tokens_columns", columns=", ".join(sorted(missing))),
                         hint=msg("spec.tokens_columns_hint"))
    keep = tokens["pos"].isin(pos) & ~tokens["is_stop"].astype(bool)
    t = tokens.loc[keep, ["segment", "lemma", "pos"]]
    t = t[t["lemma"].astype(str).str.contains(r"[^\W\d_]", regex=True)]
    lemma = t["lemma"].astype(str).str.strip()
    # Proper nouns keep their capital (Lens the town, not lens); others are lower-cased.
    lemma = lemma.where(t["pos"] == "PROPN", lemma.str.lower())
    return pd.DataFrame({"segment": t["segment"].to_numpy(), "lemma": lemma.to_numpy(),
                         "pos": t["pos"].to_numpy()})


def lemma_counts(tokens: pd.DataFrame, segments: pd.DataFrame | dict) -> pd.DataFrame:
    """Frequency of each content lemma per territory: ``territory, lemma, pos, f``.

    ``pos`` is the lemma's most frequent part of speech (ties: alphabetical).

    Examples
    --------
    >>> lemma_counts(tokens, segments).head()   # doctest: +SKIP
    """
    words = content_lemmas(tokens)
    territory = _territory_of(segments)
    # A facilitator of an inter-territory workshop speaks for no territory: the segment is known, its
    # territory empty; those words belong to no territory's vocabulary.
    known = words["segment"].isin(territory.index)
    words["territory"] = words["segment"].map(territory)
    words = words[~(known & words["territory"].isna())]
    lost = words["territory"].isna()
    if lost.any():
        raise UsageError(msg("spec.no_territory", n=words.loc[lost, "segment"].nunique(),
                             example=words.loc[lost, "segment"].iloc[0]), hint=msg("spec.no_territory_hint"))
    counts = words.groupby(["territory", "lemma"], as_index=False, sort=True).size().rename(columns={"size": "f"})
    pos = (words.groupby(["lemma", "pos"], as_index=False).size()
           .sort_values(["lemma", "size", "pos"], ascending=[True, False, True])
           .drop_duplicates("lemma").set_index("lemma")["pos"])
    counts["pos"] = counts["lemma"].map(pos)
    return counts[["territory", "lemma", "pos", "f"]]


def log_likelihood(a, f, t, n) -> np.ndarray:
    """Signed Dunning G² of frequency ``a`` in a part of size ``t``, total ``f`` in ``n``.

    Vectorised over arrays. Positive when ``a > f t / n``.

    Examples
    --------
    >>> round(float(log_likelihood(30, 40, 100, 200)), 4)
    12.9715
    """
    from scipy.special import xlogy   # here: reading stored results never imports scipy
    a, f, t, n = (np.asarray(x, dtype=float) for x in (a, f, t, n))
    observed = (a, t - a, f - a, n - t - f + a)
    expected = (f * t / n, (n - f) * t / n, f * (n - t) / n, (n - f) * (n - t) / n)
    # xlogy gives 0 for an empty cell (0 ln 0 = 0) without a warning.
    g2 = 2.0 * sum(xlogy(o, o) - xlogy(o, e) for o, e in zip(observed, expected))
    g2 = np.maximum(g2, 0.0)
    return np.where(a >= f * t / n, g2, -g2)[()]


def lafon_specificity(a, f, t, n) -> np.ndarray:
    """Signed Lafon specificity: ``−log10 P(X ≥ a)`` above expectation, ``log10 P(X ≤ a)`` below.

    ``X`` follows the hypergeometric law of ``t`` draws from ``n`` tokens of
    which ``f`` are the lemma. Vectorised over arrays.

    Examples
    --------
    >>> round(float(lafon_specificity(3, 3, 3, 6)), 4)     # P(X ≥ 3) = 1/20
    1.301
    >>> round(float(lafon_specificity(0, 3, 3, 6)), 4)     # P(X ≤ 0) = 1/20
    -1.301
    """
    from scipy.stats import hypergeom   # here: its import alone takes a second or two
    a, f, t, n = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, f, t, n)))
    shape = a.shape
    # Many cells share the same (a, f, t, n) (rare lemmas, Zipf's law): each
    # distinct table is computed once, which keeps the cost nearly flat as the
    # corpus grows.
    keys, inverse = np.unique(np.stack([a.ravel(), f.ravel(), t.ravel(), n.ravel()], axis=1),
                              axis=0, return_inverse=True)
    ua, uf, ut, un = keys.T
    over = ua >= uf * ut / un
    spec = np.empty(len(keys))
    with np.errstate(divide="ignore"):
        # P(X ≥ a) = sf(a − 1) above expectation, P(X ≤ a) = cdf(a) below; the
        # plain tails are fast and exact down to ~1e-300, the log forms (slower)
        # take over where they underflow.
        p_up = hypergeom.sf(ua[over] - 1, un[over], uf[over], ut[over])
        p_low = hypergeom.cdf(ua[~over], un[~over], uf[~over], ut[~over])
        log_up, log_low = np.log10(p_up), np.log10(p_low)
        tiny = p_up < 1e-290
        if tiny.any():
            idx = np.flatnonzero(over)[tiny]
            log_up[tiny] = hypergeom.logsf(ua[idx] - 1, un[idx], uf[idx], ut[idx]) / np.log(10)
        tiny = p_low < 1e-290
        if tiny.any():
            idx = np.flatnonzero(~over)[tiny]
            log_low[tiny] = hypergeom.logcdf(ua[idx], un[idx], uf[idx], ut[idx]) / np.log(10)
    spec[over] = -log_up
    spec[~over] = log_low
    return (spec[inverse.ravel()].reshape(shape) + 0.0)[()]


def specificities(tokens: pd.DataFrame, segments: pd.DataFrame | dict, min_f: int = 1) -> pd.DataFrame:
    """G² and Lafon specificity of every content lemma in every territory.

    Parameters
    ----------
    tokens : DataFrame
        Token frame of :mod:`analyse.nlp` (``segment, lemma, pos, is_stop`` used).
    segments : DataFrame or dict
        ``segment → territory`` (e.g. :func:`analyse.model.corpus.segments_frame`).
    min_f : int
        Lemmas with a corpus frequency below this are left out (default 1: all).

    Returns
    -------
    DataFrame
        One row per territory × lemma of the vocabulary (zeros included,
        since an absence can be specific too): ``territory, lemma, pos, f,
        f_total, territory_size, corpus_size, expected, g2, specificity``;
        sorted by territory, specificity descending, lemma.

    Examples
    --------
    >>> spec = specificities(tokens, segments_frame(corpus))   # doctest: +SKIP
    """
    counts = lemma_counts(tokens, segments)
    totals = counts.groupby("lemma")["f"].sum()
    vocab = totals[totals >= min_f].index
    counts = counts[counts["lemma"].isin(vocab)]
    sizes = counts.groupby("territory")["f"].sum()
    territories = sorted(sizes.index)
    pos = counts.drop_duplicates("lemma").set_index("lemma")["pos"]
    grid = pd.MultiIndex.from_product([territories, sorted(vocab)], names=["territory", "lemma"])
    table = (counts.set_index(["territory", "lemma"])["f"].reindex(grid, fill_value=0).reset_index())
    table["pos"] = table["lemma"].map(pos)
    table["f_total"] = table["lemma"].map(totals).astype(int)
    table["territory_size"] = table["territory"].map(sizes).astype(int)
    n = int(sizes.sum())
    table["corpus_size"] = n
    a, f, t = (table[c].to_numpy(dtype=float) for c in ("f", "f_total", "territory_size"))
    table["expected"] = f * t / n if n else np.nan
    table["g2"] = log_likelihood(a, f, t, n) if n else np.nan
    table["specificity"] = lafon_specificity(a, f, t, n) if n else np.nan
    table["f"] = table["f"].astype(int)
    return table.sort_values(["territory", "specificity", "lemma"], ascending=[True, False, True],
                             ignore_index=True)[SPEC_COLUMNS]


def territory_flesh(spec: pd.DataFrame, n: int = 20, threshold: float = SPECIFIC,
                    min_f: int = 3, pos: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Lemmas specific to one territory only: its flesh.

    A lemma belongs to territory *t*'s flesh when its specificity there is at
    least ``threshold`` and it is over-represented nowhere else (specificity
    below ``threshold`` in every other territory), with at least ``min_f``
    occurrences in *t*.

    Returns
    -------
    DataFrame
        The ``n`` most specific such lemmas per territory (rows of ``spec``),
        sorted by territory, specificity descending, lemma.

    Examples
    --------
    >>> territory_flesh(spec, n=10, pos=("PROPN",))   # doctest: +SKIP
    """
    over = spec["specificity"] >= threshold
    places = spec[over].groupby("lemma")["territory"].nunique()
    single = places[places == 1].index
    rows = spec[over & spec["lemma"].isin(single) & (spec["f"] >= min_f)]
    if pos is not None:
        rows = rows[rows["pos"].isin(pos)]
    rows = rows.sort_values(["territory", "specificity", "lemma"], ascending=[True, False, True])
    return rows.groupby("territory", sort=True).head(n).reset_index(drop=True)


def skeleton_candidates(spec: pd.DataFrame, min_f_total: int = 10, max_abs: float = SPECIFIC,
                        min_per_territory: int = 1) -> pd.DataFrame:
    """Frequent lemmas used at an even rate everywhere: candidates for the skeleton.

    A lemma qualifies when it occurs at least ``min_f_total`` times in all,
    at least ``min_per_territory`` times in every territory, and its
    |specificity| stays below ``max_abs`` in every territory (neither over-
    nor under-represented anywhere).

    Returns
    -------
    DataFrame
        ``lemma, pos, f_total, territories, max_abs_specificity``, sorted by
        frequency descending, then lemma.

    Examples
    --------
    >>> skeleton_candidates(spec).head(20)   # doctest: +SKIP
    """
    # built-in aggregations only: a Python function per lemma took most of `analyse specificities`
    g = spec.assign(abs_spec=spec["specificity"].abs(), present=spec["f"] > 0).groupby("lemma")
    summary = g.agg(pos=("pos", "first"), f_total=("f_total", "first"),
                    territories=("present", "sum"), min_f=("f", "min"),
                    max_abs_specificity=("abs_spec", "max")).reset_index()
    keep = ((summary["f_total"] >= min_f_total) & (summary["min_f"] >= min_per_territory)
            & (summary["max_abs_specificity"] < max_abs))
    out = summary[keep].sort_values(["f_total", "lemma"], ascending=[False, True], ignore_index=True)
    return out[["lemma", "pos", "f_total", "territories", "max_abs_specificity"]]


def specific_proper_nouns(spec: pd.DataFrame, threshold: float = SPECIFIC, min_f: int = 2) -> pd.DataFrame:
    """Proper-noun lemmas specific to one territory (local places, projects, people).

    Only lemmas with a capital initial are kept. Used by :mod:`analyse.privacy.decontext` to extend its gazetteer.

    Returns
    -------
    DataFrame
        ``territory, lemma, f, specificity``.

    Examples
    --------
    >>> specific_proper_nouns(spec).head()   # doctest: +SKIP
    """
    flesh = territory_flesh(spec, n=10**9, threshold=threshold, min_f=min_f, pos=("PROPN",))
    # A lower-case "proper noun" (« bourg ») is a tagging mistake, not a name.
    flesh = flesh[flesh["lemma"].str[:1].str.isupper()]
    return flesh[["territory", "lemma", "f", "specificity"]].reset_index(drop=True)


def entities_by_territory(entities: pd.DataFrame, segments: pd.DataFrame | dict,
                          texts: bool = False) -> pd.DataFrame:
    """Named entities per territory, counted by label (or by label and text).

    Parameters
    ----------
    entities : DataFrame
        Entity frame of :mod:`analyse.nlp`: ``segment, start_char, end_char, text, label``.
    segments : DataFrame or dict
        ``segment → territory``.
    texts : bool
        Count each entity text (``territory, label, text, count``) instead of
        labels only (``territory, label, count, distinct``).

    Examples
    --------
    >>> e = pd.DataFrame({"segment": ["a#1", "a#1", "b#1"], "start_char": 0, "end_char": 4,
    ...                   "text": ["Lens", "Lens", "Rouen"], "label": ["LOC", "LOC", "LOC"]})
    >>> entities_by_territory(e, {"a#1": "x", "b#1": "y"}).values.tolist()
    [['x', 'LOC', 2, 1], ['y', 'LOC', 1, 1]]
    """
    territory = _territory_of(segments)
    e = entities.assign(territory=entities["segment"].map(territory)).dropna(subset=["territory"])
    if texts:
        out = e.groupby(["territory", "label", "text"], as_index=False, sort=True).size()
        out = out.rename(columns={"size": "count"})
        return out.sort_values(["territory", "label", "count", "text"], ascending=[True, True, False, True],
                               ignore_index=True)
    out = (e.groupby(["territory", "label"], as_index=False, sort=True)
           .agg(count=("text", "size"), distinct=("text", "nunique")))
    return out
