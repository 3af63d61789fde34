"""The serving engine: context, decision, logging before answering, and feedback."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from artwork.errors import NotFoundError
from artwork.records import Artwork, LoggedDecision, Reward
from artwork.store import Store
from bandit.ids import new_event_id
from bandit.policy import Policy
from bandit.types import Context, Decision
from simulator.adapter import to_logged

from api.runtime.affinity import AffinityCache
from api.runtime.catalog_cache import CatalogCache

# The policy name logged for a title served its default artwork because none is live.
FALLBACK_POLICY = "default-only"


@dataclass(frozen=True)
class Served:
    """One title's answer: the logged decision and the artwork it chose."""

    decision: LoggedDecision
    artwork: Artwork


class Engine:
    """Serves decisions with a policy and records feedback; every decision is logged first."""

    def __init__(self, store: Store, catalog: CatalogCache, current: Callable[[], Policy],
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
                logged = to_logged(d, context, now, entry.action_keys)
            elif entry.fallback is not None:
                d = Decision(new_event_id(), (entry.fallback.id,), (1.0,), 0,
                             FALLBACK_POLICY, policy.model_version)
                logged = to_logged(d, context, now)
            else:
                raise NotFoundError(f"title {title.id!r} has no live artwork and no default")
            served.append(Served(logged, entry.artworks[logged.action]))
        self.store.journal_decisions([s.decision for s in served])
        return served

    def feedback(self, rewards: Sequence[Reward]) -> list[bool]:
        """Record feedback; True for each (event, kind) that was new."""
        return self.store.add_rewards(rewards)

