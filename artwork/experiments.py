"""Experiments: users split between named policies (arms, with shares) from start to stop.

At most one experiment runs at a time; its salt is drawn when it starts, so each experiment
assigns users afresh while every user keeps one arm for the experiment's life.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Mapping

from artwork.database import Database
from artwork.errors import AlreadyExistsError, InvalidRecordError, NotFoundError
from artwork.policies import check_policy_name

__all__ = ["Experiment", "ExperimentLog"]

_COLUMNS = "name, salt, arms, started, stopped, result"


@dataclass(frozen=True)
class Experiment:
    """An experiment: its arms (policy name -> share in percent) in order, and when it ran."""

    name: str
    salt: str
    arms: tuple[tuple[str, float], ...]
    started: float
    stopped: float | None = None
    result: Mapping[str, Any] | None = None

    @property
    def running(self) -> bool:
        """Whether it still assigns users."""
        return self.stopped is None

    def arm_for(self, user_id: str) -> str:
        """A user's arm (policy name): a salted hash of the id, read as a point in [0, 100)."""
        digest = hashlib.blake2b(f"{self.salt}\0{user_id}".encode(), digest_size=8).digest()
        point = int.from_bytes(digest, "big") / 2.0 ** 64 * 100.0
        total = 0.0
        for name, share in self.arms:
            total += share
            if point < total:
                return name
        return self.arms[-1][0]


def _experiment(row: tuple) -> Experiment:
    return Experiment(row[0], row[1], tuple((a, float(s)) for a, s in json.loads(row[2])),
                      row[3], row[4], json.loads(row[5]) if row[5] else None)


def check_arms(arms: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """Arms as (policy, share) pairs: at least two distinct policies, shares > 0 summing to 100."""
    pairs = tuple((check_policy_name(name), float(share)) for name, share in arms.items())
    if len(pairs) < 2:
        raise InvalidRecordError("an experiment needs at least two arms, e.g. "
                                 "--arm champion=50 --arm challenger=50")
    if any(not 0.0 < share < 100.0 for _, share in pairs) or abs(
            sum(share for _, share in pairs) - 100.0) > 1e-9:
        raise InvalidRecordError(
            f"arm shares {[s for _, s in pairs]} must each be above 0 and sum to 100 (percent)")
    return pairs


class ExperimentLog:
    """The experiments table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start(self, name: str, arms: Mapping[str, float]) -> Experiment:
        """Start an experiment; raises AlreadyExistsError if the name is taken or one is running."""
        check_policy_name(name)
        experiment = Experiment(name, secrets.token_hex(8), check_arms(arms), time.time())
        with self._db.transaction() as tx:
            if tx.read("SELECT 1 FROM experiments WHERE name = ?", [name]):
                raise AlreadyExistsError(f"an experiment named {name!r} exists; pick another name")
            running = tx.read("SELECT name FROM experiments WHERE stopped IS NULL")
            if running:
                raise AlreadyExistsError(f"experiment {running[0][0]!r} is running; stop it first "
                                         "(one experiment at a time)")
            tx.execute(f"INSERT INTO experiments ({_COLUMNS}) VALUES (?, ?, ?, ?, NULL, NULL)",
                       [name, experiment.salt, json.dumps([list(a) for a in experiment.arms]),
                        experiment.started])
        return experiment

    def get(self, name: str) -> Experiment:
        """The experiment named `name`; raises NotFoundError."""
        rows = self._db.read(f"SELECT {_COLUMNS} FROM experiments WHERE name = ?", [name])
        if not rows:
            raise NotFoundError(f"no experiment named {name!r}", kind="experiment")
        return _experiment(rows[0])

    def list(self) -> list[Experiment]:
        """Every experiment, running or stopped, the newest first."""
        rows = self._db.read(f"SELECT {_COLUMNS} FROM experiments ORDER BY started DESC, name")
        return [_experiment(r) for r in rows]

    def running(self) -> Experiment | None:
        """The experiment assigning users now, if any."""
        rows = self._db.read(f"SELECT {_COLUMNS} FROM experiments WHERE stopped IS NULL")
        return _experiment(rows[0]) if rows else None

    def stop(self, name: str, result: Mapping[str, Any]) -> Experiment:
        """Stop a running experiment and record its result; raises InvalidRecordError if stopped."""
        with self._db.transaction() as tx:
            rows = tx.read("SELECT stopped FROM experiments WHERE name = ?", [name])
            if not rows:
                raise NotFoundError(f"no experiment named {name!r}", kind="experiment")
            if rows[0][0] is not None:
                raise InvalidRecordError(f"experiment {name!r} was already stopped")
            tx.execute("UPDATE experiments SET stopped = ?, result = ? WHERE name = ?",
                       [time.time(), json.dumps(dict(result), sort_keys=True), name])
        return self.get(name)
