"""Per-user genre affinities from our own plays, cached for the serving path."""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict

from artwork.store import Store

log = logging.getLogger(__name__)


class AffinityCache:
    """Per-user genre affinities from our own plays, kept for a while (LRU).

    Most users a worker sees have never played anything. The ids of those who have are
    kept in memory, tailing the plays table every `refresh` seconds, so the others cost no
    query at all, and a user's first play shows within `refresh` seconds instead of after
    `ttl`. Past `max_players` ids the set is given up and every user is looked up.
    """

    def __init__(self, store: Store, ttl: float = 60.0, size: int = 50_000,
                 refresh: float = 1.0, max_players: int = 200_000) -> None:
        self.store, self.ttl, self.size = store, ttl, size
        self.refresh, self.max_players = refresh, max_players
        self._items: OrderedDict[str, tuple[float, dict[str, float]]] = OrderedDict()
        self._lock = threading.Lock()
        self._players: set[str] | None = set()
        self._after = 0  # the plays rowid read up to
        self._refreshed = -math.inf
        self._refresh_lock = threading.Lock()

    def get(self, user_id: str) -> dict[str, float]:
        """The user's genre affinities (empty for an unknown user)."""
        now = time.monotonic()
        if now - self._refreshed >= self.refresh:
            self._refresh(now)
        players = self._players
        if players is not None and user_id not in players:
            return {}
        with self._lock:
            hit = self._items.get(user_id)
            if hit is not None and now - hit[0] <= self.ttl:
                self._items.move_to_end(user_id)
                return hit[1]
        value = self.store.genre_affinity(user_id)
        with self._lock:
            self._items[user_id] = (now, value)
            self._items.move_to_end(user_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def forget(self, user_id: str) -> None:
        """Drop what is cached of a user (after their data was erased)."""
        with self._lock:
            self._items.pop(user_id, None)
        players = self._players
        if players is not None:
            players.discard(user_id)

    def _refresh(self, now: float) -> None:
        if not self._refresh_lock.acquire(blocking=False):
            return  # another thread is at it; the set it has so far is good enough
        try:
            while True:
                rows = self.store.players_since(self._after)
                if not rows:
                    break
                self._after = rows[-1][0]
                with self._lock:
                    for _, user_id in rows:
                        self._items.pop(user_id, None)  # played since it was cached
                players = self._players
                if players is not None:
                    players.update(user_id for _, user_id in rows)
                    if len(players) > self.max_players:
                        log.info("more than %d users have played; looking every user up",
                                 self.max_players)
                        self._players = None
            self._refreshed = now
        finally:
            self._refresh_lock.release()
