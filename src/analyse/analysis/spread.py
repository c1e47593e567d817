"""How a code spreads over territories, with the uncertainty the study design allows.

:mod:`analyse.analysis.invariants` asks which codes are invariants; this module
gives it numbers that can say no:

* a **design**: the material cut into *parts* (a document, or the share of an
  inter-territory document spoken for one territory), each in a territory and a
  *stratum* (the atelier of a workshop, the kind of any other document), so that
  resampling keeps the shape of the study (one workshop per theme per town);
* a **two-stage bootstrap** of Juilland's D and of the top territory's share:
  parts are drawn with replacement within each territory × stratum cell, then
  segments within each drawn part. With one workshop per theme per town the
  first stage alone would never move; the second carries how much a workshop's
  profile depends on which turns were spoken;
* a **bias-corrected percentile interval** (BC, Efron 1987): resampling noise
  makes rates less even, so raw percentiles of D lean below the estimate; the
  correction re-centres the interval on the estimate's rank among replicates;
* **permutation tests**: territory labels shuffled between parts of the same
  stratum, to ask whether a code is more even than chance (``p_even``) or more
  concentrated in one territory than chance (``p_conc``).

Why by hand: no maintained library offers a stratified two-stage bootstrap or a
stratified label permutation over a document × code design; the arithmetic is a
few matrix products, kept vectorised over replicates.

Examples
--------
>>> import pandas as pd
>>> segs = pd.DataFrame({"segment": [f"d{i}#1" for i in range(8)], "doc": [f"d{i}" for i in range(8)],
...                      "territory": list("aabbccdd"), "atelier": ["x", "y"] * 4,
...                      "kind": "transcript", "words": 10})
>>> codes = pd.DataFrame({"segment": ["d0#1", "d2#1", "d4#1", "d6#1"], "code": "C"})
>>> design = build_design(segs, codes)
>>> design.codes, design.territories
(['C'], ['a', 'b', 'c', 'd'])
>>> float(observed_spread(design)["D"].iloc[0])
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from analyse.analysis.dispersion import juilland_d


def normal_ppf(q):
    """The standard normal quantile (``scipy.stats.norm.ppf``), imported on first use: reports that
    only read stored results never pay scipy.stats' import."""
    from scipy.special import ndtri
    return ndtri(q)


def normal_cdf(x):
    """The standard normal CDF (``scipy.stats.norm.cdf``)."""
    from scipy.special import ndtr
    return ndtr(x)


@dataclass
class Design:
    """Segments × codes of a material with the study design (parts, territories, strata).

    ``x[s, c]`` is the frequency of code ``c`` on segment ``s`` (1 per coded
    segment, or the segment's words with ``unit="words"``), ``size[s]`` the
    segment's size in the same unit and ``present[s, c]`` the coded-segment
    indicator whatever the unit.
    """

    codes: list[str]
    territories: list[str]
    segment_part: np.ndarray       # part index of each segment
    part_territory: np.ndarray     # territory index of each part
    part_cell: np.ndarray          # index of the territory × stratum cell of each part
    part_stratum: np.ndarray       # stratum index of each part (for permutations)
    x: np.ndarray
    present: np.ndarray
    size: np.ndarray

    @property
    def n_parts(self) -> int:
        return len(self.part_territory)

    def part_sums(self, matrix: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_parts,) + matrix.shape[1:])
        np.add.at(out, self.segment_part, matrix)
        return out


def stratum_of(frame: pd.DataFrame) -> pd.Series:
    """A workshop's stratum is its atelier; any other document's is its kind."""
    atelier = frame.get("atelier", pd.Series("none", index=frame.index)).fillna("none").astype(str)
    kind = frame.get("kind", pd.Series("document", index=frame.index)).fillna("document").astype(str)
    return pd.Series(np.where((kind == "transcript") & (atelier != "none"), "atelier:" + atelier,
                              "kind:" + kind), index=frame.index)


def build_design(segments: pd.DataFrame, codes: pd.DataFrame, unit: str = "segments",
                 code_list: Sequence[str] | None = None) -> Design:
    """The :class:`Design` of a material's segments and the codes retained on them.

    ``segments`` needs ``segment, doc, territory`` (and ``atelier, kind, words``
    where known); ``codes`` needs ``segment, code``. Segments without a territory
    (a facilitator of an inter-territory workshop) are left out.
    """
    # A fixed order (not the caller's) so that resampling, hence intervals, do not depend on row order.
    keys = ["doc", "n", "segment"] if "n" in segments else ["doc", "segment"]
    segs = segments[segments["territory"].notna()].sort_values(keys, kind="stable").reset_index(drop=True)
    part_key = segs["doc"].astype(str) + "@" + segs["territory"].astype(str)
    parts = pd.Index(pd.unique(part_key))
    segment_part = parts.get_indexer(part_key)
    first = segs.assign(part=segment_part).groupby("part", sort=True).first()
    territories = sorted(segs["territory"].astype(str).unique())
    t_index = pd.Index(territories)
    part_territory = t_index.get_indexer(first["territory"].astype(str))
    stratum = stratum_of(first)
    strata = pd.Index(sorted(stratum.unique()))
    part_stratum = strata.get_indexer(stratum)
    part_cell = part_territory * len(strata) + part_stratum

    code_list = list(code_list) if code_list is not None else sorted(codes["code"].unique())
    kept = codes[codes["code"].isin(code_list) & codes["segment"].isin(segs["segment"])]
    rows = pd.Index(segs["segment"]).get_indexer(kept["segment"])
    cols = pd.Index(code_list).get_indexer(kept["code"])
    present = np.zeros((len(segs), len(code_list)))
    np.add.at(present, (rows, cols), 1.0)
    present = np.minimum(present, 1.0)
    words = segs["words"].to_numpy(dtype=float) if "words" in segs else np.ones(len(segs))
    if unit == "words":
        x, size = present * words[:, None], words
    else:
        x, size = present, np.ones(len(segs))
    return Design(codes=code_list, territories=territories, segment_part=segment_part,
                  part_territory=part_territory, part_cell=part_cell, part_stratum=part_stratum,
                  x=x, present=present, size=size)


def _spread_from_territory_sums(freq: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """D and top share along the territory axis (-2) of ``freq`` (…, territories, codes)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = freq / size[..., None]
        d = juilland_d(rates, axis=-2)
        total = rates.sum(axis=-2)
        top = np.where(total > 0, rates.max(axis=-2) / total, np.nan)
    return np.asarray(d), np.asarray(top)


def observed_spread(design: Design) -> pd.DataFrame:
    """Per code: coded segments, territories where present, D and the top territory's share."""
    t = design.part_territory[design.segment_part]
    n_t = len(design.territories)
    freq = np.zeros((n_t, len(design.codes)))
    np.add.at(freq, t, design.x)
    seg = np.zeros((n_t, len(design.codes)))
    np.add.at(seg, t, design.present)
    size = np.bincount(t, weights=design.size, minlength=n_t).astype(float)
    d, top = _spread_from_territory_sums(freq, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = freq / size[:, None]
    top_t = rates.argmax(axis=0) if len(design.codes) else np.array([], dtype=int)
    return pd.DataFrame({
        "code": design.codes, "segments": seg.sum(axis=0).astype(int),
        "territories": (seg > 0).sum(axis=0).astype(int),
        "min_territory_segments": seg.min(axis=0, initial=np.inf).astype(int) if n_t else 0,
        "top_territory": [design.territories[i] for i in top_t], "top_share": top, "D": d,
    })


def two_stage_weights(design: Design, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap weight of every segment in every replicate (``n_boot × segments``)."""
    n_parts = design.n_parts
    part_w = np.zeros((n_boot, n_parts))
    for cell in np.unique(design.part_cell):
        members = np.flatnonzero(design.part_cell == cell)
        k = len(members)
        part_w[:, members] = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)
    seg_w = np.zeros((n_boot, len(design.segment_part)))
    for p in range(n_parts):
        members = np.flatnonzero(design.segment_part == p)
        k = len(members)
        seg_w[:, members] = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)
    return seg_w * part_w[:, design.segment_part]


def bootstrap_spread(design: Design, n_boot: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Replicates of D and of the top share: two arrays ``n_boot × codes``."""
    rng = np.random.default_rng(seed)
    w = two_stage_weights(design, n_boot, rng)
    t = design.part_territory[design.segment_part]
    n_t = len(design.territories)
    freq = np.zeros((n_boot, n_t, len(design.codes)))
    size = np.zeros((n_boot, n_t))
    for k in range(n_t):
        sel = t == k
        freq[:, k, :] = w[:, sel] @ design.x[sel]
        size[:, k] = w[:, sel] @ design.size[sel]
    return _spread_from_territory_sums(freq, size)


def bc_interval(estimate: np.ndarray, replicates: np.ndarray, ci: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected percentile interval of each column (NaN replicates ignored).

    ``z0 = Φ⁻¹(share of replicates below the estimate)``, the share clipped to
    ``[1/(B+1), B/(B+1)]`` so that a code whose every replicate lies below its
    estimate (D near 1) keeps a finite, honest interval; the percentiles read
    are ``Φ(2 z0 ± z)``.
    """
    z = normal_ppf(0.5 + ci / 2.0)
    low = np.full(replicates.shape[1], np.nan)
    high = np.full(replicates.shape[1], np.nan)
    for j in range(replicates.shape[1]):
        r = replicates[:, j]
        r = r[~np.isnan(r)]
        if not len(r) or np.isnan(estimate[j]):
            continue
        b = len(r)
        below = (np.sum(r < estimate[j]) + 0.5 * np.sum(r == estimate[j])) / b
        z0 = normal_ppf(np.clip(below, 1.0 / (b + 1), b / (b + 1.0)))
        lo_q, hi_q = normal_cdf(2 * z0 - z), normal_cdf(2 * z0 + z)
        lo, hi = np.quantile(r, [lo_q, hi_q])
        # When (almost) every replicate lies on one side, the corrected interval can step past the
        # estimate; it is then widened to reach it, so that an interval never excludes its own estimate.
        low[j], high[j] = min(lo, estimate[j]), max(hi, estimate[j])
    return low, high


def permutation_pvalues(design: Design, n_perm: int = 999, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(p_even, p_conc)`` per code: territory labels shuffled between parts of one stratum.

    ``p_even`` is the share of permutations whose D is at least the observed
    one (small: more even than chance); ``p_conc`` the share whose top share is
    at least the observed one (small: more concentrated than chance). Both use
    the ``(1 + k) / (1 + n)`` convention so that no p-value is 0.
    """
    obs = observed_spread(design)
    d_obs = obs["D"].to_numpy(dtype=float)
    top_obs = obs["top_share"].to_numpy(dtype=float)
    part_x = design.part_sums(design.x)
    part_size = design.part_sums(design.size[:, None])[:, 0]
    rng = np.random.default_rng(seed)
    n_t = len(design.territories)
    ge_d = np.zeros(len(design.codes))
    ge_top = np.zeros(len(design.codes))
    groups = [np.flatnonzero(design.part_stratum == s) for s in np.unique(design.part_stratum)]
    for _ in range(n_perm):
        labels = design.part_territory.copy()
        for members in groups:
            labels[members] = labels[rng.permutation(members)]
        freq = np.zeros((n_t, len(design.codes)))
        np.add.at(freq, labels, part_x)
        d, top = _spread_from_territory_sums(freq, np.bincount(labels, weights=part_size, minlength=n_t))
        with np.errstate(invalid="ignore"):
            ge_d += d >= d_obs - 1e-12
            ge_top += top >= top_obs - 1e-12
    p_even = (1.0 + ge_d) / (1.0 + n_perm)
    p_conc = (1.0 + ge_top) / (1.0 + n_perm)
    undefined = np.isnan(d_obs)
    p_even[undefined] = np.nan
    p_conc[undefined] = np.nan
    return p_even, p_conc
