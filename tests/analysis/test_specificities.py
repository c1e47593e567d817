"""Vocabulary specificities: G², Lafon, flesh, skeleton, entities (analyse.analysis.specificities)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy.stats import hypergeom

from analyse.errors import UsageError
from analyse.analysis.specificities import (content_lemmas, entities_by_territory, lafon_specificity, lemma_counts,
                                   log_likelihood, skeleton_candidates, specific_proper_nouns, specificities,
                                   territory_flesh)


# --- G²: a 2 × 2 table computed by hand ---------------------------------------------------

def test_g2_of_a_known_table():
    # Lemma: 30 of 100 tokens in the territory, 10 of 100 elsewhere (f = 40, N = 200).
    # Expected counts: 40·100/200 = 20 and 160·100/200 = 80 in each row.
    by_hand = 2 * (30 * math.log(30 / 20) + 70 * math.log(70 / 80)
                   + 10 * math.log(10 / 20) + 90 * math.log(90 / 80))
    assert by_hand == pytest.approx(12.9716, abs=1e-4)
    assert log_likelihood(30, 40, 100, 200) == pytest.approx(by_hand)
    # The other territory sees the same table from the other side: same size, negative.
    assert log_likelihood(10, 40, 100, 200) == pytest.approx(-by_hand)


def test_g2_with_an_empty_cell_and_at_expectation():
    # a = f: the lemma occurs only here; the cell f − a is 0 and counts 0 · ln 0 = 0.
    by_hand = 2 * (5 * math.log(5 / 2.5) + 45 * math.log(45 / 47.5) + 0 + 50 * math.log(50 / 47.5))
    assert log_likelihood(5, 5, 50, 100) == pytest.approx(by_hand)
    assert log_likelihood(20, 40, 100, 200) == pytest.approx(0.0)


# --- Lafon: hypergeometric tails ------------------------------------------------------------

def test_lafon_specificity_sign_and_magnitude():
    # 6 tokens, 3 of them the lemma, territory of 3 tokens: P(X = 3) = C(3,3)C(3,0)/C(6,3) = 1/20.
    assert lafon_specificity(3, 3, 3, 6) == pytest.approx(math.log10(20))
    assert lafon_specificity(0, 3, 3, 6) == pytest.approx(-math.log10(20))
    # Above expectation (1.5): P(X ≥ 2) = (C(3,2)C(3,1) + 1) / 20 = 1/2.
    assert lafon_specificity(2, 3, 3, 6) == pytest.approx(-math.log10(0.5))
    # Below: P(X ≤ 1) = 1/2 as well.
    assert lafon_specificity(1, 3, 3, 6) == pytest.approx(math.log10(0.5))


def test_lafon_specificity_of_a_large_table_matches_scipy_and_stays_finite():
    a, f, t, n = 120, 150, 1000, 10000
    assert lafon_specificity(a, f, t, n) == pytest.approx(-math.log10(hypergeom.sf(a - 1, n, f, t)))
    extreme = lafon_specificity(500, 500, 25000, 100000)      # P ≈ 1e-303
    assert math.isfinite(extreme) and extreme > 300
    absent = lafon_specificity(0, 2000, 50000, 100000)        # P(X ≤ 0) ≈ 1e-600
    assert math.isfinite(absent) and absent < -300
    assert absent == pytest.approx(hypergeom.logcdf(0, 100000, 2000, 50000) / math.log(10))


# --- from a token frame -------------------------------------------------------------------------

def _tokens():
    rows = []

    def add(segment, lemma, pos="NOUN", stop=False, ent=""):
        rows.append({"segment": segment, "i": len(rows), "text": lemma, "lemma": lemma, "pos": pos,
                     "is_stop": stop, "ent_type": ent})

    for k in range(10):                         # territory x: mine ×10, projet ×5
        add("x#1", "mine")
    for k in range(5):
        add("x#1", "projet")
    add("x#1", "le", pos="DET", stop=True)
    add("x#1", "Lens", pos="PROPN", ent="LOC")
    add("x#1", "Lens", pos="PROPN", ent="LOC")
    add("x#1", "2018", pos="NUM")
    for k in range(5):                         # territory y: projet ×5, éolienne ×10
        add("y#1", "projet")
    for k in range(10):
        add("y#1", "Éolienne")
    add("y#1", "faire", pos="VERB", stop=True)
    add("y#1", "-", pos="NOUN")
    return pd.DataFrame(rows)


SEGMENTS = pd.DataFrame({"segment": ["x#1", "y#1"], "territory": ["x", "y"]})


def test_content_lemmas_filter_and_normalise():
    words = content_lemmas(_tokens())
    assert set(words["lemma"]) == {"mine", "projet", "Lens", "éolienne"}   # proper nouns keep capitals
    assert "le" not in set(words["lemma"]) and "faire" not in set(words["lemma"])


def test_lemma_counts_per_territory():
    counts = lemma_counts(_tokens(), SEGMENTS).set_index(["territory", "lemma"])["f"]
    assert counts[("x", "mine")] == 10 and counts[("y", "projet")] == 5 and counts[("x", "Lens")] == 2


def test_specificities_table():
    spec = specificities(_tokens(), SEGMENTS).set_index(["territory", "lemma"])
    # Sizes: x = 17 content tokens, y = 15; N = 32.
    mine_x = spec.loc[("x", "mine")]
    assert (mine_x["f"], mine_x["f_total"], mine_x["territory_size"], mine_x["corpus_size"]) == (10, 10, 17, 32)
    assert mine_x["expected"] == pytest.approx(10 * 17 / 32)
    assert mine_x["g2"] == pytest.approx(log_likelihood(10, 10, 17, 32))
    assert mine_x["specificity"] == pytest.approx(lafon_specificity(10, 10, 17, 32)) and mine_x["specificity"] > 2
    assert spec.loc[("y", "mine"), "specificity"] < -2           # absent where expected: negative
    assert spec.loc[("y", "mine"), "f"] == 0
    assert abs(spec.loc[("x", "projet"), "specificity"]) < 1
    assert spec.loc[("x", "Lens"), "pos"] == "PROPN"


def test_specificities_rows_sorted_by_territory_then_specificity():
    spec = specificities(_tokens(), SEGMENTS)
    x = spec[spec["territory"] == "x"]["specificity"].tolist()
    assert x == sorted(x, reverse=True)
    assert spec["territory"].tolist() == sorted(spec["territory"])


def test_flesh_skeleton_and_proper_nouns():
    spec = specificities(_tokens(), SEGMENTS)
    flesh = territory_flesh(spec, n=5, min_f=2)
    assert flesh[flesh["territory"] == "x"]["lemma"].tolist()[0] == "mine"
    assert flesh[flesh["territory"] == "y"]["lemma"].tolist() == ["éolienne"]
    skeleton = skeleton_candidates(spec, min_f_total=5)
    assert skeleton["lemma"].tolist() == ["projet"]
    assert skeleton.loc[0, "territories"] == 2
    # « Lens » (2 occurrences) is not significant on its own here: no proper noun is specific.
    assert specific_proper_nouns(spec).empty
    assert specific_proper_nouns(spec, threshold=0.5)["lemma"].tolist() == ["Lens"]


def test_tokens_from_an_unknown_segment_are_an_error():
    with pytest.raises(UsageError, match="sans territoire"):
        lemma_counts(_tokens(), SEGMENTS.iloc[:1])
    with pytest.raises(UsageError, match="il manque au tableau"):
        content_lemmas(_tokens().drop(columns=["pos"]))


def test_entities_by_territory():
    ents = pd.DataFrame({"segment": ["x#1", "x#1", "x#1", "y#1"], "start_char": 0, "end_char": 1,
                         "text": ["Lens", "Lens", "Nadine", "Collinée"], "label": ["LOC", "LOC", "PER", "LOC"]})
    by_label = entities_by_territory(ents, SEGMENTS)
    assert by_label.values.tolist() == [["x", "LOC", 2, 1], ["x", "PER", 1, 1], ["y", "LOC", 1, 1]]
    by_text = entities_by_territory(ents, SEGMENTS, texts=True)
    assert by_text.iloc[0].tolist() == ["x", "LOC", "Lens", 2]


def test_lower_case_proper_nouns_are_not_names():
    spec = pd.DataFrame({"territory": ["x", "x", "y", "y"], "lemma": ["bourg", "Collinée", "bourg", "Collinée"],
                         "pos": "PROPN", "f": [9, 12, 0, 0], "specificity": [5.0, 7.0, -2.0, -3.0]})
    assert specific_proper_nouns(spec)["lemma"].tolist() == ["Collinée"]
