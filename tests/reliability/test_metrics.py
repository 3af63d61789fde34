"""One scrape gives the server's totals, and the learner's figures."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from api.config import environment_with
from artwork.store import Store
from tests.api.conftest import app_settings
from tests.reliability.conftest import LiveServer, children, seed_catalog, wait_for

DECISIONS, PLAYS = 120, 30


def _samples(text: str, name: str) -> float:
    """The sum of a metric's samples (over its labels)."""
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def test_one_scrape_totals_every_worker_and_reports_the_learner(data_dir):
    seed_catalog(data_dir)
    server = LiveServer(data_dir, workers=2, env={"learn": "false", "reload_interval": 0.2})
    try:
        events = []
        for i in range(DECISIONS):  # a new connection each: both workers serve
            events.append(requests.get(f"{server.url}/artwork",
                                       params={"user": f"u{i}", "title": "t1"},
                                       timeout=5).json()["event_id"])
        for event in events[:PLAYS]:
            assert requests.post(f"{server.url}/feedback", json={"event_id": event, "kind": "play"},
                                 timeout=5).status_code == 202
        store = Store.open(data_dir)
        wait_for(lambda: store.count_decisions() == DECISIONS, 10, "every decision ingested")
        rewards = store.db.query_one("SELECT count(*) FROM rewards")[0]
        scrapes = [requests.get(f"{server.url}/metrics", timeout=5).text for _ in range(4)]
        # Both workers counted some of them, each in a file of its own in one folder.
        workers, _ = children(server)
        mapped = {line.split()[-1] for pid in workers
                  for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
                  if "/counter_" in line}
        assert len(mapped) == 2 and len({Path(m).parent for m in mapped}) == 1, mapped
        for text in scrapes:  # whichever worker answers
            assert _samples(text, "artbandit_decisions_total") == store.count_decisions()
            assert _samples(text, "artbandit_feedback_total") == rewards == PLAYS
            assert _samples(text, 'artbandit_request_seconds_count') >= DECISIONS + PLAYS
        # Nobody learns yet: the decisions wait, and the scrape says how long.
        time.sleep(0.5)
        text = requests.get(f"{server.url}/metrics", timeout=5).text
        assert _samples(text, "artbandit_learner_lag_seconds") > 0
        assert "artbandit_learner_examples_total" not in text
        learn = subprocess.run([sys.executable, "-m", "api.cli", "learn", "--rounds", "2"],
                               env=environment_with({**app_settings(data_dir),
                                                     "learn_interval": 0.2}),
                               capture_output=True, text=True, timeout=120)
        assert learn.returncode == 0, learn.stderr
        text = requests.get(f"{server.url}/metrics", timeout=5).text
        assert _samples(text, "artbandit_learner_examples_total") == DECISIONS
        assert _samples(text, "artbandit_learner_snapshot_version") >= 1
        assert _samples(text, "artbandit_learner_lag_seconds") == 0
        assert _samples(text, "artbandit_learner_errors_total") == 0
        ready = requests.get(f"{server.url}/readyz", timeout=5).json()
        assert ready["checks"]["learner"]["ok"], ready
    finally:
        server.stop()
