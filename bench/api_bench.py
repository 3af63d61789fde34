"""Throughput and latency of `GET /artwork` against a bare JSON endpoint on the same server.

Starts `artbandit serve` (gunicorn, N workers of its guarded threaded worker class) on
127.0.0.1 over a fresh data directory with one title of 10 live artworks, then measures with
`wrk` (maximum throughput, in short rounds alternating between the two endpoints; the ratio
is the median of the rounds') and `hey` (latency at a fixed rate of half the maximum, once
the decisions of the earlier rounds are all ingested), the throughput of `/artwork` while 50
idle connections are held open (rounds alternating with rounds without them), and checks
that every answer was logged. Both tools come from Debian (`apt-get install wrk hey`). Also
times `artbandit title list` on a small store (the installed console script, a fresh process
each time). Prints `name | figure | target | ok/FAIL` lines.
"""
from __future__ import annotations

import argparse
import io
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.demo.server_process import ServerProcess  # noqa: E402
from bench.common import print_rows  # noqa: E402

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Both endpoints are loaded through the same Lua request generator (wrk runs on the same
# cores as the server, so the client's own cost must be the same for both): 5,000 users,
# and the same query string, which /ping ignores.
LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "%s?user=u" .. (counter %% 5000) .. "%s&device=tv&hour=20")
end
"""


def _images() -> list[tuple[str, bytes]]:
    """Creatives' variants of the committed photographs (as the demo makes them)."""
    import cv2

    from api.demo.run import creative_variants

    out = []
    for name in ("astronaut", "chelsea", "coffee"):
        image = cv2.imread(str(ROOT / "tests" / "data" / f"{name}.jpg"))
        for label, variant in creative_variants(image):
            out.append((f"{name}-{label}.jpg", cv2.imencode(".jpg", variant)[1].tobytes()))
    return out


def _seed_catalog(url: str, n: int) -> None:
    requests.post(f"{url}/titles", json={"id": "t1", "name": "Bench", "genres": ["drama"]},
                  headers=AUTH, timeout=10).raise_for_status()
    files = [("file", (name, io.BytesIO(data), "image/jpeg")) for name, data in _images()]
    r = requests.post(f"{url}/titles/t1/artworks", files=files, headers=AUTH, timeout=120)
    r.raise_for_status()
    added = [res for res in r.json()["results"] if res["ok"]][:n]
    if len(added) < n:
        raise SystemExit(f"only {len(added)} distinct artworks could be made; need {n}")
    for res in added:
        requests.patch(f"{url}/artworks/{res['artwork']['id']}", json={"status": "live"},
                       headers=AUTH, timeout=10).raise_for_status()


ROW_TITLES = 24  # a whole row of the home page in one request


def _picture(seed: int) -> bytes:
    """A distinct JPEG for a seed: a gradient and a few shapes (no two alike)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:180, 0:320].astype(np.float32)
    t = (x / 320 + y / 180) / 2
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    image = (a * (1 - t[..., None]) + b * t[..., None]).astype(np.uint8)
    for _ in range(6):
        centre = (int(rng.integers(0, 320)), int(rng.integers(0, 180)))
        cv2.circle(image, centre, int(rng.integers(10, 60)), tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    return cv2.imencode(".jpg", image)[1].tobytes()


def _seed_row(data_dir: Path, per_title: int = 4) -> str:
    """Titles r0..r23 with live artworks, straight into the store; the row's query string part."""
    from artwork.store import Store

    store = Store.open(data_dir)
    try:
        for t in range(ROW_TITLES):
            store.add_title(f"r{t}", f"Row title {t}", ["drama"])
            store.add_artworks([{"title_id": f"r{t}", "data": _picture(1000 + per_title * t + i),
                                 "status": "live"} for i in range(per_title)])
    finally:
        store.close_all()
    return "".join(f"&title=r{t}" for t in range(ROW_TITLES))


def _wrk(url: str, seconds: int, connections: int, script: Path) -> tuple[float, int]:
    """Requests per second and requests answered, all of them with a 2xx status."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses:\n{out}")
    answered = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), answered


def _hey(url: str, seconds: int, rate: float, workers: int = 8) -> tuple[float, float, int]:
    """p50 and p99 latency in ms at a fixed rate, and the requests answered (all 200)."""
    per_worker = max(1, int(rate / workers))
    out = subprocess.run(["hey", "-z", f"{seconds}s", "-c", str(workers), "-q", str(per_worker),
                          url], capture_output=True, text=True, check=True).stdout
    statuses = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", out))
    if set(statuses) != {"200"}:
        raise SystemExit(f"hey saw responses other than 200:\n{out}")
    p50 = float(re.search(r"50%+ in ([\d.]+) secs", out).group(1)) * 1000
    p99 = float(re.search(r"99%+ in ([\d.]+) secs", out).group(1)) * 1000
    return p50, p99, int(statuses["200"])


def _drain_journal(url: str, limit: float = 60.0) -> float:
    """Seconds until the server's decision journal is all ingested (read from /metrics).

    The whole-row rounds make decisions faster than one ingest thread stores them; a latency
    run started on their backlog would measure that catch-up, not the load it offers.
    """
    started = time.perf_counter()
    while True:
        text = requests.get(f"{url}/metrics", headers=AUTH, timeout=30).text
        backlog = float(re.search(r"^artbandit_journal_backlog_bytes (\S+)$", text, re.M).group(1))
        waited = time.perf_counter() - started
        if backlog == 0:
            return waited
        if waited > limit:
            raise SystemExit(f"the decision journal still held {backlog:,.0f} bytes after {limit:.0f} s")
        time.sleep(0.2)


def _idle_connections(port: int, count: int) -> list[socket.socket]:
    """`count` connections that send nothing (the server closes them after its request timeout)."""
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]


def _title_list_seconds(data_dir: Path, runs: int) -> list[float]:
    """Wall-clock seconds of `artbandit title list`, the installed script in a fresh process each run."""
    script = Path(sys.executable).parent / "artbandit"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*command, "--data-dir", str(data_dir), "title", "list"], check=True,
                       capture_output=True)
        out.append(time.perf_counter() - started)
    return out


def main(argv: list[str] | None = None) -> list[tuple]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--seconds", type=int, default=3,
                        help="seconds per throughput measurement (default 3)")
    parser.add_argument("--rounds", type=int, default=7,
                        help="alternating /ping and /artwork rounds (default 7)")
    parser.add_argument("--latency-seconds", type=int, default=6,
                        help="seconds per latency measurement (default 6)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--idle", type=int, default=50,
                        help="idle connections held open in the idle rounds (default 50)")
    args = parser.parse_args(argv)
    for tool in ("wrk", "hey"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: apt-get install wrk hey")
    query = "?user=u1&title=t1&device=tv&hour=20"
    row_answered = 0
    with tempfile.TemporaryDirectory() as tmp:
        row = _seed_row(Path(tmp) / "data")
        server = ServerProcess(Path(tmp) / "data", settings={"token": TOKEN, "learn": "false",
                                                            "embedder": "classic"},
                               workers=args.workers)
        url = server.url
        try:
            _seed_catalog(url, 10)
            scripts = {}
            for path in ("/ping", "/artwork"):
                scripts[path] = Path(tmp) / f"{path[1:]}.lua"
                scripts[path].write_text(LUA % (path, "&title=t1"))
            _wrk(url, 2, args.connections, scripts["/ping"])  # warm-up
            answered = _wrk(url, 2, args.connections, scripts["/artwork"])[1]
            # Short alternating rounds: this machine's speed drifts by 10% and more within a
            # minute, and a ratio is only fair between measurements taken side by side.
            bare, art = [], []
            for _ in range(args.rounds):
                bare.append(_wrk(url, args.seconds, args.connections, scripts["/ping"])[0])
                rps, n = _wrk(url, args.seconds, args.connections, scripts["/artwork"])
                art.append(rps)
                answered += n
            ratios = sorted(a / b for a, b in zip(art, bare))
            # The same with idle connections held open (each set opened just before its round,
            # which is shorter than the server's request timeout), side by side again.
            plain, crowded = [], []
            for _ in range(args.rounds):
                rps, n = _wrk(url, args.seconds, args.connections, scripts["/artwork"])
                plain.append(rps)
                idle = _idle_connections(server.port, args.idle)
                try:
                    rps, m = _wrk(url, args.seconds, args.connections, scripts["/artwork"])
                finally:
                    for sock in idle:
                        sock.close()
                crowded.append(rps)
                answered += n + m
            idle_ratios = sorted(c / p for c, p in zip(crowded, plain))
            # A whole row of titles per request: decisions per second, every one logged.
            scripts["row"] = Path(tmp) / "row.lua"
            scripts["row"].write_text(LUA % ("/artwork", row))
            row_rates = []
            for _ in range(max(3, args.rounds // 2)):
                rps, n = _wrk(url, args.seconds, args.connections, scripts["row"])
                row_rates.append(rps * ROW_TITLES)
                row_answered += n
            drain = _drain_journal(url)
            half = statistics.median(art) / 2
            p50, p99, n = _hey(f"{url}/artwork{query}", args.latency_seconds, half)
            answered += n
            bp50, bp99, _ = _hey(f"{url}/ping{query}", args.latency_seconds, half)
            decisions = requests.get(f"{url}/stats?title=t1", headers=AUTH,
                                     timeout=30).json()["decisions"]
            row_logged = requests.get(f"{url}/stats?title=r0", headers=AUTH,
                                      timeout=30).json()["decisions"]
        finally:
            server.stop()
        listing = sorted(_title_list_seconds(Path(tmp) / "data", 7))
    ratio = statistics.median(ratios)
    idle_ratio = statistics.median(idle_ratios)
    list_seconds = statistics.median(listing)
    # wrk stops with up to one request per connection in flight: the server may have
    # answered (and logged) those after wrk stopped counting.
    in_flight = (3 * args.rounds + 1) * args.connections
    logged_ok = answered <= decisions <= answered + in_flight
    rows = [
        ("api: bare /ping throughput (median)", f"{statistics.median(bare):,.0f} req/s",
         "reference", "-"),
        ("api: /artwork throughput (10 live, logged)", f"{statistics.median(art):,.0f} req/s",
         "", "-"),
        (f"api: /artwork / bare throughput (median of {args.rounds} rounds)",
         f"{ratio:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})", ">= 0.70",
         "ok" if ratio >= 0.70 else "FAIL"),
        ("api: journal backlog of the whole-row rounds ingested before the latency runs",
         f"{drain:.1f} s", "", "-"),
        (f"api: /artwork p50 / p99 at {half:,.0f} req/s", f"{p50:.2f} / {p99:.2f} ms",
         "p99 < 10 ms", "ok" if p99 < 10 else "FAIL"),
        (f"api: /ping p50 / p99 at {half:,.0f} req/s", f"{bp50:.2f} / {bp99:.2f} ms",
         "reference", "-"),
        (f"api: /artwork throughput with {args.idle} idle connections open",
         f"{statistics.median(crowded):,.0f} req/s", "", "-"),
        (f"api: /artwork with / without {args.idle} idle connections (median of {args.rounds})",
         f"{idle_ratio:.2f} ({idle_ratios[0]:.2f}-{idle_ratios[-1]:.2f})", ">= 0.90",
         "ok" if idle_ratio >= 0.90 else "FAIL"),
        ("api: decisions logged / /artwork answers", f"{decisions:,} / {answered:,}",
         "every answer logged", "ok" if logged_ok else "FAIL"),
        (f"api: whole-row /artwork ({ROW_TITLES} titles a request), decisions/s (median)",
         f"{statistics.median(row_rates):,.0f} ({min(row_rates):,.0f}-{max(row_rates):,.0f})",
         ">= 10,000", "ok" if statistics.median(row_rates) >= 10_000 else "FAIL"),
        ("api: whole-row decisions of one title logged / requests answered",
         f"{row_logged:,} / {row_answered:,}", "every answer logged",
         # each whole-row run may leave one request per connection in flight when wrk stops
         "ok" if row_answered <= row_logged <= row_answered + args.connections * len(row_rates) else "FAIL"),
        ("cli: `artbandit title list` (median of 7, fresh process)",
         f"{list_seconds:.2f} s ({listing[0]:.2f}-{listing[-1]:.2f})", "< 0.40 s",
         "ok" if list_seconds < 0.40 else "FAIL"),
    ]
    print_rows(rows)
    return rows


if __name__ == "__main__":
    main()
