"""Which of a title's live artworks are still new, from the catalog's audit trail and the decision log.

An artwork is new to its title when it went live after the title was first served, less than
the exposure's window ago, and has been shown fewer than its number of impressions since.

The serving path asks once per title and request; the answer is kept for `refresh` seconds,
so the log is read at most that often per title (across workers the counts lag by as much,
which can only give a new artwork a little more exposure than it needed).
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Mapping, Sequence

from artwork.records import Artwork
from artwork.store import Store
from bandit.new_art import FairExposure
from bandit.types import Action


def live_since(store: Store, art: Artwork) -> float:
    """When an artwork last went live: its last recorded approval, else its creation."""
    approvals = [e.at for e in store.audit_for(art.id)
                 if e.action == "status" and e.detail.get("to") == "live"]
    return max(approvals) if approvals else art.created


class NewArtTracker:
    """Per title, the ids of its live artworks that `exposure` still boosts."""

    def __init__(self, store: Store, exposure: FairExposure, refresh: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.exposure = exposure
        self.refresh = refresh
        self._clock = clock
        # title id -> (when computed, the live actions it was computed for, the new ones)
        self._titles: dict[str, tuple[float, tuple[Action, ...], frozenset[str]]] = {}
        # title id -> {live artwork id -> when it went live}; an artwork seen not live is
        # dropped, so one approved again is looked up again
        self._since: dict[str, dict[str, float]] = {}
        # title id -> when it was first served (kept once known: it never changes)
        self._first: dict[str, float] = {}
        self._lock = threading.Lock()

    def new_artworks(self, title_id: str, live: Sequence[Action],
                     artworks: Mapping[str, Artwork]) -> frozenset[str]:
        """The ids of those of `live` (a title's live artworks as actions) still under the guarantee."""
        if len(live) < 2:
            return frozenset()
        now = self._clock()
        known = self._titles.get(title_id)
        # The catalog cache hands out the same tuple while the title is unchanged.
        if known is not None and now - known[0] < self.refresh and (
                known[1] is live or known[1] == tuple(live)):
            return known[2]
        ids = tuple(a.id for a in live)
        new = self._compute(title_id, [artworks[i] for i in ids], now)
        with self._lock:
            self._titles[title_id] = (now, tuple(live), new)
        return new

    def _compute(self, title_id: str, live: list[Artwork], now: float) -> frozenset[str]:
        known = self._since.get(title_id, {})
        since = {a.id: known[a.id] if a.id in known else live_since(self.store, a) for a in live}
        with self._lock:
            self._since[title_id] = since
        young = {i: t for i, t in since.items() if now - t < self.exposure.window}
        if young:  # only an artwork that joined a title already being served is new to it
            first = self._first_served(title_id)
            young = {i: t for i, t in young.items() if first is not None and t > first}
        if not young:
            return frozenset()
        shown = self.store.shown_since(title_id, min(young.values()))
        return frozenset(i for i, t in young.items()
                         if self.exposure.is_new(shown.get(i, 0), now - t))

    def _first_served(self, title_id: str) -> float | None:
        first = self._first.get(title_id)
        if first is None:
            first = self.store.first_served(title_id)
            if first is not None:
                with self._lock:
                    self._first[title_id] = first
        return first
