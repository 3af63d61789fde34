"""The learner loop over the store: resumes, passes over bad records, runs once per data dir,
and learns from the candidates as they were served."""
from __future__ import annotations

import os
import threading
import time

import pytest

from api.errors import LearnerBusyError
from api.runtime.actions import to_action
from api.runtime.catalog_cache import CatalogCache
from api.runtime.engine import Engine
from api.runtime.learning import LearnLoop, LoggedActions, read_status
from artwork.records import LoggedDecision, Reward
from bandit.baselines import EpsilonGreedyPolicy, UniformPolicy
from artwork.reward_mapping import RewardMapping
from tests.conftest import log_decisions


def _log(store, n: int, start: int = 0) -> None:
    store.add_title("t1", "One") if start == 0 else None
    log_decisions(store, [LoggedDecision(
        f"e{i:04d}", 10.0 + i, f"u{i % 3}", "t1",
        {"features": {"device": "tv"}, "genre_affinity": {}, "title_genres": []},
        ("a", "b"), (0.5, 0.5), "a" if i % 2 else "b", 0.5, "egreedy", 0)
        for i in range(start, start + n)])


def _loop(store, data_dir, reward_of=None) -> LearnLoop:
    return LearnLoop(store, EpsilonGreedyPolicy(name="eg", seed=0), data_dir / "models",
                     window=1.0, reward_of=reward_of or RewardMapping(), snapshot_every=7)


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


def test_the_learner_sees_the_candidates_as_they_were_served(store, jpeg_bytes):
    store.add_title("t1", "One")
    arts = store.add_artworks([{"title_id": "t1", "data": jpeg_bytes(i), "status": "live"}
                               for i in range(2)])
    cache = CatalogCache(store, ttl=0.0)
    served = Engine(store, cache, lambda: UniformPolicy(seed=0)).decide("u1", ["t1"], {})[0]
    before = cache.entry("t1").actions
    store.set_default(arts[1].id)  # the catalog changes after the decision was served
    assert cache.entry("t1").actions != before
    pair = next(store.learning_pairs(0.0, RewardMapping(), now=time.time() + 1))
    assert pair.decision.event_id == served.decision.event_id
    item = LoggedActions(store, embed_dim=8).learning_item(pair)
    assert item.actions == before and not any(a.is_default for a in item.actions)
    assert item.decision.action_ids == pair.decision.candidates
    assert item.context.user_id == "u1" and item.context.title_id == "t1"


def test_the_learner_is_told_which_decisions_drew_a_click(store, data_dir):
    """The funnel learns engagement from every click, rewarded or not: the loop passes it on."""
    _log(store, 6)
    store.add_rewards([Reward("e0001", 11.5, "click"), Reward("e0002", 12.5, "click"),
                       Reward("e0002", 12.6, "play"), Reward("e0003", 13.5, "play")])
    items = [LoggedActions(store, embed_dim=8).learning_item(pair)
             for pair in store.learning_pairs(1.0, RewardMapping(), now=100.0)]
    assert [(i.decision.event_id, i.reward, i.engaged) for i in items] == [
        ("e0000", 0.0, False), ("e0001", 0.0, True), ("e0002", 1.0, True), ("e0003", 1.0, False),
        ("e0004", 0.0, False), ("e0005", 0.0, False)]


def test_a_decision_logged_without_descriptions_takes_the_catalog_as_it_is(store, jpeg_bytes):
    store.add_title("t1", "One")
    art = store.add_artworks([{"title_id": "t1", "data": jpeg_bytes(1), "status": "live"}])[0]
    log_decisions(store, [LoggedDecision("e1", 1.0, "u1", "t1", {}, (art.id, "gone"), (0.5, 0.5),
                                         art.id, 0.5, "uniform", 0)])
    pair = next(store.learning_pairs(0.0, RewardMapping(), now=10.0))
    item = LoggedActions(store, embed_dim=8).learning_item(pair)
    assert item.actions[0] == to_action(art, 8)
    assert item.actions[1].id == "gone" and not item.actions[1].features  # deleted since: bare


def test_a_failing_step_is_logged_once_counted_and_reported(store, data_dir, caplog):
    _log(store, 5)
    loop = _loop(store, data_dir)
    loop.interval = 0.01
    store.db.connection().execute("DROP TABLE rewards")  # every step now fails the same way
    stop = threading.Event()
    loop.run(stop, max_rounds=4)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "no such table: rewards" in errors[0].getMessage()
    caplog.clear()  # the error was the point
    status = read_status(data_dir / "models", "eg")
    assert status.errors == 4 and "no such table: rewards" in status.last_error
    assert status.pid == os.getpid() and status.learned == 0
