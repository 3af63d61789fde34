"""Contract tests: every policy goes through the same checks."""
from __future__ import annotations

import math

import pytest

from bandit import (
    Action,
    Context,
    InvalidCandidatesError,
    InvalidPolicyError,
    InvalidRewardError,
    SnapshotStore,
)

from .conftest import FLOOR


def test_pmf_sums_to_one_every_candidate_above_floor_and_probability_is_logged(make_policy, small_world, play):
    policy = make_policy(0)
    decisions = play(policy, small_world, 300, seed=1)
    for d in decisions:
        assert math.isclose(sum(d.pmf), 1.0, abs_tol=1e-9)
        assert min(d.pmf) >= policy.floor_min - 1e-12 and 0 < policy.floor_min <= FLOOR
        assert d.probability == d.pmf[d.chosen] > 0
        assert d.policy == policy.name
        assert len(d.action_ids) == len(d.pmf)


def test_same_seed_same_choices(make_policy, small_world, play):
    first = play(make_policy(11), small_world, 150, seed=2)
    second = play(make_policy(11), small_world, 150, seed=2)
    assert [d.chosen for d in first] == [d.chosen for d in second]
    assert [d.pmf for d in first] == [d.pmf for d in second]


def test_different_seed_different_choices(make_policy, small_world, play):
    first = play(make_policy(1), small_world, 200, seed=3)
    second = play(make_policy(2), small_world, 200, seed=3)
    assert [d.chosen for d in first] != [d.chosen for d in second]


def test_event_ids_unique_and_caller_may_pass_one(make_policy, small_world):
    policy = make_policy(0)
    imp = next(small_world.impressions(1, seed=4))
    ids = {policy.decide(imp.context, imp.actions).event_id for _ in range(50)}
    assert len(ids) == 50
    assert policy.decide(imp.context, imp.actions, event_id="ev-42").event_id == "ev-42"


@pytest.mark.parametrize(
    "candidates, message",
    [
        ((), "no candidate artworks"),
        ((Action("a1"), Action("a2"), Action("a1")), "'a1' more than once"),
        (("a1", "a2"), "not a bandit Action"),
    ],
    ids=["empty", "duplicated", "not-actions"],
)
def test_bad_candidates_clear_error(make_policy, candidates, message):
    policy = make_policy(0)
    with pytest.raises(InvalidCandidatesError, match=message):
        policy.decide(Context("u1", "t1"), candidates)


def test_learn_rejects_other_candidates_and_bad_rewards(make_policy, small_world):
    policy = make_policy(0)
    imp = next(small_world.impressions(1, seed=5))
    decision = policy.decide(imp.context, imp.actions)
    with pytest.raises(InvalidCandidatesError, match="same candidates in the same order"):
        policy.learn(imp.context, tuple(reversed(imp.actions)), decision, 1.0)
    for reward in (float("nan"), "lots"):
        with pytest.raises(InvalidRewardError):
            policy.learn(imp.context, imp.actions, decision, reward)


def test_floor_that_cannot_hold_is_refused(make_policy):
    policy = make_policy(0)  # floor 0.02: at most 50 candidates
    actions = [Action(f"a{i}", {"face": i / 60}) for i in range(60)]
    with pytest.raises(InvalidPolicyError, match="lower the floor"):
        policy.decide(Context("u1", "t1"), actions)


def test_snapshot_save_and_reload_predicts_the_same_pmf(make_policy, small_world, play, tmp_path):
    policy = make_policy(0)
    play(policy, small_world, 300, seed=6)
    store = SnapshotStore(tmp_path, policy.name)
    snap = store.write(policy, learned=300)
    fresh = make_policy(99)
    store.load_into(fresh)
    assert fresh.model_version == snap.version == policy.model_version == 1
    for imp in small_world.impressions(30, seed=7):
        assert fresh.pmf(imp.context, imp.actions) == pytest.approx(policy.pmf(imp.context, imp.actions), abs=1e-9)
    assert fresh.decide(imp.context, imp.actions).model_version == 1
