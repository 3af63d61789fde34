"""A user's right to be forgotten: their decisions, rewards and plays erased from the store.

Erasing a user removes, in one transaction, every logged decision served to them, the
feedback on those decisions and their plays (which the genre affinities are computed from).
Journal lines already moved into the decisions table are blanked in place (each byte but
the newline becomes a space, so the offsets ingest keeps stay right), and refused lines that
name the user are dropped from the dead-letter file. What is recorded is that an erasure
happened, when and by whom: never whose data it was.

Decisions still being written while the erasure runs are logged after it and are not erased.
Exports written before the erasure are files outside the store: they keep what they hold.
"""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson

from artwork.audit import Actor, current_actor
from artwork.database import Database
from artwork.decisions import DecisionLog
from artwork.errors import InvalidRecordError
from artwork.journal import READ_CHUNK

MAX_USER_ID = 256


@dataclass(frozen=True)
class Erasure:
    """That a user's data was erased: when and by whom (never whose)."""

    id: str
    at: float
    actor: str
    origin: str


class Erasures:
    """Erases users' data from the decision log, the reward log and the plays."""

    def __init__(self, db: Database, decisions: DecisionLog) -> None:
        self._db = db
        self._decisions = decisions

    def forget_user(self, user_id: str, actor: Actor | None = None) -> Erasure:
        """Erase everything logged about `user_id` and record that an erasure happened."""
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_USER_ID:
            raise InvalidRecordError(f"a user id is 1 to {MAX_USER_ID} characters; got {user_id!r}")
        who = actor or current_actor()
        erasure = Erasure(uuid.uuid4().hex, time.time(), who.name, who.origin)
        self._decisions.ingest_journal()  # what is journaled so far is then in the table
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM plays WHERE user_id = ?", [user_id])
            tx.execute("DELETE FROM rewards WHERE event_id IN "
                       "(SELECT event_id FROM decisions WHERE user_id = ?)", [user_id])
            tx.execute("DELETE FROM decisions WHERE user_id = ?", [user_id])
            tx.execute("INSERT INTO erasures (id, at, actor, origin) VALUES (?, ?, ?, ?)",
                       [erasure.id, erasure.at, erasure.actor, erasure.origin])
            # Under the write lock: no ingest reads the journals or appends dead letters now.
            journal_dir = self._decisions.journal_dir
            for name, ingested in self._decisions.ingested_offsets(tx).items():
                _blank_lines(journal_dir / name, ingested, user_id)
            _drop_dead_letters(self._decisions.dead_letters.path, user_id)
        return erasure

    def erasures(self) -> list[Erasure]:
        """Every recorded erasure, oldest first."""
        return [Erasure(*row) for row in self._db.read(
            "SELECT id, at, actor, origin FROM erasures ORDER BY at, id")]


def _blank_lines(path: Path, ingested: int, user_id: str) -> None:
    """Overwrite the user's lines among the first `ingested` bytes of a journal file with spaces."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    needle = orjson.dumps(user_id)
    try:
        offset = 0
        while offset < ingested:
            block = os.pread(fd, min(READ_CHUNK, ingested - offset), offset)
            end = block.rfind(b"\n") + 1
            if not end:
                break
            position = offset
            for line in block[:end].splitlines(keepends=True):
                if needle in line and _user_of(line) == user_id:
                    os.pwrite(fd, b" " * (len(line) - 1), position)
                position += len(line)
            offset += end
        os.fsync(fd)
    finally:
        os.close(fd)


def _user_of(line: bytes) -> str | None:
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return row[2] if isinstance(row, list) and len(row) > 2 else None


def _drop_dead_letters(path: Path, user_id: str) -> None:
    """Rewrite the dead-letter file without the refused lines that name the user."""
    try:
        lines = path.read_bytes().splitlines(keepends=True)
    except FileNotFoundError:
        return
    needle = orjson.dumps(user_id).decode()
    kept = [line for line in lines if needle not in _refused_line(line)]
    if len(kept) == len(lines):
        return
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_bytes(b"".join(kept))
    os.replace(tmp, path)


def _refused_line(entry: bytes) -> str:
    """The journal line a dead-letter entry holds (the whole entry if it cannot be read)."""
    try:
        return str(orjson.loads(entry).get("line", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return entry.decode("utf-8", "replace")
