"""Fixtures for the studio: a signed-in test client, and decision logs drawn from a known world."""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import cv2
import numpy as np
import pytest

from api.web.app import create_app
from artwork.images import encode_image
from artwork.records import Artwork, LoggedDecision, Reward
from artwork.store import Store
from tests.api.conftest import app_settings, run_ingest_worker
from tests.conftest import log_decisions, make_image

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in a studio page."""
    match = CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@pytest.fixture
def studio_app(data_dir, request):
    """The app with a fresh data directory (settings of its own through indirect parametrization)."""
    application = create_app(app_settings(data_dir, **getattr(request, "param", {})))
    yield application
    application.extensions["artbandit"].replays.close()
    application.extensions["artbandit"].close()


@pytest.fixture
def ingest_worker(studio_app):
    """The ingest worker process beside the app: it runs the uploads the studio queues."""
    yield from run_ingest_worker(studio_app)


PASSWORD = "a long test password"


def add_user(app, name: str = "editor", role: str = "editor") -> str:
    """Add a studio user with PASSWORD; their name."""
    app.extensions["artbandit"].store.accounts.add_user(name, role, PASSWORD)
    return name


def sign_in(client, name: str, password: str = PASSWORD, **form):
    """Post the sign-in form as a browser does (with the page's CSRF token); the response."""
    page = client.get("/studio/login")
    return client.post("/studio/login", data={"csrf": csrf_of(page.text), "name": name,
                                              "password": password, **form})


def signed_in_client(app, name: str):
    """A test client signed in as `name`; `client.csrf` holds its form token."""
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    client.csrf = csrf_of(client.get("/studio/").text)
    return client


@pytest.fixture
def studio(studio_app):
    """A test client signed in to the studio as an editor; `studio.csrf` holds its form token."""
    return signed_in_client(studio_app, add_user(studio_app))


def add_artwork(store: Store, title_id: str, seed: int, *, quality: Mapping[str, float] | None = None,
                tags: Sequence[str] = (), status: str = "live", embedding=None, embedder=None) -> Artwork:
    """Store a real (decodable) picture as an artwork with the given features."""
    return store.add_artwork_image(title_id, encode_image(make_image(seed)), name=f"still-{seed}.jpg",
                                   quality=quality, tags=tags, status=status, embedding=embedding,
                                   embedder=embedder)


def picture(seed: int, width: int = 480, height: int = 270) -> np.ndarray:
    """A still unlike any other seed's: a seeded grid of colour blocks with a few circles."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    img = cv2.resize(blocks, (width, height), interpolation=cv2.INTER_NEAREST)
    for _ in range(5):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(img, centre, int(rng.integers(10, 60)), colour, -1)
    return img


@dataclass(frozen=True)
class World:
    """Who sees what: per (device, artwork) play probabilities and the logging policy's preferences."""

    devices: tuple[str, ...]
    take: Mapping[tuple[str, str], float]  # (device, artwork id) -> P(play)
    logging_weight: Mapping[str, float]  # artwork id -> unnormalized logging probability


def log_traffic(store: Store, title_id: str, world: World, n_rounds: int, rng: np.random.Generator, *,
                countries: Sequence[str] = ("US",), affinity: Callable[[str], dict] = lambda d: {},
                age: float = 10_000.0) -> int:
    """Log `n_rounds` real decisions (non-uniform, always-exploring pmf) and their sampled plays."""
    candidates = tuple(world.logging_weight)
    weights = np.array([world.logging_weight[a] for a in candidates], dtype=float)
    pmf = tuple(float(p) for p in weights / weights.sum())
    start = time.time() - age
    decisions, rewards, plays = [], [], 0
    for i in range(n_rounds):
        device = world.devices[int(rng.integers(len(world.devices)))]
        country = countries[int(rng.integers(len(countries)))]
        k = int(rng.choice(len(candidates), p=pmf))
        event = uuid.uuid4().hex
        context = {"features": {"device": device, "country": country, "hour": 20},
                   "genre_affinity": affinity(device), "title_genres": ["drama"],
                   "user_id": f"u{i}", "title_id": title_id}
        decisions.append(LoggedDecision(event, start + i * 1e-3, f"u{i}", title_id, context, candidates, pmf,
                                        candidates[k], pmf[k], "logging", 0))
        if rng.random() < world.take[(device, candidates[k])]:
            rewards.append(Reward(event, start + i * 1e-3 + 0.1, "play"))
            plays += 1
    log_decisions(store, decisions)
    if rewards:
        store.add_rewards(rewards)
    return plays
