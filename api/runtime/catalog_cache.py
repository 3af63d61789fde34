"""The serving path's view of the catalog: each title's live artworks as bandit actions, cached."""
from __future__ import annotations

import bisect
import math
import threading
import time
from dataclasses import dataclass, field

from artwork.crops import Crop
from artwork.eligibility import Audience, Eligibility
from artwork.records import Artwork, Title
from artwork.store import Store
from bandit.types import Action
from simulator.adapter import describe

from api.runtime.actions import to_action

# The eligible actions of a title for one audience: actions, their keys, the eligible default.
Candidates = tuple[tuple[Action, ...], tuple[str, ...], Artwork | None]
# Audiences whose answers a title keeps (countries x languages x devices x maturities seen).
MAX_AUDIENCES = 4096


@dataclass(frozen=True)
class TitleEntry:
    """A title with its servable artworks as bandit actions, and the keys their descriptions are logged by."""

    title: Title
    actions: tuple[Action, ...]
    action_keys: tuple[str, ...]
    artworks: dict[str, Artwork]
    fallback: Artwork | None
    loaded: float
    # Each action's eligibility rules, aligned with `actions`, and whether any of them or the
    # default's restricts anything (if not, every request gets every action).
    rules: tuple[Eligibility, ...] = ()
    restricted: bool = False
    # When an answer may change: the start and end of every window of the title, sorted.
    instants: tuple[float, ...] = ()
    # Each artwork's crops by placement (only artworks that have crops).
    crops: dict[str, dict[str, Crop]] = field(default_factory=dict)
    # Answers met so far per audience, each with the span of time it holds for.
    _answers: dict[Audience, tuple[float, float, Candidates]] = field(
        default_factory=dict, compare=False, repr=False)

    def candidates(self, audience: Audience, now: float) -> Candidates:
        """The actions (and their keys) eligible for this audience now, and the eligible default.

        Evaluated once per audience and span between window boundaries, then looked up.
        """
        placement = audience.placement
        if not self.restricted and placement is None:
            return self.actions, self.action_keys, self.fallback
        hit = self._answers.get(audience)
        if hit is not None and hit[0] <= now < hit[1]:
            return hit[2]
        mask = [r.admits(audience, now) for r in self.rules]
        if placement is not None:
            mask = [ok and self.crop(a.id, placement) is not None
                    for ok, a in zip(mask, self.actions)]
        fallback = self.fallback
        if fallback is not None and not (fallback.eligibility.admits(audience, now) and (
                placement is None or self.crop(fallback.id, placement) is not None)):
            fallback = None
        answer = (tuple(a for a, ok in zip(self.actions, mask) if ok),
                  tuple(k for k, ok in zip(self.action_keys, mask) if ok), fallback)
        at = bisect.bisect_right(self.instants, now)
        since = self.instants[at - 1] if at else -math.inf
        until = self.instants[at] if at < len(self.instants) else math.inf
        if len(self._answers) >= MAX_AUDIENCES:
            self._answers.clear()
        self._answers[audience] = (since, until, answer)
        return answer

    def crop(self, artwork_id: str, placement: str) -> Crop | None:
        """The artwork's crop for a placement, if it serves that placement."""
        crop = self.crops.get(artwork_id, {}).get(placement)
        return crop if crop is not None and crop.serves else None


class CatalogCache:
    """Live artworks per title as actions; entries expire after `ttl` seconds.

    Every action's description is recorded in the store (once, by its key) before a decision
    can name it, so the learner can rebuild the candidates exactly as they were served.
    """

    def __init__(self, store: Store, ttl: float = 2.0, embed_dim: int = 8) -> None:
        self.store = store
        self.ttl = ttl
        self.embed_dim = embed_dim
        self._titles: dict[str, TitleEntry] = {}
        # artwork id -> (its action, the action's description key)
        self._actions: dict[str, tuple[Action, str]] = {}
        self._recorded: set[str] = set()
        self._lock = threading.Lock()

    def entry(self, title_id: str) -> TitleEntry:
        """The title and its live artworks (raises NotFoundError for an unknown title)."""
        now = time.monotonic()
        entry = self._titles.get(title_id)
        if entry is not None and now - entry.loaded <= self.ttl:
            return entry
        title = self.store.get_title(title_id)
        arts = self.store.list_artworks(title_id)
        servable = [a for a in arts if a.status == "live"]
        live = [self._action(a) for a in servable]
        fallback = next((a for a in arts if a.is_default and a.status != "retired"), None)
        rules = tuple(a.eligibility for a in servable)
        every = rules + ((fallback.eligibility,) if fallback is not None else ())
        restricted = not all(r.unrestricted for r in every)
        entry = TitleEntry(title, tuple(a for a, _ in live), tuple(k for _, k in live),
                           {a.id: a for a in arts}, fallback, now, rules, restricted,
                           tuple(sorted({t for r in every for t in r.instants})),
                           self.store.crops.for_title(title_id))
        with self._lock:
            self._titles[title_id] = entry
        return entry

    def _action(self, art: Artwork) -> tuple[Action, str]:
        action = to_action(art, self.embed_dim)
        with self._lock:
            # Keep the object already known when nothing changed: the policy caches each
            # action's example text and recognises an unchanged action by identity.
            known = self._actions.get(art.id)
            if known is not None and known[0] == action:
                return known
        key, description = describe(action)
        if key not in self._recorded:
            self.store.record_actions([(key, art.id, description)])
        with self._lock:
            self._recorded.add(key)
            self._actions[art.id] = (action, key)
        return action, key

    def invalidate(self, title_id: str | None = None) -> None:
        """Forget a title's cached entry (or all of them) after a change."""
        with self._lock:
            if title_id is None:
                self._titles.clear()
            else:
                self._titles.pop(title_id, None)
