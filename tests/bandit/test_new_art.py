"""Fair exposure for new artwork: the minimums lift of the pmf, its settings, and the policy applying it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bandit import Action, InvalidPolicyError, apply_floor
from bandit.baselines import DefaultArtworkPolicy
from bandit.new_art import FairExposure, apply_minimums
from bandit.types import Context


@pytest.mark.parametrize("pmf, minimums", [
    ((0.97, 0.01, 0.01, 0.01), (0.01, 0.01, 0.01, 0.2)),
    ((0.5, 0.3, 0.2), (0.25, 0.25, 0.25)),
    ((0.1, 0.1, 0.8), (0.0, 0.3, 0.3)),
    ((0.25, 0.25, 0.25, 0.25), (0.0, 0.0, 0.0, 0.0)),
    ((0.6, 0.4), (0.7, 0.7)),  # cannot hold together: scaled down to sum to 1
    ((0.0, 1.0, 0.0), (0.2, 0.0, 0.3)),
    ((0.9, 0.05, 0.05), (0.5, 0.5, 0.5)),  # all ask for more than 1/n: uniform
])
def test_minimums_hold_sum_one_and_move_the_pmf_least(pmf, minimums):
    out = apply_minimums(pmf, minimums)
    assert math.isclose(sum(out), 1.0, abs_tol=1e-12)
    if sum(minimums) <= 1.0:
        assert all(o >= m - 1e-12 for o, m in zip(out, minimums))
    else:  # every entry keeps the smallest minimum, or 1/n when that is more than fits
        assert all(o >= min(min(minimums), 1 / len(pmf)) - 1e-12 for o in out)
    if all(p >= m for p, m in zip(pmf, minimums)):
        assert out == pytest.approx(pmf)  # nothing to lift: unchanged
    for i in range(len(pmf)):  # entries above their minimum keep their order
        for j in range(len(pmf)):
            if minimums[i] == minimums[j] and pmf[i] > pmf[j]:
                assert out[i] >= out[j] - 1e-12


def test_minimums_all_equal_to_the_floor_are_the_floor():
    pmf = apply_floor((0.9, 0.05, 0.05, 0.0), 0.02)
    assert apply_minimums(pmf, (0.02,) * 4) == pytest.approx(pmf)


@pytest.mark.parametrize("minimums, message", [
    ((0.1, 0.1), "2 minimums for 3 candidates"),
    ((0.1, 1.5, 0.1), r"must be in \[0, 1\]"),
])
def test_bad_minimums(minimums, message):
    with pytest.raises(InvalidPolicyError, match=message):
        apply_minimums((0.2, 0.3, 0.5), minimums)


@pytest.mark.parametrize("settings, message", [
    ({"share": 1.0}, "new_art_share"),
    ({"share": -0.1}, "new_art_share"),
    ({"impressions": 0}, "new_art_impressions"),
    ({"window": 0.0}, "new_art_window"),
])
def test_bad_exposure_settings(settings, message):
    with pytest.raises(InvalidPolicyError, match=message):
        FairExposure(**settings)


def test_an_artwork_is_new_until_its_impressions_or_its_window_run_out():
    rule = FairExposure(share=0.1, impressions=100, window=60.0)
    assert rule.is_new(99, 59.0)
    assert not rule.is_new(100, 1.0)
    assert not rule.is_new(0, 60.0)
    assert not FairExposure(share=0.0).is_new(0, 0.0)


def _actions(n: int) -> tuple[Action, ...]:
    return tuple(Action(f"a{i}", is_default=i == 0) for i in range(n))


def test_the_policy_serves_new_artworks_at_least_their_share_and_logs_that_pmf():
    policy = DefaultArtworkPolicy(epsilon=0.04, floor=0.01, seed=3)
    policy.exposure = FairExposure(share=0.15)
    actions, context = _actions(5), Context("u1", "t1")
    before = policy.pmf(context, actions)
    assert before[4] < 0.15
    chosen = []
    for _ in range(4000):
        d = policy.decide(context, actions, new_artworks={"a4"})
        assert d.pmf[4] >= 0.15 - 1e-12 and min(d.pmf) >= 0.01 - 1e-12
        assert math.isclose(sum(d.pmf), 1.0, abs_tol=1e-12)
        assert d.probability == d.pmf[d.chosen]
        chosen.append(d.chosen)
    assert d.pmf == policy.pmf(context, actions, new_artworks={"a4"})
    share = np.mean(np.asarray(chosen) == 4)
    assert abs(share - d.pmf[4]) < 4 * math.sqrt(d.pmf[4] * (1 - d.pmf[4]) / 4000)
    # Without the rule, or with no new candidate, the pmf is the policy's own.
    assert policy.decide(context, actions).pmf == before
    policy.exposure = None
    assert policy.decide(context, actions, new_artworks={"a4"}).pmf == before
