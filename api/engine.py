"""The serving engine: context, decision, logging before answering, and feedback."""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from artwork.errors import NotFoundError
from artwork.records import Artwork, LoggedDecision, Reward
from artwork.store import Store
from bandit.exploration import new_event_id
from bandit.policy import Policy
from bandit.types import Context, Decision

from api.catalog import Catalog

log = logging.getLogger(__name__)

FALLBACK_POLICY = "default-only"


@dataclass(frozen=True)
class Served:
    """One title's answer: the logged decision and the artwork it chose."""

    decision: LoggedDecision
    artwork: Artwork


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


class Engine:
    """Serves decisions with a policy and records feedback; every decision is logged first."""

    def __init__(self, store: Store, catalog: Catalog, current: Callable[[], Policy],
                 learning: bool = False) -> None:
        self.store = store
        self.catalog = catalog
        self.current = current
        self.affinity = AffinityCache(store)
        self.learning = learning

    @property
    def policy_name(self) -> str:
        return self.current().name

    @property
    def model_version(self) -> int:
        return self.current().model_version

    def decide(self, user_id: str, title_ids: Sequence[str],
               features: Mapping[str, Any]) -> list[Served]:
        """One decision per title, all journaled in one append before they are returned."""
        entries = [self.catalog.entry(t) for t in title_ids]
        policy = self.current()
        now = time.time()
        # Looked up once per request: every title of a row is shown to the same user.
        affinity = self.affinity.get(user_id)
        features = dict(features)
        served = []
        for entry in entries:
            title = entry.title
            context = Context(user_id, title.id, features, affinity, title.genres)
            if entry.actions:
                d = policy.decide(context, entry.actions)
            elif entry.fallback is not None:
                d = Decision(new_event_id(), (entry.fallback.id,), (1.0,), 0,
                             FALLBACK_POLICY, policy.model_version)
            else:
                raise NotFoundError(
                    f"title {title.id!r} has no live artwork and no default; make one live "
                    "with PATCH /artworks/<id>"
                )
            action = d.action_ids[d.chosen]
            logged = LoggedDecision(
                d.event_id, now, user_id, title.id, context.to_dict(), d.action_ids, d.pmf,
                action, d.pmf[d.chosen], d.policy, d.model_version,
            )
            served.append(Served(logged, entry.artworks[action]))
        self.store.journal_decisions([s.decision for s in served])
        return served

    def feedback(self, rewards: Sequence[Reward]) -> list[bool]:
        """Record feedback; True for each (event, kind) that was new."""
        return self.store.add_rewards(rewards)

