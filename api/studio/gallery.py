"""What the studio's gallery shows, gathered from the store: gallery rows and near-duplicates."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from artwork.errors import NotFoundError
from artwork.records import Artwork
from artwork.store import Store
from vision.select import remove_near_duplicates

# Lower than the ingest's drop threshold (0.95-0.97): look-alikes that ingest kept are shown
# to a person, who decides whether both belong in the title's live set.
REVIEW_SIMILARITY = 0.92

_NO_PERFORMANCE = {"decisions": 0, "impressions": 0, "clicks": 0, "plays": 0, "take_rate": 0.0,
                   "take_rate_low": 0.0, "take_rate_high": 0.0, "share": 0.0}


@dataclass(frozen=True)
class NearDuplicate:
    """The existing artwork a candidate looks most like, and how alike (cosine similarity)."""

    artwork_id: str
    similarity: float


@dataclass(frozen=True)
class GalleryItem:
    """One artwork as the gallery shows it: the record, its live performance, a look-alike if any."""

    artwork: Artwork
    performance: Mapping[str, Any]
    duplicate: NearDuplicate | None = None


def _comparable(a: Artwork, b: Artwork) -> bool:
    return (a.embedding is not None and b.embedding is not None and a.embedder == b.embedder
            and a.embedding.shape == b.embedding.shape and a.embedding.size > 0)


def near_duplicates(artworks: Sequence[Artwork], threshold: float = REVIEW_SIMILARITY) -> dict[str, NearDuplicate]:
    """For each candidate, the other non-retired artwork of the same embedder it nearly repeats."""
    found: dict[str, NearDuplicate] = {}
    active = [a for a in artworks if a.status != "retired"]
    for art in active:
        if art.status != "candidate" or art.embedding is None:
            continue
        others = [(o.id, o.embedding) for o in active if o.id != art.id and _comparable(art, o)]
        if not others:
            continue
        selection = remove_near_duplicates(art.embedding[None, :], [1.0], threshold=threshold, existing=others)
        match = selection.duplicates.get(0)
        if isinstance(match, str):
            other = dict(others)[match]
            found[art.id] = NearDuplicate(match, float(np.dot(art.embedding, other)))
    return found


def gallery(artworks: Sequence[Artwork], stats: Mapping[str, Any]) -> list[GalleryItem]:
    """Gallery rows: live first, then candidates, then retired; each with its performance."""
    by_id = {row["artwork_id"]: row for row in stats.get("artworks", ())}
    dups = near_duplicates(artworks)
    order = {"live": 0, "candidate": 1, "retired": 2}
    rows = sorted(artworks, key=lambda a: (order.get(a.status, 3), -a.created, a.id))
    return [GalleryItem(a, by_id.get(a.id, _NO_PERFORMANCE), dups.get(a.id)) for a in rows]


def artworks_by_id(store: Store, ids: Sequence[str]) -> dict[str, Artwork]:
    """The artworks the store still holds among `ids` (a logged id may have been deleted since)."""
    out = {}
    for artwork_id in ids:
        try:
            out[artwork_id] = store.get_artwork(artwork_id)
        except NotFoundError:
            pass
    return out
