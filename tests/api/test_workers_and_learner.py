"""Several workers only log and reload snapshots; `artbandit learn` learns and publishes them."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import requests

from artwork.store import Store

from tests.api.conftest import AUTH, LiveServer, app_settings


def test_learner_process_publishes_snapshots_that_workers_reload(data_dir, jpeg_bytes):
    server = LiveServer(data_dir, workers=2, env={"reload_interval": 0.2, "learn": "false"})
    try:
        url = server.url
        requests.post(f"{url}/titles", json={"id": "t1", "name": "One"}, headers=AUTH,
                      timeout=10).raise_for_status()
        files = [("file", (f"s{i}.jpg", jpeg_bytes(i, 160, 90), "image/jpeg")) for i in range(3)]
        r = requests.post(f"{url}/titles/t1/artworks", files=files, headers=AUTH, timeout=60)
        for res in r.json()["results"]:
            requests.patch(f"{url}/artworks/{res['artwork']['id']}", json={"status": "live"},
                           headers=AUTH, timeout=10).raise_for_status()
        for i in range(60):
            choice = requests.get(f"{url}/artwork", params={"user": f"u{i}", "title": "t1"},
                                  timeout=10).json()
            assert choice["model_version"] == 0  # nobody learns in the workers
            requests.post(f"{url}/feedback", json={"event_id": choice["event_id"],
                                                   "kind": "play"}, timeout=10).raise_for_status()
        time.sleep(0.5)  # let the 0.3 s reward windows close
        env = {**os.environ, **{f"ARTBANDIT_{k.upper()}": str(v)
                                for k, v in app_settings(data_dir).items()}}
        learn = subprocess.run([sys.executable, "-m", "api.cli", "learn", "--rounds", "3"],
                               env=env, capture_output=True, text=True, timeout=120)
        assert learn.returncode == 0, learn.stderr
        assert "60 decisions learned" in learn.stdout
        versions = set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not versions or min(versions) < 1):
            versions = {requests.get(f"{url}/artwork", params={"user": "x", "title": "t1"},
                                     timeout=10).json()["model_version"] for _ in range(6)}
        assert min(versions) >= 1, f"workers still serve versions {versions}"
        # a restarted learner resumes after what it learned: each decision is learned once
        time.sleep(0.5)
        total = Store.open(data_dir).count_decisions()
        assert total > 60
        again = subprocess.run([sys.executable, "-m", "api.cli", "learn", "--rounds", "1"],
                               env=env, capture_output=True, text=True, timeout=120)
        assert f"{total} decisions learned" in again.stdout, again.stdout
    finally:
        server.stop()
