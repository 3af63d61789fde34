"""The simulator benchmark's data-path figures: reading foreign logs, and a partitioned log on Dask.

Each function builds its data in a temporary directory, measures, and returns
`name | figure | target | ok/FAIL` lines (simulator_bench.py prints them).
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from artwork.partitions import partition_schema
from simulator.distributed import evaluate_partitioned
from simulator.estimators import make_estimator
from simulator.log_files import read_log
from simulator.logs import ColumnMapping
from simulator.specs import parse_policy_specs

K = 10  # candidates per decision
TITLES = 10
USERS = 50
DAY_US = 86_400_000_000
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
CONTEXTS = [json.dumps({"features": {"device": d, "country": c}, "genre_affinity": {"drama": 0.5},
                        "title_genres": ["drama"]}, sort_keys=True)
            for d in ("tv", "mobile", "tablet", "web") for c in ("US", "BR")]
FOREIGN_MAPPING = ColumnMapping(action="arm", reward="r", propensity="p", candidates=None, time="t",
                                context=("device", "country", "hour", "age_band"))


def _rate_line(name: str, figure: float, unit: str, target: float | None, higher: bool = True) -> str:
    if target is None:
        verdict, target_text = "-", "-"
    else:
        verdict = "ok" if (figure >= target if higher else figure < target) else "FAIL"
        target_text = f"{'>=' if higher else '<'} {target:,.6g} {unit}"
    return f"{name} | {figure:,.2f} {unit} | {target_text} | {verdict}" if unit in ("x", "MiB") else \
        f"{name} | {figure:,.0f} {unit} | {target_text} | {verdict}"


def foreign_table(n: int, seed: int) -> pa.Table:
    """A foreign log: artwork id, reward, propensity, time, and 4 categorical context columns (2 text, 2 numbers)."""
    rng = np.random.default_rng(seed)
    arms = pa.array([f"a{j}" for j in range(K)]).take(pa.array(rng.integers(0, K, n)))
    return pa.table({
        "arm": arms, "r": (rng.random(n) < 0.1).astype(np.float64), "p": np.full(n, 1.0 / K),
        "t": np.arange(n, dtype=np.float64),
        "device": pa.array(["tv", "mobile", "tablet", "web"]).take(pa.array(rng.integers(0, 4, n))),
        "country": pa.array(["US", "BR", "IN", "DE", "JP", "MX"]).take(pa.array(rng.integers(0, 6, n))),
        "hour": rng.integers(0, 24, n), "age_band": rng.integers(0, 8, n),
    })


def foreign_read_lines(n: int) -> list[str]:
    """Rows/s of read_log on a foreign CSV and Parquet log with 4 context columns."""
    table = foreign_table(n, seed=3)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("csv", "parquet"):
            path = Path(tmp) / f"foreign.{fmt}"
            (pacsv.write_csv if fmt == "csv" else pq.write_table)(table, path)
            best = float("inf")
            for _ in range(2):
                started = time.perf_counter()
                log = read_log(path, FOREIGN_MAPPING)
                best = min(best, time.perf_counter() - started)
            assert log.n_rounds == n
            lines.append(_rate_line(f"read foreign {fmt} log, 4 context columns ({n:,} rows)", n / best,
                                    "rows/s", 1_000_000))
    return lines


def write_partitioned_log(directory: Path, rows: int, per_partition: int, seed: int) -> int:
    """The store's partitioned export (date=YYYY-MM-DD/ Parquet files) of `rows` synthetic decisions."""
    rng = np.random.default_rng(seed)
    names = pa.array([f"t{t:02d}-a{j}" for t in range(TITLES) for j in range(K)])
    schema = partition_schema()
    files = 0
    for day, start in enumerate(range(0, rows, per_partition)):
        n = min(per_partition, rows - start)
        title = rng.integers(0, TITLES, n)
        favourite = rng.integers(0, K, n)
        pmf = np.full((n, K), 0.5 / K)
        pmf[np.arange(n), favourite] += 0.5
        action = np.minimum((np.cumsum(pmf, axis=1) < rng.random(n)[:, None]).sum(axis=1), K - 1)
        reward = rng.random(n) < 0.05 + 0.02 * action
        offsets = pa.array(np.arange(0, K * n + 1, K, dtype=np.int32))
        flat = (title[:, None] * K + np.arange(K)[None, :]).ravel()
        ids = pc.binary_join_element_wise(f"e{day:03d}-", pa.array(np.arange(n)).cast(pa.string()), "")
        micros = START_US + day * DAY_US + np.sort(rng.integers(0, DAY_US, n))
        columns = {
            "event_id": ids,
            "timestamp": pa.array(micros).cast(pa.timestamp("us", tz="UTC")),
            "user_id": pa.array([f"u{u}" for u in range(USERS)]).take(pa.array(rng.integers(0, USERS, n))),
            "title_id": pa.array([f"t{t:02d}" for t in range(TITLES)]).take(pa.array(title)),
            "context": pa.array(CONTEXTS).take(pa.array(rng.integers(0, len(CONTEXTS), n))),
            "candidates": pa.ListArray.from_arrays(offsets, names.take(pa.array(flat))),
            "pmf": pa.ListArray.from_arrays(offsets, pa.array(pmf.ravel())),
            "action": names.take(pa.array(title * K + action)),
            "probability": pmf[np.arange(n), action], "reward": reward.astype(np.float64),
            "policy": pa.array(["vw"] * n), "model_version": np.ones(n, dtype=np.int64),
            "impression": np.ones(n, dtype=bool), "impression_value": pa.nulls(n, pa.float64()),
            "click": reward | (rng.random(n) < 0.1), "click_value": pa.nulls(n, pa.float64()),
            "play": reward, "play_value": pa.nulls(n, pa.float64()),
        }
        folder = directory / f"date={time.strftime('%Y-%m-%d', time.gmtime((START_US + day * DAY_US) / 1e6))}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns, schema=schema), folder / "part-00001.parquet")
        files += 1
    return files


def dask_lines(rows: int, per_partition: int) -> list[str]:
    """IPS+SNIPS, then DR, on a partitioned log as map-reduce on a LocalCluster of 1 and of 2 worker processes."""
    specs = parse_policy_specs(["uniform"])
    runs = {"ips+snips": [make_estimator("ips"), make_estimator("snips")], "dr": [make_estimator("dr")]}
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "log"
        files = write_partitioned_log(root, rows, per_partition, seed=5)
        peaks: list[int] = []
        for name, estimators in runs.items():
            rates = {}
            for workers in (1, 2):
                run = evaluate_partitioned(root, specs, estimators, workers=workers)
                assert run.n_rounds == rows
                rates[workers] = rows / run.seconds
                peaks.append(max(run.peak_rss_per_worker().values()))
                lines.append(_rate_line(
                    f"dask {name}, {workers} worker{'s' * (workers > 1)} ({rows:,} rows, {files} partitions of "
                    f"{per_partition:,}, end to end incl. Parquet"
                    f"{', reward model fitted on a sample of 100,000 rows' if name == 'dr' else ''})",
                    rates[workers], "events/s", 2_000_000 if workers == 2 else None))
            lines.append(_rate_line(f"dask {name} speed-up from 1 to 2 workers", rates[2] / rates[1], "x", 1.6))
        lines.append(_rate_line("dask peak memory per worker", max(peaks) / 2**20, "MiB", 1024, higher=False))
    return lines
