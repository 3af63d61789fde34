"""Action descriptions as logged: what the policy saw of each candidate when it decided.

The learner must learn from the actions as they were described when a decision was served,
not from today's catalog (an artwork's features change when it is re-scanned or its
embedder changes). A caller records each description once, under a short key it derives
from the description's content, and logs the candidates' keys with the decision
(`LoggedDecision.action_keys`). A description is opaque text (JSON by convention) to the
store.
"""
from __future__ import annotations

from typing import Iterable

from artwork.database import Database
from artwork.errors import InvalidRecordError

_COLUMNS = ("key", "artwork_id", "description")


class ActionLog:
    """Content-addressed descriptions of actions: key -> (artwork id, description)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record_actions(self, items: Iterable[tuple[str, str, str]]) -> int:
        """Record (key, artwork_id, description) triples in one transaction; how many were new.

        A key already held keeps its description: keys name contents, so it is the same one.
        """
        rows = [tuple(item) for item in items]
        for row in rows:
            if len(row) != len(_COLUMNS) or not all(isinstance(v, str) and v for v in row):
                raise InvalidRecordError(
                    f"action {row!r} is not a (key, artwork_id, description) of non-empty texts"
                )
        if not rows:
            return 0
        with self._db.transaction() as tx:
            return tx.insert_new("actions", _COLUMNS, rows)

    def action_descriptions(self, keys: Iterable[str]) -> dict[str, str]:
        """The description of each of these keys that is recorded (key -> description)."""
        wanted = sorted(set(keys))
        return dict(self._db.read_in("SELECT key, description FROM actions WHERE key IN", wanted))
