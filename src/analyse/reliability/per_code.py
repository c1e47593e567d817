"""Reliability of each code on the team's double-coded sample, with intervals.

Every analysis that uses a code needs to know whether coders agree on it: a code
the coders apply differently cannot be called an invariant or a singularity.
For each code, Krippendorff's alpha (nominal, presence/absence on the segments
every compared coder covered) and Cohen's kappa (two coders) are computed with
a bootstrap interval that resamples *documents* (segments of one workshop are
not independent).

Why by hand: the bootstrap recomputes alpha for every code in hundreds of
replicates; for presence/absence data alpha has a closed form over the
coincidence counts, so one matrix product per statistic replaces thousands of
calls to :func:`krippendorff.alpha` (the tests check both agree).

Examples
--------
>>> import numpy as np
>>> values = np.array([[[1, 1, 0, 0, 1, 0], [1, 1, 0, 0, 0, 0]]], dtype=float)   # 1 code, 2 coders, 6 units
>>> round(float(binary_alpha(values)[0]), 3)
0.686
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyse.analysis.spread import normal_cdf, normal_ppf

RELIABLE = 0.667          # Krippendorff (2004): the lowest alpha to draw tentative conclusions
STATUS_RELIABLE, STATUS_UNRELIABLE, STATUS_UNMEASURED = "fiable", "peu fiable", "non mesurée"


def _unit_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per code and unit: coders who applied it (a), who did not (b), coders who covered the unit (m)."""
    a = np.nansum(values == 1.0, axis=1).astype(float)
    b = np.nansum(values == 0.0, axis=1).astype(float)
    return a, b, a + b


def binary_alpha(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Krippendorff's nominal alpha of presence/absence for each code.

    ``values`` is ``codes × coders × units`` (1, 0 or NaN when a coder did not
    cover the unit); ``weights`` (``replicates × units``) gives a row of alphas
    per replicate. ``alpha = 1 − (n − 1) Σ_u a_u b_u / (m_u − 1) / (n₀ n₁)``
    over pairable units (``m_u ≥ 2``), with ``n`` the pairable values.
    """
    a, b, m = _unit_counts(values)
    pairable = m >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        disagree = np.where(pairable, a * b / np.where(pairable, m - 1, 1), 0.0)
    a, b = np.where(pairable, a, 0.0), np.where(pairable, b, 0.0)
    w = np.ones((1, values.shape[2])) if weights is None else np.asarray(weights, dtype=float)
    n1, n0, dis = w @ a.T, w @ b.T, w @ disagree.T            # replicates × codes
    n = n0 + n1
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (n - 1.0) * dis / (n0 * n1)
    alpha = np.where((n0 > 0) & (n1 > 0), alpha, np.nan)
    return alpha[0] if weights is None else alpha


def binary_kappa(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Cohen's kappa of the first two coders for each code (units both covered)."""
    x, y = values[:, 0, :], values[:, 1, :]
    both = ~np.isnan(x) & ~np.isnan(y)
    x, y = np.where(both, x, 0.0), np.where(both, y, 0.0)
    w = np.ones((1, values.shape[2])) if weights is None else np.asarray(weights, dtype=float)
    n = w @ both.T.astype(float)
    agree = w @ (both & (x == y)).T.astype(float)
    px, py = w @ x.T, w @ y.T
    with np.errstate(invalid="ignore", divide="ignore"):
        po = agree / n
        pe = (px / n) * (py / n) + (1 - px / n) * (1 - py / n)
        kappa = (po - pe) / (1 - pe)
    kappa = np.where(pe < 1.0 - 1e-12, kappa, np.nan)
    return kappa[0] if weights is None else kappa


def _document_weights(unit_doc, n_boot: int, seed: int) -> np.ndarray:
    docs = pd.Index(pd.unique(pd.Series(list(unit_doc))))
    idx = docs.get_indexer(list(unit_doc))
    rng = np.random.default_rng(seed)
    doc_w = rng.multinomial(len(docs), np.full(len(docs), 1.0 / len(docs)), size=n_boot)
    return doc_w[:, idx].astype(float)


def _bc(estimate: float, reps: np.ndarray, ci: float) -> tuple[float, float]:
    reps = reps[~np.isnan(reps)]
    if not len(reps) or np.isnan(estimate):
        return np.nan, np.nan
    b = len(reps)
    below = (np.sum(reps < estimate) + 0.5 * np.sum(reps == estimate)) / b
    z0 = normal_ppf(np.clip(below, 1.0 / (b + 1), b / (b + 1.0)))
    z = normal_ppf(0.5 + ci / 2.0)
    lo, hi = np.quantile(reps, [normal_cdf(2 * z0 - z), normal_cdf(2 * z0 + z)])
    return float(lo), float(hi)


def code_reliability(rel, n_boot: int = 500, seed: int = 0, ci: float = 0.95,
                     threshold: float = RELIABLE) -> pd.DataFrame:
    """Per code: units, units where any coder applied it, alpha and kappa with intervals, status.

    ``rel`` is a :class:`analyse.reliability.agreement.Reliability` at segment
    level. ``status`` is *fiable* when alpha ≥ ``threshold``, else *peu fiable*
    (alpha undefined — no coder applied the code on the shared sample, or one
    coder never did — is *peu fiable* too: nothing shows the code can be
    applied consistently).
    """
    values = rel.values
    alpha = binary_alpha(values)
    kappa = binary_kappa(values) if len(rel.coders) >= 2 else np.full(len(rel.codes), np.nan)
    w = _document_weights(rel.unit_doc, n_boot, seed) if n_boot and len(rel.units) else None
    a_reps = binary_alpha(values, w) if w is not None else None
    k_reps = binary_kappa(values, w) if w is not None else None
    rows = []
    applied = np.nansum(values, axis=1) > 0
    for j, code in enumerate(rel.codes):
        a_lo, a_hi = _bc(alpha[j], a_reps[:, j], ci) if a_reps is not None else (np.nan, np.nan)
        k_lo, k_hi = _bc(kappa[j], k_reps[:, j], ci) if k_reps is not None else (np.nan, np.nan)
        ok = not np.isnan(alpha[j]) and alpha[j] >= threshold
        rows.append({"code": code, "units": len(rel.units), "applied": int(applied[j].sum()),
                     "alpha": alpha[j], "alpha_low": a_lo, "alpha_high": a_hi,
                     "kappa": kappa[j], "kappa_low": k_lo, "kappa_high": k_hi,
                     "status": STATUS_RELIABLE if ok else STATUS_UNRELIABLE})
    table = pd.DataFrame(rows)
    table.attrs.update({"coders": list(rel.coders), "threshold": threshold, "n_boot": n_boot, "seed": seed,
                        "documents": len(rel.documents), "units": len(rel.units)})
    return table


def reliability_status(table: pd.DataFrame | None) -> dict[str, str]:
    """``{code: status}`` from :func:`code_reliability`; empty when there is no double coding."""
    if table is None or table.empty:
        return {}
    return dict(zip(table["code"], table["status"]))


def shared_sample_reliability(corpus, codebook, codings, coders, n_boot: int = 500, seed: int = 0,
                              threshold: float = RELIABLE) -> pd.DataFrame | None:
    """:func:`code_reliability` on the segments every one of ``coders`` covered; None without such a sample."""
    from analyse.errors import UsageError
    from analyse.reliability.agreement import reliability_data

    present = [c for c in coders if c in codings.coders]
    if len(present) < 2:
        return None
    try:
        rel = reliability_data(codings, corpus, present, codebook=codebook)
    except UsageError:            # the coders share no covered segment
        return None
    return code_reliability(rel, n_boot=n_boot, seed=seed, threshold=threshold)
