"""Fixtures for the API: the app, its test client, and a real server on 127.0.0.1."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from api.app import create_app

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def app_settings(data_dir: Path, **extra) -> dict:
    """Settings that make learning visible within a test's time."""
    return {"data_dir": str(data_dir), "token": TOKEN, "reward_window": 0.3,
            "learn_interval": 0.05, "snapshot_every": 10, "catalog_ttl": 0.0, "seed": 1,
            "max_upload_bytes": 1_000_000, **extra}


@pytest.fixture
def app(data_dir):
    """The app with a fresh data directory and an in-process learner."""
    application = create_app(app_settings(data_dir))
    yield application
    application.extensions["artbandit"].close()


@pytest.fixture
def client(app):
    """Flask's test client for the app."""
    return app.test_client()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`artbandit serve` (gunicorn) in a subprocess on 127.0.0.1."""

    def __init__(self, data_dir: Path, workers: int = 1, env: dict | None = None,
                 extra_args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = app_settings(data_dir)
        environ = {**os.environ, **{f"ARTBANDIT_{k.upper()}": str(v) for k, v in settings.items()},
                   **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(workers), *extra_args],
            env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + (self.proc.stdout.read() or ""))
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not answer /healthz within 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture
def live_server(data_dir):
    """A real gunicorn server with one worker (the learner runs in it)."""
    server = LiveServer(data_dir)
    yield server
    server.stop()
