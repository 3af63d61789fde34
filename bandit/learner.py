"""The online learner: consume (context, actions, decision, reward) items, publish snapshots."""
from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Iterable, Iterator, Sequence

from bandit.errors import InvalidPolicyError, InvalidRecordError
from bandit.policy import Policy
from bandit.snapshots import DamagedSnapshotError, Snapshot, SnapshotStore
from bandit.types import Action, Context, Decision

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearningItem:
    """A decision joined with the reward it earned: what the learner consumes."""

    context: Context
    actions: tuple[Action, ...]
    decision: Decision
    reward: float
    engaged: bool | None = None  # whether the user engaged (clicked), when known

    def __iter__(self) -> Iterator[object]:
        return iter(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class LearnerStats:
    """What one `Learner.run` did."""

    learned: int
    total_learned: int
    snapshots: int
    model_version: int


class Learner:
    """Updates a policy online and writes a snapshot every ``snapshot_every`` items.

    With ``resume`` (the default) it first loads the newest snapshot, so a restarted learner
    goes on from there; ``learned`` then counts every item learned across restarts, so a
    caller replaying a fixed stream skips that many items (see `remaining`).
    """

    def __init__(
        self,
        policy: Policy,
        snapshots: SnapshotStore | None = None,
        *,
        snapshot_every: int = 1000,
        resume: bool = True,
    ) -> None:
        if int(snapshot_every) < 1:
            raise InvalidPolicyError(f"snapshot_every {snapshot_every!r} must be at least 1")
        self.policy = policy
        self.snapshots = snapshots
        self.snapshot_every = int(snapshot_every)
        self.learned = 0
        self.last_event_id: str | None = None
        self._since_snapshot = 0
        self.snapshots_written = 0
        self.resumed_from: Snapshot | None = None
        if resume and snapshots is not None and snapshots.versions():
            snap = self._resume(snapshots)
            if snap is not None:
                self.learned, self.last_event_id = snap.learned, snap.last_event_id
                self.resumed_from = snap
                log.info("resumed %s from snapshot %d (%d items learned)", policy.name,
                         snap.version, snap.learned)

    def _resume(self, snapshots: SnapshotStore) -> Snapshot | None:
        """Load the newest snapshot that is sound, quarantining damaged ones on the way.

        A snapshot of other settings still refuses the start (SnapshotError): learning on
        from nothing would throw away a model that the configuration could load.
        """
        for version in reversed(snapshots.versions()):
            try:
                return snapshots.load_into(self.policy, version)
            except DamagedSnapshotError as exc:
                snapshots.quarantine(version, str(exc))
        log.warning("no sound snapshot of %s to resume from; learning from the start of the log",
                    self.policy.name)
        return None

    def learn(self, item: LearningItem | Sequence[object]) -> None:
        """Learn one (context, actions, decision, reward[, engaged]) item; snapshot when one is due."""
        try:
            context, actions, decision, reward, *rest = item
            (engaged,) = rest or (None,)
        except (TypeError, ValueError):
            raise InvalidRecordError(
                f"learning item {item!r} is not (context, actions, decision, reward[, engaged]); "
                "build a LearningItem"
            ) from None
        self.policy.learn(context, actions, decision, reward, engaged)  # type: ignore[arg-type]
        self.learned += 1
        self.last_event_id = decision.event_id  # type: ignore[attr-defined]
        self._since_snapshot += 1
        if self.snapshots is not None and self._since_snapshot >= self.snapshot_every:
            self.snapshot()

    def run(self, items: Iterable[LearningItem | Sequence[object]]) -> LearnerStats:
        """Learn every item, then write a final snapshot if anything is unsaved."""
        learned = 0
        written = self.snapshots_written
        for item in items:
            self.learn(item)
            learned += 1
        if self.snapshots is not None and self._since_snapshot:
            self.snapshot()
        return LearnerStats(learned, self.learned, self.snapshots_written - written, self.policy.model_version)

    def remaining(self, items: Iterable[LearningItem]) -> Iterator[LearningItem]:
        """``items`` without the first ``learned`` ones: for replaying a fixed stream after a restart."""
        for i, item in enumerate(items):
            if i >= self.learned:
                yield item

    @property
    def pending(self) -> int:
        """Items learned since the last snapshot."""
        return self._since_snapshot

    def snapshot(self) -> Snapshot:
        """Write the policy's state now as a new version."""
        if self.snapshots is None:
            raise InvalidPolicyError("this learner has no SnapshotStore; pass snapshots=SnapshotStore(...)")
        snap = self.snapshots.write(self.policy, learned=self.learned, last_event_id=self.last_event_id)
        self._since_snapshot = 0
        self.snapshots_written += 1
        return snap
