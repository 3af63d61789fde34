"""Estimators: hand-computed cases, settings checks, warnings, and coverage of the truth on world logs."""
from __future__ import annotations

import statistics

import numpy as np
import pytest

from bandit.baselines import DefaultArtworkPolicy, UniformPolicy
from simulator.errors import InvalidEstimatorError
from simulator.estimators import (IPS, DirectMethod, DoublyRobust, Replay, SelfNormalizedIPS, effective_sample_size,
                                  make_estimator, sample_actions)
from simulator.evaluation import policy_pmf
from simulator.logs import LoggedFeedback
from simulator.reward_model import VWRewardModel
from simulator.synthetic import log_from_world

Z95 = statistics.NormalDist().inv_cdf(0.975)


@pytest.fixture
def hand_log() -> LoggedFeedback:
    return LoggedFeedback(
        action=[0, 1, 0, 1], reward=[1.0, 1.0, 0.0, 0.5], pscore=[0.5, 0.2, 0.8, 0.75],
        candidates=[[0, 1]] * 4, action_names=("a", "b"),
        pmf=[[0.5, 0.5], [0.8, 0.2], [0.8, 0.2], [0.25, 0.75]],
    )


TARGET = np.array([[1.0, 0.0], [0.5, 0.5], [0.2, 0.8], [0.0, 1.0]])
RHAT = np.array([[0.6, 0.4], [0.1, 0.9], [0.5, 0.5], [0.3, 0.7]])


def test_ips_hand_computed(hand_log):
    est = IPS().estimate(hand_log, TARGET)
    assert abs(est.value - 31 / 24) < 1e-12
    terms = [2.0, 2.5, 0.0, 2 / 3]
    half = Z95 * statistics.stdev(terms) / 2
    assert abs(est.ci_low - (31 / 24 - half)) < 1e-12 and abs(est.ci_high - (31 / 24 + half)) < 1e-12
    w = [2.0, 2.5, 0.25, 4 / 3]
    assert abs(est.ess - sum(w) ** 2 / sum(x * x for x in w)) < 1e-12
    assert est.n_matched == 4 and est.ci_method == "normal"


def test_clipped_ips_hand_computed(hand_log):
    assert abs(IPS(clip=2.0).estimate(hand_log, TARGET).value - 7 / 6) < 1e-12


def test_snips_hand_computed(hand_log):
    est = SelfNormalizedIPS().estimate(hand_log, TARGET)
    assert abs(est.value - 62 / 73) < 1e-12
    w = np.array([2.0, 2.5, 0.25, 4 / 3])
    r = np.array([1.0, 1.0, 0.0, 0.5])
    se = np.sqrt(np.sum((w * (r - 62 / 73)) ** 2)) / w.sum() * np.sqrt(4 / 3)
    assert abs(est.ci_high - est.value - Z95 * se) < 1e-12


def test_dm_and_dr_hand_computed(hand_log):
    dm = DirectMethod().estimate(hand_log, TARGET, RHAT)
    assert abs(dm.value - 0.575) < 1e-12
    assert dm.ci_method == "bootstrap" and dm.ci_low <= dm.value <= dm.ci_high
    assert DirectMethod(seed=5).estimate(hand_log, TARGET, RHAT) == DirectMethod(seed=5).estimate(hand_log, TARGET, RHAT)
    dr = DoublyRobust().estimate(hand_log, TARGET, RHAT)
    assert abs(dr.value - 71 / 96) < 1e-12


def test_replay_hand_computed(hand_log):
    one_hot = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    est = Replay(min_matches=0).estimate(hand_log, one_hot)
    assert est.n_matched == 3
    assert abs(est.value - 32 / 55) < 1e-12
    assert est.warnings == ()


def test_replay_on_uniform_logging_is_the_mean_of_matched_rewards():
    log = LoggedFeedback(action=[0, 1, 1, 0], reward=[1.0, 0.0, 1.0, 1.0], pscore=[0.5] * 4,
                         candidates=[[0, 1]] * 4, action_names=("a", "b"))
    est = Replay(min_matches=0).from_matches(log, np.array([True, True, False, True]))
    assert abs(est.value - 2 / 3) < 1e-12


def test_inputs_are_not_modified(hand_log):
    target, rhat = TARGET.copy(), RHAT.copy()
    for est in (Replay(), IPS(clip=1.0), SelfNormalizedIPS(), DirectMethod(), DoublyRobust(clip=1.0)):
        est.estimate(hand_log, target, rhat)
    np.testing.assert_array_equal(target, TARGET)
    np.testing.assert_array_equal(rhat, RHAT)


@pytest.mark.parametrize("make, message", [
    (lambda: IPS(confidence=1.0), "confidence 1.0 must be in \\(0, 1\\)"),
    (lambda: IPS(clip=0.0), "clip 0.0 must be > 0"),
    (lambda: DoublyRobust(clip=-1.0), "clip -1.0 must be > 0"),
    (lambda: DirectMethod(n_bootstrap=2), "n_bootstrap 2 must be >= 10"),
    (lambda: Replay(min_matches=-1), "min_matches -1 must be >= 0"),
    (lambda: make_estimator("magic"), "unknown estimator 'magic'; choose from replay, ips, snips, dm, dr"),
])
def test_bad_settings(make, message):
    with pytest.raises(InvalidEstimatorError, match=message):
        make()


@pytest.mark.parametrize("target, rhat, message", [
    (np.ones((4, 3)) / 3, None, "target pmf has shape \\(4, 3\\), expected \\(4, 2\\)"),
    (np.array([[1.0, 0.0]] * 3 + [[0.6, 0.6]]), None, "target pmf of row 4 sums to 1.2"),
    (np.array([[1.5, -0.5]] * 4), None, "row 1 has a negative probability"),
    (TARGET, None, "needs estimated_rewards"),
    (TARGET, np.zeros((2, 2)), "estimated_rewards has shape"),
])
def test_bad_inputs(hand_log, target, rhat, message):
    est = DoublyRobust()
    with pytest.raises(InvalidEstimatorError, match=message):
        est.estimate(hand_log, target, rhat)


def test_support_deficiency_and_few_matches_warn():
    log = LoggedFeedback(action=[0, 0, 1], reward=[1.0, 0.0, 1.0], pscore=[1.0, 1.0, 1.0],
                         candidates=[[0, 1]] * 3, action_names=("a", "b"),
                         pmf=[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    est = IPS(min_matches=10).estimate(log, np.array([[0.5, 0.5]] * 3))
    assert any("support deficiency" in w and "50.00%" in w for w in est.warnings)
    assert any("only 3 logged actions" in w for w in est.warnings)
    assert Replay(min_matches=10).from_matches(log, np.array([False] * 3)).warnings[0].startswith("only 0 events")


def test_support_check_without_logged_pmf_uses_actions_never_chosen():
    log = LoggedFeedback(action=[0, 0], reward=[1.0, 0.0], pscore=[0.5, 0.5], candidates=[[0, 1]] * 2,
                         action_names=("a", "b"))
    assert IPS(min_matches=0).estimate(log, np.array([[0.0, 1.0]] * 2)).warnings[0].startswith("support deficiency")
    assert IPS(min_matches=0).estimate(log, np.array([[1.0, 0.0]] * 2)).warnings == ()


def test_sample_actions_follows_the_pmf_and_skips_pads():
    pmf = np.tile([0.2, 0.8, 0.0], (20000, 1))
    picks = sample_actions(pmf, np.random.default_rng(0))
    assert picks.max() == 1 and abs(picks.mean() - 0.8) < 0.01


def test_effective_sample_size():
    assert effective_sample_size(np.ones(10)) == 10.0
    assert effective_sample_size(np.zeros(3)) == 0.0


def test_ips_of_the_logging_policy_is_the_logged_mean_reward(small_world):
    policy = DefaultArtworkPolicy(epsilon=0.3, seed=1)
    synthetic = log_from_world(small_world, policy, 1500, seed=4)
    target = policy_pmf(DefaultArtworkPolicy(epsilon=0.3), synthetic.log, synthetic.catalog)
    assert IPS().estimate(synthetic.log, target).value == synthetic.log.reward.mean()
    assert SelfNormalizedIPS().estimate(synthetic.log, target).value == pytest.approx(synthetic.log.reward.mean(), abs=1e-12)


def test_estimates_are_close_to_the_truth_on_a_world_log(world_log):
    log = world_log.log
    target = policy_pmf(UniformPolicy(), log, world_log.catalog)
    truth = world_log.true_value(target)
    rhat = VWRewardModel().fit_predict(log, world_log.catalog)
    for est in (Replay(), IPS(), SelfNormalizedIPS(), DoublyRobust()):
        e = est.estimate(log, target, rhat)
        assert abs(e.value - truth) < 4 * (e.ci_high - e.ci_low) / 2, (est.name, e, truth)
    assert abs(DirectMethod().estimate(log, target, rhat).value - truth) < 0.1


@pytest.mark.slow
def test_ips_snips_dr_cover_the_truth_in_90_percent_of_repetitions(small_world):
    reps = 30
    hits = {"ips": 0, "snips": 0, "dr": 0}
    for rep in range(reps):
        synthetic = log_from_world(small_world, DefaultArtworkPolicy(epsilon=0.5, seed=rep), 1500, seed=100 + rep)
        log = synthetic.log
        target = policy_pmf(UniformPolicy(), log, synthetic.catalog)
        truth = synthetic.true_value(target)
        rhat = VWRewardModel(seed=rep, passes=1).fit_predict(log, synthetic.catalog)
        for est in (IPS(), SelfNormalizedIPS(), DoublyRobust()):
            e = est.estimate(log, target, rhat)
            hits[est.name] += e.ci_low <= truth <= e.ci_high
    for name, count in hits.items():
        assert count >= 0.9 * reps, f"{name} covered the truth in only {count} of {reps} repetitions"
