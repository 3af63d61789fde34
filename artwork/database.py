"""The database the store's parts share (SQLite): connections, the write lock, checkpoints.

This is the seam where the second backend, PostgreSQL (artwork/postgres.py), plugs in. The
store's parts use only this surface:

- `db.read(sql, params)` -> rows; `db.query_one(sql, params)` -> a row or None;
  `db.read_in(sql, values)` for a query ending in `IN`, over any number of values;
- `with db.transaction() as tx:` one write transaction, serialized with every other writer
  of the database, committed at the end of the block and rolled back if it raises. Inside
  it, `tx.read`, `tx.query_one`, `tx.execute` (returns the rows changed), `tx.executemany`
  and `tx.insert_new(table, columns, rows)`: insert, skipping rows whose key is already
  taken, and say how many were new;
  `tx.after_commit(fn)` runs `fn` once the transaction is committed, still under the write
  lock (removing a file whose rows the transaction deleted, say);
- `db.errors`: what a failed statement raises (a full disk is StorageFullError, a read-only,
  damaged or foreign file StoreUnavailableError); `db.ROW_ORDER`: the column that numbers a
  table's rows in the order they were committed; `db.SHARED`: whether other hosts (each with
  a data directory of its own) write the same database;
- `db.version()`, `db.problems()` (an integrity check), `db.check_writable()`, `db.close()`
  (this thread's connection) and `db.close_all()`.

Domain SQL uses `?` placeholders and what both SQLite (3.24 or later) and PostgreSQL
understand (`ON CONFLICT`, row values, `CASE`); everything SQLite-only (PRAGMAs, `rowid`,
`total_changes`, WAL checkpoints, the flock that queues writers) stays in this module;
everything PostgreSQL-only (placeholders, the pool, advisory locks) in artwork/postgres.py.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from artwork.errors import DISK_FULL_ERRNOS, StorageFullError, StoreUnavailableError
from artwork.schema import LATEST, migrate

log = logging.getLogger(__name__)

Params = Sequence[Any]
# A background thread checkpoints the WAL after this many rows committed by one process (see
# _Checkpointer); SQLite's own checkpoint, which runs inside a commit and holds up every
# writer, is left as the backstop for a WAL past WAL_AUTOCHECKPOINT_PAGES.
CHECKPOINT_EVERY_COMMITS = 500
WAL_AUTOCHECKPOINT_PAGES = 2_000
# After a checkpoint the WAL file is cut back to this size, so a burst does not keep its
# disk space (which matters most when the disk is filling up).
WAL_SIZE_LIMIT_BYTES = 8 << 20
# How many problems an integrity check reports at most.
MAX_PROBLEMS = 10
# Values bound in one `IN (...)` query, well under SQLite's limit on host parameters.
_IN_CHUNK = 500


def is_postgres_url(url: str) -> bool:
    """True for a URL naming a PostgreSQL database (postgresql:// or postgres://)."""
    return url.startswith(("postgresql://", "postgres://"))


def running_thread(thread: threading.Thread | None, target: Callable[[], None],
                   name: str) -> threading.Thread:
    """`thread` if it is alive, else a new daemon thread running `target`.

    A thread does not survive a fork: a worker forked after one started gets its own.
    """
    if thread is not None and thread.is_alive():
        return thread
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def storage_error(exc: BaseException, what: str) -> Exception | None:
    """The store's error for a failed SQLite call or file operation, or None if it is none of these.

    A full disk is StorageFullError; a read-only, damaged or foreign file StoreUnavailableError.
    """
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary result code
        if code == sqlite3.SQLITE_FULL:
            return StorageFullError(f"{what}: the disk is full")
        if code == sqlite3.SQLITE_READONLY:
            return StoreUnavailableError(f"{what}: the database is read-only ({exc})")
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return StoreUnavailableError(
                f"{what}: the database is damaged or not a database ({exc})")
        if code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
            return StoreUnavailableError(f"{what}: the database cannot be opened ({exc})")
        return None
    if isinstance(exc, OSError) and not isinstance(exc, (StorageFullError, StoreUnavailableError)):
        if exc.errno in DISK_FULL_ERRNOS:
            return StorageFullError(f"{what}: the disk is full")
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return StoreUnavailableError(f"{what}: {exc.strerror}")
    return None


def _read_error(exc: sqlite3.Error) -> Exception:
    return storage_error(exc, "the database could not be read") or exc


class TransactionBase:
    """What every backend's transaction does alike: actions after commit, insert-if-new."""

    def __init__(self) -> None:
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this transaction is committed, still under the write lock."""
        self._after_commit.append(action)

    def run_after_commit(self) -> None:
        """Run the actions registered with `after_commit` (the backend calls this)."""
        for action in self._after_commit:
            action()

    def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement per row; returns the number of rows changed in all."""
        raise NotImplementedError

    def insert_new(self, table: str, columns: Sequence[str], rows: Iterable[Params]) -> int:
        """Insert rows, skipping those whose key is already taken; returns how many were new."""
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING")
        return self.executemany(sql, rows)


class ReadsIn:
    """`read_in` over a backend's `read`: a query ending in `IN`, asked for in chunks."""

    def read(self, sql: str, params: Params = ()) -> list[tuple]:
        """Every row of a query."""
        raise NotImplementedError

    def read_in(self, sql: str, values: Sequence[Any]) -> list[tuple]:
        """The rows of `sql`, which ends in `IN`, for all `values` (asked for in chunks)."""
        rows: list[tuple] = []
        for i in range(0, len(values), _IN_CHUNK):
            chunk = values[i : i + _IN_CHUNK]
            rows += self.read(f"{sql} ({','.join('?' * len(chunk))})", chunk)
        return rows


class Transaction(TransactionBase):
    """The statements of one write transaction (see `Database.transaction`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self._conn = conn
        self.written = 0  # rows changed by batch statements, for the checkpointer

    def read(self, sql: str, params: Params = ()) -> list[tuple]:
        """Every row of a query, read inside the transaction."""
        return self._conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Params = ()) -> tuple | None:
        """The first row of a query, or None."""
        return self._conn.execute(sql, params).fetchone()

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        return self._conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement per row; returns the number of rows changed in all."""
        before = self._conn.total_changes
        self._conn.executemany(sql, rows)
        changed = self._conn.total_changes - before
        self.written += changed
        return changed


class Database(ReadsIn):
    """One SQLite file (WAL) shared by threads (a connection each) and processes (a file lock)."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error, StorageFullError, StoreUnavailableError)
    ROW_ORDER = "rowid"
    SHARED = False

    def __init__(self, path: Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        # Every thread's connection and lock descriptor, so close_all() can release them.
        self._handles_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._lock_fds: list[int] = []
        self._checkpointer = _Checkpointer(self.path, busy_timeout_ms / 1000)
        weakref.finalize(self, self._checkpointer.stop)

    @classmethod
    def open(cls, path: Path | str, *, busy_timeout_ms: int = 30_000) -> "Database":
        """Open (creating if needed) the database file and bring its schema up to date."""
        db = cls(Path(path), busy_timeout_ms=busy_timeout_ms)
        try:
            db.path.parent.mkdir(parents=True, exist_ok=True)
            # Several worker processes may open a new data directory at once: one of them
            # creates or upgrades the schema while the others wait on the writers' lock.
            fd = db._open_lock_file()
        except OSError as exc:
            error = storage_error(exc, f"{db.path.parent} cannot be written")
            raise error or StoreUnavailableError(
                f"{db.path.parent} cannot be used: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if db.version() != LATEST:
                # Imported only here: sqlite-utils takes longer to import than a short
                # command takes to run on an up-to-date database.
                import sqlite_utils

                backup = db.path.with_name(f"{db.path.name}.pre-migration.bak")
                migrate(sqlite_utils.Database(db.connection()), backup=backup)
        except Exception as exc:
            db.close_all()
            error = storage_error(exc, str(db.path))
            if error is None:
                raise
            raise error from None
        finally:
            os.close(fd)  # closing the descriptor releases the lock
        return db

    # -- reading ---------------------------------------------------------------------

    def read(self, sql: str, params: Params = ()) -> list[tuple]:
        """Every row of a query."""
        try:
            return self.connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _read_error(exc) from exc

    def query_one(self, sql: str, params: Params = ()) -> tuple | None:
        """The first row of a query, or None."""
        try:
            return self.connection().execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise _read_error(exc) from exc

    def version(self) -> int:
        """The schema version of the database."""
        return self.query_one("PRAGMA user_version")[0]

    def problems(self) -> list[str]:
        """What SQLite's quick integrity check finds wrong with the file (nothing when sound)."""
        try:
            rows = self.read(f"PRAGMA quick_check({MAX_PROBLEMS})")
        except (sqlite3.DatabaseError, StoreUnavailableError) as exc:  # too damaged to check
            return [str(exc)]
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found

    def check_writable(self) -> None:
        """Commit one real write (the schema version, rewritten as it is); raises if that fails."""
        with self.transaction() as tx:
            version = tx.query_one("PRAGMA user_version")[0]
            tx.execute(f"PRAGMA user_version = {int(version)}")

    # -- writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction, taking the write lock up front (flock, then BEGIN IMMEDIATE)."""
        conn, fd = self._writer()
        # Writers queue on a file lock before SQLite's own: SQLite's busy handler polls with
        # sleeps of 1 ms and more, which would dominate a write's latency when several
        # worker processes write at once; flock wakes the next writer as soon as one is done.
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            tx = Transaction(conn)
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield tx
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                error = storage_error(exc, "the data directory could not be written")
                if error is None:
                    raise
                raise error from exc
            tx.run_after_commit()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        self._checkpointer.committed(max(tx.written, 1))

    # -- connections -----------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (the SQLite driver's own object, for tests and tools)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit mode: transactions are opened explicitly by transaction().
            # Each thread uses only its own connection; close_all() may close it from another.
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_ms / 1000, isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._handles_lock:
                self._connections.append(conn)
        return conn

    def _open_lock_file(self) -> int:
        return os.open(self.path.with_name(f"{self.path.name}.writelock"),
                       os.O_RDWR | os.O_CREAT, 0o644)

    def _writer(self) -> tuple[sqlite3.Connection, int]:
        conn = self.connection()
        # One descriptor per thread: flock excludes open file descriptions, not threads.
        fd = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = self._local.lock_fd = self._open_lock_file()
            with self._handles_lock:
                self._lock_fds.append(fd)
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")
        return conn, fd

    def close(self) -> None:
        """Close this thread's connection and lock descriptor."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._forget(conn, None)
            conn.close()
            self._local.conn = None
        fd = getattr(self._local, "lock_fd", None)
        if fd is not None:
            self._forget(None, fd)
            os.close(fd)
            self._local.lock_fd = None

    def close_all(self) -> None:
        """Close every thread's connection and lock descriptor (at shutdown, threads stopped)."""
        self._checkpointer.stop()
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
            if self._stopped:
                return
            self._thread = running_thread(self._thread, self._run, "sqlite-checkpoint")
        self._wake.set()

    def stop(self) -> None:
        """End the thread (at close_all, or when the database is garbage collected)."""
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
