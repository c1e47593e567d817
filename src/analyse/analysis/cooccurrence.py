"""Co-occurrence of codes within segments and within documents.

Two codes that keep appearing together point to balises that work as a pair
in the territories' practice (e.g. engagement and confidence). For every pair
of codes this module counts the units (segments or documents) carrying both,
and two measures that correct for how frequent each code is:

* **Jaccard** ``J = n_ab / (n_a + n_b − n_ab)``: the overlap of the two sets
  of units, from 0 (never together) to 1 (always together).
* **lift** ``L = n_ab / E_ab`` with the expected count under independence
  ``E_ab = n_a · n_b / N`` (N units, coded or not): above 1 the codes meet
  more often than chance, below 1 less often.

Examples
--------
>>> pairs = cooccurrence(material, unit="segment")        # doctest: +SKIP
>>> strongest_pairs(pairs, by="lift", n=10)               # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyse.textutil import check_choice
from analyse.analysis.material import Material

UNITS = ("segment", "document")
MEASURES = ("together", "jaccard", "lift")
PAIR_COLUMNS = ["code_a", "code_b", "n_a", "n_b", "together", "units", "expected", "jaccard", "lift"]


def incidence_matrix(material: Material, unit: str = "segment", level: str = "code") -> pd.DataFrame:
    """Units × codes matrix of 0/1: does the unit carry the code?

    Every unit of the material is a row, coded or not (the uncoded ones
    count in ``N``). With ``unit="document"`` a document carries a code when
    any of its segments does.

    Examples
    --------
    >>> incidence_matrix(material, unit="document").sum()   # doctest: +SKIP
    """
    check_choice("unit", unit, UNITS)
    coded = material.at_level(level)
    key = "segment" if unit == "segment" else "doc"
    units = sorted(material.segments[key].unique())
    if unit == "document":
        coded = coded.merge(material.segments[["segment", "doc"]], on="segment")
    codes = sorted(coded["code"].unique())
    matrix = np.zeros((len(units), len(codes)), dtype=np.int64)
    rows = pd.Index(units).get_indexer(coded[key])
    cols = pd.Index(codes).get_indexer(coded["code"])
    matrix[rows, cols] = 1
    return pd.DataFrame(matrix, index=pd.Index(units, name=unit), columns=pd.Index(codes, name="code"))


def pair_table(incidence: pd.DataFrame, min_together: int = 1) -> pd.DataFrame:
    """Co-occurrence counts, Jaccard and lift of every pair of columns of a 0/1 matrix.

    Parameters
    ----------
    incidence : DataFrame
        Units × codes, 0/1 (see :func:`incidence_matrix`).
    min_together : int
        Keep pairs found together in at least this many units (0 keeps every pair).

    Returns
    -------
    DataFrame
        One row per pair ``code_a < code_b``: ``n_a, n_b`` (units with each
        code), ``together`` (units with both), ``units`` (N), ``expected``
        (``n_a n_b / N``), ``jaccard``, ``lift``; sorted by ``code_a, code_b``.

    Examples
    --------
    >>> m = pd.DataFrame({"A": [1, 1, 0, 0], "B": [1, 0, 1, 0]})
    >>> pair_table(m)[["code_a", "code_b", "together", "expected", "jaccard", "lift"]].values.tolist()
    [['A', 'B', 1, 1.0, 0.3333333333333333, 1.0]]
    """
    incidence = incidence[sorted(incidence.columns, key=str)]       # so that code_a < code_b
    x = (incidence.to_numpy() > 0).astype(np.int64)
    n_units = x.shape[0]
    codes = [str(c) for c in incidence.columns]
    # One matrix product gives every pair's count: linear in the number of units.
    together = x.T @ x
    freq = np.diag(together)
    a, b = np.triu_indices(len(codes), k=1)
    n_ab = together[a, b]
    keep = n_ab >= min_together
    a, b, n_ab = a[keep], b[keep], n_ab[keep]
    n_a, n_b = freq[a], freq[b]
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = n_a * n_b / n_units if n_units else np.full(len(a), np.nan)
        union = n_a + n_b - n_ab
        jaccard = np.where(union > 0, n_ab / np.where(union > 0, union, 1), np.nan)
        lift = np.where(expected > 0, n_ab / np.where(expected > 0, expected, 1), np.nan)
    table = pd.DataFrame({
        "code_a": [codes[i] for i in a], "code_b": [codes[j] for j in b],
        "n_a": n_a.astype(int), "n_b": n_b.astype(int), "together": n_ab.astype(int),
        "units": n_units, "expected": expected.astype(float), "jaccard": jaccard, "lift": lift,
    }, columns=PAIR_COLUMNS)
    return table.sort_values(["code_a", "code_b"], ignore_index=True)


def cooccurrence(material: Material, unit: str = "segment", level: str = "code",
                 min_together: int = 1) -> pd.DataFrame:
    """Pairs of codes found together in segments or documents (see :func:`pair_table`).

    Parameters
    ----------
    material : Material
        From :func:`analyse.analysis.invariants.coded_material`.
    unit : {"segment", "document"}
    level : {"code", "dimension"}
    min_together : int
        Drop pairs found together in fewer units (default 1: pairs never
        together are left out).

    Examples
    --------
    >>> cooccurrence(material, unit="document").head()   # doctest: +SKIP
    """
    table = pair_table(incidence_matrix(material, unit=unit, level=level), min_together=min_together)
    table.attrs.update({"unit": unit, "level": level})
    return table


def code_frequencies(material: Material, unit: str = "segment", level: str = "code") -> pd.Series:
    """Units carrying each code (node sizes of the network), indexed by code.

    Examples
    --------
    >>> code_frequencies(material).head()   # doctest: +SKIP
    """
    return incidence_matrix(material, unit=unit, level=level).sum(axis=0).rename("units")


def strongest_pairs(pairs: pd.DataFrame, by: str = "jaccard", n: int = 15,
                    min_together: int = 2) -> pd.DataFrame:
    """The ``n`` strongest pairs by ``by``, ties broken by the code ids.

    Parameters
    ----------
    pairs : DataFrame
        From :func:`cooccurrence` or :func:`pair_table`.
    by : {"jaccard", "lift", "together"}
    n : int
    min_together : int
        Lift is unstable for rare pairs (one chance meeting of two rare codes
        gives a huge lift): pairs seen together fewer times are left out.

    Examples
    --------
    >>> m = pd.DataFrame({"A": [1, 1, 0], "B": [1, 1, 0], "C": [1, 0, 1]})
    >>> strongest_pairs(pair_table(m), n=2, min_together=1)[["code_a", "code_b"]].values.tolist()
    [['A', 'B'], ['A', 'C']]
    """
    check_choice("by", by, MEASURES)
    kept = pairs[pairs["together"] >= min_together]
    return (kept.sort_values([by, "together", "code_a", "code_b"], ascending=[False, False, True, True],
                             ignore_index=True).head(n))
