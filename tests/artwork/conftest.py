"""Fixtures for the store's tests, which run against both backends (SQLite and PostgreSQL)."""
from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Callable

import pytest

from artwork.records import LoggedDecision
from artwork.store import Store

BACKENDS = ("sqlite", "postgres")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The store's backend under test: each test that takes it runs once per backend."""
    return request.param


@pytest.fixture
def database_url(backend, request) -> str | None:
    """None for SQLite (the data directory's file), else a fresh PostgreSQL database's URL."""
    return request.getfixturevalue("migrated_postgres_url") if backend == "postgres" else None


@pytest.fixture
def open_store(database_url):
    """Factory: `open_store(data_dir, **limits)` opens a store on the backend under test.

    Stores on PostgreSQL are closed at the end of the test, so their pools' connections
    do not pile up on the session's server.
    """
    opened: list[Store] = []

    def open_(data_dir, **kwargs) -> Store:
        s = Store.open(Path(data_dir), database_url=database_url, **kwargs)
        opened.append(s)
        return s

    yield open_
    if database_url:
        for s in opened:
            s.close_all()


@pytest.fixture
def store(open_store, data_dir) -> Store:
    """A freshly opened store in a temporary data directory, on the backend under test."""
    s = open_store(data_dir)
    yield s
    s.close()


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


def run_together(target: Callable, names: list[str], data_dir, database_url: str | None,
                 timeout: float = 120) -> None:
    """Run target(data_dir, database_url, name, start) in one spawned process per name, at once."""
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=target, args=(str(data_dir), database_url, n, start))
             for n in names]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout)
    assert [p.exitcode for p in procs] == [0] * len(procs)
