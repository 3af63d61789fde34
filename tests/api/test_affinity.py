"""The engine's genre affinities: no query for users who never played, fresh after a play."""
from __future__ import annotations

import logging

from artwork.records import LoggedDecision, Reward
from artwork.store import Store
from tests.conftest import log_decisions

from api.runtime.affinity import AffinityCache


def _decide_and_play(store: Store, event_id: str, user: str, title: str) -> None:
    log_decisions(store, [LoggedDecision(event_id, 1.0, user, title, {}, ("a",), (1.0,), "a",
                                         1.0, "uniform", 0)])
    store.add_rewards([Reward(event_id, 2.0, "play")])


def _count_lookups(store: Store) -> list[str]:
    """The per-user affinity queries this thread's connection runs from now on."""
    lookups: list[str] = []
    store.db.connection().set_trace_callback(
        lambda sql: lookups.append(sql) if "FROM plays p JOIN titles" in sql else None)
    return lookups


def test_users_who_never_played_cost_no_lookup(store):
    store.add_title("t1", "One", ["drama"])
    _decide_and_play(store, "e1", "fan", "t1")
    lookups = _count_lookups(store)
    cache = AffinityCache(store, refresh=60.0)
    assert [cache.get(f"stranger{i}") for i in range(100)] == [{}] * 100
    assert len(lookups) == 0
    assert cache.get("fan") == {"drama": 1.0} and len(lookups) == 1
    assert cache.get("fan") == {"drama": 1.0} and len(lookups) == 1  # cached


def test_a_first_play_shows_at_the_next_refresh_not_after_the_ttl(store):
    store.add_title("t1", "One", ["drama"])
    store.add_title("t2", "Two", ["comedy"])
    _decide_and_play(store, "e1", "u1", "t1")
    cache = AffinityCache(store, ttl=3600.0, refresh=0.0)
    assert cache.get("u1") == {"drama": 1.0} and cache.get("u2") == {}
    _decide_and_play(store, "e2", "u2", "t2")
    _decide_and_play(store, "e3", "u1", "t2")
    assert cache.get("u2") == {"comedy": 1.0}
    assert cache.get("u1") == {"comedy": 0.5, "drama": 0.5}  # the cached value was dropped


def test_past_max_players_every_user_is_looked_up(store, caplog):
    store.add_title("t1", "One", ["drama"])
    for i in range(3):
        _decide_and_play(store, f"e{i}", f"u{i}", "t1")
    lookups = _count_lookups(store)
    cache = AffinityCache(store, refresh=60.0, max_players=2)
    with caplog.at_level(logging.INFO, logger="api.runtime.affinity"):
        assert cache.get("stranger") == {}
    assert len(lookups) == 1 and "looking every user up" in caplog.text
    assert cache.get("u2") == {"drama": 1.0}
