"""Two hosts on one PostgreSQL database: two `artbandit serve`, two `artbandit learn`, kill -9 of a host and of the learner."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from api.config import environment_with
from artwork.images import encode_image
from artwork.store import Store
from tests.api.conftest import AUTH, LiveServer
from tests.conftest import make_image

SNAPSHOT_EVERY = 10


def _settings(data_dir: Path, url: str) -> dict:
    return {"database_url": url, "learn": False, "reload_interval": 0.2,
            "snapshot_every": SNAPSHOT_EVERY, "reward_window": 0.3, "learn_interval": 0.05}


class _Learner:
    """`artbandit learn` for one host's data directory, its output in a file."""

    def __init__(self, data_dir: Path, url: str, settings: dict) -> None:
        self.out = data_dir.parent / f"{data_dir.name}.out"
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "--data-dir", str(data_dir), "learn"],
                env=environment_with({**settings, "data_dir": str(data_dir)}), stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)

    def learning(self) -> bool:
        return b"learning from" in self.out.read_bytes()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)


def _wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout:g} s"
        time.sleep(0.1)


def _traffic(url: str, rounds: int, tag: str, answered: list, recorded: list) -> None:
    """Decisions, then feedback on each one, through one server: what got 200 and 202."""
    session = requests.Session()
    for i in range(rounds):
        r = session.get(f"{url}/artwork", params={"user": f"{tag}-u{i % 7}", "title": "t1"},
                        timeout=10)
        assert r.status_code == 200, r.text
        event = r.json()["event_id"]
        answered.append(event)
        kinds = ["impression", "play"] if i % 3 == 0 else ["impression"]
        r = session.post(f"{url}/feedback", json={"events": [
            {"event_id": event, "kind": k} for k in kinds]}, headers=AUTH, timeout=10)
        assert r.status_code == 202, r.text
        recorded += [(event, k) for k in kinds]


def _newest_snapshot(store: Store) -> int:
    names = [r[0] for r in store.db.read("SELECT name FROM snapshots WHERE quarantined = 0")]
    return max((int(n.rsplit("-", 1)[1].split(".")[0]) for n in names), default=0)


@pytest.mark.slow
def test_two_hosts_two_learners_and_kill_9(tmp_path, postgres_url):
    store = Store.open(tmp_path / "setup", database_url=postgres_url)
    store.add_title("t1", "One", ["drama"])
    for seed in range(3):
        store.add_artwork_image("t1", encode_image(make_image(seed)), status="live")
    hosts = {name: tmp_path / name for name in ("a", "b")}
    servers = {name: LiveServer(d, workers=2, env=_settings(d, postgres_url))
               for name, d in hosts.items()}
    learners = [_Learner(d, postgres_url, _settings(d, postgres_url)) for d in hosts.values()]
    answered: list[str] = []
    recorded: list[tuple[str, str]] = []
    try:
        _wait_for(lambda: sum(x.learning() for x in learners) == 1, 60, "one learner learning")
        active = next(x for x in learners if x.learning())
        standby = next(x for x in learners if x is not active)
        for name, server in servers.items():
            _traffic(server.url, 60, f"first-{name}", answered, recorded)
        _wait_for(lambda: _newest_snapshot(store) >= 1, 60, "a first snapshot in the database")
        # kill -9 of one whole server tree (gunicorn, its workers, its ingest worker) and of
        # the active learner, while the other host keeps serving.
        os.killpg(servers["a"].proc.pid, signal.SIGKILL)
        servers["a"].proc.wait(10)
        os.killpg(active.proc.pid, signal.SIGKILL)
        active.proc.wait(10)
        before = _newest_snapshot(store)
        _traffic(servers["b"].url, 60, "second-b", answered, recorded)
        _wait_for(standby.learning, 30, "the standby learner taking over")
        _wait_for(lambda: _newest_snapshot(store) > before, 60, "a snapshot from the standby")
        # Host a comes back on its data directory: what it journaled before dying is shipped.
        servers["a"] = LiveServer(hosts["a"], workers=2, env=_settings(hosts["a"], postgres_url))
        _traffic(servers["a"].url, 30, "third-a", answered, recorded)

        def every_decision_in_once() -> bool:
            ids = [r[0] for r in store.db.read("SELECT event_id FROM decisions")]
            return len(ids) == len(set(ids)) and set(ids) == set(answered)

        _wait_for(every_decision_in_once, 30, "every answered decision in PostgreSQL once")
        assert len(set(answered)) == len(answered) == 210
        rewards = store.db.read("SELECT event_id, kind FROM rewards")
        assert sorted(rewards) == sorted(recorded)
        newest = _newest_snapshot(store)

        def both_serve_the_newest() -> bool:
            return all(requests.get(f"{s.url}/artwork", params={"user": "x", "title": "t1"},
                                    timeout=10).json()["model_version"] >= newest
                       for s in servers.values() for _ in range(4))

        _wait_for(both_serve_the_newest, 30, f"both servers serving model version {newest}")
    finally:
        for server in servers.values():
            server.stop()
        for learner in learners:
            learner.stop()
        store.close_all()
