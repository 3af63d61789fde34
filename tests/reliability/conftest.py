"""What the reliability tests share: a seeded real server, its processes, probes, a small disk.

Each test attacks a real `artbandit serve` on 127.0.0.1 the way a failure or a hostile
client would, and checks what the service does about it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from artwork.images import encode_image
from artwork.store import Store
from tests.api.conftest import AUTH, LiveServer
from tests.conftest import make_image

__all__ = ["AUTH", "LiveServer", "children", "latencies", "seed_catalog", "wait_for"]


def seed_catalog(data_dir: Path, title: str = "t1", live: int = 3) -> list[str]:
    """A title with `live` live artworks, stored before the server starts; their ids."""
    store = Store.open(data_dir)
    try:
        store.add_title(title, "One", ["drama"])
        return [store.add_artwork_image(title, encode_image(make_image(seed)), name=f"{seed}.jpg",
                                        status="live").id for seed in range(live)]
    finally:
        store.close_all()


def children(server: LiveServer) -> tuple[list[int], list[int]]:
    """The server's gunicorn workers and its ingest worker process(es), by pid."""
    workers, ingest = [], []
    for task in Path(f"/proc/{server.proc.pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            (ingest if b"worker" in cmdline and b"ingest" in cmdline else workers).append(int(pid))
    return workers, ingest


def kill(pid: int) -> None:
    """`kill -9` one process."""
    os.kill(pid, signal.SIGKILL)


def latencies(url: str, n: int, session: requests.Session | None = None,
              timeout: float = 2.0) -> list[float]:
    """Seconds each of `n` sequential `GET /artwork` took (without a session, a new connection each)."""
    get = (session or requests).get
    out = []
    for i in range(n):
        started = time.perf_counter()
        r = get(f"{url}/artwork", params={"user": f"probe{i}", "title": "t1"}, timeout=timeout)
        out.append(time.perf_counter() - started)
        assert r.status_code == 200, r.text
    return out


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def wait_for(check, timeout: float, what: str, interval: float = 0.1):
    """Poll `check()` until it returns something true; fail saying `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s (last: {value!r})")
        time.sleep(interval)


@pytest.fixture
def live(data_dir):
    """A real server with one worker (and its ingest worker) over a seeded catalog."""
    seed_catalog(data_dir)
    server = LiveServer(data_dir, workers=1)
    yield server
    server.stop()


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MiB tmpfs, so that a test can fill it; skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); run as root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system of `folder` with one file until a write fails for want of space."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1 << 20, 4096, 1):
            while True:
                try:
                    os.write(fd, bytes(size))
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler
