"""The catalog: titles and their artworks, each artwork's image stored with its row."""
from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from artwork.codecs import (
    ARTWORK_COLUMNS,
    TITLE_COLUMNS,
    artwork_from_row,
    artwork_row,
    columns_sql,
    title_from_row,
    title_row,
)
from artwork.database import Database, Transaction
from artwork.eligibility import Eligibility, eligibility_text
from artwork.errors import AlreadyExistsError, InvalidRecordError, LiveLimitError, NotFoundError
from artwork.images import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    ImageFolder,
    known_image_info,
    validate_image,
)
from artwork.records import ARTWORK_SOURCES, ARTWORK_STATUSES, Artwork, Title

if TYPE_CHECKING:  # numpy is imported where arrays are made: listing titles needs none
    import numpy as np

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Bounds of a title's display name and genres.
MAX_TITLE_NAME = 200
MAX_GENRES = 20
MAX_GENRE_LENGTH = 64
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_SELECT_TITLES = f"SELECT {columns_sql(TITLE_COLUMNS)} FROM titles"
_SELECT_ARTWORKS = f"SELECT {columns_sql(ARTWORK_COLUMNS)} FROM artworks"


def check_id(value: str, what: str) -> str:
    """Refuse ids that are empty, too long, or could play tricks in paths and URLs."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InvalidRecordError(
            f"{what} id {value!r} is not valid; use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally (ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class TitlePage:
    """One page of a title listing: the titles, their artworks by status, and how many matched."""

    titles: tuple[Title, ...]
    counts: Mapping[str, Mapping[str, int]]  # title id -> status -> artworks
    total: int  # titles matching the search, over every page
    offset: int
    limit: int


def _check_one_of(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidRecordError(f"{what} {value!r} is not one of {', '.join(allowed)}")


class Catalog:
    """Titles and artworks; an artwork's image file is written with its row, or not at all."""

    def __init__(
        self,
        db: Database,
        images: ImageFolder,
        *,
        max_image_bytes: int = DEFAULT_MAX_BYTES,
        max_image_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self._db = db
        self.images = images
        self.max_image_bytes = max_image_bytes
        self.max_image_pixels = max_image_pixels

    # -- titles ------------------------------------------------------------------------

    def add_title(self, id: str, name: str, genres: Sequence[str] = ()) -> Title:
        """Add a title; raises AlreadyExistsError if the id is taken."""
        check_id(id, "title")
        if not name.strip() or len(name) > MAX_TITLE_NAME or CONTROL_CHARACTERS.search(name):
            raise InvalidRecordError(
                f"title {id!r} needs a name of 1 to {MAX_TITLE_NAME} characters without "
                "control characters")
        kept = tuple(g.strip() for g in genres if g.strip())
        if len(kept) > MAX_GENRES or any(len(g) > MAX_GENRE_LENGTH or CONTROL_CHARACTERS.search(g)
                                         for g in kept):
            raise InvalidRecordError(
                f"title {id!r} may have at most {MAX_GENRES} genres of 1 to {MAX_GENRE_LENGTH} "
                "characters each, without control characters")
        title = Title(id, name, kept, time.time())
        with self._db.transaction() as tx:
            if not tx.insert_new("titles", TITLE_COLUMNS, [title_row(title)]):
                raise AlreadyExistsError(
                    f"title {id!r} already exists; pick another id or use the existing title"
                )
        return title

    def get_title(self, id: str) -> Title:
        """The title with this id; raises NotFoundError."""
        row = self._db.query_one(f"{_SELECT_TITLES} WHERE id = ?", [id])
        if row is None:
            raise NotFoundError(f"no title {id!r}", kind="title")
        return title_from_row(row)

    def count_titles(self) -> int:
        """How many titles the catalog holds."""
        return self._db.query_one("SELECT count(*) FROM titles")[0]

    def list_titles(self) -> list[Title]:
        """Every title, by id."""
        return [title_from_row(r) for r in self._db.read(f"{_SELECT_TITLES} ORDER BY id")]

    def search_titles(self, query: str = "", *, offset: int = 0, limit: int = 50) -> TitlePage:
        """A page of the titles whose id or name contains `query` (any case), by name.

        Each title comes with its artworks counted by status; `total` counts every match.
        """
        if offset < 0 or not 1 <= limit <= 1000:
            raise InvalidRecordError(f"a title page needs offset >= 0 (got {offset}) and a limit "
                                     f"of 1 to 1000 (got {limit})")
        where, params = "", []
        if query.strip():
            where = " WHERE lower(id) LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\'"
            params = [_like_pattern(query.strip().lower())] * 2
        total = self._db.query_one(f"SELECT count(*) FROM titles{where}", params)[0]
        rows = self._db.read(f"{_SELECT_TITLES}{where} ORDER BY lower(name), id LIMIT ? OFFSET ?",
                             [*params, limit, offset])
        titles = tuple(title_from_row(r) for r in rows)
        found = Counter(self._db.read_in("SELECT title_id, status FROM artworks WHERE title_id IN",
                                         [t.id for t in titles]))
        counts = {t.id: {s: found[(t.id, s)] for s in ARTWORK_STATUSES} for t in titles}
        return TitlePage(titles, counts, total, offset, limit)

    # -- artworks ----------------------------------------------------------------------

    def add_artwork_image(
        self,
        title_id: str,
        data: bytes,
        *,
        name: str = "upload",
        source: str = "upload",
        frame_time: float | None = None,
        frame_index: int | None = None,
        shot: int | None = None,
        quality: Mapping[str, float] | None = None,
        tags: Sequence[str] = (),
        embedding: np.ndarray | None = None,
        embedder: str | None = None,
        status: str = "candidate",
    ) -> Artwork:
        """Validate an image by decoding it and store it with its row, all or nothing."""
        return self.add_artworks(
            [
                dict(
                    title_id=title_id, data=data, name=name, source=source,
                    frame_time=frame_time, frame_index=frame_index, shot=shot,
                    quality=quality, tags=tags, embedding=embedding, embedder=embedder,
                    status=status,
                )
            ]
        )[0]

    def add_artworks(self, items: Iterable[Mapping[str, Any]]) -> list[Artwork]:
        """Store several images in one transaction: every row with its file, or none of them.

        Each item holds `title_id`, `data` and the keyword arguments of `add_artwork_image`;
        `pixels` (width, height), from a caller that encoded the image or validated and
        decoded it itself, spares decoding it again.
        """
        prepared = [self._prepare_artwork(dict(item)) for item in items]
        seen: dict[str, str] = {}
        for art, _ in prepared:
            if art.id in seen:
                raise AlreadyExistsError(
                    f"{seen[art.id]}: the same image is in this batch twice; upload it once"
                )
            seen[art.id] = art.path
        written: list[str] = []
        insert = (f"INSERT INTO artworks ({columns_sql(ARTWORK_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(ARTWORK_COLUMNS))})")
        try:
            with self._db.transaction() as tx:
                for art, data in prepared:
                    self._check_new_artwork(tx, art)
                    tx.execute(insert, artwork_row(art))
                    if self.images.store(tx, art.path, data):
                        written.append(art.path)
        except BaseException:
            for path in written:
                self.images.remove(path)
            raise
        return [art for art, _ in prepared]

    def _prepare_artwork(self, item: dict[str, Any]) -> tuple[Artwork, bytes]:
        import numpy as np

        data: bytes = item.pop("data")
        name = item.pop("name", "upload")
        title_id = item.pop("title_id")
        self.get_title(title_id)
        source = item.get("source", "upload")
        status = item.get("status", "candidate")
        _check_one_of("source", source, ARTWORK_SOURCES)
        _check_one_of("status", status, ARTWORK_STATUSES)
        limits = {"max_bytes": self.max_image_bytes, "max_pixels": self.max_image_pixels}
        pixels = item.pop("pixels", None)  # (width, height): the caller encoded or decoded it
        info = (validate_image(data, name, **limits) if pixels is None
                else known_image_info(data, *pixels, name, **limits))
        embedding = item.get("embedding")
        art = Artwork(
            id=info.digest,
            title_id=title_id,
            path=self.images.relative_path(info),
            source=source,
            width=info.width,
            height=info.height,
            status=status,
            frame_time=item.get("frame_time"),
            frame_index=item.get("frame_index"),
            shot=item.get("shot"),
            quality={k: float(v) for k, v in (item.get("quality") or {}).items()},
            tags=tuple(item.get("tags") or ()),
            embedding=None if embedding is None else np.asarray(embedding, np.float32).ravel(),
            embedder=item.get("embedder"),
            created=time.time(),
        )
        return art, data

    @staticmethod
    def _check_new_artwork(tx: Transaction, art: Artwork) -> None:
        row = tx.query_one("SELECT title_id FROM artworks WHERE id = ?", [art.id])
        if row is not None:
            raise AlreadyExistsError(f"this image is already artwork {art.id} of title "
                                     f"{row[0]!r}; it was not added again")

    def get_artwork(self, id: str) -> Artwork:
        """The artwork with this id; raises NotFoundError."""
        row = self._db.query_one(f"{_SELECT_ARTWORKS} WHERE id = ?", [id])
        if row is None:
            raise NotFoundError(f"no artwork {id!r}", kind="artwork")
        return artwork_from_row(row)

    def list_artworks(self, title_id: str, status: str | None = None) -> list[Artwork]:
        """A title's artworks (optionally of one status), oldest first."""
        self.get_title(title_id)
        sql = f"{_SELECT_ARTWORKS} WHERE title_id = ?"
        params: list[Any] = [title_id]
        if status is not None:
            _check_one_of("status", status, ARTWORK_STATUSES)
            sql += " AND status = ?"
            params.append(status)
        return [artwork_from_row(r) for r in self._db.read(sql + " ORDER BY created, id", params)]

    def set_status(self, artwork_id: str, status: str, max_live: int | None = None) -> Artwork:
        """Move an artwork to candidate, live or retired (at most `max_live` live per title)."""
        return self.set_statuses([artwork_id], status, max_live=max_live)[0]

    def set_statuses(self, artwork_ids: Sequence[str], status: str, *, max_live: int | None = None,
                     title_id: str | None = None) -> list[Artwork]:
        """Move several artworks to one status in one transaction: all of them, or none.

        With `title_id`, every artwork must be one of that title's. Raises NotFoundError for an
        unknown id and LiveLimitError when approving them would put more than `max_live`
        artworks of a title live.
        """
        _check_one_of("status", status, ARTWORK_STATUSES)
        ids = list(dict.fromkeys(artwork_ids))
        if not ids:
            raise InvalidRecordError("no artworks given; choose at least one")
        arts = [self.get_artwork(i) for i in ids]
        if title_id is not None:
            others = [a.id for a in arts if a.title_id != title_id]
            if others:
                raise InvalidRecordError(f"artwork {others[0]!r} is not one of title {title_id!r}'s; "
                                         "change it from its own title's gallery")
        with self._db.transaction() as tx:
            if max_live is not None and status == "live":
                newly = Counter(a.title_id for a in arts if a.status != "live")
                for title, adding in sorted(newly.items()):
                    live = tx.query_one(
                        "SELECT count(*) FROM artworks WHERE title_id = ? AND status = 'live'",
                        [title],
                    )[0]
                    if live + adding > max_live:
                        fix = ("retire one first" if adding == 1 else
                               f"{adding} more cannot be approved: approve at most "
                               f"{max(0, max_live - live)} or retire some first")
                        raise LiveLimitError(f"title {title!r} already has {live} live artworks, "
                                             f"{max_live} is the most the exploration floor allows; {fix}")
            tx.executemany("UPDATE artworks SET status = ? WHERE id = ?", [(status, i) for i in ids])
        return [self.get_artwork(i) for i in ids]

    def set_default(self, artwork_id: str, is_default: bool = True) -> Artwork:
        """Make an artwork its title's default (clearing any other default)."""
        art = self.get_artwork(artwork_id)
        with self._db.transaction() as tx:
            if is_default:
                tx.execute("UPDATE artworks SET is_default = 0 WHERE title_id = ?", [art.title_id])
            tx.execute(
                "UPDATE artworks SET is_default = ? WHERE id = ?", [int(is_default), artwork_id]
            )
        return self.get_artwork(artwork_id)

    def set_eligibility(self, artwork_id: str, rules: Eligibility) -> Artwork:
        """Replace an artwork's eligibility rules (UNRESTRICTED clears them)."""
        self.get_artwork(artwork_id)
        with self._db.transaction() as tx:
            tx.execute("UPDATE artworks SET eligibility = ? WHERE id = ?",
                       [eligibility_text(rules), artwork_id])
        return self.get_artwork(artwork_id)

    def delete_artwork(self, artwork_id: str) -> Artwork:
        """Remove an artwork's row, then its image file; logged decisions keep naming its id."""
        art = self.get_artwork(artwork_id)
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM artworks WHERE id = ?", [artwork_id])
            self.images.forget(tx, art.path)
        return art

    def image_path(self, artwork: Artwork) -> Path:
        """Absolute path of an artwork's image file."""
        return self.images.local_path(artwork.path)
