"""Catalog rows turned into the bandit's types, cached for the serving path."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Iterable

from artwork.errors import NotFoundError
from artwork.records import Artwork, Title
from artwork.store import Store
from bandit.types import Action
from vision.embed import project


@dataclass(frozen=True)
class TitleEntry:
    """A title with its servable artworks as bandit actions."""

    title: Title
    actions: tuple[Action, ...]
    artworks: dict[str, Artwork]
    fallback: Artwork | None
    loaded: float


def to_action(art: Artwork, embed_dim: int) -> Action:
    """The bandit's view of an artwork: numeric quality features, tags and a small embedding."""
    # Zero-valued features add nothing to a linear model; leaving them out keeps the examples
    # Vowpal Wabbit parses on every decision short.
    features = {k: float(v) for k, v in art.quality.items()
                if isinstance(v, (int, float)) and v != 0}
    features["aspect"] = art.width / max(art.height, 1)
    embedding: tuple[float, ...] = ()
    if art.embedding is not None and art.embedding.size:
        embedding = tuple(float(x) for x in project(art.embedding[None, :], dim=embed_dim)[0])
    return Action(id=art.id, features=features, tags=tuple(art.tags), embedding=embedding,
                  is_default=art.is_default)


def catalog_actions(store: Store, artwork_ids: Iterable[str], embed_dim: int = 8) -> dict[str, Action]:
    """The actions of the logged artworks the store still holds (for offline replay).

    Artworks gone from the store are left out and replayed as bare actions, as for foreign logs.
    """
    out = {}
    for artwork_id in artwork_ids:
        try:
            out[artwork_id] = to_action(store.get_artwork(artwork_id), embed_dim)
        except NotFoundError:
            pass
    return out


class Catalog:
    """Live artworks per title as actions; entries expire after `ttl` seconds."""

    def __init__(self, store: Store, ttl: float = 2.0, embed_dim: int = 8) -> None:
        self.store = store
        self.ttl = ttl
        self.embed_dim = embed_dim
        self._titles: dict[str, TitleEntry] = {}
        self._actions: dict[str, Action] = {}
        self._lock = threading.Lock()

    def entry(self, title_id: str) -> TitleEntry:
        """The title and its live artworks (raises NotFoundError for an unknown title)."""
        now = time.monotonic()
        entry = self._titles.get(title_id)
        if entry is not None and now - entry.loaded <= self.ttl:
            return entry
        title = self.store.get_title(title_id)
        arts = self.store.list_artworks(title_id)
        live = [a for a in arts if a.status == "live"]
        fallback = next((a for a in arts if a.is_default and a.status != "retired"), None)
        actions = tuple(self._action(a) for a in live)
        entry = TitleEntry(title, actions, {a.id: a for a in arts}, fallback, now)
        with self._lock:
            self._titles[title_id] = entry
        return entry

    def _action(self, art: Artwork) -> Action:
        action = to_action(art, self.embed_dim)
        with self._lock:
            # Keep the object already known when nothing changed: the policy caches each
            # action's example text and recognises an unchanged action by identity.
            known = self._actions.get(art.id)
            if known is not None and known == action:
                return known
            self._actions[art.id] = action
        return action

    def actions_for(self, artwork_ids: tuple[str, ...]) -> tuple[Action, ...]:
        """The actions of a logged decision's candidates, as they are described now."""
        out = []
        for aid in artwork_ids:
            action = self._actions.get(aid)
            if action is None:
                try:
                    action = self._action(self.store.get_artwork(aid))
                except NotFoundError:
                    action = Action(id=aid)
            out.append(action)
        return tuple(out)

    def invalidate(self, title_id: str | None = None) -> None:
        """Forget a title's cached entry (or all of them) after a change."""
        with self._lock:
            if title_id is None:
                self._titles.clear()
            else:
                self._titles.pop(title_id, None)

