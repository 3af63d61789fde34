"""The PostgreSQL backend of the store's database seam (see artwork/database.py for the surface).

Several hosts share one PostgreSQL database: the store's parts run the same SQL on it as on
SQLite, with `?` placeholders translated here. Connections come from a psycopg pool (one per
process: a forked child makes its own). Every write transaction first takes one advisory lock
of the database, so writers are serialized across hosts just as SQLite serializes them on
one: the store's rules (the live limit, the journal offsets) read, then write, and rely on it.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import os
import re
import threading
from typing import Any, Iterable, Iterator, Sequence

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from artwork.database import Params, ReadsIn, TransactionBase, is_postgres_url
from artwork.errors import StorageFullError, StoreUnavailableError
from artwork.postgres_schema import LATEST, VERSION_TABLE, migrate, schema_version

# Advisory lock keys (bigints, one namespace per database): the writers' lock that serializes
# write transactions, and the lock held while the schema is created or upgraded.
WRITER_LOCK = 0x6172_7462_0001
MIGRATION_LOCK = 0x6172_7462_0002
# Connections one process keeps: a few idle, more under load.
POOL_MIN = 1
POOL_MAX = 16
CONNECT_TIMEOUT_S = 10
# How long a host that vanished (no socket closed) keeps a lock: TCP keepalives find it gone.
LOCK_KEEPALIVE_S = 15
# insert_new copies batches of at least this many rows (COPY), and inserts smaller ones.
COPY_MIN_ROWS = 2
# Pools a forked child inherited from its parent: never used or closed (closing one would end
# the parent's sessions, whose sockets the child shares), only kept from being collected.
_INHERITED: list[ConnectionPool] = []
_STRING_OR_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?|%")


def redacted(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


@functools.lru_cache(maxsize=1024)
def to_postgres(sql: str) -> str:
    """SQL with `?` placeholders as psycopg's `%s` (and a literal `%` doubled), quotes left alone."""

    def swap(match: re.Match) -> str:
        text = match.group(0)
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        return text.replace("%", "%%")  # a string literal: psycopg still reads its `%`

    return _STRING_OR_PLACEHOLDER.sub(swap, sql)


def storage_error(exc: BaseException, what: str) -> Exception | None:
    """The store's error for a failed PostgreSQL call, or None if it is none of the store's.

    A full disk is StorageFullError; an unreachable, read-only or overloaded server
    StoreUnavailableError.
    """
    if isinstance(exc, psycopg.errors.DiskFull):
        return StorageFullError(f"{what}: the database server's disk is full")
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return StoreUnavailableError(f"{what}: the database is read-only")
    if isinstance(exc, PoolTimeout):
        return StoreUnavailableError(f"{what}: no database connection came free in time")
    if isinstance(exc, psycopg.OperationalError):
        return StoreUnavailableError(f"{what}: the database cannot be reached ({exc})")
    return None


@contextlib.contextmanager
def _store_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (psycopg.Error, PoolTimeout) as exc:
        error = storage_error(exc, what)
        if error is None:
            raise
        raise error from exc


class PostgresTransaction(TransactionBase):
    """The statements of one write transaction on PostgreSQL (see `PostgresDatabase.transaction`)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        super().__init__()
        self._conn = conn

    def read(self, sql: str, params: Params = ()) -> list[tuple]:
        """Every row of a query, read inside the transaction."""
        return self._conn.execute(to_postgres(sql), list(params)).fetchall()

    def query_one(self, sql: str, params: Params = ()) -> tuple | None:
        """The first row of a query, or None."""
        return self._conn.execute(to_postgres(sql), list(params)).fetchone()

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        return self._conn.execute(to_postgres(sql), list(params)).rowcount

    def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement per row (pipelined); returns the number of rows changed in all."""
        rows = [list(r) for r in rows]
        if not rows:
            return 0
        with self._conn.cursor() as cur:
            cur.executemany(to_postgres(sql), rows)
            return max(cur.rowcount, 0)

    def insert_new(self, table: str, columns: Sequence[str], rows: Iterable[Params]) -> int:
        """Insert rows, skipping those whose key is already taken; returns how many were new.

        A batch is streamed (COPY) into the table under a savepoint, each row sent as `rows`
        yields it. When a key is taken, that is undone and the batch copied into a staging
        table of this session instead, then inserted from it in the order given: of two rows
        with one key the first is kept, as on SQLite.
        """
        source = iter(rows)
        head = list(itertools.islice(source, COPY_MIN_ROWS))
        if len(head) < COPY_MIN_ROWS:
            return super().insert_new(table, columns, head)
        source = itertools.chain(head, source)
        taken: list[Params] = []  # kept for the staging table, should a key be taken

        def remembered() -> Iterator[Params]:
            for row in source:
                taken.append(row)
                yield row

        names = ", ".join(columns)
        with contextlib.suppress(psycopg.errors.UniqueViolation), self._conn.transaction():
            self._copy(f"COPY {table} ({names}) FROM STDIN", remembered())
            return len(taken)
        taken.extend(source)  # what COPY had not reached when the server refused it
        staging = f"artbandit_new_{table}"
        with self._conn.cursor() as cur:
            # A temporary table lives as long as the pooled session; made on its first batch.
            cur.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
                        f"(LIKE {table} INCLUDING DEFAULTS, "
                        "staged_order BIGINT GENERATED ALWAYS AS IDENTITY)")
            self._copy(f"COPY {staging} ({names}) FROM STDIN", taken)
            cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} "
                        "ORDER BY staged_order ON CONFLICT DO NOTHING")
            new = cur.rowcount
            cur.execute(f"TRUNCATE {staging}")
        return new

    def _copy(self, statement: str, rows: Iterable[Params]) -> None:
        with self._conn.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


def lock_key(name: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of a named lock."""
    digest = hashlib.sha256(f"artbandit-lock:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SessionLock:
    """An advisory lock held by a connection of its own, until `release` or the process dies.

    The server releases it when the session ends: at once when the process is killed (its
    socket closes), within LOCK_KEEPALIVE_S when its host vanishes (TCP keepalives).
    """

    def __init__(self, conn: psycopg.Connection, name: str) -> None:
        self._conn, self.name = conn, name

    def held(self) -> bool:
        """Whether the lock's session is still alive (asks the server)."""
        try:
            return self._conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.Error:
            return False

    def release(self) -> None:
        """Release the lock by ending its session."""
        self._conn.close()


class PostgresDatabase(ReadsIn):
    """One PostgreSQL database shared by threads, processes and hosts (a pool per process)."""

    errors: tuple[type[Exception], ...] = (psycopg.Error, PoolTimeout, StorageFullError,
                                           StoreUnavailableError)
    ROW_ORDER = "seq"
    SHARED = True

    def __init__(self, url: str, *, pool_max: int = POOL_MAX) -> None:
        self.url = url
        self.path = redacted(url)  # what messages name it by (a SQLite database: its file)
        self._pool_max = pool_max
        self._pool: ConnectionPool | None = None
        self._pid = 0
        self._lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, pool_max: int = POOL_MAX) -> "PostgresDatabase":
        """Connect to the database and bring its schema up to date (one process at a time)."""
        if not is_postgres_url(url):
            raise StoreUnavailableError(f"{redacted(url)} is not a postgresql:// URL")
        db = cls(url, pool_max=pool_max)
        with _store_errors(f"the database {db.path}"), db.connect() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
            try:
                if schema_version(conn) != LATEST:
                    migrate(conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        return db

    def connect(self, **options: Any) -> psycopg.Connection:
        """A new connection of its own (autocommit), outside the pool: the caller closes it."""
        return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                               **options)

    # -- reading ---------------------------------------------------------------------

    def read(self, sql: str, params: Params = ()) -> list[tuple]:
        """Every row of a query."""
        with _store_errors("the database could not be read"), self.pooled() as conn:
            return conn.execute(to_postgres(sql), list(params)).fetchall()

    def query_one(self, sql: str, params: Params = ()) -> tuple | None:
        """The first row of a query, or None."""
        with _store_errors("the database could not be read"), self.pooled() as conn:
            return conn.execute(to_postgres(sql), list(params)).fetchone()

    def version(self) -> int:
        """The schema version of the database."""
        with _store_errors("the database could not be read"), self.pooled() as conn:
            return schema_version(conn)

    def problems(self) -> list[str]:
        """What is wrong with the database as this program sees it (nothing when sound)."""
        try:
            version = self.version()
        except (*self.errors,) as exc:
            return [str(exc)]
        if version != LATEST:
            return [f"the database's schema is version {version}, this program's is {LATEST}"]
        return []

    def check_writable(self) -> None:
        """Commit one real write (the schema version, rewritten as it is); raises if that fails."""
        with self.transaction() as tx:
            tx.execute(f"UPDATE {VERSION_TABLE} SET version = version")

    # -- writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        """One write transaction, serialized with every other writer of the database.

        The writers' advisory lock is a session lock taken before BEGIN and released after
        the commit and the `after_commit` actions; a process that dies mid-way loses its
        session, and with it the lock.
        """
        with _store_errors("the database could not be written"), self.pooled() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", [WRITER_LOCK])
            try:
                tx = PostgresTransaction(conn)
                with conn.transaction():
                    yield tx
                tx.run_after_commit()
            finally:
                if not conn.closed and not conn.broken:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [WRITER_LOCK])

    def try_lock(self, name: str) -> SessionLock | None:
        """Take the named lock of the whole database (all hosts) if it is free, else None."""
        with _store_errors(f"the database {self.path}"):
            conn = self.connect(keepalives=1, keepalives_idle=LOCK_KEEPALIVE_S // 3,
                                keepalives_interval=1, keepalives_count=LOCK_KEEPALIVE_S // 3)
            try:
                taken = conn.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(name)]).fetchone()[0]
            except BaseException:
                conn.close()
                raise
        if not taken:
            conn.close()
            return None
        return SessionLock(conn, name)

    # -- connections -----------------------------------------------------------------

    @contextlib.contextmanager
    def pooled(self) -> Iterator[psycopg.Connection]:
        """A connection of this process's pool, for the length of the block."""
        with self._current_pool().connection() as conn:
            yield conn

    def _current_pool(self) -> ConnectionPool:
        pid = os.getpid()
        pool = self._pool
        if pool is not None and self._pid == pid:
            return pool
        with self._lock:
            if self._pool is not None and self._pid != pid:
                _INHERITED.append(self._pool)  # a fork's parent's: see _INHERITED
                self._pool = None
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.url, min_size=POOL_MIN, max_size=self._pool_max, open=True,
                    kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
                    name=f"artbandit-{pid}")
                self._pid = pid
            return self._pool

    def close(self) -> None:
        """Nothing to do per thread: connections go back to the pool after each use."""

    def close_all(self) -> None:
        """Close this process's pool (at shutdown, threads stopped)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()
