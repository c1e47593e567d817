"""Per-code reliability: the closed forms agree with the reference libraries; intervals and status."""

from __future__ import annotations

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score

from analyse.reliability.agreement import Reliability
from analyse.reliability.per_code import binary_alpha, binary_kappa, code_reliability


def _values(seed=0, codes=6, coders=2, units=80, missing=False):
    rng = np.random.default_rng(seed)
    truth = rng.random((codes, 1, units)) < 0.3
    flip = rng.random((codes, coders, units)) < np.linspace(0.02, 0.4, codes)[:, None, None]
    v = np.where(flip, ~truth, truth).astype(float)
    if missing:
        v[:, -1, :10] = np.nan
    return v


def test_alpha_matches_krippendorff_with_three_coders_and_gaps():
    v = _values(coders=3, missing=True)
    ours = binary_alpha(v)
    ref = [krippendorff.alpha(reliability_data=v[j], level_of_measurement="nominal") for j in range(len(v))]
    assert np.allclose(ours, ref)


def test_kappa_matches_sklearn():
    v = _values()
    ref = [cohen_kappa_score(v[j, 0], v[j, 1]) for j in range(len(v))]
    assert np.allclose(binary_kappa(v), ref)


def test_weighted_alpha_equals_alpha_on_duplicated_units():
    v = _values(codes=2, units=20)
    w = np.ones((1, 20))
    w[0, :5] = 2.0
    dup = np.concatenate([v, v[:, :, :5]], axis=2)
    assert np.allclose(binary_alpha(v, w)[0], binary_alpha(dup))


def _rel(v):
    units = v.shape[2]
    return Reliability(coders=["A", "B"], level="segment", units=[f"d{u // 10}#{u}" for u in range(units)],
                       unit_doc=[f"d{u // 10}" for u in range(units)], unit_territory=["t"] * units,
                       codes=[f"C{j}" for j in range(len(v))], code_dimension=["C"] * len(v),
                       code_label=[""] * len(v), values=v, covered=np.ones((2, units), dtype=bool),
                       documents=[f"d{k}" for k in range(units // 10)])


def test_code_reliability_status_and_intervals():
    v = _values(units=200)
    table = code_reliability(_rel(v), n_boot=300, seed=0)
    assert table["alpha"].is_monotonic_decreasing or table["alpha"].iloc[0] > table["alpha"].iloc[-1]
    assert (table["alpha_low"] <= table["alpha"] + 1e-9).all() and (table["alpha"] <= table["alpha_high"] + 1e-9).all()
    assert table.loc[0, "status"] == "fiable" and table.loc[len(table) - 1, "status"] == "peu fiable"
    assert ((table["alpha"] >= 0.667) == (table["status"] == "fiable")).all()


def test_a_code_nobody_applied_is_not_reliable():
    v = _values(codes=2)
    v[1] = 0.0
    table = code_reliability(_rel(v), n_boot=50)
    assert np.isnan(table.loc[1, "alpha"]) and table.loc[1, "status"] == "peu fiable"
