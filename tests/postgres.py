"""A real PostgreSQL server for the tests: initdb in a temporary folder, on a free port of 127.0.0.1.

The server binaries come from Debian's `postgresql` package (scripts/install-test-deps.sh).
PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
`postgres` user that package creates (or `nobody`), in a folder that user owns.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import psycopg

USER = "artbandit"
START_TIMEOUT_S = 60


def server_binaries() -> Path:
    """The folder holding initdb and postgres; fails with what to install when there is none."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and os.access(os.path.join(folder, "initdb"), os.X_OK):
            return Path(folder)
    raise RuntimeError("no PostgreSQL server binaries (initdb) found; run "
                       "`sh scripts/install-test-deps.sh` to install Debian's postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) of the unprivileged user to run the server as, or None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and there is no `postgres` or `nobody` user to run "
                       "PostgreSQL as")


class PostgresServer:
    """One initdb'd cluster, started on a free port; `url(db)` names a database on it."""

    def __init__(self) -> None:
        self.bindir = server_binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="artbandit-pg-"))
        self.port = 0
        self._proc: subprocess.Popen | None = None
        self._as = _run_as()
        self._created = 0
        self._template = ""

    def _popen_args(self) -> dict:
        if self._as is None:
            return {}
        return {"user": self._as[0], "group": self._as[1], "extra_groups": []}

    def start(self) -> None:
        """initdb, then start the server and wait until it accepts connections."""
        if self._as is not None:
            os.chown(self.folder, *self._as)
        cluster = self.folder / "cluster"
        subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(cluster), "-U", USER, "--auth=trust",
             "--encoding=UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True, cwd=self.folder, **self._popen_args())
        for attempt in range(5):
            self.port = _free_port()
            log = open(self.folder / "server.log", "ab")
            self._proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(cluster), "-p", str(self.port),
                 "-h", "127.0.0.1", "-k", str(self.folder),
                 # Tests need no durability against power loss; they need speed.
                 "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=300"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, **self._popen_args())
            log.close()
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError(f"PostgreSQL did not start; see {self.folder / 'server.log'}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:  # the port was taken meanwhile, say
                return False
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        return False

    def url(self, database: str) -> str:
        """The URL of one database on this server."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, *, migrated: bool = False) -> str:
        """Create a fresh database, empty or (`migrated`) with the store's latest schema; its URL.

        A migrated one is copied from a template migrated once, which is quicker than
        migrating each.
        """
        if migrated and not self._template:
            from artwork.postgres import PostgresDatabase

            self._template = self.new_database()
            PostgresDatabase.open(self._template).close_all()
        self._created += 1
        name = f"t{os.getpid()}_{self._created}"
        template = self._template.rsplit("/", 1)[1] if migrated else "template0"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)  # fast shutdown: SIGTERM waits on clients
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        self._proc = None

    def remove(self) -> None:
        """Stop the server and delete its files."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    """A started server, stopped and removed at the end of the block."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()
