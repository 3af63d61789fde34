"""The named policies a serving process holds: the champion that serves, challengers in shadow,
and the running experiment, whose arms serve the users hashed to them.

The lineup is read from the store's policies table (with no champion recorded, the
configured policy serves) and read again every few seconds, so a promotion or a new
challenger reaches every process without a restart. Each policy is held by a part that
keeps it current: a learner loop in a process that learns, a snapshot reloader in a worker.
Every part learns from (or reloads what was learned from) every logged decision.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable, Protocol

from artwork.errors import AlreadyExistsError
from artwork.experiments import Experiment
from artwork.policies import CHAMPION, SHADOW, NamedPolicy, check_policy_name
from artwork.store import Store
from bandit.policy import Policy
from bandit.specs import parse_policy_spec

log = logging.getLogger(__name__)


class PolicyPart(Protocol):
    """What holds one named policy and keeps it current (a LearnLoop, a ServingModel)."""

    @property
    def policy(self) -> Policy: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Member:
    """A policy of the lineup: its name and spec."""

    name: str
    spec: str


def configured_champion(policy_spec: str) -> Member:
    """The configured serving policy as a member, named as its snapshots are."""
    return Member(parse_policy_spec(policy_spec).policy_name, policy_spec)


def wanted(store: Store, policy_spec: str) -> tuple[Member, tuple[Member, ...]]:
    """(champion, shadow challengers) as recorded, the configured policy when none is champion."""
    rows = store.policies.list()
    recorded = next((r for r in rows if r.role == CHAMPION), None)
    champion = (Member(recorded.name, recorded.spec) if recorded is not None
                else configured_champion(policy_spec))
    shadows = tuple(Member(r.name, r.spec) for r in rows
                    if r.role == SHADOW and r.name != champion.name)
    return champion, shadows


def add_policy(store: Store, name: str, spec: str,
               build: Callable[[str, str], Policy], policy_spec: str) -> NamedPolicy:
    """Record a challenger in shadow once its spec builds (`build(spec, name)` raises if not)."""
    check_policy_name(name)
    if name == configured_champion(policy_spec).name:
        raise AlreadyExistsError(
            f"{name!r} is the name of the configured policy; pick another name")
    close = getattr(build(spec, name), "close", None)
    if close is not None:  # only built to check the spec: release its workspace now
        close()
    return store.policies.add(name, spec, SHADOW)


def lineup_rows(store: Store, policy_spec: str) -> list[dict[str, object]]:
    """Every policy of the lineup as plain values, the champion first (the configured one if
    none is recorded)."""
    rows = [dict(r.as_dict(), recorded=True) for r in store.policies.list()]
    if not any(r["role"] == CHAMPION for r in rows):
        configured = configured_champion(policy_spec)
        rows.insert(0, {"name": configured.name, "spec": configured.spec, "role": CHAMPION,
                        "created": None, "updated": None, "recorded": False})
    return rows


class Lineup:
    """The champion and the shadow challengers this process serves with, kept current."""

    def __init__(self, store: Store, policy_spec: str,
                 make_part: Callable[[Member], PolicyPart]) -> None:
        self.store = store
        self.policy_spec = policy_spec
        self._make_part = make_part
        self._parts: dict[str, PolicyPart] = {}
        self._champion: PolicyPart | None = None
        self._shadows: tuple[PolicyPart, ...] = ()
        self.experiment: Experiment | None = None
        self._failing: str | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._lock = threading.Lock()
        self.refresh()

    @property
    def champion_name(self) -> str:
        """The name of the policy serving now."""
        return self.champion().name

    def champion(self) -> Policy:
        """The policy that serves now."""
        return self._champion.policy  # type: ignore[union-attr]

    def serving(self, user_id: str) -> Policy:
        """The policy that serves this user: the arm of a running experiment, else the champion."""
        experiment = self.experiment
        if experiment is not None:
            part = self._parts.get(experiment.arm_for(user_id))
            if part is not None:
                return part.policy
        return self._champion.policy  # type: ignore[union-attr]

    def shadows(self) -> tuple[Policy, ...]:
        """The challengers that give their pmf beside every served decision."""
        return tuple(p.policy for p in self._shadows)

    def part(self, name: str) -> PolicyPart:
        """The part holding the named policy (KeyError when this process holds none)."""
        return self._parts[name]

    def refresh(self) -> bool:
        """Read the lineup again; True when the champion changed. New members get a part."""
        champion, shadows = wanted(self.store, self.policy_spec)
        experiment = self.store.experiments.running()
        with self._lock:
            for member in (champion, *shadows):
                if member.name not in self._parts:
                    self._parts[member.name] = self._make_part(member)
            before = self._champion
            self._champion = self._parts[champion.name]
            self._shadows = tuple(self._parts[m.name] for m in shadows)
            self.experiment = experiment
        changed = before is not None and before is not self._champion
        if changed:
            log.info("champion is now %s", champion.name)
        return changed

    def watch(self, interval: float) -> None:
        """Refresh every `interval` seconds in a background thread."""
        self._watcher = threading.Thread(target=self._watch, args=(interval,), daemon=True,
                                         name="policy-lineup")
        self._watcher.start()

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.refresh()
                self._failing = None
            except Exception as exc:  # keep serving the lineup held; say why once
                message = f"{type(exc).__name__}: {exc}"
                if message != self._failing:
                    log.warning("could not refresh the policy lineup, keeping the one held: %s",
                                message)
                self._failing = message

    def stop(self) -> None:
        """Stop the watcher and every part."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        for part in self._parts.values():
            part.stop()
