"""Issue 19, fourth protocol: pooled dimension counts, the Wilson bound, the rule of bench/robust_choice.py,
the learning curve's nested town subsets."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from analyse.coding.selection import (DimensionCounts, dimension_counts, nested_group_subsets, pooled,
                                      wilson_lower_bound)

ROOT = Path(__file__).resolve().parents[2]


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rule():
    return _bench("robust_choice")


def _wilson_by_hand(k: int, n: int, z: float = 1.6448536269514722) -> float:
    # the textbook formula: (p + z²/2n − z √(p(1−p)/n + z²/4n²)) / (1 + z²/n), z of one-sided 95 %
    p = k / n
    return (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


@pytest.mark.parametrize("k,n", [(8, 10), (70, 100), (12, 14), (1, 1), (0, 5), (150, 200)])
def test_wilson_lower_bound_matches_the_formula(k, n):
    assert wilson_lower_bound(k, n) == pytest.approx(_wilson_by_hand(k, n), abs=1e-12)


def test_wilson_lower_bound_hand_checked_and_edge_cases():
    # 8/10: centre 0.7361, half-width 0.1953 → 0.5408 (computed by hand)
    assert wilson_lower_bound(8, 10) == pytest.approx(0.5408, abs=1e-4)
    assert wilson_lower_bound(0, 0) == 0.0
    # the same point estimate on more proposals has a higher bound: 0.8 on 10 fails 0.7, on 200 passes
    assert wilson_lower_bound(8, 10) < 0.7 < wilson_lower_bound(160, 200)
    assert wilson_lower_bound(12, 14) < 0.7          # 0.857 on 14 proposals (the last test) does not pass


def test_pooled_counts_hand_checked():
    # V: 3 texts × 2 dimensions; the third text carries nothing and gets a dimension: one alarm
    V_true = np.array([[1, 0], [1, 1], [0, 0]])
    V_pred = np.array([[1, 1], [1, 0], [0, 1]])
    # P: 4 texts; two uncoded, one of them fires through a code outside the dimensions only
    P_true = np.array([[0, 1], [0, 0], [0, 0], [1, 0]])
    P_pred = np.array([[0, 1], [0, 0], [0, 0], [0, 0]])
    P_codes = np.array([[0], [1], [0], [0]])
    v = dimension_counts(V_true, V_pred)
    p = dimension_counts(P_true, P_pred, fired=np.c_[P_codes, P_pred])
    assert (v.proposals, v.hits, v.labels, v.uncoded, v.alarms) == (4, 2, 3, 1, 1)
    assert (p.proposals, p.hits, p.labels, p.uncoded, p.alarms) == (1, 1, 2, 2, 1)
    both = pooled([v, p])
    assert both == DimensionCounts(proposals=5, hits=3, labels=5, uncoded=3, alarms=2)
    assert both.precision == pytest.approx(3 / 5)
    assert both.recall == pytest.approx(3 / 5)
    assert both.f1 == pytest.approx(2 * 3 / (5 + 5))
    assert both.false_alarm_rate == pytest.approx(2 / 3)
    # pooled is not the mean of the two precisions (0.5 and 1.0): proposals are added
    assert both.precision != pytest.approx((v.precision + p.precision) / 2)
    assert both.precision_lower_bound() == pytest.approx(_wilson_by_hand(3, 5))
    d = both.as_dict("pooled_")
    assert d["pooled_proposals"] == 5 and d["pooled_false_alarm"] == pytest.approx(2 / 3)
    assert DimensionCounts().false_alarm_rate is None and DimensionCounts().precision == 0.0


def _row(**over):
    row = {"candidate": "x", "settings": {"dimension_shift": -1.0, "code_shift": 1.0, "abstain_shift": 1.0},
           "pooled_precision_bound": 0.72, "pooled_false_alarm": 0.10, "v_dim_precision": 0.75,
           "p_dim_precision": 0.74, "loto_dim_precision": 0.76, "pooled_dim_f1": 0.40, "p_dim_f1": 0.38}
    row.update(over)
    return row


@pytest.mark.parametrize("field,value", [("pooled_precision_bound", 0.6999), ("pooled_false_alarm", 0.1501),
                                         ("pooled_false_alarm", None), ("v_dim_precision", 0.6999),
                                         ("p_dim_precision", 0.6999), ("loto_dim_precision", 0.6999)])
def test_a_candidate_just_past_a_threshold_is_refused(rule, field, value):
    assert rule.eligible(_row())
    assert not rule.eligible(_row(**{field: value}))


def test_a_candidate_exactly_at_the_thresholds_is_eligible(rule):
    assert rule.eligible(_row(pooled_precision_bound=0.70, pooled_false_alarm=0.15, v_dim_precision=0.70,
                              p_dim_precision=0.70, loto_dim_precision=0.70))


def test_choose_best_pooled_f1_then_pool_f1_then_smallest_shift_then_name(rule):
    a = _row(candidate="a", pooled_dim_f1=0.41)
    b = _row(candidate="b", pooled_dim_f1=0.45, v_dim_precision=0.65)          # better but not eligible
    assert rule.choose([a, b]) is a
    c = _row(candidate="c", pooled_dim_f1=0.4104, p_dim_f1=0.39)               # tie at 3 decimals: P F1
    assert rule.choose([a, c]) is c
    d = _row(candidate="d", pooled_dim_f1=0.41, settings={"dimension_shift": 0.0, "code_shift": 0.0,
                                                          "abstain_shift": 1.0})
    assert rule.choose([a, d]) is d                                            # smaller total |shift|
    e = _row(candidate="e", pooled_dim_f1=0.41, settings={"dimension_shift": 0.0, "code_shift": 0.0,
                                                          "abstain_shift": float("inf")})
    assert rule.total_shift(e) == 10.0 and rule.choose([a, e]) is a
    assert rule.choose([_row(candidate="z"), _row(candidate="y")])["candidate"] == "y"
    assert rule.choose([b]) is None                                            # none eligible: the default stays


def test_learning_curve_subsets_are_nested_and_whole_towns():
    towns = [f"ville:{k % 13}" for k in range(60)]
    masks = nested_group_subsets(towns, (0.25, 0.5, 0.75, 1.0), seed=0)
    sizes = [len({t for t, m in zip(towns, mask) if m}) for mask in masks]
    assert sizes == [3, 6, 10, 13]          # round(f × 13) towns
    for small, big in zip(masks, masks[1:]):
        assert not (small & ~big).any()     # nested
    for mask in masks:
        inside = {t for t, m in zip(towns, mask) if m}
        assert all(m == (t in inside) for t, m in zip(towns, mask))   # a town is wholly in or out
    assert masks[-1].all()
    assert [m.tolist() for m in nested_group_subsets(towns, (0.25, 0.5), seed=0)] == [m.tolist() for m in masks[:2]]
    assert masks[0].tolist() != nested_group_subsets(towns, (0.25,), seed=1)[0].tolist()
    with pytest.raises(ValueError):
        nested_group_subsets(towns, (0.0,))


def test_the_default_design_is_what_the_rule_chose_in_the_committed_table(rule):
    from analyse.coding.autocode import DEFAULT_DESIGN, DESIGNS, design_settings

    composition, params = design_settings(DEFAULT_DESIGN)
    assert DEFAULT_DESIGN == "robuste"
    assert composition["referentiel_mode"] == "cv" and composition["referentiel_weight"] == 1.0
    assert composition["realtext_validation"] is False and params.get("metadata", True)
    d = {"corpus_weight": composition["corpus_weight"], "weight": composition["realtext_weight"],
         "C": params.get("C", 10.0)}
    settings = {**rule.NEUTRAL, **{k: params[k] for k in rule.NEUTRAL if k in params}}
    chosen = f"{rule.design_name(d)} : {rule.settings_name(settings)}"
    table = (ROOT / "bench" / "robust_choice-table.md").read_text(encoding="utf-8")
    assert f"\nchoisi : {chosen}\n" in table
    # the first pass's choice is kept under its own name
    first = (ROOT / "bench" / "robust_choice-table-autres-villes-1-3.md").read_text(encoding="utf-8")
    c250, p250 = design_settings("robuste-250")
    d250 = {"corpus_weight": c250["corpus_weight"], "weight": c250["realtext_weight"], "C": p250.get("C", 10.0)}
    s250 = {**rule.NEUTRAL, **{k: p250[k] for k in rule.NEUTRAL if k in p250}}
    assert f"\nchoisi : {rule.design_name(d250)} : {rule.settings_name(s250)}\n" in first
    assert "apprentissage" in DESIGNS
