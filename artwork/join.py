"""The reward-window join: each logged decision with the feedback that arrived inside its window.

What the learner and the exports learn from. A decision made at time `t` earns the feedback
recorded for its event id from `t` to `t + window` seconds; feedback later than that is
ignored, and a decision with none inside its window is learned as `reward_of({})` (reward 0
under the usual mappings): no news within the window is a "no". Only decisions whose window
has closed (`timestamp + window <= now`) are joined, so a pair once yielded never changes.

Decisions come in (timestamp, event_id) order, read a page at a time (keyset pagination),
so a long export or a learner catching up never holds a read transaction for long. The
`after` cursor is the (timestamp, event_id) of the last pair a caller consumed: a learner
that keeps it resumes exactly where it stopped.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Callable, Iterator, Mapping

from artwork.codecs import DECISION_COLUMNS, columns_sql, decision_from_row
from artwork.database import Database
from artwork.errors import InvalidRecordError
from artwork.records import LearningPair

if TYPE_CHECKING:
    from artwork.decisions import DecisionLog

RewardFn = Callable[[Mapping[str, "float | None"]], float]
PAGE = 2000
_SELECT_DECISIONS = f"SELECT {columns_sql(DECISION_COLUMNS)} FROM decisions"
_REWARDS_IN_WINDOW = (
    "SELECT r.event_id, r.kind, r.value FROM rewards r "
    "JOIN decisions d ON d.event_id = r.event_id "
    "WHERE (d.timestamp, d.event_id) >= (?, ?) AND (d.timestamp, d.event_id) <= (?, ?) "
    "AND r.timestamp <= d.timestamp + ?"
)


def decision_pages(
    db: Database,
    since: float | None,
    until: float | None,
    *,
    window: float | None = None,
    after: tuple[float, str] | None = None,
) -> Iterator[tuple[tuple, dict[str, float | None]]]:
    """Decision rows in (timestamp, event_id) order, each with its feedback kinds in `window`.

    With `window` None no feedback is read (every row comes with {}).
    """
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
        sql = _SELECT_DECISIONS
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = db.read(f"{sql} ORDER BY timestamp, event_id LIMIT {PAGE}", params)
        if not rows:
            return
        rewards: dict[str, dict[str, float | None]] = {}
        if window is not None:
            first, last = rows[0], rows[-1]
            params = [first[1], first[0], last[1], last[0], window]
            for event_id, kind, value in db.read(_REWARDS_IN_WINDOW, params):
                rewards.setdefault(event_id, {})[kind] = value
        for row in rows:
            yield row, rewards.get(row[0], {})
        if len(rows) < PAGE:
            return
        cursor = (rows[-1][1], rows[-1][0])


class RewardJoin:
    """Joins decisions whose reward window has closed with the feedback inside it."""

    def __init__(self, db: Database, decisions: "DecisionLog") -> None:
        self._db = db
        self._decisions = decisions

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
        self._decisions.catch_up()
        until = (time.time() if now is None else now) - window
        for row, kinds in decision_pages(self._db, since, until, window=window, after=after):
            yield LearningPair(decision_from_row(row), float(reward_of(kinds)), kinds)
