"""Fixtures for the store's tests."""
from __future__ import annotations

import pytest

from artwork.records import LoggedDecision


@pytest.fixture
def make_decision():
    """Factory: a valid logged decision over three candidates."""

    def make(event_id: str, timestamp: float, *, user="u1", title="t1", chosen=1,
             candidates=("a1", "a2", "a3"), pmf=(0.2, 0.5, 0.3)) -> LoggedDecision:
        return LoggedDecision(
            event_id=event_id, timestamp=timestamp, user_id=user, title_id=title,
            context={"features": {"device": "tv", "hour": 21.0}, "genre_affinity": {"drama": 1.0}},
            candidates=tuple(candidates), pmf=tuple(pmf), action=candidates[chosen],
            probability=pmf[chosen], policy="vw", model_version=3,
        )

    return make
