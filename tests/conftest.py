"""Fixtures shared by every package's tests."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from artwork.images import encode_image
from artwork.store import Store


@pytest.fixture(autouse=True)
def fail_on_error_logs(caplog: pytest.LogCaptureFixture):
    """Fail any test during which something logged at ERROR: hidden failures stay visible."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("logged at ERROR: " + "; ".join(r.getMessage() for r in errors))


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


def make_image(seed: int = 0, width: int = 96, height: int = 64) -> np.ndarray:
    """A BGR test picture: a colour gradient with a few seeded rectangles."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                    np.full_like(x, rng.integers(0, 255))], axis=-1).astype(np.uint8)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, width - 8)), int(rng.integers(0, height - 8))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(img, (x0, y0), (x0 + 8, y0 + 8), colour, -1)
    return img


@pytest.fixture
def jpeg_bytes():
    """Factory: distinct valid JPEG bytes for a seed."""
    return lambda seed=0, width=96, height=64: encode_image(make_image(seed, width, height))


@pytest.fixture
def png_bytes():
    """Factory: distinct valid PNG bytes for a seed."""
    return lambda seed=0, width=96, height=64: encode_image(make_image(seed, width, height), "png")
