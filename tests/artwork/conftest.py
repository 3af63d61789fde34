"""Fixtures for the store's tests."""
from __future__ import annotations

import multiprocessing as mp
from typing import Callable

import pytest

from artwork.records import LoggedDecision


@pytest.fixture
def make_decision():
    """Factory: a valid logged decision over three candidates."""

    def make(event_id: str, timestamp: float, *, user="u1", title="t1", chosen=1,
             candidates=("a1", "a2", "a3"), pmf=(0.2, 0.5, 0.3),
             action_keys=()) -> LoggedDecision:
        return LoggedDecision(
            event_id=event_id, timestamp=timestamp, user_id=user, title_id=title,
            context={"features": {"device": "tv", "hour": 21.0}, "genre_affinity": {"drama": 1.0}},
            candidates=tuple(candidates), pmf=tuple(pmf), action=candidates[chosen],
            probability=pmf[chosen], policy="vw", model_version=3,
            action_keys=tuple(action_keys),
        )

    return make


def run_together(target: Callable, names: list[str], data_dir, timeout: float = 120) -> None:
    """Run target(data_dir, name, start) in one spawned process per name, released at once."""
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=target, args=(str(data_dir), n, start)) for n in names]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout)
    assert [p.exitcode for p in procs] == [0] * len(procs)
