"""The learner: tail the reward-window join, feed the bandit learner, publish snapshots."""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from artwork.errors import CatalogError, InvalidRewardError, NotFoundError
from artwork.records import LearningPair
from artwork.reward_mapping import engaged
from artwork.status_table import StatusTable
from artwork.store import RewardFn, Store
from bandit.errors import BanditError
from bandit.learner import Learner, LearningItem
from bandit.policy import Policy
from bandit.snapshots import SnapshotStore
from bandit.types import Action
from simulator.adapter import action_from_description, from_logged

from api.errors import LearnerBusyError
from api.runtime.actions import catalog_actions
from api.runtime.locks import hold_lock
from api.runtime.stores import snapshot_shelf

log = logging.getLogger(__name__)

# The learner's report of how far it is, read by the serving processes' /readyz and /metrics.
STATUS_SUFFIX = ".learner.json"


@dataclass(frozen=True)
class LearnerStatus:
    """What the learner last reported: how far it has learned, and its last error."""

    pid: int
    updated: float
    learned: int
    model_version: int
    cursor_time: float | None  # timestamp of the last decision learned (or passed over)
    cursor_event: str | None
    errors: int = 0
    last_error: str | None = None
    last_error_time: float | None = None


def status_path(folder: Path, policy_name: str) -> Path:
    """Where the learner of `policy_name` reports its status."""
    return folder / f"{policy_name}{STATUS_SUFFIX}"


def read_status(folder: Path, policy_name: str, store: Store | None = None) -> LearnerStatus | None:
    """The learner's last report, or None if no learner has reported (or it is unreadable).

    With a `store` on a database several hosts share, the report is read from the database
    (the learner may run on another host); otherwise from the file in `folder`.
    """
    try:
        if store is not None and store.db.SHARED:
            text = StatusTable(store.db).get(policy_name)
            if text is None:
                return None
        else:
            text = status_path(folder, policy_name).read_text()
        return LearnerStatus(**json.loads(text))
    except (OSError, ValueError, TypeError):
        return None


class LoggedActions:
    """The candidate actions of logged decisions, rebuilt from the descriptions logged with them.

    Descriptions are read from the store once each and kept; a decision logged before
    descriptions were recorded falls back to the catalog's artworks as they are now.
    """

    def __init__(self, store: Store, embed_dim: int) -> None:
        self.store, self.embed_dim = store, embed_dim
        self._known: dict[str, Action] = {}

    def learning_item(self, pair: LearningPair) -> LearningItem:
        """What the policy saw for this logged decision, with the reward it earned."""
        d = pair.decision
        missing = [k for k in d.action_keys if k not in self._known]
        if missing:
            for key, text in self.store.action_descriptions(missing).items():
                self._known[key] = action_from_description(text)
        fallback = None
        if not d.action_keys or any(k not in self._known for k in d.action_keys):
            fallback = catalog_actions(self.store, d.candidates, self.embed_dim)
        context, actions, decision = from_logged(d, self._known, fallback)
        return LearningItem(context, actions, decision, pair.reward, engaged(pair.kinds))


class LearnLoop:
    """Every `interval` seconds, learn from the decisions whose reward window has closed.

    On start it resumes from the newest snapshot: the snapshot records the last event it
    learned, and the join continues after that event, so a restart neither loses nor
    repeats anything.
    """

    def __init__(
        self, store: Store, policy: Policy, folder: Path, *, window: float, reward_of: RewardFn,
        embed_dim: int = 8, interval: float = 1.0, snapshot_every: int = 500, keep: int = 5,
    ) -> None:
        self.store, self.policy, self.folder = store, policy, folder
        self.actions = LoggedActions(store, embed_dim)
        self.window, self.reward_of, self.interval = window, reward_of, interval
        self.snapshots = SnapshotStore(folder, policy.name, keep=keep, shelf=snapshot_shelf(store))
        self._lock = _hold_learner_lock(store, folder, policy.name)
        self.learner = Learner(policy, self.snapshots, snapshot_every=snapshot_every)
        self.cursor = self._cursor_after(self.learner.last_event_id)
        self.skipped = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_error_time: float | None = None
        self._report_failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def learned(self) -> int:
        """Decisions learned so far, across restarts."""
        return self.learner.learned

    def _cursor_after(self, event_id: str | None) -> tuple[float, str] | None:
        if event_id is None:
            return None
        try:
            return (self.store.get_decision(event_id).timestamp, event_id)
        except NotFoundError:
            log.warning("snapshot's last event %s is not in the log; learning from the start",
                        event_id)
            return None

    def step(self) -> int:
        """Learn everything that is ready; a snapshot follows if anything was learned.

        A decision that cannot be learned (its reward or features are refused) is logged and
        passed over, so one bad record never stalls learning.
        """
        learned = 0
        for pair in self.store.learning_pairs(self.window, self._reward, after=self.cursor):
            try:
                if math.isnan(pair.reward):
                    raise InvalidRewardError(f"no reward for feedback {dict(pair.kinds)}")
                self.learner.learn(self.actions.learning_item(pair))
                learned += 1
            except (BanditError, CatalogError) as exc:
                self.skipped += 1
                log.warning("passing over decision %s: %s", pair.decision.event_id, exc)
            self.cursor = (pair.decision.timestamp, pair.decision.event_id)
        if self.learner.pending:
            self.learner.snapshot()
        return learned

    def _reward(self, kinds) -> float:
        # The join cannot go on past an exception, so a refused reward becomes NaN here and
        # the decision is passed over in step().
        try:
            return self.reward_of(kinds)
        except InvalidRewardError:
            return math.nan

    def run(self, stop: threading.Event, max_rounds: int | None = None) -> None:
        """Step until `stop` is set (or `max_rounds` steps have run), reporting after each step."""
        rounds = 0
        while not stop.is_set():
            if not self.holds_lock():
                log.warning("this learner lost its one-learner lock (its database session ended); "
                            "it stops, so that the learner taking over is the only one")
                return
            try:
                learned = self.step()
                if learned:
                    log.info("learned %d decisions; model version %d", learned,
                             self.policy.model_version)
            except Exception as exc:  # keep trying; the log says why, once per new error
                self._failed(exc)
            self.report()
            rounds += 1
            if max_rounds is not None and rounds >= max_rounds:
                return
            stop.wait(self.interval)

    def _failed(self, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if message != self.last_error:
            log.error("learning step failed (and fails again until this changes): %s", message,
                      exc_info=not isinstance(exc, (CatalogError, BanditError)))
        self.errors += 1
        self.last_error, self.last_error_time = message, time.time()

    def report(self) -> None:
        """Write this learner's status for the serving processes (atomically; a failure is logged)."""
        status = LearnerStatus(
            os.getpid(), time.time(), self.learned, self.policy.model_version,
            None if self.cursor is None else self.cursor[0],
            None if self.cursor is None else self.cursor[1],
            self.errors, self.last_error, self.last_error_time)
        path = status_path(self.folder, self.policy.name)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        text, where = json.dumps(asdict(status)), str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)  # none yet when snapshots are in the database
            tmp.write_text(text)
            os.replace(tmp, path)
            if self.store.db.SHARED:  # the other hosts read it from the database
                where = f"in the database {self.store.db.path}"
                StatusTable(self.store.db).put(self.policy.name, text)
            self._report_failing = False
        except (OSError, *self.store.db.errors) as exc:
            tmp.unlink(missing_ok=True)
            if not self._report_failing:  # said once, until it works again
                log.warning("could not write the learner status %s: %s", where, exc)
            self._report_failing = True

    def start(self) -> None:
        """Run in a background thread."""
        self._thread = threading.Thread(target=self.run, args=(self._stop,), daemon=True,
                                        name="learner")
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread, wait for it, and let another learner take over."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def holds_lock(self) -> bool:
        """Whether this learner still holds the one-learner lock (a database's can be lost)."""
        return self._lock is not None and self._lock.held()


class _FileLock:
    """The one-learner lock of a data directory: a locked file, released when closed."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def held(self) -> bool:
        """A flock is held for as long as this process keeps the descriptor."""
        return True

    def release(self) -> None:
        """Close the descriptor, which releases the flock."""
        os.close(self._fd)


def _hold_learner_lock(store: Store, folder: Path, policy_name: str):
    """Take the one-learner-per-policy lock, or fail saying who holds it.

    On a database several hosts share, the lock is the database's (one learner in the whole
    deployment); otherwise a file in the data directory's models folder.
    """
    if store.db.SHARED:
        lock = store.db.try_lock(f"learner:{policy_name}")
        if lock is None:
            raise LearnerBusyError(f"a learner for policy {policy_name!r} is already running "
                                   f"on the database {store.db.path}")
        return lock
    return _FileLock(hold_lock(folder / f"{policy_name}.learner.lock", lambda holder: LearnerBusyError(
        f"a learner for policy {policy_name!r} is already running in {folder} (pid {holder})")))
