"""The spread statistics and the classification, on planted truth: they find what is there, and only that."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyse.analysis.invariants import Thresholds, classify, invariance_table, is_invariant
from analyse.analysis.material import material_from_frames
from analyse.analysis.spread import (bc_interval, bootstrap_spread, build_design, observed_spread,
                                     permutation_pvalues, two_stage_weights)

STRATA = ["engagement", "transversalite", "cooperation", "valeur"]


def planted_material(n_territories: int = 10, seed: int = 0, segments_per_doc: int = 40):
    """A stratified corpus (one workshop per theme per territory, plus one récit) with known truth.

    Kinds of code: ``INV*`` the same rate everywhere; ``SING*`` frequent in one territory, rare
    elsewhere; ``SHARED*`` present in half the territories only; ``FAIL*`` even but told as failing in
    one territory; ``NOISE*`` almost never used.
    """
    rng = np.random.default_rng(seed)
    territories = [f"t{i:02d}" for i in range(n_territories)]
    rates = {}
    for k in range(6):
        rates[f"INV{k}"] = {t: 0.12 for t in territories}
        home = territories[k % n_territories]
        rates[f"SING{k}"] = {t: (0.25 if t == home else 0.004) for t in territories}
        half = set(rng.choice(territories, size=n_territories // 2, replace=False))
        rates[f"SHARED{k}"] = {t: (0.12 if t in half else 0.0) for t in territories}
        rates[f"NOISE{k}"] = {t: 0.0015 for t in territories}
    for k in range(3):
        rates[f"FAIL{k}"] = {t: 0.12 for t in territories}
    seg_rows, code_rows = [], []
    for t in territories:
        for stratum in STRATA + ["recit"]:
            doc = f"{t}-{stratum}"
            for n in range(1, segments_per_doc + 1):
                seg = f"{doc}#{n}"
                seg_rows.append({"segment": seg, "doc": doc, "territory": t, "n": n, "words": 50,
                                 "atelier": stratum if stratum != "recit" else "none",
                                 "kind": "transcript" if stratum != "recit" else "recit"})
                for code, r in rates.items():
                    if rng.random() < r[t]:
                        failing = code.startswith("FAIL") and t == territories[-1]
                        code_rows.append({"segment": seg, "code": code,
                                          "valence": "mise en échec" if failing else "à l'œuvre"})
    return material_from_frames(pd.DataFrame(seg_rows), pd.DataFrame(code_rows)), rates


@pytest.fixture(scope="module")
def planted():
    material, rates = planted_material()
    table = invariance_table(material, n_boot=300, n_perm=499, seed=1).set_index("code")
    return material, rates, table


def test_planted_invariants_are_found(planted):
    _, _, table = planted
    invariants = [c for c in table.index if c.startswith("INV")]
    found = sum(table.loc[c, "class"] == "invariant robuste" for c in invariants)
    assert found / len(invariants) >= 0.9, table.loc[invariants, ["D", "D_low", "class"]]


def test_nothing_else_is_called_invariant(planted):
    _, _, table = planted
    others = [c for c in table.index if not c.startswith("INV")]
    wrongly = [c for c in others if is_invariant(pd.Series([table.loc[c, "class"]])).iloc[0]
               and not c.startswith("FAIL")]
    assert 1 - len(wrongly) / len(others) >= 0.9, wrongly
    # a balise told as failing somewhere is never an unqualified (robust) invariant
    fails = [c for c in table.index if c.startswith("FAIL")]
    assert all(table.loc[c, "class"] != "invariant robuste" for c in fails)
    assert all("échec" in table.loc[c, "reason"] or table.loc[c, "class"] != "invariant probable" for c in fails)


def test_planted_singularities_are_found_in_their_territory(planted):
    _, _, table = planted
    sing = [c for c in table.index if c.startswith("SING")]
    hits = [c for c in sing if table.loc[c, "class"] == "singulier"
            and table.loc[c, "top_territory"] == f"t{int(c[-1]):02d}"]
    assert len(hits) / len(sing) >= 0.9
    shared = [c for c in table.index if c.startswith("SHARED")]
    assert all(table.loc[c, "class"] == "partagé" for c in shared), table.loc[shared, ["class", "p_conc"]]
    noise = [c for c in table.index if c.startswith("NOISE")]
    assert all(table.loc[c, "class"] in ("rare", "partagé", "indéterminé") for c in noise)


def test_results_do_not_depend_on_row_order(planted):
    material, _, table = planted
    shuffled = material_from_frames(material.segments.sample(frac=1.0, random_state=3),
                                    material.codes.sample(frac=1.0, random_state=4))
    again = invariance_table(shuffled, n_boot=300, n_perm=499, seed=1).set_index("code")
    again, table = again.sort_index(), table.sort_index()
    pd.testing.assert_series_equal(again["class"], table["class"])
    assert np.allclose(again["D"], table["D"])


def test_a_new_seed_moves_nothing_beyond_the_intervals(planted):
    material, _, table = planted
    other = invariance_table(material, n_boot=300, n_perm=499, seed=9).set_index("code").sort_index()
    table = table.sort_index()
    assert np.allclose(other["D"], table["D"])                       # the estimate does not depend on it
    assert (other["D_low"] - table["D_low"]).abs().max() < 0.1
    same = (other["class"] == table["class"]).mean()
    assert same >= 0.9


def test_bc_interval_brackets_the_estimate():
    rng = np.random.default_rng(0)
    reps = rng.normal(0.6, 0.05, size=(2000, 3))
    est = np.array([0.6, 0.7, 0.65])                                 # replicates lean below 0.7
    low, high = bc_interval(est, reps, 0.95)
    assert np.all(low <= est) and np.all(est <= high)
    pct_low = np.quantile(reps[:, 1], 0.025)
    assert low[1] > pct_low                                          # the correction moves the interval up


def test_two_stage_weights_keep_the_design():
    material, _ = planted_material(n_territories=3, segments_per_doc=5)
    design = build_design(material.segments, material.codes)
    w = two_stage_weights(design, 50, np.random.default_rng(0))
    for p in range(design.n_parts):                                  # segments drawn within their part
        members = design.segment_part == p
        totals = w[:, members].sum(axis=1)
        assert set(np.unique(totals)) <= set(range(0, 5 * members.sum() + 1, members.sum()))
    # every territory × stratum cell keeps its number of segments
    t = design.part_territory[design.segment_part]
    assert np.allclose(w[:, t == 0].sum(axis=1), (t == 0).sum())


def test_permutations_flag_concentration_not_evenness():
    material, _ = planted_material(n_territories=8, seed=2)
    design = build_design(material.segments, material.codes)
    p_even, p_conc = permutation_pvalues(design, n_perm=299, seed=0)
    by = dict(zip(design.codes, p_conc))
    assert all(by[f"SING{k}"] < 0.05 for k in range(6))
    assert np.median([by[f"INV{k}"] for k in range(6)]) > 0.2


def test_inter_territory_document_counts_in_each_speakers_territory():
    segs = pd.DataFrame({"segment": ["x#1", "x#2", "x#3", "y#1"], "doc": ["x", "x", "x", "y"],
                         "territory": ["a", "b", None, "a"], "words": 10, "atelier": "valeur",
                         "kind": "transcript"})
    codes = pd.DataFrame({"segment": ["x#1", "x#2", "x#3"], "code": "C"})
    design = build_design(segs, codes)
    assert design.n_parts == 3 and design.territories == ["a", "b"]     # x@a, x@b, y@a; facilitator out
    obs = observed_spread(design).set_index("code")
    assert obs.loc["C", "segments"] == 2 and obs.loc["C", "territories"] == 2


def test_classification_rules_on_hand_made_rows():
    base = {"segments": 40, "territories": 4, "n_territories": 4, "min_territory_segments": 5,
            "D": 0.9, "D_low": 0.8, "D_high": 0.95, "top_share": 0.3, "p_conc": 0.5}
    cases = [({}, "invariant robuste"), ({"D_low": 0.6}, "invariant probable"),
             ({"failing": "le-mene"}, "invariant probable"), ({"segments": 4}, "rare"),
             ({"min_territory_segments": 1, "D": 0.6, "D_low": 0.4}, "partagé"),
             ({"D": 0.4, "D_low": 0.2, "D_high": 0.5, "top_share": 0.7, "p_conc": 0.01}, "singulier"),
             ({"D": 0.4, "D_low": 0.2, "D_high": 0.5, "top_share": 0.7, "p_conc": 0.2}, "partagé"),
             ({"D": 0.1, "D_low": 0.0, "D_high": 0.25, "top_share": 0.5, "p_conc": 0.2}, "singulier"),
             ({"n_territories": 1, "territories": 1, "D": float("nan")}, "indéterminé"),
             ({"reliability": "peu fiable"}, "indéterminé"), ({"reliability": "fiable"}, "invariant robuste")]
    for overrides, expected in cases:
        row = pd.DataFrame([{**base, **overrides}])
        assert classify(row).loc[0, "class"] == expected, (overrides, classify(row).loc[0].tolist())
    strict = Thresholds(d_inv=0.85)
    assert classify(pd.DataFrame([base]), strict).loc[0, "class"] == "invariant probable"
    assert Thresholds().s_sing_for(4) == pytest.approx(0.6) and Thresholds().s_sing_for(12) == pytest.approx(4.5 / 15.5)
    assert len(Thresholds().describe()) == 5


def test_bootstrap_is_seeded():
    material, _ = planted_material(n_territories=3, segments_per_doc=8)
    design = build_design(material.segments, material.codes)
    a, _ = bootstrap_spread(design, 40, seed=5)
    b, _ = bootstrap_spread(design, 40, seed=5)
    c, _ = bootstrap_spread(design, 40, seed=6)
    assert np.array_equal(a, b, equal_nan=True) and not np.array_equal(a, c, equal_nan=True)


def test_saturation_counts_first_appearances_in_date_order():
    from analyse.analysis.invariants import saturation
    from analyse.reporting.plots import saturation_curve

    segs = pd.DataFrame({"segment": ["a#1", "b#1", "c#1", "c#2"], "doc": ["a", "b", "c", "c"],
                         "territory": ["x", "y", "x", "x"], "words": 10})
    codes = pd.DataFrame({"segment": ["a#1", "b#1", "c#1", "c#2"], "code": ["K", "K", "L", "K"],
                          "valence": ["à l'œuvre", "à l'œuvre", "à l'œuvre", "mise en échec"]})
    m = material_from_frames(segs, codes)
    docs = pd.DataFrame({"doc": ["c", "a", "b"], "date": ["2019-01-01", "2018-01-01", "2018-06-01"]})
    sat = saturation(m, docs)
    whole = sat[sat["scope"] == "ensemble"]
    assert whole["doc"].tolist() == ["a", "b", "c"] and whole["new"].tolist() == [1, 0, 1]
    assert whole["cumulative_valences"].tolist() == [1, 1, 3]      # (L, œuvre) and (K, échec) are new in c
    x = sat[sat["scope"] == "x"]
    assert x["doc"].tolist() == ["a", "c"] and x["cumulative"].tolist() == [1, 2]
    fig = saturation_curve(sat)
    gids = {line.get_gid() for line in fig.axes[0].get_lines()}
    assert {"scope:ensemble", "scope:x", "scope:y", "scope:valences"} <= gids


def test_sub_themes_roll_up_to_their_canonical_balise():
    from analyse.analysis.material import rollup_parents
    from analyse.model.codebook import load_codebook
    from pathlib import Path

    book = load_codebook(Path(__file__).resolve().parents[2] / "codebook" / "balises.yaml")
    parents = rollup_parents(book)
    assert parents["MGT.2"] == "MGT" and parents["ECH.3"] == "ECH" and "ECH.D1" not in parents
    segs = pd.DataFrame({"segment": ["a#1", "a#2"], "doc": "a", "territory": "x", "words": 5})
    codes = pd.DataFrame({"segment": ["a#1", "a#1", "a#2"], "code": ["MGT.2", "MGT", "MGT.1"],
                          "valence": ["mise en échec", "à l'œuvre", "à l'œuvre"]})
    up = material_from_frames(segs, codes).rolled_up(parents).codes
    assert sorted(zip(up["segment"], up["code"])) == [("a#1", "MGT"), ("a#1", "MGT.2"), ("a#2", "MGT"),
                                                     ("a#2", "MGT.1")]


def test_valence_table_and_verbatims():
    from analyse.analysis.valence import valence_table, valence_verbatims

    segs = pd.DataFrame({"segment": ["a#1", "a#2", "b#1", "b#2"], "doc": ["a", "a", "b", "b"],
                         "territory": ["x", "x", "y", "y"], "words": 5,
                         "role": ["elu", "animateur", "services", "elu"], "text": ["t1", "t2", "t3", "t4"]})
    codes = pd.DataFrame({"segment": ["a#1", "a#2", "b#1", "b#2"], "code": "K",
                          "valence": ["mise en échec", "contestée", "à l'œuvre", "à l'œuvre"]})
    m = material_from_frames(segs, codes)
    table = valence_table(m).set_index(["code", "territory"])
    assert table.loc[("K", "x"), "mise en échec"] == 1 and table.loc[("K", "x"), "contestée"] == 1
    assert table.loc[("K", "y"), "à l'œuvre"] == 2 and table.loc[("K", "y"), "total"] == 2
    verb = valence_verbatims(m, "K")
    assert "a#2" not in set(verb["segment"])                        # a facilitator turn is never a verbatim
    assert set(verb["valence"]) == {"mise en échec", "à l'œuvre"}
