"""Start-up failures are one line and exit 2; a damaged database is found and /readyz says so."""
from __future__ import annotations

import random
import subprocess
import sys

import pytest
import requests

from api.config import environment_with
from artwork.store import DB_NAME, Store
from tests.api.conftest import app_settings
from tests.reliability.conftest import LiveServer, seed_catalog


def _start(data_dir, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "--data-dir", str(data_dir), *command],
                          env=environment_with(app_settings(data_dir)), capture_output=True,
                          text=True, timeout=120)


def _one_line_exit_2(done: subprocess.CompletedProcess, fragment: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("artbandit: error: "), done.stderr
    assert fragment in lines[0] and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [("serve", "--port", "1"), ("learn", "--rounds", "1"),
                                     ("init",)])
def test_a_read_only_data_directory_is_one_line_and_exit_2(small_disk, command):
    data_dir = small_disk / "data"
    seed_catalog(data_dir)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    _one_line_exit_2(_start(data_dir, *command), "Read-only file system")


@pytest.mark.parametrize("command", [("serve", "--port", "1"), ("learn", "--rounds", "1"),
                                     ("title", "list")])
def test_a_file_that_is_not_a_database_is_one_line_and_exit_2(data_dir, command):
    data_dir.mkdir(parents=True)
    (data_dir / DB_NAME).write_text("these are my notes, not a database\n" * 200)
    _one_line_exit_2(_start(data_dir, *command), "not a database")


def _schema_pages(data: bytes) -> set[int]:
    """The pages of SQLite's schema table: page 1 and, once it has split, its children."""
    top = 100  # page 1's b-tree header follows the 100-byte file header
    if data[top] != 0x05:  # a leaf: the whole schema is on page 1
        return {1}
    cells = int.from_bytes(data[top + 3:top + 5], "big")
    offsets = [int.from_bytes(data[top + 12 + 2 * i:top + 14 + 2 * i], "big") for i in range(cells)]
    children = {int.from_bytes(data[o:o + 4], "big") for o in offsets}
    return {1, int.from_bytes(data[top + 8:top + 12], "big"), *children}


def test_a_damaged_database_starts_but_is_not_ready(data_dir):
    seed_catalog(data_dir, live=3)
    store = Store.open(data_dir)
    page = store.db.query_one("PRAGMA page_size")[0]
    pages = store.db.query_one("PRAGMA page_count")[0]
    store.close_all()
    path = data_dir / DB_NAME
    data = bytearray(path.read_bytes())
    assert pages > 4
    noise = random.Random(7)
    schema = _schema_pages(data)
    for n in range(pages // 3, 2 * pages // 3):  # garble the middle pages; the schema stays intact
        if n + 1 not in schema:  # page numbers start at 1
            data[n * page:(n + 1) * page] = noise.randbytes(page)
    path.write_bytes(bytes(data))
    server = LiveServer(data_dir, workers=1)
    try:
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        ready = requests.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 503, ready.text
        check = ready.json()["checks"]["database"]
        assert not check["ok"] and "integrity check" in check["detail"]
    finally:
        server.stop()
