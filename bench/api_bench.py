"""Throughput and latency of `GET /artwork` against a bare JSON endpoint on the same server.

Starts `artbandit serve` (gunicorn, N sync workers) on 127.0.0.1 over a fresh data directory
with one title of 10 live artworks, then measures with `wrk` (maximum throughput, in short
rounds alternating between the two endpoints; the ratio is the median of the rounds') and
`hey` (latency at a fixed rate of half the maximum), and checks that every answer was logged. Both tools come from Debian (`apt-get install
wrk hey`). Prints `name | figure | target | ok/FAIL` lines.
"""
from __future__ import annotations

import argparse
import io
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
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
  return wrk.format("GET", "%s?user=u" .. (counter %% 5000) .. "&title=t1&device=tv&hour=20")
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
    args = parser.parse_args(argv)
    for tool in ("wrk", "hey"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: apt-get install wrk hey")
    query = "?user=u1&title=t1&device=tv&hour=20"
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", settings={"token": TOKEN, "learn": "false"},
                               workers=args.workers)
        url = server.url
        try:
            _seed_catalog(url, 10)
            scripts = {}
            for path in ("/ping", "/artwork"):
                scripts[path] = Path(tmp) / f"{path[1:]}.lua"
                scripts[path].write_text(LUA % path)
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
            half = statistics.median(art) / 2
            p50, p99, n = _hey(f"{url}/artwork{query}", args.latency_seconds, half)
            answered += n
            bp50, bp99, _ = _hey(f"{url}/ping{query}", args.latency_seconds, half)
            decisions = requests.get(f"{url}/stats?title=t1", timeout=30).json()["decisions"]
        finally:
            server.stop()
    ratio = statistics.median(ratios)
    # wrk stops with up to one request per connection in flight: the server may have
    # answered (and logged) those after wrk stopped counting.
    in_flight = (args.rounds + 1) * args.connections
    logged_ok = answered <= decisions <= answered + in_flight
    rows = [
        ("api: bare /ping throughput (median)", f"{statistics.median(bare):,.0f} req/s",
         "reference", "-"),
        ("api: /artwork throughput (10 live, logged)", f"{statistics.median(art):,.0f} req/s",
         "", "-"),
        (f"api: /artwork / bare throughput (median of {args.rounds} rounds)",
         f"{ratio:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})", ">= 0.70",
         "ok" if ratio >= 0.70 else "FAIL"),
        (f"api: /artwork p50 / p99 at {half:,.0f} req/s", f"{p50:.2f} / {p99:.2f} ms",
         "p99 < 10 ms", "ok" if p99 < 10 else "FAIL"),
        (f"api: /ping p50 / p99 at {half:,.0f} req/s", f"{bp50:.2f} / {bp99:.2f} ms",
         "reference", "-"),
        ("api: decisions logged / /artwork answers", f"{decisions:,} / {answered:,}",
         "every answer logged", "ok" if logged_ok else "FAIL"),
    ]
    print_rows(rows)
    return rows


if __name__ == "__main__":
    main()
