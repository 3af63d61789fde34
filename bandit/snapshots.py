"""Versioned model snapshots: atomic writes with a checksum, keep the last N, load the newest.

Snapshots are kept on a shelf: a folder of files by default (`SnapshotFolder`), or any object
with the same methods (a database table, so that every host sees the same snapshots). A
snapshot is verified (its checksum) and loaded into a fresh policy before it is used; one
that fails either is moved to quarantine (`quarantine/` beside the files), with one log line,
and the next older one is tried.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Protocol

from bandit.errors import InvalidPolicyError, SnapshotError
from bandit.policy import Policy

log = logging.getLogger(__name__)

MAGIC = b"ARTBANDIT-SNAPSHOT 1\n"
SUFFIX = ".snapshot"
QUARANTINE = "quarantine"


class DamagedSnapshotError(SnapshotError):
    """A snapshot that is not what was written (header, length, checksum) or whose model does not load."""


class SnapshotShelf(Protocol):
    """Where snapshots are kept, by name: written whole or not at all, listed, read, moved aside."""

    def names(self) -> list[str]:
        """The names of the snapshots kept (not those in quarantine)."""

    def quarantined_names(self) -> list[str]:
        """The names of the snapshots in quarantine."""

    def read(self, name: str) -> bytes:
        """A snapshot's bytes; FileNotFoundError when there is none of this name."""

    def write(self, name: str, data: bytes) -> None:
        """Keep `data` under `name`, atomically (a reader sees all of it or nothing)."""

    def remove(self, name: str) -> None:
        """Delete a snapshot, if it is there."""

    def quarantine(self, name: str) -> str | None:
        """Move a snapshot to quarantine; where it went, or None if it was not there."""

    def describe(self, name: str) -> str:
        """How messages name a snapshot (its path, say)."""


class SnapshotFolder:
    """Snapshots as files in a directory, written to a temporary file and renamed into place."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def _names_in(self, folder: Path) -> list[str]:
        if not folder.is_dir():
            return []
        return [entry.name for entry in os.scandir(folder)]

    def names(self) -> list[str]:
        """The files in the directory."""
        return self._names_in(self.directory)

    def quarantined_names(self) -> list[str]:
        """The files in its quarantine folder."""
        return self._names_in(self.directory / QUARANTINE)

    def read(self, name: str) -> bytes:
        """A file's bytes; FileNotFoundError when it is not there."""
        return (self.directory / name).read_bytes()

    def write(self, name: str, data: bytes) -> None:
        """Write a temporary file, sync it and rename it into place."""
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / name
        tmp = self.directory / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()

    def remove(self, name: str) -> None:
        """Delete a file, if it is there (another process may have pruned it first)."""
        (self.directory / name).unlink(missing_ok=True)

    def quarantine(self, name: str) -> str | None:
        """Move a file into `quarantine/`; None if another process moved or pruned it first."""
        target = self.directory / QUARANTINE / name
        target.parent.mkdir(exist_ok=True)
        try:
            os.replace(self.directory / name, target)
        except FileNotFoundError:
            return None
        return str(target.parent)

    def describe(self, name: str) -> str:
        """The file's path."""
        return str(self.directory / name)


@dataclass(frozen=True)
class Snapshot:
    """One stored snapshot: which policy wrote it, its version, how far it had learned, its state."""

    policy: str
    kind: str
    version: int
    settings: dict[str, Any]
    learned: int
    last_event_id: str | None
    created: float
    state: bytes = field(repr=False)
    path: Path | None = None


class SnapshotStore:
    """The snapshots of one named policy, as ``<name>-<version>.snapshot`` on a shelf.

    The shelf is the folder `directory` unless another is given. A reader never sees half a
    snapshot; one learner process writes, any number of serving processes read.
    """

    def __init__(self, directory: Path | str, policy_name: str, keep: int = 5,
                 shelf: SnapshotShelf | None = None) -> None:
        if int(keep) < 1:
            raise InvalidPolicyError(f"keep {keep!r} must be at least 1 (the newest snapshot is always kept)")
        if not policy_name or not re.fullmatch(r"[A-Za-z0-9_.\-]+", policy_name):
            raise InvalidPolicyError(
                f"policy name {policy_name!r} cannot name snapshot files; use letters, digits, '.', '_' or '-'"
            )
        self.directory = Path(directory)
        self.shelf: SnapshotShelf = shelf if shelf is not None else SnapshotFolder(self.directory)
        self.policy_name = policy_name
        self.keep = int(keep)
        self._pattern = re.compile(re.escape(policy_name) + r"-(\d{8,})" + re.escape(SUFFIX))

    def name_of(self, version: int) -> str:
        """The name of snapshot ``version`` on the shelf."""
        return f"{self.policy_name}-{version:08d}{SUFFIX}"

    def path_of(self, version: int) -> Path:
        """The file of snapshot ``version`` (in a folder shelf)."""
        return self.directory / self.name_of(version)

    @property
    def where(self) -> str:
        """Where the snapshots are kept, for messages."""
        return str(getattr(self.shelf, "directory", None) or self.shelf.describe(""))

    def _versions_of(self, names: list[str]) -> list[int]:
        return sorted(int(m.group(1)) for n in names if (m := self._pattern.fullmatch(n)))

    def versions(self) -> list[int]:
        """Stored versions, oldest first."""
        return self._versions_of(self.shelf.names())

    def newest_version(self) -> int:
        """The newest stored version, 0 when there is none."""
        versions = self.versions()
        return versions[-1] if versions else 0

    def quarantined(self) -> list[int]:
        """Versions moved to quarantine, oldest first."""
        return self._versions_of(self.shelf.quarantined_names())

    def quarantine(self, version: int, reason: str) -> None:
        """Move a snapshot that cannot be used to `quarantine/`, saying why in one log line."""
        name = self.name_of(version)
        try:
            moved_to = self.shelf.quarantine(name)
        except OSError as exc:
            log.warning("could not move the unusable snapshot %s to quarantine: %s",
                        self.shelf.describe(name), exc)
            return
        if moved_to is not None:  # else another process moved (or pruned) it first
            log.warning("snapshot %s cannot be used (%s); moved to %s", name, reason, moved_to)

    def load_newest(self, factory: Callable[[], Policy], *, newer_than: int = 0,
                    passed_over: Collection[int] = ()) -> tuple[Policy, Snapshot] | None:
        """A fresh policy loaded from the newest usable snapshot above ``newer_than``, or None.

        Each candidate is verified and loaded into a policy from ``factory`` before it is
        returned; a damaged one is quarantined and the next older one tried. One written by
        another kind of policy or with other settings is left where it is (the settings may
        come back) and passed over; so are the versions in ``passed_over``.
        """
        for version in reversed(self.versions()):
            if version <= newer_than:
                break
            if version in passed_over:
                continue
            policy = factory()
            try:
                return policy, self.load_into(policy, version)
            except DamagedSnapshotError as exc:
                self.quarantine(version, str(exc))
            except SnapshotError as exc:
                if version in self.versions():  # not merely pruned meanwhile
                    log.warning("passing over snapshot %d: %s", version, exc)
        return None

    def write(self, policy: Policy, learned: int = 0, last_event_id: str | None = None) -> Snapshot:
        """Store ``policy``'s state as the next version, set its ``model_version``, prune old ones."""
        if policy.name != self.policy_name:
            raise SnapshotError(
                f"policy {policy.name!r} cannot write into the snapshots of {self.policy_name!r}; "
                "open a SnapshotStore with the policy's name"
            )
        # Numbers are never reused, not even those of quarantined files: a server that
        # loaded one before it was moved away still takes the next snapshot for newer.
        version = max([self.newest_version(), *self.quarantined()]) + 1
        state = policy.state()
        header = {
            "policy": policy.name,
            "kind": policy.kind,
            "version": version,
            "settings": policy.settings(),
            "learned": int(learned),
            "last_event_id": last_event_id,
            "created": time.time(),
            "state_bytes": len(state),
            "sha256": hashlib.sha256(state).hexdigest(),
        }
        name = self.name_of(version)
        self.shelf.write(name, MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + state)
        policy.model_version = version
        self.prune()
        return _snapshot(header, state, self._path(name))

    def prune(self) -> list[int]:
        """Delete all but the newest ``keep`` snapshots; returns the deleted versions."""
        versions = self.versions()
        old = versions[: max(0, len(versions) - self.keep)]
        for version in old:
            self.shelf.remove(self.name_of(version))  # another process may have pruned it first
        return old

    def read(self, version: int | None = None) -> Snapshot:
        """Snapshot ``version``, or the newest readable one; raises SnapshotError if there is none."""
        if version is not None:
            return self._read_named(self.name_of(version))
        versions = self.versions()
        if not versions:
            raise SnapshotError(
                f"no snapshots of {self.policy_name!r} in {self.where}"
            )
        for v in reversed(versions):
            try:
                return self._read_named(self.name_of(v))
            except SnapshotError as exc:
                log.warning("skipping unreadable snapshot: %s", exc)
        raise SnapshotError(f"no readable snapshot of {self.policy_name!r} in {self.where}")

    def load_into(self, policy: Policy, version: int | None = None) -> Snapshot:
        """Restore ``policy`` from snapshot ``version`` (newest if None) after checking it fits."""
        snapshot = self.read(version)
        _restore(policy, snapshot, self._label(snapshot))
        return snapshot

    def _path(self, name: str) -> Path | None:
        """The file of a snapshot, when the shelf is a folder (None for any other shelf)."""
        return self.directory / name if isinstance(self.shelf, SnapshotFolder) else None

    def _label(self, snapshot: Snapshot) -> str:
        return self.shelf.describe(self.name_of(snapshot.version))

    def _read_named(self, name: str) -> Snapshot:
        path = self.shelf.describe(name)
        try:
            data = self.shelf.read(name)
        except FileNotFoundError:
            raise SnapshotError(f"{path}: no such snapshot (it may have been pruned)") from None
        return parse_snapshot(data, path, self._path(name))


def parse_snapshot(data: bytes, label: str, path: Path | None = None) -> Snapshot:
    """A snapshot from its stored bytes, its checksum verified; `label` names it in errors."""
    if not data.startswith(MAGIC):
        raise DamagedSnapshotError(f"{label}: not a snapshot file (bad header)")
    end = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC) : end])
        state = data[end + 1 :]
        if end < 0 or len(state) != header["state_bytes"]:
            raise ValueError("truncated")
        # Snapshots written before checksums were recorded have none to compare.
        if "sha256" in header and hashlib.sha256(state).hexdigest() != header["sha256"]:
            raise ValueError("its checksum does not match its model bytes")
        return _snapshot(header, state, path)
    except (ValueError, KeyError, TypeError) as exc:
        raise DamagedSnapshotError(
            f"{label}: damaged snapshot ({exc}); delete it or restore a backup") from None


def load_file(policy: Policy, path: Path | str) -> Snapshot:
    """Restore ``policy`` from one snapshot file (e.g. a model to evaluate offline) after checking it fits."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read the snapshot ({exc.strerror or exc})") from None
    snapshot = parse_snapshot(data, str(path), path)
    _restore(policy, snapshot, str(path))
    return snapshot


def _restore(policy: Policy, snapshot: Snapshot, label: str) -> None:
    """Load `snapshot` into `policy` after checking it fits (the same kind and settings)."""
    if snapshot.kind != policy.kind:
        raise SnapshotError(
            f"{label}: written by a {snapshot.kind!r} policy, cannot load into a {policy.kind!r} one"
        )
    if snapshot.settings != policy.settings():
        raise SnapshotError(
            f"{label}: written with settings {snapshot.settings}, but this policy has "
            f"{policy.settings()}; build the policy with the learner's settings"
        )
    try:
        policy.restore(snapshot.state, model_version=snapshot.version)
    except SnapshotError as exc:
        raise DamagedSnapshotError(str(exc)) from None


def _snapshot(header: dict[str, Any], state: bytes, path: Path | None) -> Snapshot:
    return Snapshot(
        policy=str(header["policy"]),
        kind=str(header["kind"]),
        version=int(header["version"]),
        settings=dict(header["settings"]),
        learned=int(header["learned"]),
        last_event_id=header.get("last_event_id"),
        created=float(header["created"]),
        state=state,
        path=path,
    )
