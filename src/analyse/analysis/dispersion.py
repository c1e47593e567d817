"""Evenness of a code's rates over territories: Juilland's D and normalised Shannon entropy.

Both take size-normalised frequencies (rates) along an axis of territories and
return 1 for a perfectly even code, 0 for a code found in one territory only,
NaN for a code never seen or fewer than two territories (formulas in
:mod:`analyse.analysis.invariants`).
"""

from __future__ import annotations

import numpy as np


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
