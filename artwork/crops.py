"""Each artwork's crop for each placement: the box, how well it fits, and the rendered image.

A rendered crop is kept under its content hash (`crops/ab/abcdef....jpg`), rendered once:
the same path always holds the same bytes, so it may be cached for good. A placement an
artwork cannot serve has a row too, with no box and the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from artwork.database import Database, TransactionBase
from artwork.errors import InvalidRecordError
from artwork.images import ImageFolder, content_id

CROPS_DIR = "crops"
_COLUMNS = ("artwork_id", "placement", "x", "y", "width", "height", "score", "reason", "path",
            "adjusted")
_SELECT = f"SELECT {', '.join('c.' + c for c in _COLUMNS)} FROM crops c"


@dataclass(frozen=True)
class Crop:
    """One artwork's crop for one placement, or why it cannot serve that placement."""

    artwork_id: str
    placement: str
    box: tuple[int, int, int, int] | None  # x, y, width, height in the artwork's pixels
    score: float  # 0..1, how well the crop fits (0 when refused)
    reason: str | None = None  # why the placement is refused (None when served)
    path: str | None = None  # the rendered crop, relative to the data directory
    adjusted: bool = False  # set by a person rather than proposed

    @property
    def serves(self) -> bool:
        """True when the artwork serves this placement."""
        return self.box is not None and self.path is not None

    @property
    def name(self) -> str | None:
        """The rendered crop's file name (its content hash and suffix)."""
        return None if self.path is None else self.path.rsplit("/", 1)[-1]

    def as_dict(self) -> dict:
        """JSON-ready values."""
        return {"placement": self.placement, "box": None if self.box is None else list(self.box),
                "score": self.score, "reason": self.reason, "adjusted": self.adjusted}


def crop_path(data: bytes) -> str:
    """Where a rendered crop (JPEG bytes) is kept, relative to the data directory."""
    digest = content_id(data)
    return f"{CROPS_DIR}/{digest[:2]}/{digest}.jpg"


def path_of_name(name: str) -> str:
    """The relative path of a crop from its file name (`<hash>.jpg`)."""
    return f"{CROPS_DIR}/{name[:2]}/{name}"


def _crop(row: tuple) -> Crop:
    r = dict(zip(_COLUMNS, row))
    box = None if r["width"] is None else (r["x"], r["y"], r["width"], r["height"])
    return Crop(r["artwork_id"], r["placement"], box, r["score"], r["reason"], r["path"],
                bool(r["adjusted"]))


class CropStore:
    """The crops table and the rendered crops' files."""

    def __init__(self, db: Database, images: ImageFolder) -> None:
        self._db = db
        self._images = images

    def save(self, crops: Sequence[tuple[Crop, bytes | None]]) -> list[Crop]:
        """Replace artworks' crops for these placements, each with its rendered JPEG (or None)."""
        saved = []
        with self._db.transaction() as tx:
            for crop, data in crops:
                if (crop.box is None) != (data is None):
                    raise InvalidRecordError(f"crop {crop.placement!r} of artwork {crop.artwork_id} "
                                             "needs a box and an image, or neither")
                path = None if data is None else crop_path(data)
                old = tx.query_one("SELECT path FROM crops WHERE artwork_id = ? AND placement = ?",
                                   [crop.artwork_id, crop.placement])
                tx.execute("DELETE FROM crops WHERE artwork_id = ? AND placement = ?",
                           [crop.artwork_id, crop.placement])
                if old is not None and old[0] is not None and old[0] != path:
                    self._forget_unused(tx, [old[0]])
                x, y, w, h = crop.box if crop.box is not None else (None,) * 4
                tx.execute(f"INSERT INTO crops ({', '.join(_COLUMNS)}) "
                           f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                           [crop.artwork_id, crop.placement, x, y, w, h, float(crop.score),
                            crop.reason, path, int(crop.adjusted)])
                if data is not None:
                    self._images.store(tx, path, data)
                saved.append(Crop(crop.artwork_id, crop.placement, crop.box, crop.score,
                                  crop.reason, path, crop.adjusted))
        return saved

    def for_artwork(self, artwork_id: str) -> dict[str, Crop]:
        """An artwork's crops by placement."""
        return {c.placement: c for c in map(_crop, self._db.read(
            f"{_SELECT} WHERE c.artwork_id = ? ORDER BY c.placement", [artwork_id]))}

    def for_title(self, title_id: str) -> dict[str, dict[str, Crop]]:
        """Each artwork of a title with its crops by placement (one query)."""
        out: dict[str, dict[str, Crop]] = {}
        for row in self._db.read(f"{_SELECT} JOIN artworks a ON a.id = c.artwork_id "
                                 "WHERE a.title_id = ?", [title_id]):
            crop = _crop(row)
            out.setdefault(crop.artwork_id, {})[crop.placement] = crop
        return out

    def by_path(self, path: str) -> Crop | None:
        """A crop rendered to this path (any of them, if several share the pixels)."""
        row = self._db.query_one(f"{_SELECT} WHERE c.path = ? LIMIT 1", [path])
        return None if row is None else _crop(row)

    def delete_for(self, artwork_id: str) -> None:
        """Remove an artwork's crops and the rendered files no other crop uses."""
        with self._db.transaction() as tx:
            paths = [r[0] for r in tx.read("SELECT path FROM crops WHERE artwork_id = ?",
                                           [artwork_id]) if r[0] is not None]
            tx.execute("DELETE FROM crops WHERE artwork_id = ?", [artwork_id])
            self._forget_unused(tx, paths)

    def _forget_unused(self, tx: TransactionBase, paths: Iterable[str]) -> None:
        for path in set(paths):
            if tx.query_one("SELECT 1 FROM crops WHERE path = ? LIMIT 1", [path]) is None:
                self._images.forget(tx, path)
