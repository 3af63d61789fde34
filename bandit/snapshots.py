"""Versioned model snapshots on disk: atomic writes with a checksum, keep the last N, load the newest.

A snapshot is verified (its checksum) and loaded into a fresh policy before it is used; one
that fails either is moved to `quarantine/` beside the others, with one log line, and the
next older one is tried.
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
from typing import Any, Callable, Collection

from bandit.errors import InvalidPolicyError, SnapshotError
from bandit.policy import Policy

log = logging.getLogger(__name__)

MAGIC = b"ARTBANDIT-SNAPSHOT 1\n"
SUFFIX = ".snapshot"
QUARANTINE = "quarantine"


class DamagedSnapshotError(SnapshotError):
    """A snapshot that is not what was written (header, length, checksum) or whose model does not load."""


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
    """The snapshots of one named policy in a directory, as ``<name>-<version>.snapshot`` files.

    Writes go to a temporary file that is renamed into place, so a reader never sees half a
    snapshot; one learner process writes, any number of serving processes read.
    """

    def __init__(self, directory: Path | str, policy_name: str, keep: int = 5) -> None:
        if int(keep) < 1:
            raise InvalidPolicyError(f"keep {keep!r} must be at least 1 (the newest snapshot is always kept)")
        if not policy_name or not re.fullmatch(r"[A-Za-z0-9_.\-]+", policy_name):
            raise InvalidPolicyError(
                f"policy name {policy_name!r} cannot name snapshot files; use letters, digits, '.', '_' or '-'"
            )
        self.directory = Path(directory)
        self.policy_name = policy_name
        self.keep = int(keep)
        self._pattern = re.compile(re.escape(policy_name) + r"-(\d{8,})" + re.escape(SUFFIX))

    def path_of(self, version: int) -> Path:
        """The file of snapshot ``version``."""
        return self.directory / f"{self.policy_name}-{version:08d}{SUFFIX}"

    def versions(self) -> list[int]:
        """Stored versions, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for entry in os.scandir(self.directory):
            match = self._pattern.fullmatch(entry.name)
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    def newest_version(self) -> int:
        """The newest stored version, 0 when there is none."""
        versions = self.versions()
        return versions[-1] if versions else 0

    def quarantined(self) -> list[int]:
        """Versions moved to quarantine, oldest first."""
        folder = self.directory / QUARANTINE
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for e in os.scandir(folder)
                      if (m := self._pattern.fullmatch(e.name)))

    def quarantine(self, version: int, reason: str) -> None:
        """Move a snapshot that cannot be used to `quarantine/`, saying why in one log line."""
        path = self.path_of(version)
        target = self.directory / QUARANTINE / path.name
        try:
            target.parent.mkdir(exist_ok=True)
            os.replace(path, target)
        except FileNotFoundError:
            return  # another process moved (or pruned) it first
        except OSError as exc:
            log.warning("could not move the unusable snapshot %s to quarantine: %s", path, exc)
            return
        log.warning("snapshot %s cannot be used (%s); moved to %s", path.name, reason, target.parent)

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
                if self.path_of(version).exists():  # not merely pruned meanwhile
                    log.warning("passing over snapshot %d: %s", version, exc)
        return None

    def write(self, policy: Policy, learned: int = 0, last_event_id: str | None = None) -> Snapshot:
        """Store ``policy``'s state as the next version, set its ``model_version``, prune old ones."""
        if policy.name != self.policy_name:
            raise SnapshotError(
                f"policy {policy.name!r} cannot write into the snapshots of {self.policy_name!r}; "
                "open a SnapshotStore with the policy's name"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
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
        final = self.path_of(version)
        tmp = self.directory / f".{final.name}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(MAGIC)
                f.write(json.dumps(header, sort_keys=True).encode() + b"\n")
                f.write(state)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        policy.model_version = version
        self.prune()
        return _snapshot(header, state, final)

    def prune(self) -> list[int]:
        """Delete all but the newest ``keep`` snapshots; returns the deleted versions."""
        versions = self.versions()
        old = versions[: max(0, len(versions) - self.keep)]
        for version in old:
            try:
                self.path_of(version).unlink()
            except FileNotFoundError:
                pass  # another process pruned it first
        return old

    def read(self, version: int | None = None) -> Snapshot:
        """Snapshot ``version``, or the newest readable one; raises SnapshotError if there is none."""
        if version is not None:
            return self._read_file(self.path_of(version))
        versions = self.versions()
        if not versions:
            raise SnapshotError(
                f"no snapshots of {self.policy_name!r} in {self.directory}"
            )
        for v in reversed(versions):
            try:
                return self._read_file(self.path_of(v))
            except SnapshotError as exc:
                log.warning("skipping unreadable snapshot: %s", exc)
        raise SnapshotError(f"no readable snapshot of {self.policy_name!r} in {self.directory}")

    def load_into(self, policy: Policy, version: int | None = None) -> Snapshot:
        """Restore ``policy`` from snapshot ``version`` (newest if None) after checking it fits."""
        snapshot = self.read(version)
        if snapshot.kind != policy.kind:
            raise SnapshotError(
                f"{snapshot.path}: written by a {snapshot.kind!r} policy, cannot load into a {policy.kind!r} one"
            )
        if snapshot.settings != policy.settings():
            raise SnapshotError(
                f"{snapshot.path}: written with settings {snapshot.settings}, but this policy has "
                f"{policy.settings()}; build the policy with the learner's settings"
            )
        try:
            policy.restore(snapshot.state, model_version=snapshot.version)
        except SnapshotError as exc:
            raise DamagedSnapshotError(str(exc)) from None
        return snapshot

    def _read_file(self, path: Path) -> Snapshot:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SnapshotError(f"{path}: no such snapshot (it may have been pruned)") from None
        if not data.startswith(MAGIC):
            raise DamagedSnapshotError(f"{path}: not a snapshot file (bad header)")
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
                f"{path}: damaged snapshot ({exc}); delete it or restore a backup") from None


def _snapshot(header: dict[str, Any], state: bytes, path: Path) -> Snapshot:
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
