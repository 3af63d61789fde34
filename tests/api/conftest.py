"""Fixtures for the API: the app, its test client, and a real server on 127.0.0.1."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from api.cli.serve import IngestWorkerProcess
from api.config import environment_with
from api.demo.server_process import ServerProcess
from api.web.app import create_app

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def app_settings(data_dir: Path, **extra) -> dict:
    """Settings that make learning visible within a test's time."""
    return {"data_dir": str(data_dir), "token": TOKEN, "reward_window": 0.3,
            "learn_interval": 0.05, "snapshot_every": 10, "catalog_ttl": 0.0, "seed": 1,
            "max_upload_bytes": 1_000_000, "embedder": "classic", "cookie_secure": False, **extra}


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


def run_ingest_worker(app) -> Iterator[IngestWorkerProcess]:
    """The ingest worker process beside an in-process app, as `serve` starts it, until the test ends."""
    config = app.config["ARTBANDIT"]
    worker = IngestWorkerProcess(config, None, env=environment_with(app_settings(config.data_dir)),
                                 output=subprocess.DEVNULL)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def ingest_worker(app):
    """The ingest worker process beside the app: it runs the uploads the app queues."""
    yield from run_ingest_worker(app)


def add_artworks(app, title_id: str, images: list[bytes], status: str = "candidate") -> list[str]:
    """Store images as a title's artworks directly, as the ingest worker does; their ids."""
    store = app.extensions["artbandit"].store
    return [store.add_artwork_image(title_id, data, name=f"still-{i}.jpg", status=status).id
            for i, data in enumerate(images)]


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
