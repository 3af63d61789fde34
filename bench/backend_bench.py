"""The two store backends side by side: `/artwork` on PostgreSQL against SQLite, journal shipping, learner lag.

Starts a real PostgreSQL server (initdb in a temporary folder, a free port of 127.0.0.1, as
the tests do), then:

- `/artwork` throughput: two `artbandit serve` (same workers, same catalog of one title with
  10 live artworks), one on the data directory's SQLite file, one on PostgreSQL, each with an
  `artbandit learn` beside it, loaded with `wrk` in short alternating rounds; the figure is
  the median ratio PostgreSQL / SQLite (the hot path must not wait on the database:
  decisions go to the host's journal). The PostgreSQL learner's lag (the oldest decision
  whose reward window has closed but that it has not learned) is printed at the end.
- Journal shipping: decisions appended to one host's journal, then shipped into PostgreSQL
  (COPY, in batches, each with its offset) and, for reference, into SQLite; decisions/s.

Prints `name | figure | target | ok/FAIL` lines.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.config import environment_with  # noqa: E402
from api.demo.server_process import ServerProcess  # noqa: E402
from bench.api_bench import LUA, _picture, _wrk  # noqa: E402
from bench.common import compared_rows, print_rows  # noqa: E402
from tests.postgres import running_server  # noqa: E402

REWARD_WINDOW = 1.0


def _seed(data_dir: Path, url: str | None) -> None:
    from artwork.store import Store

    store = Store.open(data_dir, database_url=url)
    try:
        store.add_title("t1", "Bench", ["drama"])
        store.add_artworks([{"title_id": "t1", "data": _picture(i), "status": "live"}
                            for i in range(10)])
    finally:
        store.close_all()


def _decisions(n: int):
    from artwork.records import LoggedDecision

    context = {"features": {"device": "tv", "hour": 20.0}, "genre_affinity": {"drama": 1.0}}
    candidates = tuple(f"a{i}" for i in range(10))
    pmf = (0.1,) * 10
    return [LoggedDecision(f"ship-{i}", 1_000_000.0 + i / 100, f"u{i % 5000}", "t1", context,
                           candidates, pmf, candidates[i % 10], 0.1, "vw", 3,
                           tuple(f"k{j}" for j in range(10))) for i in range(n)]


def _shipping_rate(data_dir: Path, url: str | None, n: int) -> tuple[float, float]:
    """Decisions per second moved from one host's journal into the database: per second of
    wall-clock time, and per CPU second of the shipping process (what a busy machine's other
    processes cannot take from it)."""
    from artwork.store import Store

    store = Store.open(data_dir, database_url=url)
    try:
        store.decision_log.ingester.stop()  # shipped below, timed
        batch = _decisions(n)
        for i in range(0, n, 500):
            store.journal_decisions(batch[i:i + 500])
        started, cpu = time.perf_counter(), time.process_time()
        shipped = store.ingest_journal()
        took, cpu_took = time.perf_counter() - started, time.process_time() - cpu
        if shipped != n or store.journal_backlog():
            raise SystemExit(f"shipped {shipped} of {n} decisions")
    finally:
        store.close_all()
    return n / took, n / cpu_took


def _fresh_report(folder: Path, after: float, timeout: float = 60.0) -> dict:
    """The learner's first status report written after `after`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in folder.glob("*.learner.json"):
            try:
                status = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if status["updated"] > after:
                return status
        time.sleep(0.1)
    raise SystemExit(f"the learner wrote no status report within {timeout:g} s")


def _learner_lag(learn_dir: Path, url: str) -> float:
    """Seconds the PostgreSQL learner is behind: the oldest ready decision it has not learned."""
    from artwork.store import Store

    store = Store.open(learn_dir, database_url=url)
    try:
        status = _fresh_report(learn_dir / "models", time.time())
        cursor = (None if status["cursor_time"] is None
                  else (status["cursor_time"], status["cursor_event"] or ""))
        until = time.time() - REWARD_WINDOW
        first = store.first_decision_time(cursor, until)
        return 0.0 if first is None else max(0.0, until - first)
    finally:
        store.close_all()


def main(argv: list[str] | None = None) -> list[tuple]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--seconds", type=int, default=3, help="seconds per wrk round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per backend")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--ship", type=int, default=200_000, help="decisions shipped")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp, running_server() as pg:
        tmp = Path(tmp)
        url = pg.new_database()
        settings = {"learn": "false", "embedder": "classic", "reward_window": REWARD_WINDOW}
        _seed(tmp / "sqlite", None)
        _seed(tmp / "pg-seed", url)
        servers = {
            "sqlite": ServerProcess(tmp / "sqlite", settings=settings, workers=args.workers),
            "postgres": ServerProcess(tmp / "pg", settings={**settings, "database_url": url},
                                      workers=args.workers),
        }
        # Each backend has its learner running beside its server, as it would be deployed:
        # the one on SQLite in that data directory, the one on PostgreSQL on a host of its own.
        learners = [subprocess.Popen(
            [sys.executable, "-m", "api.cli", "--data-dir", str(data_dir), "learn"],
            env=environment_with(env), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            for data_dir, env in ((tmp / "sqlite", settings),
                                  (tmp / "learn", {**settings, "database_url": url}))]
        try:
            script = tmp / "artwork.lua"
            script.write_text(LUA % ("/artwork", "&title=t1"))
            for server in servers.values():
                _wrk(server.url, 2, args.connections, script)  # warm-up
            rates: dict[str, list[float]] = {"sqlite": [], "postgres": []}
            for _ in range(args.rounds):
                for name, server in servers.items():
                    rates[name].append(_wrk(server.url, args.seconds, args.connections, script)[0])
            time.sleep(REWARD_WINDOW)  # the last decisions' windows close
            lag = _learner_lag(tmp / "learn", url)
        finally:
            for learner in learners:
                learner.terminate()
                learner.wait(30)
            for server in servers.values():
                server.stop()
        shipped_pg = _shipping_rate(tmp / "ship-pg", pg.new_database(), args.ship)
        shipped_sqlite = _shipping_rate(tmp / "ship-sqlite", None, args.ship)
    rows = compared_rows("backend: /artwork throughput on", "req/s",
                         ("SQLite", rates["sqlite"]), ("PostgreSQL", rates["postgres"]), 0.90)
    rows += [
        (f"backend: journal shipping into PostgreSQL ({args.ship:,} decisions, COPY)",
         f"{shipped_pg[0]:,.0f} decisions/s", ">= 20,000", "ok" if shipped_pg[0] >= 20_000 else "FAIL"),
        ("backend: journal shipping into PostgreSQL, per CPU second of the shipper",
         f"{shipped_pg[1]:,.0f} decisions/s", "reference", "-"),
        (f"backend: journal ingest into SQLite ({args.ship:,} decisions)",
         f"{shipped_sqlite[0]:,.0f} decisions/s", "reference", "-"),
        ("backend: PostgreSQL learner's lag after the load",
         f"{lag:.1f} s", "printed", "-"),
    ]
    print_rows(rows)
    return rows


if __name__ == "__main__":
    main()
