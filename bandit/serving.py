"""Serving from snapshots: the newest model answers, a newer one is swapped in without blocking."""
from __future__ import annotations

import logging
import threading
from typing import Callable, Sequence

from bandit.errors import SnapshotError
from bandit.policy import Policy
from bandit.snapshots import SnapshotStore
from bandit.types import Action, Context, Decision

log = logging.getLogger(__name__)


class ServingModel:
    """Holds the policy built from the newest snapshot and hot-reloads newer ones.

    A reload builds a fresh policy with ``factory`` and loads the snapshot into it away from
    the serving path, then swaps one reference: decisions in flight finish on the old policy,
    the next ones use the new. Each policy guards its own Vowpal Wabbit workspace with a lock.
    Before any snapshot exists, the fresh policy from ``factory`` answers (cold start).
    """

    def __init__(self, snapshots: SnapshotStore, factory: Callable[[], Policy]) -> None:
        self.snapshots = snapshots
        self._factory = factory
        self._policy = factory()
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.reload()

    @property
    def policy(self) -> Policy:
        """The policy serving now."""
        return self._policy

    @property
    def model_version(self) -> int:
        """The snapshot version serving now (0 before the first snapshot)."""
        return self._policy.model_version

    def decide(self, context: Context, actions: Sequence[Action], event_id: str | None = None) -> Decision:
        """Decide with the current policy."""
        return self._policy.decide(context, actions, event_id)

    def reload(self) -> bool:
        """Load the newest snapshot if it is newer than the one serving; True when swapped."""
        with self._reload_lock:
            current = self._policy.model_version
            if self.snapshots.newest_version() <= current:
                return False
            policy = self._factory()
            snapshot = self.snapshots.load_into(policy)
            if snapshot.version <= current:
                return False
            self._policy = policy
            log.info("serving %s snapshot %d", policy.name, snapshot.version)
            return True

    def watch(self, interval: float = 5.0) -> None:
        """Check for newer snapshots every ``interval`` seconds in a background thread."""
        if self._watcher is not None:
            return
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, args=(interval,), daemon=True, name="snapshot-watch")
        self._watcher.start()

    def stop(self) -> None:
        """Stop the background watcher (if any) and wait for it."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.reload()
            except SnapshotError as exc:
                log.warning("snapshot reload failed, still serving version %d: %s", self.model_version, exc)
