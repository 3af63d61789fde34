"""A damaged model snapshot is quarantined and an older one serves; serving never stops."""
from __future__ import annotations

import os
import subprocess
import sys

import requests

from api.config import environment_with, load_config
from api.runtime.services import MODELS_FOLDER, build_policy
from bandit.snapshots import SnapshotStore
from tests.api.conftest import app_settings
from tests.reliability.conftest import LiveServer, children, kill, seed_catalog, wait_for

SETTINGS = {"learn": "false", "reload_interval": 0.2}


def _snapshots(data_dir, versions: int) -> SnapshotStore:
    """`versions` snapshots of the serving policy, as a learner writes them."""
    policy = build_policy(load_config(overrides={**app_settings(data_dir), **SETTINGS}))
    store = SnapshotStore(data_dir / MODELS_FOLDER, policy.name)
    for i in range(versions):
        store.write(policy, learned=10 * (i + 1))
    return store


def _damage(path) -> None:
    """4 KiB of model bytes overwritten (or as many as there are), the length and header kept."""
    data = bytearray(path.read_bytes())
    start = data.index(b"\n", 30) + 1  # after the header line
    size = min(4096, len(data) - start - 8)
    data[start + 4:start + 4 + size] = b"\xab" * size
    path.write_bytes(bytes(data))


def _server_on_damaged(data_dir, versions: int, workers: int) -> tuple[LiveServer, SnapshotStore]:
    """A server started where the newest of `versions` snapshots is damaged."""
    seed_catalog(data_dir)
    snapshots = _snapshots(data_dir, versions)
    _damage(snapshots.path_of(versions))
    return LiveServer(data_dir, workers=workers, env=SETTINGS), snapshots


def _versions_served(url: str, n: int = 12) -> set[int]:
    return {requests.get(f"{url}/artwork", params={"user": f"u{i}", "title": "t1"},
                         timeout=5).json()["model_version"] for i in range(n)}


def test_a_damaged_newest_snapshot_is_quarantined_and_a_killed_worker_comes_back_on_the_older(
        data_dir):
    server, snapshots = _server_on_damaged(data_dir, 2, workers=2)
    try:
        assert _versions_served(server.url) == {1}
        assert snapshots.quarantined() == [2] and snapshots.versions() == [1]
        health = requests.get(f"{server.url}/healthz", timeout=5).json()
        assert health["model"] == "snapshot" and health["model_version"] == 1
        workers, _ = children(server)
        kill(workers[0])
        wait_for(lambda: len(children(server)[0]) == 2 and workers[0] not in children(server)[0],
                 30, "a new worker")
        assert server.proc.poll() is None, "the server stopped"
        assert _versions_served(server.url, 24) == {1}
        # A newer sound snapshot is then picked up by every worker.
        snapshots.write(build_policy(load_config(overrides={**app_settings(data_dir), **SETTINGS})))
        wait_for(lambda: _versions_served(server.url) == {3}, 20, "workers serving version 3")
    finally:
        server.stop()


def test_with_no_usable_snapshot_it_serves_the_exploratory_policy_and_says_so(data_dir):
    server, _ = _server_on_damaged(data_dir, 1, workers=1)
    try:
        assert _versions_served(server.url) == {0}
        health = requests.get(f"{server.url}/healthz", timeout=5).json()
        assert health["status"] == "ok" and health["model"] == "exploratory"
        assert "could be loaded" in health["reason"]
        ready = requests.get(f"{server.url}/readyz", timeout=5)
        assert ready.status_code == 503 and not ready.json()["checks"]["model"]["ok"]
    finally:
        server.stop()


def test_the_learner_starts_on_the_older_snapshot(data_dir):
    seed_catalog(data_dir)
    snapshots = _snapshots(data_dir, 2)
    _damage(snapshots.path_of(2))
    env = environment_with(app_settings(data_dir))
    learn = subprocess.run([sys.executable, "-m", "api.cli", "learn", "--rounds", "1"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert learn.returncode == 0, learn.stderr
    assert "stopped at model version 1; 10 decisions learned" in learn.stdout
    assert "quarantine" in learn.stderr and snapshots.quarantined() == [2]
    assert os.path.exists(snapshots.directory / "quarantine" / snapshots.path_of(2).name)
