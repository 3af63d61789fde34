"""A bad journal line is dead-lettered with its reason and counted; the rest is ingested."""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pyarrow.parquet as pq
import requests

from api.config import environment_with
from artwork.journal import JOURNAL_DIR
from artwork.store import DB_NAME
from tests.api.conftest import app_settings
from tests.reliability.conftest import AUTH, LiveServer, children, seed_catalog, wait_for

GOOD = ["x", 1.0, "u1", "t1", "{}", '["a"]', "[1.0]", "a", 1.0, "vw", 0, None]
BAD = [
    GOOD[:4] + [{"a": 1}] + GOOD[5:],           # a dict in a column
    [None] + GOOD[1:],                          # a NULL event id
    GOOD[:8] + ["1.0"] + GOOD[9:],              # a text probability
    GOOD[:6] + ["[0.5]"] + GOOD[7:],            # a pmf that does not sum to 1
]


def _metric(url: str, name: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=5).text
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else -1.0


def test_bad_lines_go_to_the_dead_letter_file_and_the_rest_is_ingested(live, data_dir, tmp_path):
    server = live
    try:
        served = [requests.get(f"{server.url}/artwork", params={"user": f"u{i}", "title": "t1"},
                               timeout=5).json()["event_id"] for i in range(5)]
        # A file no live writer holds, as a dead process (or a bug) would leave it.
        lines = [json.dumps([f"bad{i}", *row[1:]] if row[0] else row) for i, row in enumerate(BAD)]
        (data_dir / JOURNAL_DIR / "99999-deadbeef.jsonl").write_text("\n".join(lines) + "\n")
        for i in range(5, 10):
            event = requests.get(f"{server.url}/artwork", params={"user": f"u{i}", "title": "t1"},
                                 timeout=5).json()["event_id"]
            served.append(event)
            r = requests.post(f"{server.url}/feedback", json={"event_id": event, "kind": "play"},
                              timeout=5)
            assert r.status_code == 202, r.text
        wait_for(lambda: _metric(server.url, "artbandit_journal_dead_letters_total") == len(BAD),
                 10, "every bad line counted")
        stats = requests.get(f"{server.url}/stats", params={"title": "t1"}, headers=AUTH,
                             timeout=5).json()
        assert stats["decisions"] == len(served)
    finally:
        server.stop()
    dead = [json.loads(line) for line in
            (data_dir / "dead-letter" / "decisions.jsonl").read_text().splitlines()]
    assert [d["file"] for d in dead] == ["99999-deadbeef.jsonl"] * len(BAD)
    assert ["`context` is a dict" in dead[0]["reason"], "`event_id` is null" in dead[1]["reason"],
            "`probability` is a str" in dead[2]["reason"], "pmf summing" in dead[3]["reason"]] \
        == [True] * 4
    assert not (data_dir / JOURNAL_DIR / "99999-deadbeef.jsonl").exists()
    # Nothing invalid reached the table: the export reads every row back.
    out = tmp_path / "log.parquet"
    export = subprocess.run([sys.executable, "-m", "api.cli", "log", "export", str(out),
                             "--window", "0"], env=environment_with(app_settings(data_dir)),
                            capture_output=True, text=True, timeout=120)
    assert export.returncode == 0, export.stderr
    assert sorted(pq.read_table(out).column("event_id").to_pylist()) == sorted(served)


def test_the_ingest_worker_ingests_the_serving_workers_journals(data_dir):
    # The serving workers start no ingest thread of their own (a pass would hold their GIL):
    # while the ingest worker is stopped, nothing is ingested; once it runs again, everything.
    seed_catalog(data_dir)
    server = LiveServer(data_dir, workers=2, env={"learn": "false"})

    def ingested() -> int:
        with sqlite3.connect(data_dir / DB_NAME) as db:
            return db.execute("SELECT count(*) FROM decisions").fetchone()[0]

    try:
        session = requests.Session()
        answered = lambda n: [session.get(f"{server.url}/artwork?user=u{i}&title=t1",  # noqa: E731
                                          timeout=5).raise_for_status() for i in range(n)]
        answered(20)
        wait_for(lambda: ingested() == 20, 10, "ingesting the first 20 decisions")
        _, (ingest,) = children(server)
        os.kill(ingest, signal.SIGSTOP)
        try:
            answered(30)
            time.sleep(1.5)  # six ingest passes of a serving worker, had it one
            assert ingested() == 20
        finally:
            os.kill(ingest, signal.SIGCONT)
        wait_for(lambda: ingested() == 50, 10, "ingesting the other 30")
    finally:
        server.stop()
