"""Fixtures shared by every package's tests."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np
import pytest

from artwork.images import encode_image
from artwork.records import LoggedDecision
from artwork.store import Store


@pytest.fixture(autouse=True)
def fail_on_error_logs(caplog: pytest.LogCaptureFixture):
    """Fail any test during which something logged at ERROR: hidden failures stay visible."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("logged at ERROR: " + "; ".join(r.getMessage() for r in errors))


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the session (initdb in a temporary folder, a free port)."""
    from tests.postgres import running_server

    with running_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL of a fresh, empty PostgreSQL database on the session's server."""
    return postgres_server.new_database()


@pytest.fixture
def migrated_postgres_url(postgres_server) -> str:
    """The URL of a fresh PostgreSQL database holding the store's latest schema, no rows."""
    return postgres_server.new_database(migrated=True)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh, empty data directory."""
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Store:
    """A freshly opened store in a temporary data directory."""
    s = Store.open(data_dir)
    yield s
    s.close()


def log_decisions(store: Store, decisions: Iterable[LoggedDecision]) -> None:
    """Log decisions the way serving does: journaled, then ingested into the decision log.

    The journal's background thread may ingest some of them first; either way every one is
    in the decisions table when this returns.
    """
    store.journal_decisions(list(decisions))
    store.ingest_journal()


@pytest.fixture(name="log_decisions")
def log_decisions_fixture():
    """The function `log_decisions(store, decisions)`: log them as serving does."""
    return log_decisions


def count_rows(store: Store, table: str) -> int:
    """How many rows a table of the store's database holds (read without ingesting first)."""
    return store.db.query_one(f"SELECT count(*) FROM {table}")[0]


def make_image(seed: int = 0, width: int = 96, height: int = 64) -> np.ndarray:
    """A BGR test picture, distinct per seed: a gradient at a seeded angle and seeded shapes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    t = (np.cos(angle) * x / width + np.sin(angle) * y / height + 1) / 3
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    img = (a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]).astype(np.uint8)
    scale = max(width, height)
    for _ in range(int(rng.integers(3, 9))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(scale // 20 + 1, scale // 4 + 2))
        shape = int(rng.integers(3))
        if shape == 0:
            cv2.circle(img, (cx, cy), size, colour, -1)
        elif shape == 1:
            cv2.rectangle(img, (cx, cy), (cx + size, cy + size // 2), colour, -1)
        else:
            cv2.line(img, (cx, cy), (int(rng.integers(0, width)), int(rng.integers(0, height))),
                     colour, max(1, size // 6))
    return img


@pytest.fixture
def jpeg_bytes():
    """Factory: distinct valid JPEG bytes for a seed."""
    return lambda seed=0, width=96, height=64: encode_image(make_image(seed, width, height))


@pytest.fixture
def png_bytes():
    """Factory: distinct valid PNG bytes for a seed."""
    return lambda seed=0, width=96, height=64: encode_image(make_image(seed, width, height), "png")
