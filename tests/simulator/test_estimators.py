"""Estimators: hand-computed cases, settings checks, warnings, and coverage of the truth on world logs."""
from __future__ import annotations

import statistics

import numpy as np
import pytest
from scipy.stats import t as student_t

from bandit.baselines import DefaultArtworkPolicy, UniformPolicy
from simulator.errors import InvalidEstimatorError
from bandit.specs import parse_policy_spec
from simulator.estimators import (ESTIMATORS, IPS, DirectMethod, DoublyRobust, Replay, SelfNormalizedIPS,
                                  effective_sample_size, make_estimator, sample_actions)
from simulator.evaluation import policy_pmf
from simulator.logs import LoggedFeedback
from simulator.reward_model import RewardModel
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
    # two or three rewarded rows decide it: Student's t with (sum w r)^2 / sum (w r)^2 - 1 df
    events = sum(terms) ** 2 / sum(x * x for x in terms)
    half = student_t.ppf(0.975, events - 1) * statistics.stdev(terms) / 2
    # and the interval stays inside the logged reward range [0, 1]
    assert abs(est.ci_low - max(0.0, 31 / 24 - half)) < 1e-12 and est.ci_high == 1.0
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
    q = student_t.ppf(0.975, np.sum(w * r) ** 2 / np.sum((w * r) ** 2) - 1)
    assert abs(max(0.0, est.value - q * se) - est.ci_low) < 1e-12
    assert est.ci_high == min(1.0, est.value + q * se)


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
    (TARGET, None, "needs estimated rewards"),
    (TARGET, np.zeros((2, 2)), "estimated rewards have shape"),
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
    rhat = RewardModel().fit(log, world_log.catalog)
    for est in (Replay(), IPS(), SelfNormalizedIPS(), DoublyRobust()):
        e = est.estimate(log, target, rhat)
        assert abs(e.value - truth) < 4 * (e.ci_high - e.ci_low) / 2, (est.name, e, truth)
    assert abs(DirectMethod().estimate(log, target, rhat).value - truth) < 0.1


def _coverage_logs(world, kind: str, reps: int):
    """Seeded logs of the small world: ε-greedy default logging, or a VW policy that learned online
    and holds most of the traffic (as skewed as the demo's: its floor is 0.02)."""
    for rep in range(reps):
        if kind == "epsilon":
            yield rep, log_from_world(world, DefaultArtworkPolicy(epsilon=0.5, seed=rep), 1500, seed=100 + rep)
        else:
            policy = parse_policy_spec("vw:igw,floor=0.02,floor_min=0.02").build(rep)
            yield rep, log_from_world(world, policy, 1500, seed=100 + rep, learn=True)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["epsilon", "skewed"])
def test_every_interval_covers_the_truth_in_90_percent_of_repetitions_or_says_why(small_world, kind):
    reps = 40
    hits: dict[tuple[str, str], int] = {}
    warned: dict[tuple[str, str], int] = {}
    for rep, synthetic in _coverage_logs(small_world, kind, reps):
        log = synthetic.log
        rhat = RewardModel(seed=rep, passes=2).fit(log, synthetic.catalog, bootstrap=10)
        targets = {"logging": log.pmf, "uniform": policy_pmf(UniformPolicy(), log, synthetic.catalog),
                   "default": policy_pmf(DefaultArtworkPolicy(epsilon=0.05), log, synthetic.catalog)}
        for target_name, target in targets.items():
            truth = synthetic.true_value(target)
            for name in ESTIMATORS:
                e = make_estimator(name, seed=rep, n_bootstrap=10).estimate(log, target, rhat)
                key = (name, target_name)
                hits[key] = hits.get(key, 0) + (e.ci_low <= truth <= e.ci_high)
                warned[key] = warned.get(key, 0) + bool(e.warnings)
    for key, count in hits.items():
        # below 90%, every one of its estimates must have said why
        assert count >= 0.9 * reps or warned[key] == reps, \
            f"{key}: covered the truth in {count} of {reps}, warned in {warned[key]}"
    # only the direct method needs the excuse: the others cover
    assert all(count >= 0.9 * reps for (name, _), count in hits.items() if name != "dm"), hits
