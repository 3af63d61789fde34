"""The learner's status reports kept in the database, so that every host sharing it reads them.

One row per policy: the report (opaque text, JSON by convention) and when it was written.
"""
from __future__ import annotations

import time

from artwork.database import Database


class StatusTable:
    """The `learner_reports` table: the latest report of each policy's learner."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, policy: str, report: str) -> None:
        """Keep `report` as the latest of `policy`'s learner."""
        with self._db.transaction() as tx:
            tx.execute("INSERT INTO learner_reports (policy, report, updated) VALUES (?, ?, ?) "
                       "ON CONFLICT (policy) DO UPDATE SET report = excluded.report, "
                       "updated = excluded.updated", [policy, report, time.time()])

    def get(self, policy: str) -> str | None:
        """The latest report of `policy`'s learner, or None if it has made none."""
        row = self._db.query_one("SELECT report FROM learner_reports WHERE policy = ?", [policy])
        return None if row is None else row[0]
