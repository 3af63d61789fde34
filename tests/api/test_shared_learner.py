"""One learner per PostgreSQL database, whichever host runs it: a standby takes over, resuming from the database's snapshots."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

import pytest

from api.errors import LearnerBusyError
from api.runtime.learning import LearnLoop, read_status
from artwork.records import LoggedDecision
from artwork.store import Store
from bandit.baselines import EpsilonGreedyPolicy
from artwork.reward_mapping import RewardMapping
from tests.conftest import log_decisions


def _log(store, n: int, start: int = 0) -> None:
    if start == 0:
        store.add_title("t1", "One")
    log_decisions(store, [LoggedDecision(
        f"e{i:04d}", 10.0 + i, f"u{i % 3}", "t1",
        {"features": {"device": "tv"}, "genre_affinity": {}, "title_genres": []},
        ("a", "b"), (0.5, 0.5), "a" if i % 2 else "b", 0.5, "egreedy", 0)
        for i in range(start, start + n)])


def _loop(store: Store) -> LearnLoop:
    return LearnLoop(store, EpsilonGreedyPolicy(name="eg", seed=0), store.data_dir / "models",
                     window=1.0, reward_of=RewardMapping(), snapshot_every=7)


def test_one_learner_on_the_database_and_a_standby_resumes_its_work(tmp_path, postgres_url):
    host_a = Store.open(tmp_path / "a", database_url=postgres_url)
    host_b = Store.open(tmp_path / "b", database_url=postgres_url)
    _log(host_a, 20)
    first = _loop(host_a)
    with pytest.raises(LearnerBusyError, match="already running on the database"):
        _loop(host_b)  # another host: the lock is the database's, not a data directory's
    assert first.step() == 20
    first.report()
    # Host b, which runs no learner, reads the learner's report from the database.
    status = read_status(tmp_path / "b" / "models", "eg", host_b)
    assert status is not None and (status.learned, status.cursor_event) == (20, "e0019")
    assert read_status(tmp_path / "b" / "models", "eg") is None  # nothing in b's own folder
    version = first.policy.model_version
    assert version >= 1 and not (tmp_path / "a" / "models" / "eg-00000001.snapshot").exists()
    first.stop()
    _log(host_a, 5, start=20)
    standby = _loop(host_b)  # free now; resumes from the snapshot in the database
    assert standby.learned == 20 and standby.policy.model_version == version
    assert standby.step() == 5 and standby.policy.model_version > version
    standby.stop()
    for s in (host_a, host_b):
        s.close_all()


def _hold_the_learner_lock(data_dir: str, url: str, held) -> None:
    store = Store.open(data_dir, database_url=url)
    lock = store.db.try_lock("learner:eg")
    assert lock is not None
    held.set()
    time.sleep(120)


def test_the_lock_of_a_learner_killed_by_sigkill_is_free_at_once(tmp_path, postgres_url):
    ctx = mp.get_context("spawn")
    held = ctx.Event()
    proc = ctx.Process(target=_hold_the_learner_lock, args=(str(tmp_path / "a"), postgres_url, held))
    proc.start()
    assert held.wait(60)
    store = Store.open(tmp_path / "b", database_url=postgres_url)
    assert store.db.try_lock("learner:eg") is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    deadline = time.monotonic() + 5
    while (lock := store.db.try_lock("learner:eg")) is None:
        assert time.monotonic() < deadline, "the killed learner's lock was not freed within 5 s"
        time.sleep(0.05)
    assert lock.held()
    lock.release()
    assert not lock.held()
    store.close_all()
