"""Wilson intervals, the two-rate test and Benjamini-Hochberg against values worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.errors import InvalidEstimatorError
from simulator.estimators import Estimate
from simulator.intervals import benjamini_hochberg, two_rate_p_value, wilson_estimate, wilson_interval

Z = 1.959963984540054


@pytest.mark.parametrize("rate, n, low, high", [
    (0.0, 10, 0.0, Z * Z / (10 + Z * Z)),  # no success: the upper bound is z^2 / (n + z^2)
    (1.0, 10, 10 / (10 + Z * Z), 1.0),
    (0.5, 10, 0.236593, 0.763407),
    (0.006, 1000, 0.002753, 0.013028),  # a rare take rate: a normal interval would start below 0
])
def test_wilson_interval(rate, n, low, high):
    assert wilson_interval(rate, n) == pytest.approx((low, high), abs=1e-6)


def test_wilson_interval_edges():
    normal_low = 0.006 - Z * math.sqrt(0.006 * 0.994 / 300)
    assert normal_low < 0 < wilson_interval(0.006, 300)[0]
    assert all(math.isnan(x) for x in wilson_interval(0.5, 0))
    assert wilson_interval(1.7, 50) == wilson_interval(1.0, 50)  # weights above 1: clipped to a rate
    with pytest.raises(InvalidEstimatorError, match="confidence"):
        wilson_interval(0.5, 10, confidence=1.0)


def test_wilson_estimate_uses_the_effective_sample_size():
    est = Estimate("snips", 0.2, -0.05, 0.45, ess=40.0, n_rounds=400, confidence=0.9, ci_method="delta")
    out = wilson_estimate(est)
    assert (out.ci_low, out.ci_high) == pytest.approx(wilson_interval(0.2, 40.0, 0.9))
    assert out.ci_method == "wilson" and out.value == 0.2 and est.ci_low == -0.05


def test_two_rate_p_value():
    # 30/100 against 15/100: pooled 0.225, z = 0.15 / sqrt(0.225 * 0.775 * 0.02) = 2.5400
    assert two_rate_p_value(0.30, 100, 0.15, 100) == pytest.approx(0.011085, abs=1e-5)
    assert two_rate_p_value(0.15, 100, 0.30, 100) == two_rate_p_value(0.30, 100, 0.15, 100)
    assert two_rate_p_value(0.0, 50, 0.0, 80) == 1.0
    assert math.isnan(two_rate_p_value(0.1, 0, 0.2, 10))


def test_benjamini_hochberg():
    p = [0.01, 0.04, 0.03, 0.005, float("nan")]
    # sorted 0.005, 0.01, 0.03, 0.04 (m = 4): 4p/rank = 0.02, 0.02, 0.04, 0.04
    assert benjamini_hochberg(p)[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert math.isnan(benjamini_hochberg(p)[4])
    q = benjamini_hochberg([0.001, 0.2, 0.9])
    assert q == pytest.approx([0.003, 0.3, 0.9])  # monotone from the largest down, capped at 1
    assert benjamini_hochberg([]).shape == (0,)


def test_benjamini_hochberg_keeps_false_discoveries_rare_on_uniform_p_values():
    rng = np.random.default_rng(3)
    with_discovery = sum(bool((benjamini_hochberg(rng.random(200)) <= 0.05).any()) for _ in range(400))
    assert with_discovery / 400 <= 0.08  # the family-wise rate under the global null is alpha = 0.05
