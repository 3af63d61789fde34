"""Serving from snapshots: the newest model answers, a newer one is swapped in without blocking."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Sequence

from bandit.errors import SnapshotError
from bandit.policy import Policy
from bandit.snapshots import SnapshotStore
from bandit.types import Action, Context, Decision

log = logging.getLogger(__name__)

# Seconds a replaced policy is kept before it is released: far longer than any decision.
RETIRE_AFTER = 30.0


class ServingModel:
    """Holds the policy built from the newest snapshot and hot-reloads newer ones.

    A reload builds a fresh policy with ``factory`` and loads the snapshot into it away from
    the serving path, then swaps one reference: decisions in flight finish on the old policy,
    the next ones use the new. Each policy guards its own Vowpal Wabbit workspace with a lock.
    Before any snapshot exists, the fresh policy from ``factory`` answers (cold start), and so
    it does when no stored snapshot can be used: serving never stops for a model, and
    `unusable` says why it explores untrained.
    """

    def __init__(self, snapshots: SnapshotStore, factory: Callable[[], Policy]) -> None:
        self.snapshots = snapshots
        self._factory = factory
        self._policy = factory()
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._passed_over: set[int] = set()  # versions of other settings, not tried again
        self._retired: list[tuple[float, Policy]] = []  # replaced policies, closed after a while
        # Why no snapshot serves although some were stored; None otherwise.
        self.unusable: str | None = None
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
        """Load the newest usable snapshot if it is newer than the one serving; True when swapped.

        Damaged snapshots are quarantined on the way (see `SnapshotStore.load_newest`).
        """
        with self._reload_lock:
            current = self._policy.model_version
            newest = self.snapshots.newest_version()
            if newest <= current or newest in self._passed_over:
                return False
            loaded = self.snapshots.load_newest(self._factory, newer_than=current,
                                                passed_over=self._passed_over)
            if loaded is None:
                self._passed_over.update(v for v in self.snapshots.versions() if v > current)
                if current == 0:
                    name = self.snapshots.policy_name
                    self.unusable = f"none of the stored snapshots of {name!r} could be loaded"
                    log.warning("%s; serving the untrained policy, which explores", self.unusable)
                return False
            policy, snapshot = loaded
            self._retire(self._policy)
            self._policy, self.unusable = policy, None
            log.info("serving %s snapshot %d", policy.name, snapshot.version)
            return True

    def _retire(self, old: Policy) -> None:
        """Close the policies replaced more than RETIRE_AFTER seconds ago, and keep `old` for later.

        A request that took the old policy just before the swap may still be deciding with
        it, so it is released (its Vowpal Wabbit workspace and kept examples) only once no
        request can hold it any more; dropping it unreleased would leak their memory.
        """
        now = time.monotonic()
        keep = []
        for since, policy in self._retired:
            if now - since < RETIRE_AFTER:
                keep.append((since, policy))
            else:
                _close(policy)
        self._retired = keep + [(now, old)]

    def watch(self, interval: float = 5.0) -> None:
        """Check for newer snapshots every ``interval`` seconds in a background thread."""
        if self._watcher is not None:
            return
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, args=(interval,), daemon=True, name="snapshot-watch")
        self._watcher.start()

    def stop(self) -> None:
        """Stop the background watcher (if any) and wait for it; release replaced policies."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        for _, policy in self._retired:
            _close(policy)
        self._retired = []

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.reload()
            except SnapshotError as exc:
                log.warning("snapshot reload failed, still serving version %d: %s", self.model_version, exc)


def _close(policy: Policy) -> None:
    """Release what a policy holds outside Python (a Vowpal Wabbit workspace), if anything."""
    close = getattr(policy, "close", None)
    if close is not None:
        close()
