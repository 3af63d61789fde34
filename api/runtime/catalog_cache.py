"""The serving path's view of the catalog: each title's live artworks as bandit actions, cached."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from artwork.records import Artwork, Title
from artwork.store import Store
from bandit.types import Action
from simulator.adapter import describe

from api.runtime.actions import to_action


@dataclass(frozen=True)
class TitleEntry:
    """A title with its servable artworks as bandit actions, and the keys their descriptions are logged by."""

    title: Title
    actions: tuple[Action, ...]
    action_keys: tuple[str, ...]
    artworks: dict[str, Artwork]
    fallback: Artwork | None
    loaded: float


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
        live = [self._action(a) for a in arts if a.status == "live"]
        fallback = next((a for a in arts if a.is_default and a.status != "retired"), None)
        entry = TitleEntry(title, tuple(a for a, _ in live), tuple(k for _, k in live),
                           {a.id: a for a in arts}, fallback, now)
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
