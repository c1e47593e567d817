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
                                       NO_ROLE, Material, _check_choice, coded_material, material_from_frames,
                                       restrict_territories)
from analyse.analysis.dispersion import _snap, juilland_d, shannon_evenness  # noqa: F401
from analyse.analysis.spread import bc_interval, bootstrap_spread, build_design, observed_spread, permutation_pvalues
from analyse.textutil import check_choice  # noqa: F401

UNITS = ("segments", "words")
# Valences of a coding that count against a balise (see the codebook README).
VALENCES_AGAINST = ("mise en échec", "contestée")
GROUPINGS = ("territory", "role", "atelier")
# With fewer than two territories to compare, no code can be classed.
UNCLASSIFIED = "non classé"

# ---------------------------------------------------------------------------
# 2. Code × territory tables
# ---------------------------------------------------------------------------

def _grouping(by: str | Sequence[str]) -> list[str]:
    by = [by] if isinstance(by, str) else list(by)
    for b in by:
        check_choice("by", b, GROUPINGS)
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

@dataclass(frozen=True)
class Thresholds:
    """Rules of :func:`classify`, with the reasons for their defaults (``[method]`` in balises.toml).

    Applied in this order; the first that holds wins:

    1. **rare**: fewer than ``min_segments`` coded segments in the whole
       material (default 5: one segment more or less then moves a territory's
       share by 20 % or more).
    2. **indéterminé**: the spread cannot be measured (fewer than two
       territories in the material).
    3. **invariant robuste**: present in *every* territory with at least
       ``min_per_territory`` coded segments, the *lower* bound of D's
       bias-corrected interval at least ``d_inv`` (default 0.7: rates 4:3:2:1
       give D ≈ 0.74, 5:2:2:1 give D ≈ 0.65), not more concentrated than chance
       (``p_conc ≥ alpha``), and never told as failing.
    4. **invariant probable**: present everywhere and the *point* estimate of D
       at least ``d_inv``, but the interval or a failure story does not allow more.
    5. **singulier**: more concentrated in one territory than chance
       (``p_conc < alpha``) with the top territory holding at least the share
       :meth:`s_sing_for` gives (``s_sing`` = 0.6 with four territories: more
       than the three others together, a rate 4.5 times the others' mean; the
       same ratio of rates for any number of territories), or the *upper*
       bound of D below ``d_sing``.
    6. **partagé**: everything else.

    A code whose coding is *peu fiable* (alpha below ``min_reliability`` on the
    team's double-coded sample) cannot be invariant or singular: it becomes
    **indéterminé**, with the reason.
    """

    min_segments: int = 5
    min_per_territory: int = 2
    d_inv: float = 0.7
    s_sing: float = 0.6
    d_sing: float = 0.3
    alpha: float = 0.05
    min_reliability: float = 0.667

    def as_dict(self) -> dict:
        return asdict(self)

    def s_sing_for(self, n_territories: int) -> float:
        """The top-share bar for ``n`` territories: the same ratio of the top rate to the others' mean
        rate as ``s_sing`` gives with four territories (0.6 → 4.5 times).

        >>> round(Thresholds().s_sing_for(4), 3), round(Thresholds().s_sing_for(10), 3)
        (0.6, 0.333)
        """
        k = self.s_sing * 3.0 / (1.0 - self.s_sing)
        return k / (k + max(n_territories, 2) - 1)

    def describe(self) -> list[str]:
        """The rule in five French lines, for reports."""
        def fr(x: float) -> str:   # French decimal comma
            return f"{x:g}".replace(".", ",")
        return [
            f"rare : moins de {self.min_segments} segments codés ; indéterminé : dispersion non mesurable, "
            "ou codage peu fiable là où il faudrait conclure",
            f"invariant robuste : présent partout (au moins {self.min_per_territory} segments par territoire), "
            f"borne basse de D ≥ {fr(self.d_inv)}, pas plus concentré que le hasard, jamais raconté en échec",
            f"invariant probable : présent partout et D ≥ {fr(self.d_inv)}, sans que l'intervalle ou les échecs "
            "permettent davantage",
            f"singulier : plus concentré qu'au hasard (p < {fr(self.alpha)}) avec un territoire dominant, ou "
            f"borne haute de D < {fr(self.d_sing)}",
            "partagé : tout le reste ; D est l'indice de Juilland, son intervalle un bootstrap à deux niveaux "
            "(documents par atelier, puis segments), corrigé du biais ; un code peu fiable "
            f"(alpha < {fr(self.min_reliability)}) n'est jamais invariant ni singulier",
        ]


CLASSES = ("invariant robuste", "invariant probable", "partagé", "singulier", "rare", "indéterminé")


def is_invariant(classes: pd.Series) -> pd.Series:
    """True for both invariant classes (robuste, probable)."""
    return classes.astype(str).str.startswith("invariant")


def classify(summary: pd.DataFrame, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Class and reason of each row of an invariance summary (rules in :class:`Thresholds`).

    ``summary`` needs ``segments, territories, n_territories,
    min_territory_segments, D, D_low, D_high, top_share, p_conc`` and may
    carry ``failing`` (territories where the code is told as failing) and
    ``reliability`` (*fiable*, *peu fiable*, *non mesurée*).

    Examples
    --------
    >>> s = pd.DataFrame({"segments": [40, 3, 30], "territories": [4, 1, 4], "n_territories": 4,
    ...                   "min_territory_segments": [8, 0, 6], "D": [0.9, 0.0, 0.8],
    ...                   "D_low": [0.8, 0.0, 0.5], "D_high": [0.95, 0.0, 0.9],
    ...                   "top_share": [0.3, 1.0, 0.3], "p_conc": [0.6, 0.1, 0.5]})
    >>> classify(s)["class"].tolist()
    ['invariant robuste', 'rare', 'invariant probable']
    """
    t = thresholds or Thresholds()
    d = summary["D"].astype(float)
    low, high = summary["D_low"].astype(float), summary["D_high"].astype(float)
    p_conc = summary["p_conc"].astype(float)
    n = summary["n_territories"].astype(int)
    failing = summary["failing"] if "failing" in summary else pd.Series("", index=summary.index)
    fails = failing.fillna("").astype(str) != ""
    rare = summary["segments"] < t.min_segments
    undetermined = (n < 2) | d.isna()
    everywhere = ((summary["territories"] == n) & (summary["min_territory_segments"] >= t.min_per_territory))
    concentrated = p_conc < t.alpha
    robust = everywhere & (low >= t.d_inv) & ~concentrated & ~fails
    probable = everywhere & (d >= t.d_inv)
    s_bar = n.map(t.s_sing_for)
    singular = (concentrated & (summary["top_share"] >= s_bar)) | (high < t.d_sing)
    cls = np.select([rare, undetermined, robust, probable, singular],
                    ["rare", "indéterminé", "invariant robuste", "invariant probable", "singulier"], "partagé")
    reason = np.select(
        [rare, undetermined, robust, probable & fails, probable, singular],
        ["trop peu de segments codés", "moins de deux territoires",
         "présent partout, intervalle de D au-dessus du seuil",
         "présent partout mais raconté en échec ou contesté : " + failing.fillna("").astype(str),
         "présent partout, D au-dessus du seuil mais intervalle trop large",
         "concentré dans un territoire"], "présent dans plusieurs territoires")
    out = pd.DataFrame({"class": cls, "reason": reason}, index=summary.index)
    if "reliability" in summary:
        weak = (summary["reliability"] == "peu fiable") & out["class"].isin(
            ["invariant robuste", "invariant probable", "singulier"])
        out.loc[weak, "reason"] = "codage peu fiable (accord entre codeurs insuffisant) : " + out.loc[weak, "class"]
        out.loc[weak, "class"] = "indéterminé"
    return out


INVARIANCE_COLUMNS = ["code", "label", "segments", "territories", "min_territory_segments",
                      "top_territory", "top_share", "D", "D_low", "D_high", "entropy",
                      "p_even", "p_conc", "reliability", "alpha", "failing", "class", "reason"]


def _failing(material: Material, level: str, design_territories: list[str]) -> dict[str, str]:
    """``{code: "territory, territory"}`` where a coding of the code carries a failing/contested valence."""
    codes = material.codes
    if "valence" not in codes or codes["valence"].isna().all():
        return {}
    bad = codes[codes["valence"].isin(VALENCES_AGAINST)]
    if level == "dimension":
        bad = bad.assign(code=bad["dimension"])
    bad = bad.merge(material.segments[["segment", "territory"]], on="segment")
    return {code: ", ".join(sorted(set(g["territory"].astype(str)))) for code, g in bad.groupby("code")}


def invariance_table(material: Material, level: str = "code", unit: str = "segments",
                     n_boot: int = 500, seed: int = 0, ci: float = 0.95,
                     thresholds: Thresholds | None = None, codes: Sequence[str] | None = None,
                     labels: dict[str, str] | None = None, n_perm: int = 999,
                     reliability: pd.DataFrame | None = None, min_coded_segments: int = 0) -> pd.DataFrame:
    """Spread of every code over territories, with an interval, a permutation test and a class.

    Parameters
    ----------
    material : Material
    level : {"code", "dimension"}
        At ``"dimension"`` the ``code`` column holds dimension ids.
    unit : {"segments", "words"}
        Frequencies in coded segments (default) or coded words.
    n_boot : int
        Replicates of the two-stage bootstrap (:func:`analyse.analysis.spread.bootstrap_spread`); 0 for none.
    seed : int
        Seed of the resampling and of the permutations.
    ci : float
        Coverage of the bias-corrected interval of D.
    n_perm : int
        Permutations of territory labels within strata (0 for none: no code is then robust or singular
        on the test).
    reliability : DataFrame, optional
        :func:`analyse.reliability.per_code.code_reliability` of the team's double-coded sample; without
        it every code's reliability is « non mesurée ».
    min_coded_segments : int
        Territories with fewer coded segments than this (balises.toml,
        ``[analysis] min_coded_segments``) are left out of the computation, so
        that one barely coded territory does not shift every class; they are
        listed in ``df.attrs["excluded_territories"]``. With fewer than two
        territories left, every code is « non classé ».

    Returns
    -------
    DataFrame
        One row per code (columns :data:`INVARIANCE_COLUMNS`), sorted by class then D. ``df.attrs``
        holds the thresholds, their description in French, the territories and the settings.
    """
    thresholds = thresholds or Thresholds()
    _check_choice("unit", unit, UNITS)
    sizes = material.segments.groupby("territory").size()
    excluded = sorted(sizes[sizes < min_coded_segments].index)
    if excluded:
        material = restrict_territories(material, [t for t in sizes.index if t not in excluded])
    attrs = {"thresholds": thresholds.as_dict(), "rule": thresholds.describe(), "level": level, "unit": unit,
             "n_boot": n_boot, "n_perm": n_perm, "seed": seed, "ci": ci, "excluded_territories": excluded,
             "min_coded_segments": min_coded_segments, "reliability_measured": reliability is not None
             and not reliability.empty}
    if material.segments.empty:
        table = pd.DataFrame(columns=INVARIANCE_COLUMNS)
        table.attrs.update({**attrs, "territories": []})
        return table
    coded = material.at_level(level)
    design = build_design(material.segments, coded, unit=unit, code_list=codes)
    obs = observed_spread(design)
    d = obs["D"].to_numpy(dtype=float)
    if n_boot > 0 and len(design.codes):
        d_boot, _ = bootstrap_spread(design, n_boot=n_boot, seed=seed)
        d_low, d_high = bc_interval(d, d_boot, ci)
    else:
        d_low = d_high = np.full(len(design.codes), np.nan)
    if n_perm > 0 and len(design.codes):
        p_even, p_conc = permutation_pvalues(design, n_perm=n_perm, seed=seed)
    else:
        p_even = p_conc = np.full(len(design.codes), np.nan)
    t_index = design.part_territory[design.segment_part]
    n_t = len(design.territories)
    freq = np.zeros((n_t, len(design.codes)))
    np.add.at(freq, t_index, design.x)
    size = np.bincount(t_index, weights=design.size, minlength=n_t).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        entropy = shannon_evenness(freq / size[:, None], axis=0) if len(design.codes) else np.array([])
    labels = labels or {}
    rel = {} if reliability is None or reliability.empty else reliability.set_index("code")
    failing = _failing(material, level, design.territories)
    table = obs.assign(
        label=[labels.get(c, "") for c in design.codes], n_territories=n_t,
        D_low=d_low, D_high=d_high, entropy=entropy, p_even=p_even, p_conc=p_conc,
        reliability=[("non mesurée" if len(rel) == 0 else rel["status"].get(c, "peu fiable"))
                     for c in design.codes],
        alpha=[(np.nan if len(rel) == 0 else rel["alpha"].get(c, np.nan)) for c in design.codes],
        failing=[failing.get(c, "") for c in design.codes])
    table = pd.concat([table, classify(table, thresholds)], axis=1)
    if n_t < 2:
        table["class"], table["reason"] = UNCLASSIFIED, "moins de deux territoires à comparer"
    rank = {c: i for i, c in enumerate(CLASSES)}
    table = table.sort_values(["class", "D", "code"],
                              key=lambda s: s.map(lambda c: rank.get(c, len(rank))) if s.name == "class" else s,
                              ascending=[True, False, True], na_position="last", ignore_index=True)
    table = table[INVARIANCE_COLUMNS]
    table.attrs.update({**attrs, "territories": design.territories})
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


def saturation(material: Material, documents: pd.DataFrame, level: str = "code") -> pd.DataFrame:
    """New codes (and new code × valence pairs) as documents are added in date order.

    ``documents`` needs ``doc`` and ``date`` (e.g. :func:`analyse.model.corpus.documents_frame`).
    One row per (scope, step): ``scope`` is a territory or ``"ensemble"``, ``step`` the number of that
    scope's documents read so far, with the document, its date, the codes seen for the first time
    (``new``) and the running total (``cumulative``); likewise ``new_valences``. A curve that flattens
    tells a team that its corpus has stopped bringing new codes.

    Examples
    --------
    >>> saturation(material, documents_frame(corpus)).query("scope == 'ensemble'").tail(1)  # doctest: +SKIP
    """
    coded = material.at_level(level).merge(material.segments[["segment", "doc", "territory"]], on="segment")
    if "valence" in material.codes and level == "code":
        coded = coded.merge(material.codes[["segment", "code", "valence"]], on=["segment", "code"], how="left")
    else:
        coded["valence"] = "à l'œuvre"
    order = (documents[documents["doc"].isin(material.segments["doc"])][["doc", "date"]]
             .assign(date=lambda f: f["date"].astype(str)).sort_values(["date", "doc"]))
    scopes = [("ensemble", None)] + [(t, t) for t in material.territories]
    rows = []
    for scope, territory in scopes:
        part = coded if territory is None else coded[coded["territory"] == territory]
        docs = order
        if territory is not None:   # documents where the territory speaks, coded or not
            spoken = set(material.segments.loc[material.segments["territory"] == territory, "doc"])
            docs = order[order["doc"].isin(spoken)]
        seen: set[str] = set()
        seen_val: set[tuple[str, str]] = set()
        for step, (doc, date) in enumerate(docs.itertuples(index=False), start=1):
            here = part[part["doc"] == doc]
            codes = set(here["code"])
            pairs = set(zip(here["code"], here["valence"].fillna("à l'œuvre")))
            rows.append({"scope": scope, "step": step, "doc": doc, "date": date,
                         "new": len(codes - seen), "cumulative": len(seen | codes),
                         "new_valences": len(pairs - seen_val), "cumulative_valences": len(seen_val | pairs)})
            seen |= codes
            seen_val |= pairs
    return pd.DataFrame(rows, columns=["scope", "step", "doc", "date", "new", "cumulative",
                                       "new_valences", "cumulative_valences"])
