"""Model snapshots kept in the database, so that every host sharing it sees the same ones.

A shelf for bandit's SnapshotStore (the same methods as its SnapshotFolder): a snapshot is
one row, written in one transaction (a reader sees all of it or nothing); one in quarantine
is kept, flagged, for a person to look at.
"""
from __future__ import annotations

import time

from artwork.database import Database


class SnapshotTable:
    """The `snapshots` table as a shelf of named snapshots."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def names(self) -> list[str]:
        """The names of the snapshots kept (not those in quarantine)."""
        return [r[0] for r in self._db.read("SELECT name FROM snapshots WHERE quarantined = 0")]

    def quarantined_names(self) -> list[str]:
        """The names of the snapshots in quarantine."""
        return [r[0] for r in self._db.read("SELECT name FROM snapshots WHERE quarantined = 1")]

    def read(self, name: str) -> bytes:
        """A snapshot's bytes; FileNotFoundError when none of this name is kept."""
        row = self._db.query_one(
            "SELECT data FROM snapshots WHERE name = ? AND quarantined = 0", [name])
        if row is None:
            raise FileNotFoundError(name)
        return bytes(row[0])

    def write(self, name: str, data: bytes) -> None:
        """Keep `data` under `name` (replacing any snapshot of that name), in one transaction."""
        with self._db.transaction() as tx:
            tx.execute("INSERT INTO snapshots (name, data, quarantined, created) VALUES (?, ?, 0, ?) "
                       "ON CONFLICT (name) DO UPDATE SET data = excluded.data, quarantined = 0, "
                       "created = excluded.created", [name, data, time.time()])

    def remove(self, name: str) -> None:
        """Delete a snapshot, if it is there."""
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM snapshots WHERE name = ? AND quarantined = 0", [name])

    def quarantine(self, name: str) -> str | None:
        """Flag a snapshot as in quarantine; None if it was not there (moved or pruned already)."""
        with self._db.transaction() as tx:
            moved = tx.execute(
                "UPDATE snapshots SET quarantined = 1 WHERE name = ? AND quarantined = 0", [name])
        return "the database's quarantine" if moved else None

    def describe(self, name: str) -> str:
        """How messages name a snapshot: in the database."""
        return f"snapshot {name} in the database {self._db.path}" if name else \
            f"the database {self._db.path}"
