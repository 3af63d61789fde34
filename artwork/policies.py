"""The named policies a deployment holds: one champion that serves, challengers in shadow.

Each row is a policy's name, its spec (checked by whoever adds it: the store does not parse
specs) and its role. With no champion recorded, the configured policy serves.
"""
from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from typing import Any

from artwork.database import Database
from artwork.errors import AlreadyExistsError, InvalidRecordError, NotFoundError

__all__ = ["CHAMPION", "POLICY_ROLES", "SHADOW", "NamedPolicy", "PolicyRegistry"]

CHAMPION, SHADOW = "champion", "shadow"
POLICY_ROLES = (CHAMPION, SHADOW)
# Names name snapshot files: letters, digits, '.', '_' and '-', starting with a letter or digit.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_COLUMNS = "name, spec, role, created, updated"


@dataclass(frozen=True)
class NamedPolicy:
    """A policy the deployment holds, by name."""

    name: str
    spec: str
    role: str
    created: float
    updated: float

    def as_dict(self) -> dict[str, Any]:
        """The record as plain values."""
        return asdict(self)


def check_policy_name(name: str) -> str:
    """`name` if it can name a policy; raises InvalidRecordError saying what a name may hold."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidRecordError(
            f"policy name {name!r} must be 1-64 letters, digits, '.', '_' or '-', starting with "
            "a letter or digit (it names the policy's model snapshots)")
    return name


class PolicyRegistry:
    """The policies table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, name: str, spec: str, role: str = SHADOW) -> NamedPolicy:
        """Record a new policy; raises AlreadyExistsError if the name is taken."""
        check_policy_name(name)
        if role not in POLICY_ROLES:
            raise InvalidRecordError(f"policy role {role!r} must be one of {', '.join(POLICY_ROLES)}")
        if not spec or not spec.strip():
            raise InvalidRecordError(f"policy {name!r} needs a spec, e.g. vw:igw")
        now = time.time()
        record = NamedPolicy(name, spec.strip(), role, now, now)
        with self._db.transaction() as tx:
            if tx.read("SELECT 1 FROM policies WHERE name = ?", [name]):
                raise AlreadyExistsError(f"a policy named {name!r} already exists; pick another name")
            if role == CHAMPION:
                tx.execute("UPDATE policies SET role = ?, updated = ? WHERE role = ?",
                           [SHADOW, now, CHAMPION])
            tx.execute(f"INSERT INTO policies ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                       [record.name, record.spec, record.role, record.created, record.updated])
        return record

    def list(self) -> list[NamedPolicy]:
        """Every recorded policy, the champion first, then by name."""
        rows = self._db.read(f"SELECT {_COLUMNS} FROM policies ORDER BY role = ?, name", [SHADOW])
        return [NamedPolicy(*r) for r in rows]

    def get(self, name: str) -> NamedPolicy:
        """The policy named `name`; raises NotFoundError."""
        rows = self._db.read(f"SELECT {_COLUMNS} FROM policies WHERE name = ?", [name])
        if not rows:
            raise NotFoundError(f"no policy named {name!r}; `artbandit policy list` shows them",
                                kind="policy")
        return NamedPolicy(*rows[0])

    def make_champion(self, name: str, spec: str, *, former: tuple[str, str] | None = None) -> NamedPolicy:
        """Make `name` (spec `spec`, added if new) the champion; the former one becomes a shadow.

        `former` is (name, spec) of the configured champion: when no champion is recorded yet,
        it is recorded as a shadow, so it keeps learning and can come back.
        """
        check_policy_name(name)
        now = time.time()
        with self._db.transaction() as tx:
            recorded = tx.read("SELECT 1 FROM policies WHERE role = ?", [CHAMPION])
            tx.execute("UPDATE policies SET role = ?, updated = ? WHERE role = ?",
                       [SHADOW, now, CHAMPION])
            if former is not None and not recorded and former[0] != name and not tx.read(
                    "SELECT 1 FROM policies WHERE name = ?", [former[0]]):
                tx.execute(f"INSERT INTO policies ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                           [former[0], former[1], SHADOW, now, now])
            if tx.read("SELECT 1 FROM policies WHERE name = ?", [name]):
                tx.execute("UPDATE policies SET role = ?, updated = ? WHERE name = ?",
                           [CHAMPION, now, name])
            else:
                tx.execute(f"INSERT INTO policies ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                           [name, spec, CHAMPION, now, now])
        return self.get(name)
