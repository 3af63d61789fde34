"""The learner loop over the store: resumes, passes over bad records, and runs once per data dir."""
from __future__ import annotations

import pytest

from api.catalog import Catalog
from api.learning import LearnerBusyError, LearnLoop
from artwork.records import LoggedDecision, Reward
from bandit.baselines import EpsilonGreedyPolicy
from bandit.rewards import RewardMapping


def _log(store, n: int, start: int = 0) -> None:
    store.add_title("t1", "One") if start == 0 else None
    for i in range(start, start + n):
        store.log_decision(LoggedDecision(
            f"e{i:04d}", 10.0 + i, f"u{i % 3}", "t1",
            {"features": {"device": "tv"}, "genre_affinity": {}, "title_genres": []},
            ("a", "b"), (0.5, 0.5), "a" if i % 2 else "b", 0.5, "egreedy", 0))


def _loop(store, data_dir, reward_of=None) -> LearnLoop:
    return LearnLoop(store, Catalog(store), EpsilonGreedyPolicy(name="eg", seed=0),
                     data_dir / "models", window=1.0, reward_of=reward_of or RewardMapping(),
                     snapshot_every=7)


def test_resumes_after_the_last_learned_event(store, data_dir):
    _log(store, 20)
    loop = _loop(store, data_dir)
    assert loop.step() == 20 and loop.policy.model_version >= 1
    loop.stop()
    _log(store, 5, start=20)
    again = _loop(store, data_dir)
    assert again.learned == 20  # restored from the snapshot
    assert again.step() == 5 and again.learned == 25
    again.stop()


def test_a_record_that_cannot_be_learned_is_passed_over(store, data_dir, caplog):
    _log(store, 10)
    store.add_rewards([Reward("e0003", 13.5, "impression"), Reward("e0004", 14.5, "play")])
    # a mapping without a weight for impressions refuses that one decision
    loop = _loop(store, data_dir, RewardMapping({"play": 1.0}))
    assert loop.step() == 9 and loop.skipped == 1
    assert "passing over decision e0003" in caplog.text
    assert loop.step() == 0  # it does not come back
    loop.stop()


def test_only_one_learner_per_data_directory(store, data_dir):
    first = _loop(store, data_dir)
    with pytest.raises(LearnerBusyError, match="already running"):
        _loop(store, data_dir)
    first.stop()
    _loop(store, data_dir).stop()  # free again once the first has stopped
