"""Probability floor, seeded sampling and candidate checks."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bandit import Action, InvalidPolicyError, apply_floor, check_candidates, sample_index
from bandit.exploration import AdaptiveFloor, check_floor, inverse_gap_weights


@pytest.mark.parametrize(
    "pmf, floor",
    [((1.0, 0.0, 0.0), 0.05), ((0.2, 0.3, 0.5), 0.1), ((0.7, 0.3), 0.5), ((3.0, 1.0), 0.0), ((0.0, 0.0), 0.1)],
)
def test_floor_keeps_sum_one_and_every_entry_above_floor(pmf, floor):
    out = apply_floor(pmf, floor)
    assert math.isclose(sum(out), 1.0, abs_tol=1e-12)
    assert min(out) >= floor - 1e-12
    for i in range(len(pmf)):  # the order of preferences survives
        for j in range(len(pmf)):
            if pmf[i] > pmf[j]:
                assert out[i] >= out[j]


def test_floor_too_high_for_the_candidates():
    with pytest.raises(InvalidPolicyError, match="floor 0.3 cannot hold for 4 candidates"):
        apply_floor((0.25,) * 4, 0.3)


@pytest.mark.parametrize("floor", [-0.1, 1.0, "x"])
def test_bad_floor_setting(floor):
    with pytest.raises(InvalidPolicyError, match="floor"):
        check_floor(floor)


def test_sampling_follows_the_pmf_and_skips_zeros():
    pmf = (0.5, 0.0, 0.3, 0.2, 0.0)
    rng = np.random.default_rng(3)
    counts = np.bincount([sample_index(pmf, rng) for _ in range(20000)], minlength=5)
    assert counts[1] == counts[4] == 0
    assert np.allclose(counts / 20000, pmf, atol=0.015)


def test_sampling_same_seed_same_draws():
    pmf = (0.1, 0.6, 0.3)

    def draws(seed):
        rng = np.random.default_rng(seed)
        return [sample_index(pmf, rng) for _ in range(100)]

    assert draws(8) == draws(8) != draws(9)


def test_check_candidates_returns_a_tuple():
    actions = [Action("a"), Action("b")]
    assert check_candidates(actions) == tuple(actions)


@pytest.mark.parametrize("scores, gamma", [([0.0, -1.0, -2.0], 10.0), ([3.0, 3.0, 1.0, -5.0], 100.0),
                                            ([0.5], 7.0), ([-2.0, 0.0], 0.0)])
def test_inverse_gap_weights_sum_to_one_and_favour_the_best(scores, gamma):
    pmf = inverse_gap_weights(scores, gamma)
    assert math.isclose(sum(pmf), 1.0, abs_tol=1e-12) and min(pmf) > 0
    best = max(range(len(scores)), key=scores.__getitem__)
    assert pmf[best] == max(pmf)
    # a worse score never gets more probability than a better one (the best aside)
    others = sorted((s, p) for i, (s, p) in enumerate(zip(scores, pmf)) if i != best)
    assert all(a[1] <= b[1] + 1e-12 for a, b in zip(others, others[1:]))


def test_inverse_gap_weights_get_greedier_with_gamma():
    scores = [0.0, -0.5, -1.0]
    shares = [inverse_gap_weights(scores, g)[0] for g in (0.0, 10.0, 100.0, 1000.0)]
    assert shares[0] == pytest.approx(1 / 3) and shares == sorted(shares) and shares[-1] > 0.99


def test_adaptive_floor_falls_with_traffic_and_never_below_its_minimum():
    floor = AdaptiveFloor(0.01, 0.002, ramp=500)
    assert floor(0) == floor(500) == 0.01
    assert floor(2000) == pytest.approx(0.005)  # 0.01 * sqrt(500 / 2000)
    assert floor(10**9) == 0.002
    values = [floor(n) for n in range(0, 100_000, 997)]
    assert values == sorted(values, reverse=True) and min(values) == 0.002


@pytest.mark.parametrize("maximum, minimum, ramp, message", [
    (0.01, 0.0, 500, "must be in \\(0, floor\\]"),
    (0.01, 0.02, 500, "must be in \\(0, floor\\]"),
    (0.01, 0.002, 0, "floor_ramp 0 must be at least 1"),
])
def test_adaptive_floor_settings_are_checked(maximum, minimum, ramp, message):
    with pytest.raises(InvalidPolicyError, match=message):
        AdaptiveFloor(maximum, minimum, ramp)
