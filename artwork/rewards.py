"""The reward log: feedback on logged decisions, and the plays table that it feeds."""
from __future__ import annotations

import math
from typing import Sequence

from artwork.database import Database
from artwork.decisions import DecisionLog
from artwork.errors import InvalidRecordError, NotFoundError
from artwork.records import REWARD_KINDS, Reward

_REWARD_COLUMNS = ("event_id", "kind", "timestamp", "value")
# A user's plays, kept apart from the decision log so that recent plays are one index probe.
_RECORD_PLAY = (
    "INSERT INTO plays (event_id, user_id, title_id, timestamp) "
    "SELECT event_id, user_id, title_id, timestamp FROM decisions WHERE event_id = ? "
    "ON CONFLICT DO NOTHING"
)


class RewardLog:
    """Feedback (impression, click, play) per logged decision, idempotent per (event, kind)."""

    def __init__(self, db: Database, decisions: DecisionLog) -> None:
        self._db = db
        self._decisions = decisions

    def add_rewards(self, rewards: Sequence[Reward]) -> list[bool]:
        """Record a batch of feedback in one transaction (all checked before any is written).

        Returns, for each reward, whether it was new: a repeated (event, kind) is ignored.
        """
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
            self._decisions.catch_up()
            missing = self._unknown_events(missing)
        if missing:
            raise NotFoundError(
                f"no decision with event id {missing[0]!r}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                kind="decision")
        added = []
        with self._db.transaction() as tx:
            for r in rewards:
                row = [r.event_id, r.kind, r.timestamp, r.value]
                added.append(tx.insert_new("rewards", _REWARD_COLUMNS, [row]) == 1)
                if r.kind == "play" and added[-1]:
                    tx.execute(_RECORD_PLAY, [r.event_id])
        return added

    def _unknown_events(self, ids: list[str]) -> list[str]:
        """The event ids (sorted) that name no decision in the table."""
        known = {r[0] for r in self._db.read_in(
            "SELECT event_id FROM decisions WHERE event_id IN", ids)}
        return [e for e in ids if e not in known]
