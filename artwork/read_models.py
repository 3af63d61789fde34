"""Read models over the logs: a user's genre affinity, who played lately, counts per artwork."""
from __future__ import annotations

import json
from typing import Any

from artwork.catalog import Catalog
from artwork.database import Database
from artwork.decisions import DecisionLog
from artwork.records import REWARD_KINDS

# For each feedback kind, how many of the grouped decisions received it.
_RECEIVED = ", ".join(
    f"sum(CASE WHEN EXISTS (SELECT 1 FROM rewards r WHERE r.event_id = d.event_id "
    f"AND r.kind = '{kind}') THEN 1 ELSE 0 END)"
    for kind in REWARD_KINDS
)
_STATS_KEYS = ("artwork_id", "policy", "decisions") + tuple(f"{k}s" for k in REWARD_KINDS)


class ReadModels:
    """What we know of users and artworks, computed from our own decision and reward logs."""

    def __init__(self, db: Database, catalog: Catalog, decisions: DecisionLog) -> None:
        self._db = db
        self._catalog = catalog
        self._decisions = decisions

    def genre_affinity(self, user_id: str, limit: int = 200) -> dict[str, float]:
        """Share of each genre among the titles this user played recently (our own log)."""
        rows = self._db.read(
            "SELECT t.genres FROM plays p JOIN titles t ON t.id = p.title_id "
            "WHERE p.user_id = ? ORDER BY p.timestamp DESC LIMIT ?",
            [user_id, limit],
        )
        counts: dict[str, float] = {}
        for (genres,) in rows:
            for g in json.loads(genres or "[]"):
                counts[g] = counts.get(g, 0.0) + 1.0
        total = sum(counts.values())
        return {g: c / total for g, c in sorted(counts.items())} if total else {}

    def players_since(self, after: int, limit: int = 10_000) -> list[tuple[int, str]]:
        """(position, user id) of the plays recorded after position `after`, oldest first.

        A position numbers the plays in the order they were recorded; 0 is before the first.
        """
        order = self._db.ROW_ORDER
        return self._db.read(
            f"SELECT {order}, user_id FROM plays WHERE {order} > ? ORDER BY {order} LIMIT ?",
            [after, limit],
        )

    # The next two read the decisions ingested so far, without ingesting first (which takes
    # the write lock): the serving path asks them, and a count a moment behind does.
    def shown_since(self, title_id: str, since: float) -> dict[str, int]:
        """How many ingested decisions of a title chose each artwork at or after time `since`."""
        return dict(self._db.read(
            "SELECT action, count(*) FROM decisions WHERE title_id = ? AND timestamp >= ? "
            "GROUP BY action", [title_id, since]))

    def first_served(self, title_id: str) -> float | None:
        """When an ingested decision was first logged for a title (None: never)."""
        return self._db.read("SELECT min(timestamp) FROM decisions WHERE title_id = ?",
                             [title_id])[0][0]

    def artwork_stats(self, title_id: str) -> list[dict[str, Any]]:
        """Impressions, clicks and plays per (artwork, policy) for one title."""
        self._catalog.get_title(title_id)
        self._decisions.catch_up()
        rows = self._db.read(
            f"SELECT d.action, d.policy, count(*), {_RECEIVED} "
            "FROM decisions d WHERE d.title_id = ? GROUP BY d.action, d.policy "
            "ORDER BY d.action, d.policy",
            [title_id],
        )
        return [dict(zip(_STATS_KEYS, r)) for r in rows]
