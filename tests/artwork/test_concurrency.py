"""Processes logging decisions and rewards into one store at once lose nothing (both backends)."""
from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from artwork.records import LoggedDecision, Reward
from artwork.store import Store
from tests.conftest import count_rows, log_decisions

from .conftest import run_together

PER_WRITER = 400


def _writer(data_dir: str, database_url: str | None, name: str, start: mp.Event) -> None:
    store = Store.open(Path(data_dir), database_url=database_url)
    start.wait(10)
    for i in range(PER_WRITER):
        eid = f"{name}-{i}"
        log_decisions(store, [LoggedDecision(
            eid, float(i), f"user-{i % 17}", "t1", {"features": {"writer": name}},
            ("a", "b"), (0.25, 0.75), "b", 0.75, "vw", 1,
        )])
        store.add_rewards([Reward(eid, i + 0.5, "impression"), Reward(eid, i + 0.6, "play")])
        if i % 3 == 0:
            assert store.add_rewards([Reward(eid, i + 0.7, "play")]) == [False]  # a repeat
    store.close_all()


def test_two_processes_log_at_the_same_time(data_dir, open_store, database_url):
    open_store(data_dir).add_title("t1", "One")
    run_together(_writer, ["A", "B"], data_dir, database_url)
    store = open_store(data_dir)
    assert store.count_decisions() == 2 * PER_WRITER
    assert count_rows(store, "rewards") == 2 * 2 * PER_WRITER
    assert count_rows(store, "plays") == 2 * PER_WRITER
    ids = {d.event_id for d in store.decisions()}
    assert ids == {f"{n}-{i}" for n in "AB" for i in range(PER_WRITER)}


def _open(data_dir: str, database_url: str | None) -> None:
    Store.open(Path(data_dir), database_url=database_url).count_titles()


def test_many_processes_open_a_new_data_directory_at_once(tmp_path, backend, postgres_server):
    ctx = mp.get_context("spawn")
    # SQLite's race is between file locks, run a few times; PostgreSQL's is one advisory lock.
    for trial in range(3 if backend == "sqlite" else 1):
        data_dir = tmp_path / f"fresh{trial}"
        url = postgres_server.new_database() if backend == "postgres" else None
        procs = [ctx.Process(target=_open, args=(str(data_dir), url)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 6
