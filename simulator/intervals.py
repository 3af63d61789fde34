"""Intervals and tests for take rates, and control of the false-discovery rate across many tests.

Take rates are proportions: a plain normal interval around a small rate reaches below zero,
so every rate here gets Wilson's score interval, which stays inside [0, 1]. An importance-
weighted (self-normalized) rate counts as a proportion of Kish's effective sample size
n = (sum w)^2 / sum w^2, the number of unweighted draws with the same variance
(Kish 1965; the "effective sample size" Wilson interval of survey statistics).
"""
from __future__ import annotations

import math
from dataclasses import replace
from statistics import NormalDist
from typing import Sequence

import numpy as np

from simulator.errors import InvalidEstimatorError
from simulator.estimators import Estimate

__all__ = ["benjamini_hochberg", "two_rate_p_value", "wilson_estimate", "wilson_interval"]


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise InvalidEstimatorError(f"confidence {confidence!r} must be in (0, 1), e.g. 0.95")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(rate: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a proportion `rate` observed on `n` (possibly effective) draws.

    centre = (p + z^2 / 2n) / (1 + z^2 / n),
    half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)   (Wilson 1927).

    Always inside [0, 1]; (nan, nan) when there is no draw or no finite rate. A rate outside
    [0, 1] (a reward mapping with weights above 1) is clipped to it first.
    """
    z = _z(confidence)
    if not (n > 0 and math.isfinite(n) and math.isfinite(rate)):
        return float("nan"), float("nan")
    p = min(1.0, max(0.0, rate))
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_estimate(estimate: Estimate) -> Estimate:
    """A (self-normalized) take-rate estimate with Wilson's interval at its effective sample size."""
    low, high = wilson_interval(estimate.value, estimate.ess, estimate.confidence)
    return replace(estimate, ci_low=low, ci_high=high, ci_method="wilson")


def two_rate_p_value(rate_a: float, n_a: float, rate_b: float, n_b: float) -> float:
    """Two-sided p-value of "both rates are equal": the pooled two-proportion score test.

    z = (p_a - p_b) / sqrt(p (1 - p) (1/n_a + 1/n_b)),  p = (n_a p_a + n_b p_b) / (n_a + n_b),
    on (effective) sample sizes, the test whose inversion Wilson's interval is. Rates that
    are both 0 (or both 1) give no evidence of a difference: p = 1. nan without data.
    """
    if not all(math.isfinite(x) for x in (rate_a, n_a, rate_b, n_b)) or n_a <= 0 or n_b <= 0:
        return float("nan")
    pooled = (n_a * rate_a + n_b * rate_b) / (n_a + n_b)
    variance = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    if variance <= 0.0:
        return 1.0
    z = abs(rate_a - rate_b) / math.sqrt(variance)
    return float(min(1.0, 2.0 * NormalDist().cdf(-z)))


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of a family of tests.

    q_(i) = min over j >= i of  m p_(j) / j  (p sorted ascending, m tests, capped at 1);
    rejecting every test with q <= alpha keeps the expected share of false discoveries among
    the rejections at most alpha, for independent or positively dependent tests
    (Benjamini & Hochberg 1995; Benjamini & Yekutieli 2001). nan p-values are not tests:
    they get nan and do not count in m.
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = tested.size
    if m == 0:
        return q
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return q
