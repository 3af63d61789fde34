"""The SQLite store: the artwork catalog, the decision log and the reward log."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import math
import re
import sqlite3
import logging
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import orjson
import sqlite_utils

from artwork.errors import (
    AlreadyExistsError,
    InvalidRecordError,
    LiveLimitError,
    NotFoundError,
)
from artwork.journal import (
    JOURNAL_DIR,
    READ_CHUNK,
    JournalWriter,
    journal_sizes,
    read_lines,
    writer_gone,
)
from artwork.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageFolder, validate_image
from artwork.records import (
    ARTWORK_SOURCES,
    ARTWORK_STATUSES,
    REWARD_KINDS,
    Artwork,
    LearningPair,
    LoggedDecision,
    Reward,
    Title,
)
from artwork.schema import migrate

log = logging.getLogger(__name__)

DB_NAME = "artbandit.db"
PMF_TOLERANCE = 1e-6
RewardFn = Callable[[Mapping[str, "float | None"]], float]
_PAGE = 2000
_INSERT_DECISION = (
    "INSERT INTO decisions (event_id, timestamp, user_id, title_id, context, candidates, pmf, "
    "action, probability, policy, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A background thread checkpoints the WAL after this many commits of one process (see
# _Checkpointer); SQLite's own checkpoint, which runs inside a commit and holds up every
# writer, is left as the backstop for a WAL past WAL_AUTOCHECKPOINT_PAGES (default 1,000).
CHECKPOINT_EVERY_COMMITS = 500
# A process that journals decisions ingests the journals this often, or sooner once it has
# appended JOURNAL_INGEST_RECORDS of them.
JOURNAL_INGEST_SECONDS = 0.25
JOURNAL_INGEST_RECORDS = 256
_INGEST_DECISION = _INSERT_DECISION.replace("INSERT", "INSERT OR IGNORE", 1)
_DECISION_COLUMNS = _INSERT_DECISION.count("?")
WAL_AUTOCHECKPOINT_PAGES = 10_000
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


_json_compact = json.JSONEncoder(separators=(",", ":")).encode


def _compact_json(value: Any) -> str:
    """Compact JSON text of a decision's parts and journal lines.

    orjson writes these several times faster than json (a pmf's floats above all), and
    this runs several times for every decision served.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:  # what orjson refuses and json takes: integers past 64 bits, int keys
        return _json_compact(value)


class Store:
    """The catalog and the event log in one SQLite file (WAL) plus a folder of images.

    Safe to share between threads (each thread gets its own connection) and between
    processes (SQLite's WAL locking with a busy timeout).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        max_image_bytes: int = DEFAULT_MAX_BYTES,
        max_image_pixels: int = DEFAULT_MAX_PIXELS,
        busy_timeout_ms: int = 30_000,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / DB_NAME
        self.images = ImageFolder(self.data_dir)
        self.max_image_bytes = max_image_bytes
        self.max_image_pixels = max_image_pixels
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        # Every thread's connection and lock descriptor, so close_all() can release them.
        self._handles_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._lock_fds: list[int] = []
        self._checkpointer = _Checkpointer(self.db_path, busy_timeout_ms / 1000)
        self._journal_dir = self.data_dir / JOURNAL_DIR
        self._journal = JournalWriter(self._journal_dir)
        # Bytes of each journal file known to be in the table (this process's view).
        self._ingested: dict[str, int] = {}
        self._ingester = _Ingester(self)
        weakref.finalize(self, self._checkpointer.stop)
        weakref.finalize(self, self._ingester.stop)

    @classmethod
    def open(cls, data_dir: Path | str, **limits: int) -> "Store":
        """Open (creating if needed) the store in `data_dir` and bring its schema up to date."""
        store = cls(Path(data_dir), **limits)
        store.data_dir.mkdir(parents=True, exist_ok=True)
        # Several worker processes may open a new data directory at once: one of them
        # creates or upgrades the schema while the others wait on the writers' lock.
        fd = os.open(store.data_dir / f"{DB_NAME}.writelock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            migrate(store.db, backup=store.data_dir / f"{DB_NAME}.pre-migration.bak")
        finally:
            os.close(fd)  # closing the descriptor releases the lock
        return store

    # -- connections -------------------------------------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection."""
        db = getattr(self._local, "db", None)
        if db is None:
            # Autocommit mode: transactions are opened explicitly by _write().
            # Each thread uses only its own connection; close_all() may close it from another.
            conn = sqlite3.connect(
                self.db_path, timeout=self._busy_timeout_ms / 1000, isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            db = sqlite_utils.Database(conn)
            self._local.db = db
            with self._handles_lock:
                self._connections.append(conn)
        return db

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction, taking the write lock up front (BEGIN IMMEDIATE)."""
        with self._write_lock() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, holding the cross-process write lock.

        A single statement run under it is its own transaction (autocommit), which saves
        the BEGIN and COMMIT round trips on the serving path.
        """
        conn, fd = self._writer()
        # Writers queue on a file lock before SQLite's own: SQLite's busy handler polls with
        # sleeps of 1 ms and more, which would dominate a decision's latency when several
        # worker processes log at once; flock wakes the next writer as soon as one is done.
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield conn
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        self._checkpointer.committed()

    def _writer(self) -> tuple[sqlite3.Connection, int]:
        conn = self.db.conn
        # One descriptor per thread: flock excludes open file descriptions, not threads.
        fd = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = os.open(self.data_dir / f"{DB_NAME}.writelock", os.O_RDWR | os.O_CREAT, 0o644)
            self._local.lock_fd = fd
            with self._handles_lock:
                self._lock_fds.append(fd)
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        return conn, fd

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            self._forget(db.conn, None)
            db.conn.close()
            self._local.db = None
        fd = getattr(self._local, "lock_fd", None)
        if fd is not None:
            self._forget(None, fd)
            os.close(fd)
            self._local.lock_fd = None

    def close_all(self) -> None:
        """Close every thread's connection and lock descriptor (at shutdown, threads stopped).

        Decisions this process journaled are ingested first, and its journal file removed.
        """
        self._checkpointer.stop()
        self._ingester.stop()
        self._retire_journal()
        with self._handles_lock:
            connections, fds = self._connections, self._lock_fds
            self._connections, self._lock_fds = [], []
        for conn in connections:
            conn.close()
        for fd in fds:
            os.close(fd)
        self._local = threading.local()

    def _forget(self, conn: sqlite3.Connection | None, fd: int | None) -> None:
        with self._handles_lock:
            if conn is not None and conn in self._connections:
                self._connections.remove(conn)
            if fd is not None and fd in self._lock_fds:
                self._lock_fds.remove(fd)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- titles ------------------------------------------------------------------------

    def add_title(self, id: str, name: str, genres: Sequence[str] = ()) -> Title:
        """Add a title; raises AlreadyExistsError if the id is taken."""
        check_id(id, "title")
        if not name.strip():
            raise InvalidRecordError(f"title {id!r} needs a non-empty name")
        genres = tuple(g.strip() for g in genres if g.strip())
        title = Title(id, name, genres, time.time())
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO titles (id, name, genres, created) VALUES (?, ?, ?, ?)",
                    [id, name, _json(list(genres)), title.created],
                )
        except sqlite3.IntegrityError:
            raise AlreadyExistsError(
                f"title {id!r} already exists; pick another id or use the existing title"
            ) from None
        return title

    def get_title(self, id: str) -> Title:
        """The title with this id; raises NotFoundError."""
        row = self.db.execute("SELECT * FROM titles WHERE id = ?", [id]).fetchone()
        if row is None:
            raise NotFoundError(f"no title {id!r}; `artbandit title list` shows the titles")
        return _title(row)

    def count_titles(self) -> int:
        """How many titles the catalog holds."""
        return self.db.execute("SELECT count(*) FROM titles").fetchone()[0]

    def list_titles(self) -> list[Title]:
        """Every title, by id."""
        return [_title(r) for r in self.db.execute("SELECT * FROM titles ORDER BY id").fetchall()]

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

        Each item holds `title_id`, `data` and the keyword arguments of `add_artwork_image`.
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
        try:
            with self._write() as db:
                for art, data in prepared:
                    self._check_new_artwork(art)
                    row = _artwork_row(art)
                    db.execute(
                        f"INSERT INTO artworks ({', '.join(row)}) "
                        f"VALUES ({', '.join('?' * len(row))})",
                        list(row.values()),
                    )
                    if self.images.write(art.path, data):
                        written.append(art.path)
        except BaseException:
            for path in written:
                self.images.remove(path)
            raise
        return [art for art, _ in prepared]

    def _prepare_artwork(self, item: dict[str, Any]) -> tuple[Artwork, bytes]:
        data: bytes = item.pop("data")
        name = item.pop("name", "upload")
        title_id = item.pop("title_id")
        self.get_title(title_id)
        source = item.get("source", "upload")
        status = item.get("status", "candidate")
        if source not in ARTWORK_SOURCES:
            raise InvalidRecordError(f"source {source!r} is not one of {', '.join(ARTWORK_SOURCES)}")
        if status not in ARTWORK_STATUSES:
            raise InvalidRecordError(f"status {status!r} is not one of {', '.join(ARTWORK_STATUSES)}")
        info = validate_image(
            data, name, max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels
        )
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

    def _check_new_artwork(self, art: Artwork) -> None:
        row = self.db.execute(
            "SELECT title_id FROM artworks WHERE id = ?", [art.id]
        ).fetchone()
        if row is not None:
            raise AlreadyExistsError(
                f"this image is already artwork {art.id} of title {row[0]!r}; it was not added again"
            )

    def get_artwork(self, id: str) -> Artwork:
        """The artwork with this id; raises NotFoundError."""
        row = self.db.execute("SELECT * FROM artworks WHERE id = ?", [id]).fetchone()
        if row is None:
            raise NotFoundError(f"no artwork {id!r}; `artbandit artwork list TITLE` shows them")
        return _artwork(self._columns("artworks"), row)

    def list_artworks(self, title_id: str, status: str | None = None) -> list[Artwork]:
        """A title's artworks (optionally of one status), oldest first."""
        self.get_title(title_id)
        sql = "SELECT * FROM artworks WHERE title_id = ?"
        params: list[Any] = [title_id]
        if status is not None:
            if status not in ARTWORK_STATUSES:
                raise InvalidRecordError(
                    f"status {status!r} is not one of {', '.join(ARTWORK_STATUSES)}"
                )
            sql += " AND status = ?"
            params.append(status)
        cols = self._columns("artworks")
        rows = self.db.execute(sql + " ORDER BY created, id", params).fetchall()
        return [_artwork(cols, r) for r in rows]

    def set_status(self, artwork_id: str, status: str, max_live: int | None = None) -> Artwork:
        """Move an artwork to candidate, live or retired (at most `max_live` live per title)."""
        if status not in ARTWORK_STATUSES:
            raise InvalidRecordError(
                f"status {status!r} is not one of {', '.join(ARTWORK_STATUSES)}"
            )
        art = self.get_artwork(artwork_id)
        with self._write() as db:
            if max_live is not None and status == "live" and art.status != "live":
                live = db.execute(
                    "SELECT count(*) FROM artworks WHERE title_id = ? AND status = 'live'",
                    [art.title_id],
                ).fetchone()[0]
                if live >= max_live:
                    raise LiveLimitError(
                        f"title {art.title_id!r} already has {live} live artworks, the most the "
                        "exploration floor allows; retire one first"
                    )
            db.execute("UPDATE artworks SET status = ? WHERE id = ?", [status, artwork_id])
        return self.get_artwork(art.id)

    def set_default(self, artwork_id: str, is_default: bool = True) -> Artwork:
        """Make an artwork its title's default (clearing any other default)."""
        art = self.get_artwork(artwork_id)
        with self._write() as db:
            if is_default:
                db.execute("UPDATE artworks SET is_default = 0 WHERE title_id = ?", [art.title_id])
            db.execute(
                "UPDATE artworks SET is_default = ? WHERE id = ?", [int(is_default), artwork_id]
            )
        return self.get_artwork(artwork_id)

    def image_path(self, artwork: Artwork) -> Path:
        """Absolute path of an artwork's image file."""
        return self.data_dir / artwork.path

    # -- decision log ------------------------------------------------------------------

    def log_decision(self, decision: LoggedDecision) -> None:
        """Append a decision; refuses one whose pmf or probability is inconsistent."""
        self.log_decisions([decision])

    def log_decisions(self, decisions: Sequence[LoggedDecision]) -> None:
        """Append several decisions in one transaction (all checked before any is written)."""
        for d in decisions:
            _check_decision(d)
        rows = [_decision_row(d) for d in decisions]
        try:
            if len(rows) == 1:
                # One statement is one transaction: committed when execute returns. The
                # write lock is taken as in _write_lock, without a generator per decision.
                conn, fd = self._writer()
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    conn.execute(_INSERT_DECISION, rows[0])
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                self._checkpointer.committed()
            else:
                with self._write() as db:
                    db.conn.executemany(_INSERT_DECISION, rows)
        except sqlite3.IntegrityError:
            raise AlreadyExistsError(
                "an event id in this batch is already logged; every decision needs a new id"
            ) from None

    def journal_decisions(self, decisions: Sequence[LoggedDecision]) -> None:
        """Log decisions by appending them to this process's journal (the serving path).

        Checked as `log_decisions` checks them, and logged once this returns (see
        artwork/journal.py for how durable that is), at a fraction of a commit's cost. Every
        method that reads decisions ingests the journals first, and a background thread
        ingests them every JOURNAL_INGEST_SECONDS, so readers never miss one. Event ids are
        not checked for uniqueness here; `new_event_id` makes ids that do not collide.
        """
        for d in decisions:
            _check_decision(d)
        data = "".join([_compact_json(_decision_row(d)) + "\n" for d in decisions])
        self._journal.append(data.encode())
        self._ingester.appended(len(decisions))

    def ingest_journal(self) -> int:
        """Move journaled decisions into the decisions table; returns how many were added.

        Each batch is one transaction that also records the offset reached, so a line is
        ingested exactly once whoever ingests and whenever a process stops. Files whose
        writer has exited are removed once all their lines are in.
        """
        added, more = 0, True
        while more:
            more, batch = False, 0
            with self._write() as db:
                # Files are listed, read and removed only under the write lock.
                sizes = journal_sizes(self._journal_dir)
                done = dict(db.execute("SELECT name, ingested FROM journal").fetchall())
                for name, size in sizes.items():
                    start = done.get(name, 0)
                    if size <= start:
                        continue
                    lines, end = read_lines(self._journal_dir / name, start)
                    if not lines:
                        continue
                    batch += self._ingest_lines(db, name, lines)
                    db.execute(
                        "INSERT INTO journal (name, ingested) VALUES (?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET ingested = excluded.ingested",
                        [name, end],
                    )
                    done[name] = end
                    more = more or end - start >= READ_CHUNK
                if not more:
                    self._remove_finished_journals(db, sizes, done)
            self._ingested = {n: done.get(n, 0) for n in sizes}
            self._checkpointer.committed(max(batch, 1))
            added += batch
        return added

    @staticmethod
    def _ingest_lines(db: sqlite_utils.Database, name: str, lines: list[bytes]) -> int:
        rows = []
        for line in lines:
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                row = None
            if isinstance(row, list) and len(row) == _DECISION_COLUMNS:
                rows.append(row)
            else:  # never written by a JournalWriter; kept out so that the rest goes in
                log.error("skipping an unreadable line of the decision journal %s: %.80r",
                          name, line)
        before = db.conn.total_changes
        db.conn.executemany(_INGEST_DECISION, rows)
        new = db.conn.total_changes - before
        if new < len(rows):
            log.warning("%d journaled decision(s) in %s repeat a logged event id; the first "
                        "was kept", len(rows) - new, name)
        return new

    def _remove_finished_journals(self, db: sqlite_utils.Database, sizes: dict[str, int],
                                  done: dict[str, int]) -> None:
        """Remove the files of exited writers once every complete line is ingested."""
        own = self._journal.path.name if self._journal.path is not None else None
        for name, size in sizes.items():
            path = self._journal_dir / name
            if name == own or not writer_gone(path):
                continue
            start = done.get(name, 0)
            if start < size:
                if read_lines(path, start)[0]:
                    continue  # appended just before its writer exited: the next pass takes it
                # What a writer that died mid-append leaves: never a complete line.
                log.warning("dropping %d bytes of an incomplete record at the end of %s",
                            size - start, path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            db.execute("DELETE FROM journal WHERE name = ?", [name])
            done.pop(name, None)
        stale = set(done) - set(sizes)
        if stale:
            marks = ",".join("?" * len(stale))
            db.execute(f"DELETE FROM journal WHERE name IN ({marks})", sorted(stale))

    def journal_backlog(self) -> int:
        """Bytes of decision journal not yet ingested into the decision log (all processes)."""
        sizes = journal_sizes(self._journal_dir)
        if not sizes:
            return 0
        done = dict(self.db.execute("SELECT name, ingested FROM journal").fetchall())
        return sum(max(size - done.get(name, 0), 0) for name, size in sizes.items())

    def _catch_up(self) -> None:
        """Ingest the journals when they hold anything not yet ingested (a stat per file)."""
        ingested = self._ingested
        for name, size in journal_sizes(self._journal_dir).items():
            if size != ingested.get(name):
                self.ingest_journal()
                return

    def _retire_journal(self) -> None:
        """At shutdown: ingest what this process journaled and remove its file."""
        path = self._journal.path
        if path is None or not self._journal.size():
            self._journal.close()
            return
        self._journal.close()  # a closed file is an exited writer's: ingested, then removed
        try:
            self.ingest_journal()
        except (sqlite3.Error, OSError) as exc:  # left for the next reader to ingest
            log.warning("could not ingest the decision journal %s at shutdown: %s", path, exc)

    def get_decision(self, event_id: str) -> LoggedDecision:
        """The logged decision with this event id; raises NotFoundError."""
        sql = "SELECT * FROM decisions WHERE event_id = ?"
        row = self.db.execute(sql, [event_id]).fetchone()
        if row is None:
            self._catch_up()
            row = self.db.execute(sql, [event_id]).fetchone()
        if row is None:
            raise NotFoundError(f"no decision with event id {event_id!r}")
        return _decision(row)

    def decisions(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[LoggedDecision]:
        """Logged decisions in time order, read page by page."""
        self._catch_up()
        for row, _ in self._decision_pages(since, until, with_rewards=False):
            yield _decision(row)

    def count_decisions(self) -> int:
        """How many decisions are logged."""
        self._catch_up()
        return self.db.execute("SELECT count(*) FROM decisions").fetchone()[0]

    # -- reward log --------------------------------------------------------------------

    def add_reward(self, reward: Reward) -> bool:
        """Record feedback for a logged decision; False if this (event, kind) was already in."""
        return self.add_rewards([reward])[0]

    def add_rewards(self, rewards: Sequence[Reward]) -> list[bool]:
        """Record a batch of feedback in one transaction (all checked before any is written)."""
        for r in rewards:
            if r.kind not in REWARD_KINDS:
                raise InvalidRecordError(
                    f"feedback kind {r.kind!r} is not one of {', '.join(REWARD_KINDS)}"
                )
            if r.value is not None and not math.isfinite(r.value):
                raise InvalidRecordError(f"feedback value {r.value!r} is not a finite number")
        missing = self._unknown_events(sorted({r.event_id for r in rewards}))
        if missing:
            # Feedback can follow a decision before any ingest has moved it into the table.
            self._catch_up()
            missing = self._unknown_events(missing)
        if missing:
            raise NotFoundError(
                f"no decision with event id {missing[0]!r}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + "; feedback must name an event_id returned by /artwork"
            )
        added = []
        with self._write() as db:
            for r in rewards:
                cur = db.execute(
                    "INSERT OR IGNORE INTO rewards (event_id, kind, timestamp, value) "
                    "VALUES (?, ?, ?, ?)",
                    [r.event_id, r.kind, r.timestamp, r.value],
                )
                added.append(cur.rowcount == 1)
                if r.kind == "play" and added[-1]:
                    db.execute(
                        "INSERT OR IGNORE INTO plays (event_id, user_id, title_id, timestamp) "
                        "SELECT event_id, user_id, title_id, timestamp FROM decisions "
                        "WHERE event_id = ?",
                        [r.event_id],
                    )
        return added

    def _unknown_events(self, ids: list[str]) -> list[str]:
        """The event ids (sorted) that name no decision in the table."""
        known: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            known.update(r[0] for r in self.db.execute(
                f"SELECT event_id FROM decisions WHERE event_id IN ({marks})", chunk))
        return [e for e in ids if e not in known]

    def rewards_for(self, event_id: str) -> list[Reward]:
        """Every piece of feedback recorded for one event."""
        rows = self.db.execute(
            "SELECT event_id, timestamp, kind, value FROM rewards WHERE event_id = ? "
            "ORDER BY timestamp, kind",
            [event_id],
        ).fetchall()
        return [Reward(*r) for r in rows]

    def count_rewards(self) -> int:
        """How many (event, kind) rewards are logged."""
        return self.db.execute("SELECT count(*) FROM rewards").fetchone()[0]

    # -- the reward-window join --------------------------------------------------------

    def learning_pairs(
        self,
        window: float,
        reward_of: RewardFn,
        *,
        now: float | None = None,
        after: tuple[float, str] | None = None,
        since: float | None = None,
    ) -> Iterator[LearningPair]:
        """Join each decision whose reward window has closed with the feedback inside it.

        `window` is in seconds; feedback later than `timestamp + window` is ignored and a
        decision with none inside it gets `reward_of({})`. `reward_of` maps the feedback
        kinds received (kind -> value) to one reward. `after` is the (timestamp, event_id)
        of the last pair already consumed, so a learner can tail the log.
        """
        if not (window >= 0 and math.isfinite(window)):
            raise InvalidRecordError(f"reward window {window!r} must be a finite number >= 0")
        self._catch_up()
        until = (time.time() if now is None else now) - window
        for row, kinds in self._decision_pages(
            since, until, with_rewards=True, window=window, after=after
        ):
            yield LearningPair(_decision(row), float(reward_of(kinds)), kinds)

    def _decision_pages(
        self,
        since: float | None,
        until: float | None,
        *,
        with_rewards: bool,
        window: float = 0.0,
        after: tuple[float, str] | None = None,
    ) -> Iterator[tuple[tuple, dict[str, float | None]]]:
        # Keyset pagination keeps each read transaction short, so a long export or a
        # learner catching up never blocks the writers for long.
        cursor = after
        while True:
            where, params = [], []
            if since is not None:
                where.append("timestamp >= ?")
                params.append(since)
            if until is not None:
                where.append("timestamp <= ?")
                params.append(until)
            if cursor is not None:
                where.append("(timestamp, event_id) > (?, ?)")
                params.extend(cursor)
            sql = "SELECT * FROM decisions"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += f" ORDER BY timestamp, event_id LIMIT {_PAGE}"
            rows = self.db.execute(sql, params).fetchall()
            if not rows:
                return
            rewards: dict[str, dict[str, float | None]] = {}
            if with_rewards:
                first, last = rows[0], rows[-1]
                for event_id, kind, value in self.db.execute(
                    "SELECT r.event_id, r.kind, r.value FROM rewards r "
                    "JOIN decisions d ON d.event_id = r.event_id "
                    "WHERE (d.timestamp, d.event_id) >= (?, ?) "
                    "AND (d.timestamp, d.event_id) <= (?, ?) "
                    "AND r.timestamp <= d.timestamp + ?",
                    [first[1], first[0], last[1], last[0], window],
                ):
                    rewards.setdefault(event_id, {})[kind] = value
            for row in rows:
                yield row, rewards.get(row[0], {})
            if len(rows) < _PAGE:
                return
            cursor = (rows[-1][1], rows[-1][0])

    # -- what we know of users and artworks --------------------------------------------

    def genre_affinity(self, user_id: str, limit: int = 200) -> dict[str, float]:
        """Share of each genre among the titles this user played recently (our own log)."""
        rows = self.db.execute(
            "SELECT t.genres FROM plays p JOIN titles t ON t.id = p.title_id "
            "WHERE p.user_id = ? ORDER BY p.timestamp DESC LIMIT ?",
            [user_id, limit],
        ).fetchall()
        counts: dict[str, float] = {}
        for (genres,) in rows:
            for g in json.loads(genres or "[]"):
                counts[g] = counts.get(g, 0.0) + 1.0
        total = sum(counts.values())
        return {g: c / total for g, c in sorted(counts.items())} if total else {}

    def players_since(self, after: int, limit: int = 10_000) -> list[tuple[int, str]]:
        """(rowid, user id) of the plays recorded after rowid `after`, oldest first."""
        return self.db.execute(
            "SELECT rowid, user_id FROM plays WHERE rowid > ? ORDER BY rowid LIMIT ?",
            [after, limit],
        ).fetchall()

    def artwork_stats(self, title_id: str) -> list[dict[str, Any]]:
        """Impressions, clicks and plays per (artwork, policy) for one title."""
        self.get_title(title_id)
        self._catch_up()
        rows = self.db.execute(
            "SELECT d.action, d.policy, count(*) AS decisions, "
            "sum(EXISTS(SELECT 1 FROM rewards r WHERE r.event_id = d.event_id "
            "AND r.kind = 'impression')) AS impressions, "
            "sum(EXISTS(SELECT 1 FROM rewards r WHERE r.event_id = d.event_id "
            "AND r.kind = 'click')) AS clicks, "
            "sum(EXISTS(SELECT 1 FROM rewards r WHERE r.event_id = d.event_id "
            "AND r.kind = 'play')) AS plays "
            "FROM decisions d WHERE d.title_id = ? GROUP BY d.action, d.policy "
            "ORDER BY d.action, d.policy",
            [title_id],
        ).fetchall()
        keys = ("artwork_id", "policy", "decisions", "impressions", "clicks", "plays")
        return [dict(zip(keys, r)) for r in rows]

    def _columns(self, table: str) -> tuple[str, ...]:
        cols = getattr(self._local, "cols", None)
        if cols is None:
            cols = self._local.cols = {}
        if table not in cols:
            cols[table] = tuple(c.name for c in self.db[table].columns)
        return cols[table]


def _running(thread: threading.Thread | None, target: Callable[[], None],
             name: str) -> threading.Thread:
    """`thread` if it is alive, else a new daemon thread running `target`.

    A thread does not survive a fork: a worker forked after one started gets its own.
    """
    if thread is not None and thread.is_alive():
        return thread
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


class _Checkpointer:
    """Copies the WAL back into the database file on a thread of its own.

    A checkpoint writes and syncs megabytes and takes tens of milliseconds; run inside a
    commit (SQLite's default) it stalls the request that commits and, under the write lock,
    every other writer. Here it runs beside the writers (PASSIVE: it never blocks them), and
    the thread starts only once a process has written CHECKPOINT_EVERY_COMMITS times.
    """

    def __init__(self, db_path: Path, timeout: float) -> None:
        self.db_path, self.timeout = db_path, timeout
        self._commits = 0
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def committed(self, weight: int = 1) -> None:
        """Count a commit (a batch as its rows); wake the thread every CHECKPOINT_EVERY_COMMITS."""
        self._commits += weight
        if self._commits < CHECKPOINT_EVERY_COMMITS:
            return
        self._commits = 0
        with self._lock:
            self._thread = _running(self._thread, self._run, "sqlite-checkpoint")
        self._wake.set()

    def stop(self) -> None:
        """End the thread (called when the store is garbage collected)."""
        self._stopped = True
        self._wake.set()

    def _run(self) -> None:
        conn = sqlite3.connect(self.db_path, timeout=self.timeout, isolation_level=None)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopped:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # retried next time; the backstop still holds
                    log.warning("WAL checkpoint of %s failed: %s", self.db_path, exc)
        finally:
            conn.close()


class _Ingester:
    """Ingests the decision journals on a thread of its own while this process appends.

    The thread starts with the first append (a forked worker starts its own), wakes every
    JOURNAL_INGEST_SECONDS, or at once after JOURNAL_INGEST_RECORDS appends, and ingests
    when anything was appended since its last pass.
    """

    def __init__(self, store: Store) -> None:
        self._store = weakref.ref(store)
        self._pending = 0
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def appended(self, records: int) -> None:
        """Count appended records; start the thread if this process has none."""
        self._pending += records
        thread = self._thread
        if thread is None or not thread.is_alive():
            with self._lock:
                if not self._stopped:
                    self._thread = _running(self._thread, self._run, "journal-ingest")
        if self._pending >= JOURNAL_INGEST_RECORDS:
            self._wake.set()

    def stop(self) -> None:
        """End the thread, letting a pass under way finish."""
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            self._wake.wait(JOURNAL_INGEST_SECONDS)
            self._wake.clear()
            if self._stopped:
                return
            if not self._pending:
                continue
            self._pending = 0
            store = self._store()
            if store is None:
                return
            try:
                store.ingest_journal()
            except (sqlite3.Error, OSError) as exc:  # retried on the next pass
                log.warning("ingesting the decision journals of %s failed: %s", store.data_dir, exc)
                self._pending += 1
            del store


def check_id(value: str, what: str) -> str:
    """Refuse ids that are empty, too long, or could play tricks in paths and URLs."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InvalidRecordError(
            f"{what} id {value!r} is not valid; use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def _check_decision(d: LoggedDecision) -> None:
    n = len(d.candidates)
    problem = None
    if n == 0:
        problem = "has no candidates"
    elif len(set(d.candidates)) != n:
        problem = "names a candidate twice"
    elif len(d.pmf) != n:
        problem = f"has {len(d.pmf)} probabilities for {n} candidates"
    elif any(not (0.0 <= p <= 1.0) for p in d.pmf):
        problem = "has a probability outside [0, 1]"
    elif abs(math.fsum(d.pmf) - 1.0) > PMF_TOLERANCE:
        problem = f"has a pmf summing to {math.fsum(d.pmf):.9f}, not 1"
    elif d.action not in d.candidates:
        problem = f"chose {d.action!r}, which is not among its candidates"
    elif not (0.0 < d.probability <= 1.0):
        problem = f"has probability {d.probability!r}; it must be in (0, 1]"
    elif abs(d.pmf[d.candidates.index(d.action)] - d.probability) > PMF_TOLERANCE:
        problem = "has a probability that differs from the pmf of its chosen action"
    if problem:
        raise InvalidRecordError(f"decision {d.event_id!r} {problem}; it was not logged")


def _title(row: tuple) -> Title:
    return Title(row[0], row[1], tuple(json.loads(row[2] or "[]")), row[3] or 0.0)


def _artwork_row(a: Artwork) -> dict[str, Any]:
    return {
        "id": a.id,
        "title_id": a.title_id,
        "path": a.path,
        "source": a.source,
        "frame_time": a.frame_time,
        "frame_index": a.frame_index,
        "shot": a.shot,
        "width": a.width,
        "height": a.height,
        "quality": _json(dict(a.quality)),
        "tags": _json(list(a.tags)),
        "embedding": None if a.embedding is None else a.embedding.astype(np.float32).tobytes(),
        "embedder": a.embedder,
        "status": a.status,
        "is_default": int(a.is_default),
        "created": a.created,
    }


def _artwork(cols: tuple[str, ...], row: tuple) -> Artwork:
    r = dict(zip(cols, row))
    emb = r.get("embedding")
    return Artwork(
        id=r["id"],
        title_id=r["title_id"],
        path=r["path"],
        source=r["source"],
        width=r["width"],
        height=r["height"],
        status=r["status"],
        is_default=bool(r["is_default"]),
        frame_time=r["frame_time"],
        frame_index=r.get("frame_index"),
        shot=r.get("shot"),
        quality=json.loads(r["quality"] or "{}"),
        tags=tuple(json.loads(r["tags"] or "[]")),
        embedding=None if emb is None else np.frombuffer(emb, dtype=np.float32).copy(),
        embedder=r.get("embedder"),
        created=r["created"] or 0.0,
    )


_CANDIDATES_JSON: dict[tuple[str, ...], str] = {}


def _candidates_json(candidates: tuple[str, ...]) -> str:
    # A title's candidates repeat from one decision to the next: encode each list once.
    text = _CANDIDATES_JSON.get(candidates)
    if text is None:
        if len(_CANDIDATES_JSON) >= 10_000:
            _CANDIDATES_JSON.clear()
        text = _CANDIDATES_JSON[candidates] = _compact_json(candidates)
    return text


def _decision_row(d: LoggedDecision) -> list[Any]:
    return [
        d.event_id,
        d.timestamp,
        d.user_id,
        d.title_id,
        _compact_json(d.context),
        _candidates_json(tuple(d.candidates)),
        _compact_json(d.pmf),
        d.action,
        float(d.probability),
        d.policy,
        int(d.model_version),
    ]


def _decision(row: tuple) -> LoggedDecision:
    return LoggedDecision(
        event_id=row[0],
        timestamp=row[1],
        user_id=row[2],
        title_id=row[3],
        context=json.loads(row[4] or "{}"),
        candidates=tuple(json.loads(row[5])),
        pmf=tuple(json.loads(row[6])),
        action=row[7],
        probability=row[8],
        policy=row[9],
        model_version=row[10],
    )
