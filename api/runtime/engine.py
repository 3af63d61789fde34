"""The serving engine: context, decision, logging before answering, and feedback."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from artwork.crops import Crop
from artwork.eligibility import audience_of
from artwork.errors import NotFoundError
from artwork.records import Artwork, LoggedDecision, Reward
from artwork.store import Store
from bandit.ids import new_event_id
from bandit.policy import Policy
from bandit.types import Context, Decision
from simulator.adapter import to_logged

from api.runtime.affinity import AffinityCache
from api.runtime.catalog_cache import CatalogCache
from api.runtime.new_art import NewArtTracker
from api.runtime.stable import StableChoices, repeats

# The policy name logged for a title served its default artwork because none is live.
FALLBACK_POLICY = "default-only"


@dataclass(frozen=True)
class Served:
    """One title's answer: the logged decision and the artwork it chose."""

    decision: LoggedDecision
    artwork: Artwork
    crop: Crop | None = None  # the artwork's crop for the placement asked for, if any
    repeat: bool = False  # the decision is an earlier one, shown again (see api/runtime/stable.py)


class Engine:
    """Serves decisions with a policy and records feedback; every decision is logged first."""

    def __init__(self, store: Store, catalog: CatalogCache, current: Callable[[], Policy],
                 learning: bool = False, new_art: NewArtTracker | None = None,
                 shadows: Callable[[], tuple[Policy, ...]] = tuple,
                 serving: Callable[[str], Policy] | None = None,
                 stable: StableChoices | None = None) -> None:
        self.store = store
        # With `stable_for` set: the decisions a user's requests repeat (None: every request decides).
        self.stable = stable
        # The challengers whose pmfs are logged beside each decision, and the policy that
        # serves a user (an experiment's arm; None: always `current`); see api/runtime/policies.py.
        self.shadows = shadows
        self.serving = serving
        # Which live artworks are new to their title (None: no minimum share for new art).
        self.new_art = new_art
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
        champion = self.current()
        policy = champion if self.serving is None else self.serving(user_id)
        shadows = self.shadows()
        if policy is not champion:  # an experiment's arm serves: the champion is a shadow too
            shadows = tuple(s for s in (champion, *shadows) if s is not policy)
        now = time.time()
        # Looked up once per request: every title of a row is shown to the same user.
        affinity = self.affinity.get(user_id)
        features = dict(features)
        audience = audience_of(features)
        earlier = {} if self.stable is None else self.stable.find(user_id, title_ids, now)
        served, made = [], []
        for entry in entries:
            title = entry.title
            context = Context(user_id, title.id, features, affinity, title.genres)
            # Only the artworks eligible for this audience now are candidates: the pmf is over them.
            actions, action_keys, fallback = entry.candidates(audience, now)
            prior = earlier.get(title.id)
            repeat = prior is not None and repeats(prior, policy.name, [a.id for a in actions])
            if repeat:
                logged = prior
            elif actions:
                # New to the title among all its live artworks (the same set for every audience).
                new = (() if self.new_art is None else
                       self.new_art.new_artworks(title.id, entry.actions, entry.artworks))
                d = policy.decide(context, actions, new_artworks=new)
                shadow = {s.name: s.pmf(context, actions, new) for s in shadows}
                logged = to_logged(d, context, now, action_keys, shadow)
            elif fallback is not None:
                d = Decision(new_event_id(), (fallback.id,), (1.0,), 0,
                             FALLBACK_POLICY, policy.model_version)
                logged = to_logged(d, context, now)
            else:
                shape = "" if audience.placement is None else f" serving placement {audience.placement!r}"
                raise NotFoundError(f"title {title.id!r} has no live artwork and no default "
                                    f"eligible for this request{shape}", kind="artwork")
            if not repeat:
                made.append(logged)
            crop = None if audience.placement is None else entry.crop(logged.action, audience.placement)
            served.append(Served(logged, entry.artworks[logged.action], crop, repeat))
        if made:
            self.store.journal_decisions(made)
            if self.stable is not None:
                self.stable.remember(made)
        return served

    def feedback(self, rewards: Sequence[Reward]) -> list[bool]:
        """Record feedback; True for each (event, kind) that was new."""
        return self.store.add_rewards(rewards)

