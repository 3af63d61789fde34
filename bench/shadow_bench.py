"""Throughput of `GET /artwork` with one challenger in shadow against the same server without.

Starts two `artbandit serve` servers (gunicorn, N workers, no learner) over two fresh data
directories with the same title of 10 live artworks; the second holds a challenger in shadow
(`vw:igw`, as heavy as the champion), whose pmf every decision then logs beside its own.
Measures with `wrk` in short rounds alternating between the two servers (the ratio is the
median of the rounds'), and checks that the shadow's pmf was logged with every decision.
Prints `name | figure | target | ok/FAIL` lines.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.demo.server_process import ServerProcess  # noqa: E402
from bench.api_bench import LUA, TOKEN, _seed_catalog, _wrk  # noqa: E402
from bench.common import print_rows  # noqa: E402

SHADOW, SHADOW_SPEC = "challenger", "vw:igw"


def _server(data_dir: Path, shadow: bool, workers: int) -> ServerProcess:
    from artwork.store import Store

    if shadow:
        store = Store.open(data_dir)
        store.policies.add(SHADOW, SHADOW_SPEC)
        store.close_all()
    return ServerProcess(data_dir, settings={"token": TOKEN, "learn": "false",
                                             "embedder": "classic"}, workers=workers)


def _shadow_logged(data_dir: Path) -> tuple[int, int]:
    """(decisions with the shadow's pmf, decisions) in a stopped server's store."""
    from artwork.store import Store

    store = Store.open(data_dir)
    try:
        decisions = list(store.decisions())
    finally:
        store.close_all()
    return sum(SHADOW in d.shadow for d in decisions), len(decisions)


def main(argv: list[str] | None = None) -> list[tuple]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--seconds", type=int, default=3,
                        help="seconds per throughput measurement (default 3)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds without and with the shadow (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {name: Path(tmp) / name for name in ("plain", "shadow")}
        servers = {}
        try:
            for name, data_dir in dirs.items():
                servers[name] = _server(data_dir, name == "shadow", args.workers)
                _seed_catalog(servers[name].url, 10)
            script = Path(tmp) / "artwork.lua"
            script.write_text(LUA % ("/artwork", "&title=t1"))
            for server in servers.values():  # warm-up
                _wrk(server.url, 2, args.connections, script)
            rates: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name, server in servers.items():
                    rates[name].append(_wrk(server.url, args.seconds, args.connections, script)[0])
        finally:
            for server in servers.values():
                server.stop()
        with_shadow, logged = _shadow_logged(dirs["shadow"])
    ratios = sorted(s / p for s, p in zip(rates["shadow"], rates["plain"]))
    ratio = statistics.median(ratios)
    rows = [
        ("api: /artwork throughput, no challenger (median)",
         f"{statistics.median(rates['plain']):,.0f} req/s", "reference", "-"),
        ("api: /artwork throughput, one challenger in shadow (median)",
         f"{statistics.median(rates['shadow']):,.0f} req/s", "", "-"),
        (f"api: /artwork with / without a shadow challenger (median of {args.rounds} rounds)",
         f"{ratio:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})", ">= 0.85",
         "ok" if ratio >= 0.85 else "FAIL"),
        ("api: decisions with the shadow's pmf / decisions", f"{with_shadow:,} / {logged:,}",
         "every one", "ok" if with_shadow == logged > 0 else "FAIL"),
    ]
    print_rows(rows)
    return rows


if __name__ == "__main__":
    main()
