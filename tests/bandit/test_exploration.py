"""Probability floor, seeded sampling and candidate checks."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bandit import Action, InvalidPolicyError, apply_floor, check_candidates, sample_index
from bandit.exploration import check_floor


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
