"""Simulator benchmark: events per second of each estimator on 1,000,000 logged events with 10 candidates.

Prints one line per figure: `name | figure | target | ok/FAIL` (a dash where there is no target).
Targets: IPS, SNIPS and DR on precomputed pmfs >= 2,000,000 events/s; replay of a learning VW
policy >= 10,000 events/s (measured on a smaller log and reported as a rate); reading a foreign
CSV or Parquet log with 4 context columns >= 1,000,000 rows/s; on a partitioned log (the
store's partitioned export, 20 million rows by default), IPS and SNIPS, then DR (its reward
model fitted on a sample), as map-reduce on Dask >= 2,000,000 events/s end to end on 2 workers,
>= 1.6x from 1 to 2 workers, and a peak memory under 1 GiB per worker (bench/data_path.py).
Run: python bench/simulator_bench.py [--events 1000000] [--replay-events 20000]
     [--foreign-rows 1000000] [--partitioned-rows 20000000] [--partition-rows 500000]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator.estimators import IPS, DirectMethod, DoublyRobust, Replay, SelfNormalizedIPS  # noqa: E402
from simulator.evaluation import replay_learning  # noqa: E402
from simulator.log_files import read_log, write_log  # noqa: E402
from simulator.logs import LoggedFeedback  # noqa: E402
from simulator.specs import parse_policy_spec  # noqa: E402

from bench.data_path import dask_lines, foreign_read_lines  # noqa: E402

N_CANDIDATES = 10
DEVICES = ("tv", "mobile", "tablet", "web")
COUNTRIES = ("US", "BR", "IN", "DE", "JP", "MX")


def make_log(n: int, seed: int, with_context: bool) -> tuple[LoggedFeedback, np.ndarray, np.ndarray]:
    """A logged-feedback set with 10 candidates per row, a target pmf and reward estimates."""
    rng = np.random.default_rng(seed)
    k = N_CANDIDATES
    pmf = rng.dirichlet(np.ones(k), size=n) * 0.9 + 0.1 / k
    pmf /= pmf.sum(axis=1, keepdims=True)
    u = rng.random(n)[:, None]
    action = np.minimum((np.cumsum(pmf, axis=1) < u).sum(axis=1), k - 1)
    titles = rng.integers(0, 200, size=n)
    candidates = titles[:, None] * k + np.arange(k)[None, :]
    names = tuple(f"t{t:03d}-a{a}" for t in range(200) for a in range(k))
    q = rng.uniform(0.05, 0.4, size=(n, k))
    reward = (rng.random(n) < q[np.arange(n), action]).astype(np.float64)
    context = None
    users = titles_col = None
    if with_context:
        context = np.array([
            json.dumps({"features": {"device": DEVICES[i % 4], "country": COUNTRIES[i % 6], "hour": int(i % 24)},
                        "genre_affinity": {"drama": round(float(x), 2)}, "title_genres": ["drama"]})
            for i, x in zip(range(n), rng.random(n))], dtype=object)
        users = np.array([f"u{u:05d}" for u in rng.integers(0, 5000, size=n)], dtype=object)
        titles_col = np.array([f"t{t:03d}" for t in titles], dtype=object)
    log = LoggedFeedback(action=action, reward=reward, pscore=pmf[np.arange(n), action], candidates=candidates,
                         action_names=names, pmf=pmf, context=context, user_id=users, title_id=titles_col,
                         timestamp=np.arange(n, dtype=np.float64))
    target = rng.dirichlet(np.ones(k), size=n)
    return log, target, q


def rate(fn, n: int, repeat: int = 3) -> float:
    """Events per second of the best of `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def line(name: str, figure: float, target: float | None) -> str:
    verdict = "-" if target is None else ("ok" if figure >= target else "FAIL")
    target_text = "-" if target is None else f">= {target:,.0f} events/s"
    return f"{name} | {figure:,.0f} events/s | {target_text} | {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--replay-events", type=int, default=20_000)
    parser.add_argument("--foreign-rows", type=int, default=1_000_000,
                        help="rows of the foreign CSV/Parquet log read with 4 context columns")
    parser.add_argument("--partitioned-rows", type=int, default=20_000_000,
                        help="rows of the partitioned log evaluated on Dask (0: skip)")
    parser.add_argument("--partition-rows", type=int, default=500_000, help="rows per partition file")
    args = parser.parse_args(argv)
    n = args.events
    log, target, rhat = make_log(n, seed=0, with_context=False)
    lines = [
        line("log validation (LoggedFeedback.take, all rows)", rate(lambda: log.take(np.arange(n)), n, 1), None),
        line("ips (precomputed pmfs)", rate(lambda: IPS().estimate(log, target), n), 2_000_000),
        line("snips (precomputed pmfs)", rate(lambda: SelfNormalizedIPS().estimate(log, target), n), 2_000_000),
        line("dr (precomputed pmfs and reward estimates)",
             rate(lambda: DoublyRobust().estimate(log, target, rhat), n), 2_000_000),
        line("ips clipped at 10", rate(lambda: IPS(clip=10.0).estimate(log, target), n), None),
        line("replay (choices drawn from pmfs)", rate(lambda: Replay().estimate(log, target), n), None),
        line("dm (200 bootstrap resamples)", rate(lambda: DirectMethod().estimate(log, target, rhat), n, 1), None),
    ]
    for text in lines:
        print(text, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(log, Path(tmp) / "log.parquet")
        print(line("read_log parquet (chunked, validated)", rate(lambda: read_log(path), n, 1), None), flush=True)
    for text in foreign_read_lines(args.foreign_rows):
        print(text, flush=True)
    if args.partitioned_rows:
        for text in dask_lines(args.partitioned_rows, args.partition_rows):
            print(text, flush=True)
    small, _, _ = make_log(args.replay_events, seed=1, with_context=True)
    m = small.n_rounds
    for spec in ("vw:squarecb", "egreedy:0.1"):
        policy = parse_policy_spec(spec).build(0)
        start = time.perf_counter()
        replay_learning(policy, small)
        figure = m / (time.perf_counter() - start)
        print(line(f"replay of learning {spec} ({m:,} events)", figure, 10_000 if spec.startswith("vw") else None),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
