"""The audit trail: who changed the catalog, when, what, and from where.

The HTTP layers and the command line say who is acting (`acting(Actor(...))`) around the work
they do; the store records each catalog change with the actor in force. Changes made with no
actor named are recorded as made by `system`.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Sequence

from artwork.database import Database

__all__ = ["AUDIT_ACTIONS", "Actor", "AuditEntry", "AuditLog", "acting", "current_actor"]

AUDIT_ACTIONS = ("title", "upload", "status", "default", "eligibility", "delete", "crop")


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where (a client address and the way in: studio, api, cli, a job)."""

    name: str
    origin: str = ""

    def as_dict(self) -> dict[str, str]:
        """The actor as plain values (kept with a queued job, say)."""
        return asdict(self)


SYSTEM = Actor("system", "")
_ACTOR: contextvars.ContextVar[Actor] = contextvars.ContextVar("artbandit_actor", default=SYSTEM)


def current_actor() -> Actor:
    """The actor in force (SYSTEM when none was named)."""
    return _ACTOR.get()


@contextlib.contextmanager
def acting(actor: Actor) -> Iterator[Actor]:
    """Record the catalog changes made inside the block as made by `actor`."""
    token = _ACTOR.set(actor)
    try:
        yield actor
    finally:
        _ACTOR.reset(token)


def set_actor(actor: Actor) -> contextvars.Token:
    """Make `actor` the one in force until `reset_actor(token)` (for a request's life)."""
    return _ACTOR.set(actor)


def reset_actor(token: contextvars.Token) -> None:
    """Undo `set_actor`."""
    _ACTOR.reset(token)


@dataclass(frozen=True)
class AuditEntry:
    """One change to the catalog."""

    id: str
    at: float
    actor: str
    origin: str
    action: str
    title_id: str
    artwork_id: str | None
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The entry as plain values (JSON lines, templates)."""
        return asdict(self)


_COLUMNS = ("id", "at", "actor", "origin", "action", "title_id", "artwork_id", "detail")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM audit"


def _entry(row: tuple) -> AuditEntry:
    return AuditEntry(*row[:7], json.loads(row[7]))


class AuditLog:
    """The audit table: appended to, read per artwork or in time order."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, changes: Sequence[tuple[str, str, str | None, dict[str, Any]]],
               actor: Actor | None = None) -> list[AuditEntry]:
        """Append (action, title id, artwork id, detail) changes made by `actor` (default: in force)."""
        who = actor or current_actor()
        now = time.time()
        entries = [AuditEntry(uuid.uuid4().hex, now, who.name, who.origin, action, title_id,
                              artwork_id, detail) for action, title_id, artwork_id, detail in changes]
        if entries:
            with self._db.transaction() as tx:
                tx.executemany(
                    f"INSERT INTO audit ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * 8)})",
                    [(e.id, e.at, e.actor, e.origin, e.action, e.title_id, e.artwork_id,
                      json.dumps(e.detail, sort_keys=True)) for e in entries])
        return entries

    def for_artwork(self, artwork_id: str) -> list[AuditEntry]:
        """Every recorded change of one artwork, oldest first."""
        return [_entry(r) for r in self._db.read(
            f"{_SELECT} WHERE artwork_id = ? ORDER BY at, id", [artwork_id])]

    def entries(self, since: float | None = None) -> list[AuditEntry]:
        """Every recorded change (since a time), oldest first."""
        sql, params = (f"{_SELECT} ORDER BY at, id", []) if since is None else (
            f"{_SELECT} WHERE at >= ? ORDER BY at, id", [since])
        return [_entry(r) for r in self._db.read(sql, params)]
