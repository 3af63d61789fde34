"""Fixtures for the API: the app, its test client, and a real server on 127.0.0.1."""
from __future__ import annotations

from pathlib import Path

import pytest

from api.web.app import create_app
from api.demo.server_process import ServerProcess

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


class LiveServer(ServerProcess):
    """`artbandit serve` (gunicorn) on 127.0.0.1 with the test settings."""

    def __init__(self, data_dir: Path, workers: int = 1, env: dict | None = None) -> None:
        super().__init__(data_dir, settings={**app_settings(data_dir), **(env or {})},
                         workers=workers)


@pytest.fixture
def live_server(data_dir):
    """A real gunicorn server with one worker (the learner runs in it)."""
    server = LiveServer(data_dir)
    yield server
    server.stop()
