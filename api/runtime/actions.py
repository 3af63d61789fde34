"""Artworks as the bandit's actions: numeric quality features, tags and a small embedding."""
from __future__ import annotations

from typing import Iterable

from artwork.errors import NotFoundError
from artwork.records import Artwork
from artwork.store import Store
from bandit.types import Action
from vision.embed import project


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
    """The actions of the given artworks that the store still holds, as the catalog has them now.

    Artworks gone from the store are left out (offline replay treats them as bare actions, as
    it does a foreign log's).
    """
    out = {}
    for artwork_id in artwork_ids:
        try:
            out[artwork_id] = to_action(store.get_artwork(artwork_id), embed_dim)
        except NotFoundError:
            pass
    return out
