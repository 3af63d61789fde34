"""A new user's first hour: relative paths, remembered settings, why an export is empty."""
from __future__ import annotations

import subprocess
import sys
import time

import requests

from api.config import DATA_DIR_CONFIG, remember_settings
from api.demo.server_process import ServerProcess
from artwork.records import LoggedDecision
from artwork.store import Store
from tests.conftest import log_decisions
from tests.reliability.conftest import seed_catalog


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_a_relative_data_directory_serves_its_images(tmp_path):
    artworks = seed_catalog(tmp_path / "artbandit-demo" / "data")
    server = ServerProcess("artbandit-demo/data", cwd=tmp_path)  # as the README says to run it
    try:
        choice = requests.get(f"{server.url}/artwork", params={"user": "u", "title": "t1"},
                              timeout=5).json()
        assert choice["artwork_id"] in artworks
        image = requests.get(server.url + choice["image_url"], timeout=5)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    finally:
        server.stop()


def _decisions(n: int, age: float) -> list[LoggedDecision]:
    now = time.time() - age
    return [LoggedDecision(f"e{i}", now + i * 1e-3, "u", "t1", {}, ("a", "b"), (0.5, 0.5), "a",
                           0.5, "uniform", 0) for i in range(n)]


def test_a_data_directory_remembers_the_reward_window_it_was_made_with(tmp_path):
    data_dir = tmp_path / "data"
    store = Store.open(data_dir)
    log_decisions(store, _decisions(20, age=5.0))
    store.close_all()
    # With the default 3600 s window nothing has closed, and the export says why.
    empty = _cli("--data-dir", str(data_dir), "log", "export", str(tmp_path / "a.parquet"))
    assert empty.returncode == 0 and "wrote 0 decisions" in empty.stdout
    assert "none of the 20 logged decisions has a closed 3600-second reward window" in empty.stderr
    # What `artbandit demo` does: the data directory keeps the settings it was made with.
    remember_settings(data_dir, {"reward_window": 0.5})
    assert (data_dir / DATA_DIR_CONFIG).is_file()
    done = _cli("--data-dir", str(data_dir), "log", "export", str(tmp_path / "b.parquet"))
    assert done.returncode == 0 and "wrote 20 decisions" in done.stdout, done.stderr
    nothing = _cli("--data-dir", str(tmp_path / "fresh"), "log", "export", str(tmp_path / "c.csv"))
    assert "the store holds no decisions yet" in nothing.stderr


def test_version_and_a_quick_title_list(tmp_path):
    version = _cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("artbandit ")
    seed_catalog(tmp_path / "data")
    listing = _cli("--data-dir", "data", "title", "list", cwd=tmp_path)
    assert listing.returncode == 0 and "t1" in listing.stdout
    # Only what listing titles needs is imported (the benchmark times it).
    probe = subprocess.run([sys.executable, "-c", "import sys; from api.cli import main; "
                            "main(['--data-dir', 'data', 'title', 'list']); "
                            "print(sorted(m for m in ('numpy', 'matplotlib', 'pyarrow', 'cv2', "
                            "'vowpalwabbit', 'simulator', 'vision') if m in sys.modules))"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip().endswith("[]"), probe.stdout + probe.stderr
