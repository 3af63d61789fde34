"""The reward model behind DM and DR: cross-fitted, calibrated, usable on context-only logs."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.errors import InvalidEstimatorError
from simulator.logs import LoggedFeedback
from simulator.reward_model import RewardModel


def test_predictions_track_the_true_take_probabilities(world_log):
    estimates = RewardModel().fit(world_log.log, world_log.catalog)
    rhat = estimates.predicted
    valid = world_log.log.candidates >= 0
    assert rhat.shape == world_log.log.candidates.shape and (rhat[~valid] == 0).all()
    truth = world_log.expected_reward[valid]
    assert np.corrcoef(rhat[valid], truth)[0, 1] > 0.2
    assert abs(rhat[valid].mean() - truth.mean()) < 0.05
    assert 0.0 < rhat[valid].min() and rhat.max() < 1.0  # probabilities, not labels
    assert estimates.replicates == ()


def test_calibrated_in_the_large_and_not_clamped_on_rare_rewards():
    """1% rewards: the model's mean prediction for what was shown is the mean reward, not 0."""
    rng = np.random.default_rng(0)
    n = 6000
    action = rng.integers(0, 4, n)
    reward = (rng.random(n) < np.where(action == 2, 0.02, 0.006)).astype(float)
    log = LoggedFeedback(action=action, reward=reward, pscore=np.full(n, 0.25),
                         candidates=np.tile(np.arange(4), (n, 1)), action_names=("a", "b", "c", "d"))
    rhat = RewardModel(seed=1).fit(log).predicted
    factual = rhat[np.arange(n), action]
    assert factual.mean() == pytest.approx(reward.mean(), rel=1e-6)
    assert (rhat > 0).all()
    assert rhat[:, 2].mean() > 1.5 * rhat[:, [0, 1, 3]].mean()  # the better action, from its id alone


def test_cross_fitting_predicts_a_row_by_a_model_that_did_not_learn_it():
    """A reward only one row ever got cannot be predicted for that row by its own fold's model."""
    n = 400
    reward = np.zeros(n)
    reward[7] = 1.0
    log = LoggedFeedback(action=np.zeros(n, dtype=int), reward=reward, pscore=np.ones(n),
                         candidates=np.zeros((n, 1), dtype=int), action_names=("a",),
                         user_id=np.array([f"u{i}" for i in range(n)], dtype=object),
                         context=np.array(['{"features": {}}'] * n, dtype=object))
    rhat = RewardModel(seed=3, passes=3).fit(log).predicted[:, 0]
    # the one rewarded user's own prediction is no higher than the others' (it never saw itself)
    assert rhat[7] <= np.median(rhat) * 1.5


def test_bootstrap_refits_resample_rows_and_predict_every_row(world_log):
    estimates = RewardModel(passes=1).fit(world_log.log, world_log.catalog, bootstrap=3)
    assert len(estimates.replicates) == 3
    for rows, predicted in estimates.replicates:
        assert rows.shape == (world_log.log.n_rounds,) and predicted.shape == estimates.predicted.shape
        assert len(np.unique(rows)) < world_log.log.n_rounds  # drawn with replacement


@pytest.mark.parametrize("settings, message", [
    ({"passes": 0}, "passes 0 must be at least 1"),
    ({"folds": 1}, "folds 1 must be at least 2"),
    ({"learning_rate": 0}, "learning_rate 0 must be positive"),
    ({"bits": 40}, "bits 40 must be between 1 and 30"),
])
def test_bad_settings(settings, message):
    with pytest.raises(InvalidEstimatorError, match=message):
        RewardModel(**settings)
