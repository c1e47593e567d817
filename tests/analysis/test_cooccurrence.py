"""Co-occurrence counts, Jaccard and lift (analyse.analysis.cooccurrence)."""

from __future__ import annotations

import pandas as pd
import pytest

from analyse.analysis.cooccurrence import (code_frequencies, cooccurrence, incidence_matrix, pair_table,
                                  strongest_pairs)
from analyse.errors import UsageError
from analyse.analysis.invariants import material_from_frames

# Five units: A on 1-3, B on 1-2, C on 3-4, unit 5 uncoded.
TINY = pd.DataFrame({"A": [1, 1, 1, 0, 0], "B": [1, 1, 0, 0, 0], "C": [0, 0, 1, 1, 0]})


def test_pair_counts_jaccard_and_lift_by_hand():
    t = pair_table(TINY).set_index(["code_a", "code_b"])
    ab = t.loc[("A", "B")]
    assert (ab["n_a"], ab["n_b"], ab["together"], ab["units"]) == (3, 2, 2, 5)
    assert ab["jaccard"] == pytest.approx(2 / (3 + 2 - 2))
    assert ab["expected"] == pytest.approx(3 * 2 / 5)
    assert ab["lift"] == pytest.approx(2 / (6 / 5))
    ac = t.loc[("A", "C")]
    assert ac["together"] == 1
    assert ac["jaccard"] == pytest.approx(1 / 4)
    assert ac["lift"] == pytest.approx(1 / 1.2)
    assert ("B", "C") not in t.index                      # never together: left out by default


def test_min_together_zero_keeps_every_pair():
    t = pair_table(TINY, min_together=0).set_index(["code_a", "code_b"])
    assert len(t) == 3
    assert t.loc[("B", "C"), "jaccard"] == 0.0 and t.loc[("B", "C"), "lift"] == 0.0


def test_counts_are_binary_even_if_the_matrix_is_not():
    t = pair_table(TINY * 3)
    assert t["together"].tolist() == pair_table(TINY)["together"].tolist()


def _material():
    segs = pd.DataFrame({"segment": ["a#1", "a#2", "a#3", "b#1", "b#2"], "doc": ["a", "a", "a", "b", "b"],
                         "territory": ["x", "x", "x", "y", "y"], "words": 10})
    codes = pd.DataFrame({"segment": ["a#1", "a#1", "a#2", "b#1", "b#2", "b#2"],
                          "code": ["ENG.1", "SYS.1", "SYS.2", "ENG.1", "ENG.2", "SYS.1"]})
    return material_from_frames(segs, codes)


def test_segment_and_document_cooccurrence_from_material():
    m = _material()
    seg = cooccurrence(m, unit="segment").set_index(["code_a", "code_b"])
    assert seg["units"].iloc[0] == 5                     # uncoded a#3 counts in N
    assert seg.loc[("ENG.1", "SYS.1"), "together"] == 1
    assert ("ENG.1", "SYS.2") not in seg.index
    doc = cooccurrence(m, unit="document").set_index(["code_a", "code_b"])
    assert doc["units"].iloc[0] == 2
    assert doc.loc[("ENG.1", "SYS.1"), "together"] == 2
    assert doc.loc[("ENG.1", "SYS.2"), "together"] == 1
    assert doc.loc[("ENG.1", "SYS.1"), "lift"] == pytest.approx(1.0)   # in every document: no information


def test_dimension_level_and_frequencies():
    m = _material()
    dim = cooccurrence(m, level="dimension").set_index(["code_a", "code_b"])
    assert dim.loc[("ENG", "SYS"), "together"] == 2      # a#1 and b#2
    freq = code_frequencies(m)
    assert freq.to_dict() == {"ENG.1": 2, "ENG.2": 1, "SYS.1": 2, "SYS.2": 1}
    assert incidence_matrix(m, unit="document").loc["b"].tolist() == [1, 1, 1, 0]


def test_strongest_pairs_sorted_with_ties_broken_by_ids():
    m = pd.DataFrame({"D": [1, 1, 0, 0], "A": [1, 1, 0, 0], "C": [0, 0, 1, 1], "B": [0, 0, 1, 1]})
    top = strongest_pairs(pair_table(m), by="jaccard", n=5, min_together=1)
    # A–D and B–C both have Jaccard 1 and 2 units together: alphabetical order decides.
    assert list(zip(top["code_a"], top["code_b"])) == [("A", "D"), ("B", "C")]
    by_lift = strongest_pairs(pair_table(TINY), by="lift", n=1, min_together=1)
    assert (by_lift["code_a"].iloc[0], by_lift["code_b"].iloc[0]) == ("A", "B")
    assert strongest_pairs(pair_table(TINY), min_together=2)["together"].min() == 2
    with pytest.raises(UsageError):
        strongest_pairs(pair_table(TINY), by="cosine")


def test_unknown_unit_is_a_usage_error():
    with pytest.raises(UsageError):
        cooccurrence(_material(), unit="paragraph")
