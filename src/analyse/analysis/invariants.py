"""Which codes recur across territories: code × territory tables, dispersion, classification.

The question the toolkit asks of its codings is the référentiel's own: which
*balises* are invariants, found in every pilot territory, and which belong to
one place only. This module answers it in three steps, each a tidy DataFrame:

1. :func:`coded_material` gathers the material to analyse: the segments that
   the chosen coder(s) covered, and the codes retained on each (one coder, the
   union of several, or their majority; ``consensus`` is just another coder).
2. :func:`code_territory_table` counts coded segments and coded words per code
   and territory (optionally by speaker role or atelier), as counts and as
   shares of each territory's material: territories differ in size, so only
   shares can be compared.
3. :func:`invariance_table` measures, for every code, how evenly it spreads
   over territories (Juilland's *D* and normalised Shannon entropy of the
   size-normalised frequencies, with bootstrap confidence intervals) and sorts
   it into *invariant*, *partagé*, *singulier* or *rare* (:func:`classify`).

Formulas
--------
For a code and *n* territories, let ``f_t`` be the code's frequency in
territory *t* (coded segments, or coded words with ``unit="words"``) and
``s_t`` the territory's size (its segments, or its words). The size-normalised
frequency is ``p_t = f_t / s_t`` and its share ``q_t = p_t / Σ p``.

* Juilland's *D* (Juilland & Chang-Rodríguez 1964), computed on ``p`` so that
  parts of unequal size are comparable (as advised by Gries 2008)::

      D = 1 − (σ(p) / μ(p)) / √(n − 1)

  with σ the population standard deviation. *D* = 1 when every territory has
  the same rate, *D* = 0 when the code occurs in one territory only.
* Normalised Shannon entropy (Pielou's evenness) of the shares::

      H = −Σ q_t ln q_t / ln n          (0 ln 0 = 0)

  also 1 for an even code and 0 for a code found in one territory.

Both are undefined (NaN) for a code never seen, and for fewer than two
territories.

Examples
--------
>>> from analyse.model.corpus import load_corpus                      # doctest: +SKIP
>>> from analyse.model.codings import load_codings                    # doctest: +SKIP
>>> corpus = load_corpus("corpus")                              # doctest: +SKIP
>>> material = coded_material(corpus, load_codings(corpus), coders="A")  # doctest: +SKIP
>>> invariance_table(material)[["code", "D", "class"]].head()   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from analyse.analysis.material import (HOWS, LEVELS, MATERIAL_CODE_COLUMNS, MATERIAL_SEGMENT_COLUMNS,  # noqa: F401
                                       NO_ROLE, Material, _check_choice, coded_material, material_from_frames)

UNITS = ("segments", "words")
GROUPINGS = ("territory", "role", "atelier")
CLASSES = ("invariant", "partagé", "singulier", "rare")

# ---------------------------------------------------------------------------
# 2. Code × territory tables
# ---------------------------------------------------------------------------

def _grouping(by: str | Sequence[str]) -> list[str]:
    by = [by] if isinstance(by, str) else list(by)
    for b in by:
        _check_choice("grouping", b, GROUPINGS)
    return by


def code_territory_table(material: Material, level: str = "code",
                         by: str | Sequence[str] = "territory",
                         codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Coded segments and words per code and territory, as counts and shares.

    A segment coded with a code counts once for it, with all its words.
    Shares are of the group's own material, so territories of different sizes
    compare: ``segment_share = segments / segments_total`` and ``word_share =
    words / words_total``.

    Parameters
    ----------
    material : Material
    level : {"code", "dimension"}
        At ``"dimension"`` the ``code`` column holds dimension ids.
    by : str or list of str
        Grouping among ``territory``, ``role`` (speaker role) and ``atelier``;
        e.g. ``["territory", "role"]``.
    codes : list of str, optional
        Codes to report (in this order), e.g. every code of the codebook so
        that absent ones show as zeros. Default: the codes present, sorted.

    Returns
    -------
    DataFrame
        One row per group × code (every combination, zeros included):
        ``*by, code, segments, words, segments_total, words_total,
        segment_share, word_share``.

    Examples
    --------
    >>> segs = pd.DataFrame({"segment": ["a#1", "a#2", "b#1"], "doc": ["a", "a", "b"],
    ...                      "territory": ["x", "x", "y"], "words": [10, 30, 20]})
    >>> m = material_from_frames(segs, pd.DataFrame({"segment": ["a#1", "b#1"], "code": ["C", "C"]}))
    >>> code_territory_table(m)[["territory", "segments", "segment_share", "word_share"]].values.tolist()
    [['x', 1, 0.5, 0.25], ['y', 1, 1.0, 1.0]]
    """
    by = _grouping(by)
    segs = material.segments
    coded = material.at_level(level).merge(segs[["segment", "words", *by]], on="segment")
    totals = (segs.groupby(by, as_index=False, sort=True)
              .agg(segments_total=("segment", "size"), words_total=("words", "sum")))
    counts = (coded.groupby([*by, "code"], as_index=False, sort=True)
              .agg(segments=("segment", "size"), words=("words", "sum")))
    code_list = list(codes) if codes is not None else sorted(coded["code"].unique())
    grid = totals.merge(pd.DataFrame({"code": pd.Series(code_list, dtype=object)}), how="cross")
    table = grid.merge(counts, on=[*by, "code"], how="left")
    table[["segments", "words"]] = table[["segments", "words"]].fillna(0).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["segment_share"] = table["segments"] / table["segments_total"]
        table["word_share"] = table["words"] / table["words_total"].where(table["words_total"] > 0)
    order = {c: i for i, c in enumerate(code_list)}
    table = table.sort_values([*by, "code"], key=lambda s: s.map(order) if s.name == "code" else s,
                              ignore_index=True)
    return table[[*by, "code", "segments", "words", "segments_total", "words_total",
                  "segment_share", "word_share"]]


def share_matrix(table: pd.DataFrame, value: str = "segment_share",
                 columns: str = "territory") -> pd.DataFrame:
    """Pivot a :func:`code_territory_table` into a code × territory matrix (wide, for display).

    Examples
    --------
    >>> share_matrix(code_territory_table(material))   # doctest: +SKIP
    """
    order = list(dict.fromkeys(table["code"]))
    wide = table.pivot_table(index="code", columns=columns, values=value, aggfunc="sum", sort=True)
    return wide.reindex(order)


# ---------------------------------------------------------------------------
# 3. Dispersion, bootstrap and classification
# ---------------------------------------------------------------------------

def juilland_d(rates: np.ndarray, axis: int = -1) -> np.ndarray:
    """Juilland's D of size-normalised frequencies along ``axis`` (territories).

    ``D = 1 − (σ/μ)/√(n−1)``, σ the population standard deviation. NaN when
    the code never occurs or ``n < 2``.

    Examples
    --------
    >>> float(juilland_d(np.array([0.1, 0.1, 0.1, 0.1])))
    1.0
    >>> float(juilland_d(np.array([0.3, 0.0, 0.0, 0.0])))
    0.0
    """
    rates = np.asarray(rates, dtype=float)
    n = rates.shape[axis]
    mean = rates.mean(axis=axis)
    if n < 2:
        return np.full(mean.shape, np.nan)[()]
    sd = rates.std(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = 1.0 - (sd / mean) / np.sqrt(n - 1)
    d = np.where(mean > 0, _snap(d), np.nan)
    return d[()]


def _snap(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and round float noise at the bounds (1 − 1e-16 → 1), for stable tables."""
    x = np.clip(x, 0.0, 1.0)
    x = np.where(x < 1e-12, 0.0, x)
    return np.where(x > 1.0 - 1e-12, 1.0, x)


def shannon_evenness(rates: np.ndarray, axis: int = -1) -> np.ndarray:
    """Normalised Shannon entropy ``−Σ q ln q / ln n`` of ``q = rates / Σ rates``.

    Examples
    --------
    >>> float(shannon_evenness(np.array([2.0, 2.0, 2.0])))
    1.0
    >>> float(shannon_evenness(np.array([0.0, 5.0, 0.0])))
    0.0
    """
    rates = np.asarray(rates, dtype=float)
    n = rates.shape[axis]
    total = rates.sum(axis=axis, keepdims=True)
    if n < 2:
        return np.full(np.squeeze(total, axis=axis).shape, np.nan)[()]
    with np.errstate(invalid="ignore", divide="ignore"):
        q = rates / total
        terms = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0)
        h = -terms.sum(axis=axis) / np.log(n)
    h = np.where(np.squeeze(total, axis=axis) > 0, _snap(h), np.nan)
    return h[()]


@dataclass(frozen=True)
class Thresholds:
    """Thresholds of :func:`classify`, with the reasons for their defaults.

    Rules, applied in this order (the first that holds wins):

    1. **rare**: fewer than ``min_segments`` coded segments in the whole
       material. Default 5: below that, one segment more or less moves a
       territory's share by 20 % or more, and no pattern can be read.
    2. **invariant**: present in *every* territory with at least
       ``min_per_territory`` coded segments each, and ``D ≥ d_inv``. Default
       2 segments (one occurrence may be incidental) and ``d_inv = 0.7``: with
       four territories, rates in proportions 4:3:2:1 give D ≈ 0.74 (the
       busiest territory holds 40 % of the normalised frequency: unequal but
       comparable), while 5:2:2:1 give D ≈ 0.65 (one territory as heavy as
       the three others together: not an invariant).
    3. **singulier**: the top territory holds at least ``s_sing`` of the
       size-normalised frequency (default 0.6: more than the three other
       territories together, 2.4 times its even share of 0.25 with four
       territories; e.g. 7:1:1:1, share 0.7), or ``D < d_sing`` (default 0.3:
       e.g. 8:1:1:0 gives D ≈ 0.26).
    4. **partagé**: everything else — present in several territories without
       being invariant nor dominated by one (e.g. two territories out of four,
       5:5:0:0, D ≈ 0.42; or 5:2:2:1, D ≈ 0.65).

    The defaults are calibrated for about four territories; with many more,
    ``s_sing`` should be lowered (the even share is ``1/n``).
    """

    min_segments: int = 5
    min_per_territory: int = 2
    d_inv: float = 0.7
    s_sing: float = 0.6
    d_sing: float = 0.3

    def as_dict(self) -> dict:
        return asdict(self)


def classify(summary: pd.DataFrame, thresholds: Thresholds | None = None) -> pd.Series:
    """Class of each row of an invariance summary (rules in :class:`Thresholds`).

    Parameters
    ----------
    summary : DataFrame
        Columns ``segments`` (coded segments in all), ``territories`` (where
        present), ``n_territories`` (in the material), ``min_territory_segments``
        (fewest coded segments in any territory, 0 if absent from one), ``D``
        and ``top_share``.

    Returns
    -------
    Series of str
        ``invariant``, ``partagé``, ``singulier`` or ``rare``.

    Examples
    --------
    >>> s = pd.DataFrame({"segments": [40, 3], "territories": [4, 1], "n_territories": 4,
    ...                   "min_territory_segments": [8, 0], "D": [0.9, 0.0], "top_share": [0.3, 1.0]})
    >>> classify(s).tolist()
    ['invariant', 'rare']
    """
    t = thresholds or Thresholds()
    d = summary["D"].astype(float)
    rare = summary["segments"] < t.min_segments
    everywhere = ((summary["territories"] == summary["n_territories"])
                  & (summary["min_territory_segments"] >= t.min_per_territory))
    invariant = everywhere & (d >= t.d_inv)             # NaN D (one territory) is never invariant
    singular = (summary["top_share"] >= t.s_sing) | (d < t.d_sing)
    out = np.select([rare, invariant, singular], ["rare", "invariant", "singulier"], "partagé")
    return pd.Series(out, index=summary.index, name="class")


@dataclass
class CountMatrix:
    """Document × code counts, the input of the dispersion and bootstrap.

    ``counts[d, c]`` is the frequency of code ``c`` in document ``d`` (coded
    segments or coded words), ``segment_counts`` the coded segments whatever
    the unit (for presence), ``sizes[d]`` the document's size in the unit and
    ``territory[d]`` the index of its territory in ``territories``. An
    inter-territory document gives one row per territory (``<doc>@<territory>``).
    """

    docs: list[str]
    codes: list[str]
    territories: list[str]
    territory: np.ndarray
    counts: np.ndarray
    segment_counts: np.ndarray
    sizes: np.ndarray

    def by_territory(self, matrix: np.ndarray) -> np.ndarray:
        """Sum rows of a document-level matrix (or vector) per territory."""
        out = np.zeros((len(self.territories),) + matrix.shape[1:], dtype=float)
        np.add.at(out, self.territory, matrix)
        return out


def count_matrix(material: Material, level: str = "code", unit: str = "segments",
                 codes: Sequence[str] | None = None) -> CountMatrix:
    """Build the document × code :class:`CountMatrix` of a material.

    Examples
    --------
    >>> cm = count_matrix(material, unit="words")   # doctest: +SKIP
    """
    _check_choice("unit", unit, UNITS)
    segs = material.segments
    # An inter-territory document is one row per territory it speaks for, so that each part
    # counts (and is resampled) in its own territory; other documents keep their id.
    spread = segs.groupby("doc")["territory"].transform("nunique") > 1
    segs = segs.assign(doc=segs["doc"].where(~spread, segs["doc"] + "@" + segs["territory"].astype(str)))
    docs_frame = (segs.groupby("doc", sort=True)
                  .agg(territory=("territory", "first"), segments=("segment", "size"), words=("words", "sum")))
    docs = list(docs_frame.index)
    territories = sorted(docs_frame["territory"].unique())
    t_index = {t: i for i, t in enumerate(territories)}
    coded = material.at_level(level).merge(segs[["segment", "doc", "words"]], on="segment")
    code_list = list(codes) if codes is not None else sorted(coded["code"].unique())
    coded = coded[coded["code"].isin(code_list)]
    d_index = pd.Index(docs)
    c_index = pd.Index(code_list)
    rows = d_index.get_indexer(coded["doc"])
    cols = c_index.get_indexer(coded["code"])
    seg_counts = np.zeros((len(docs), len(code_list)))
    np.add.at(seg_counts, (rows, cols), 1.0)
    if unit == "words":
        counts = np.zeros_like(seg_counts)
        np.add.at(counts, (rows, cols), coded["words"].to_numpy(dtype=float))
        sizes = docs_frame["words"].to_numpy(dtype=float)
    else:
        counts = seg_counts
        sizes = docs_frame["segments"].to_numpy(dtype=float)
    return CountMatrix(docs=docs, codes=code_list, territories=territories,
                       territory=docs_frame["territory"].map(t_index).to_numpy(),
                       counts=counts, segment_counts=seg_counts, sizes=sizes)


def bootstrap_dispersion(cm: CountMatrix, n_boot: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of D and entropy: ``(D, H)``, each ``n_boot × codes``.

    Documents are resampled with replacement *within* each territory (a
    territory keeps its number of documents), so the interval reflects how
    much a territory's profile depends on which workshops were held. The
    resampling is a multinomial weight per document, so a replicate is one
    matrix product ``weights @ counts`` instead of a loop over draws.

    Examples
    --------
    >>> d, h = bootstrap_dispersion(count_matrix(material), n_boot=200, seed=1)  # doctest: +SKIP
    """
    rng = np.random.default_rng(seed)
    n_t, n_c = len(cm.territories), len(cm.codes)
    freq = np.zeros((n_boot, n_t, n_c))
    size = np.zeros((n_boot, n_t))
    for t in range(n_t):
        members = np.flatnonzero(cm.territory == t)
        k = len(members)
        weights = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(float)
        freq[:, t, :] = weights @ cm.counts[members]
        size[:, t] = weights @ cm.sizes[members]
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = freq / size[:, :, None]
    return juilland_d(rates, axis=1), shannon_evenness(rates, axis=1)


def _interval(replicates: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each column of ``replicates`` (NaN replicates ignored).

    Why plain percentiles: a resampled territory is noisier than the observed
    one, and noise only makes rates less even, so replicates of D (and of the
    entropy) lean *below* the estimate. The percentile interval keeps that
    lean: for a near-even code it may lie a little below D, which makes
    ``D_low`` a conservative reading of invariance (``D_low ≥ d_inv`` means
    robustly invariant). A bias-corrected interval was tried and rejected:
    for D near 1 almost every replicate is below the estimate and the
    correction squeezes the interval to a misleading sliver.
    """
    alpha = (1.0 - ci) / 2.0
    low = np.full(replicates.shape[1], np.nan)
    high = np.full(replicates.shape[1], np.nan)
    valid = ~np.isnan(replicates)
    for j in np.flatnonzero(valid.any(axis=0)):
        low[j], high[j] = np.quantile(replicates[valid[:, j], j], [alpha, 1.0 - alpha])
    return low, high


INVARIANCE_COLUMNS = ["code", "label", "segments", "territories", "min_territory_segments",
                      "top_territory", "top_share", "D", "D_low", "D_high",
                      "entropy", "entropy_low", "entropy_high", "class"]


def invariance_table(material: Material, level: str = "code", unit: str = "segments",
                     n_boot: int = 500, seed: int = 0, ci: float = 0.95,
                     thresholds: Thresholds | None = None, codes: Sequence[str] | None = None,
                     labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Dispersion of every code over territories, with bootstrap intervals and a class.

    Parameters
    ----------
    material : Material
    level : {"code", "dimension"}
        At ``"dimension"`` the ``code`` column holds dimension ids.
    unit : {"segments", "words"}
        Frequencies and sizes in coded segments / segments (default: the
        coding unit) or coded words / words.
    n_boot : int
        Bootstrap replicates (documents resampled within territories); 0 for none.
    seed : int
        Seed of the resampling, for reproducible intervals.
    ci : float
        Coverage of the percentile interval (default 0.95); see
        :func:`_interval` for why it may sit slightly below D for even codes.
    thresholds : Thresholds, optional
        Classification rules; see :class:`Thresholds` for the defaults.
    codes : list of str, optional
        Codes to report; default those present in the material.
    labels : dict, optional
        ``{id: label}`` for the ``label`` column (e.g. from the codebook).

    Returns
    -------
    DataFrame
        One row per code: ``code, label, segments, territories,
        min_territory_segments, top_territory, top_share, D, D_low, D_high,
        entropy, entropy_low, entropy_high, class``, sorted by class
        (invariant, partagé, singulier, rare), then D descending, then code.
        ``df.attrs`` holds the thresholds, the territories, the unit and the
        bootstrap settings.

    Examples
    --------
    >>> table = invariance_table(material, n_boot=500, seed=0)   # doctest: +SKIP
    >>> table.loc[table["class"] == "invariant", "code"].tolist()  # doctest: +SKIP
    """
    thresholds = thresholds or Thresholds()
    cm = count_matrix(material, level=level, unit=unit, codes=codes)
    freq = cm.by_territory(cm.counts)                      # territories × codes
    seg_freq = cm.by_territory(cm.segment_counts)
    size = cm.by_territory(cm.sizes)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = freq / size[:, None]
    d = juilland_d(rates, axis=0)
    h = shannon_evenness(rates, axis=0)
    total_rate = rates.sum(axis=0)
    top = rates.argmax(axis=0) if len(cm.codes) else np.array([], dtype=int)
    with np.errstate(invalid="ignore", divide="ignore"):
        top_share = np.where(total_rate > 0, rates.max(axis=0, initial=0.0) / total_rate, np.nan)
    if n_boot > 0 and len(cm.codes):
        d_boot, h_boot = bootstrap_dispersion(cm, n_boot=n_boot, seed=seed)
        d_low, d_high = _interval(d_boot, ci)
        h_low, h_high = _interval(h_boot, ci)
    else:
        d_low = d_high = h_low = h_high = np.full(len(cm.codes), np.nan)
    labels = labels or {}
    table = pd.DataFrame({
        "code": cm.codes,
        "label": [labels.get(c, "") for c in cm.codes],
        "segments": seg_freq.sum(axis=0).astype(int),
        "territories": (seg_freq > 0).sum(axis=0).astype(int),
        "n_territories": len(cm.territories),
        "min_territory_segments": seg_freq.min(axis=0, initial=np.inf).astype(int)
        if len(cm.territories) else 0,
        "top_territory": [cm.territories[i] for i in top],
        "top_share": top_share,
        "D": d, "D_low": d_low, "D_high": d_high,
        "entropy": h, "entropy_low": h_low, "entropy_high": h_high,
    })
    table["class"] = classify(table, thresholds)
    rank = {c: i for i, c in enumerate(CLASSES)}
    table = table.sort_values(["class", "D", "code"], key=lambda s: s.map(rank) if s.name == "class" else s,
                              ascending=[True, False, True], na_position="last", ignore_index=True)
    table = table[INVARIANCE_COLUMNS]
    table.attrs.update({"thresholds": thresholds.as_dict(), "territories": cm.territories,
                        "level": level, "unit": unit, "n_boot": n_boot, "seed": seed, "ci": ci})
    return table


def codebook_labels(codebook, level: str = "code") -> dict[str, str]:
    """``{id: label}`` of a codebook's codes or dimensions (for ``labels=``).

    Examples
    --------
    >>> codebook_labels(None)
    {}
    >>> codebook_labels(load_codebook("codebook/balises.yaml"))["MGT"]   # doctest: +SKIP
    'Management coopératif et réagencement des rôles'
    """
    if codebook is None:
        return {}
    if level == "dimension":
        return dict(codebook.dimensions)
    return {cid: c.label for cid, c in codebook.codes.items()}
