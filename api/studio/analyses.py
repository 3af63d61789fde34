"""Analyses of the decision log the studio shows (insights, who wins), kept for a short while.

Each one reads the whole log (decisions whose reward window has closed), so the log is read
once and the analyses computed from it are reused until the log grows or they age.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from simulator.insights import Insights, creative_insights
from simulator.logs import LoggedFeedback
from simulator.store_log import load_store_log
from simulator.winners import Winners, who_wins

from api.runtime.services import Services
from api.studio.gallery import artworks_by_id

TTL = 30.0  # seconds an analysis is reused before it is computed again
KEY = "artbandit_analyses"  # where the app keeps its LogAnalyses


class LogAnalyses:
    """The decision log and what the studio computes from it, recomputed when the log grew or aged."""

    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._items: dict[tuple[str, str], tuple[float, int, Any]] = {}
        self._lock = threading.Lock()

    def _cached(self, key: tuple[str, str], count: int, compute: Callable[[], Any]) -> Any:
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl and hit[1] == count:
            return hit[2]
        value = compute()
        with self._lock:
            self._items[key] = (time.monotonic(), count, value)
        return value

    def log(self, svc: Services, count: int | None = None) -> LoggedFeedback | None:
        """Every decision whose reward window has closed, with its reward (None: there is none)."""
        count = svc.store.count_decisions() if count is None else count
        config = svc.config
        return self._cached(("log", ""), count, lambda: load_store_log(
            svc.store, window=config.reward_window, reward_of=config.reward_mapping))

    def insights(self, svc: Services, title_id: str | None) -> Insights | None:
        """The creative insights of one title (None: the whole catalog)."""
        count = svc.store.count_decisions()

        def compute() -> Insights | None:
            log_ = self.log(svc, count)
            return None if log_ is None else creative_insights(
                log_, artworks_by_id(svc.store, log_.action_names), title_id=title_id)

        return self._cached(("insights", title_id or ""), count, compute)

    def winners(self, svc: Services, title_id: str) -> Winners | None:
        """Who wins for whom among one title's artworks, and where their traffic came from."""
        count = svc.store.count_decisions()

        def compute() -> Winners | None:
            log_ = self.log(svc, count)
            return None if log_ is None else who_wins(log_, title_id)

        return self._cached(("winners", title_id), count, compute)
