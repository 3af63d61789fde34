"""The VW reward model behind DM and DR."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.errors import InvalidEstimatorError
from simulator.reward_model import VWRewardModel


def test_predictions_track_the_true_take_probabilities(world_log):
    rhat = VWRewardModel().fit_predict(world_log.log, world_log.catalog)
    valid = world_log.log.candidates >= 0
    assert rhat.shape == world_log.log.candidates.shape and (rhat[~valid] == 0).all()
    truth = world_log.expected_reward[valid]
    assert np.corrcoef(rhat[valid], truth)[0, 1] > 0.2
    assert abs(rhat[valid].mean() - truth.mean()) < 0.05
    assert 0.0 <= rhat.min() and rhat.max() <= 1.0  # clipped to the logged reward range


@pytest.mark.parametrize("settings, message", [
    ({"passes": 0}, "passes 0 must be at least 1"),
    ({"learning_rate": 0}, "learning_rate 0 must be positive"),
    ({"bits": 40}, "bits 40 must be between 1 and 30"),
])
def test_bad_settings(settings, message):
    with pytest.raises(InvalidEstimatorError, match=message):
        VWRewardModel(**settings)
