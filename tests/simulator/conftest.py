"""Fixtures for the simulator: a small synthetic world, logs drawn from it, and store-format files."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bandit.baselines import DefaultArtworkPolicy
from simulator.synthetic import SyntheticLog, log_from_world
from simulator.world import World, WorldConfig

EXPORT_HEADER = ["event_id", "timestamp", "user_id", "title_id", "context", "candidates", "pmf",
                 "action", "probability", "reward", "policy", "model_version"]


def export_row(i: int, candidates: list[str], pmf: list[float], action: str, reward: float,
               probability: float | None = None, **context) -> dict:
    """One row of the store's export, written the way the store writes it (JSON strings in CSV)."""
    ctx = {"features": {"device": context.get("device", "tv"), "country": "US", "hour": 20},
           "genre_affinity": {"drama": 0.5}, "title_genres": ["drama"]}
    return {
        "event_id": f"e{i}", "timestamp": 1_700_000_000.0 + i, "user_id": f"u{i % 3}", "title_id": "t1",
        "context": json.dumps(ctx), "candidates": json.dumps(candidates), "pmf": json.dumps(pmf),
        "action": action, "probability": pmf[candidates.index(action)] if probability is None else probability,
        "reward": reward, "policy": "vw", "model_version": 3,
    }


def write_export_csv(path: Path, rows: list[dict]) -> Path:
    """Write rows in the store's CSV export format with the csv module (independent of our writer)."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=EXPORT_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def export_rows() -> list[dict]:
    """Six valid export rows over three artworks, with uneven pmfs."""
    cands = ["a1", "a2", "a3"]
    pmf = [0.5, 0.3, 0.2]
    actions = ["a1", "a2", "a3", "a1", "a1", "a2"]
    rewards = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    return [export_row(i, cands, pmf, a, r) for i, (a, r) in enumerate(zip(actions, rewards))]


@pytest.fixture(scope="session")
def small_world() -> World:
    """A small synthetic world (fast to build)."""
    return World(WorldConfig(n_users=300, n_titles=12, artworks_per_title=5, seed=7))


@pytest.fixture(scope="session")
def world_log(small_world: World) -> SyntheticLog:
    """3,000 impressions logged by the default-artwork policy with ε = 0.5 (non-uniform logging)."""
    return log_from_world(small_world, DefaultArtworkPolicy(epsilon=0.5, seed=3), 3000, seed=11)
