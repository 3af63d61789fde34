"""What the studio's gallery shows, gathered from the store: gallery rows, near-duplicates, and the
filters and sort orders a creative picks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from artwork.errors import NotFoundError
from artwork.records import ARTWORK_STATUSES, Artwork
from artwork.store import Store
from vision.select import remove_near_duplicates

from api.errors import InvalidRequestError

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
    items = [GalleryItem(a, by_id.get(a.id, _NO_PERFORMANCE), dups.get(a.id)) for a in artworks]
    return sorted(items, key=_SORT_KEYS["status"])


def artworks_by_id(store: Store, ids: Sequence[str]) -> dict[str, Artwork]:
    """The artworks the store still holds among `ids` (a logged id may have been deleted since)."""
    out = {}
    for artwork_id in ids:
        try:
            out[artwork_id] = store.get_artwork(artwork_id)
        except NotFoundError:
            pass
    return out


# Sort orders of the gallery: name -> what the form calls it.
SORTS = {"status": "status (live first), newest first", "quality": "quality score, best first",
         "take_rate": "take rate, best first", "share": "share served, largest first",
         "newest": "newest first"}
_STATUS_ORDER = {"live": 0, "candidate": 1, "retired": 2}


def _score(item: GalleryItem) -> float:
    return float(item.artwork.quality.get("score", -1.0))


def _rate(item: GalleryItem) -> float:
    # Artworks never served have no take rate: after every one that has.
    return float(item.performance["take_rate"]) if item.performance["decisions"] else -1.0


_SORT_KEYS = {
    "status": lambda i: (_STATUS_ORDER.get(i.artwork.status, 3), -i.artwork.created, i.artwork.id),
    "quality": lambda i: (-_score(i), i.artwork.id),
    "take_rate": lambda i: (-_rate(i), -i.performance["decisions"], i.artwork.id),
    "share": lambda i: (-float(i.performance["share"]), i.artwork.id),
    "newest": lambda i: (-i.artwork.created, i.artwork.id),
}


@dataclass(frozen=True)
class GalleryView:
    """Which artworks the gallery shows, and in what order: by status, tag and lowest quality score."""

    status: str = ""
    tag: str = ""
    min_score: float | None = None
    sort: str = "status"

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> GalleryView:
        """The view a query string asks for; InvalidRequestError names a bad value and what is allowed."""
        status, tag, sort = args.get("status", ""), args.get("tag", "").strip(), args.get("sort") or "status"
        if status and status not in ARTWORK_STATUSES:
            raise InvalidRequestError(f"status {status!r} is not one of {', '.join(ARTWORK_STATUSES)}")
        if sort not in SORTS:
            raise InvalidRequestError(f"sort {sort!r} is not one of {', '.join(SORTS)}")
        raw = (args.get("min_score") or "").strip()
        try:
            min_score = float(raw) if raw else None
        except ValueError:
            min_score = float("nan")
        if min_score is not None and not 0.0 <= min_score <= 1.0:
            raise InvalidRequestError(f"the lowest quality score {raw!r} must be a number from 0 to 1")
        return cls(status, tag, min_score, sort)

    @property
    def filtered(self) -> bool:
        """Whether the view leaves some artworks out."""
        return bool(self.status or self.tag or self.min_score is not None)

    def apply(self, items: Sequence[GalleryItem]) -> list[GalleryItem]:
        """The items this view shows, in its order."""
        kept = [i for i in items
                if (not self.status or i.artwork.status == self.status)
                and (not self.tag or self.tag in i.artwork.tags)
                and (self.min_score is None or _score(i) >= self.min_score)]
        return sorted(kept, key=_SORT_KEYS[self.sort])
