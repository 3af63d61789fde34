"""The normal-mixture confidence sequence: valid at every look on i.i.d. draws, and its inputs checked."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.confidence_sequences import ConfidenceSequence, arm_contrasts, user_contrasts
from simulator.errors import InvalidEstimatorError


def test_the_mean_is_inside_at_every_look_in_at_least_95_percent_of_runs():
    cs = ConfidenceSequence(alpha=0.05, tuned_for=2000)
    rng = np.random.default_rng(4)
    misses = sum(bool(cs.path(rng.random(5000) < 0.2).excludes(0.2).any()) for _ in range(300))
    assert misses <= 15, misses


def test_narrower_with_more_observations_and_infinite_with_none():
    cs = ConfidenceSequence()
    r = cs.radius(np.array([0, 100, 10_000, 1_000_000]), 0.25)
    assert r[0] == np.inf and r[1] > r[2] > r[3] > 0


@pytest.mark.parametrize("settings, message", [
    ({"alpha": 0.0}, "alpha"), ({"alpha": 1.5}, "alpha"), ({"tuned_for": 0}, "tuned_for")])
def test_bad_settings(settings, message):
    with pytest.raises(InvalidEstimatorError, match=message):
        ConfidenceSequence(**settings)


def test_checkpoints_must_be_within_the_observations():
    with pytest.raises(InvalidEstimatorError, match="between 1 and 3"):
        ConfidenceSequence().path(np.zeros(3), [4])


def test_contrasts_weigh_each_arm_by_its_share_and_users_are_the_units():
    assert list(arm_contrasts([False, True], [1.0, 1.0], 0.25, 0.75)) == [-4.0, 1 / 0.75]
    with pytest.raises(InvalidEstimatorError, match="shares"):
        arm_contrasts([True], [1.0], 0.0, 1.0)
    # u2 first, then u1 (two decisions, mean reward 0.5), in the order they were first seen.
    psi = user_contrasts(np.array(["u2", "u1", "u1"]), [True, False, False], [1.0, 1.0, 0.0],
                         0.5, 0.5)
    assert list(psi) == [2.0, -1.0]
