"""The policy contract shared by Vowpal Wabbit and the baselines."""
from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Collection, Sequence

import numpy as np

from bandit.errors import InvalidCandidatesError, InvalidPolicyError, InvalidRewardError
from bandit.exploration import apply_floor, check_candidates, check_floor, sample_index
from bandit.ids import new_event_id
from bandit.new_art import FairExposure, apply_minimums
from bandit.types import Action, Context, Decision


class Policy(ABC):
    """Chooses one action per context with a full pmf, and learns from the reward it earned.

    Subclasses give the raw pmf (``_pmf``) and the update (``_learn``); this base checks the
    candidates, applies the probability floor, samples with the seeded generator, makes the
    event id and holds a lock, so one policy object can serve many threads.
    """

    kind: ClassVar[str]

    def __init__(self, *, name: str, floor: float, seed: int | np.random.Generator | None) -> None:
        if not name or not isinstance(name, str) or any(c in name for c in "/\\ \n"):
            raise InvalidPolicyError(
                f"policy name {name!r} must be a non-empty word without spaces or slashes "
                "(it names snapshot files)"
            )
        self.name = name
        self.floor = check_floor(floor)
        self.model_version = 0
        # Set by whoever serves: the share new artworks named in `decide` are guaranteed.
        self.exposure: FairExposure | None = None
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        # The candidates last checked: a title's candidates come back as the same tuple
        # request after request, and are checked once.
        self._checked: tuple[Action, ...] | None = None

    def decide(
        self, context: Context, actions: Sequence[Action], event_id: str | None = None,
        new_artworks: Collection[str] = (),
    ) -> Decision:
        """Choose one of ``actions`` for ``context``; the Decision carries the pmf and its event id.

        Candidates named in ``new_artworks`` get at least the share of `exposure` (if set).
        """
        actions = self._check(actions)
        with self._lock:
            pmf = self._served_pmf(context, actions, new_artworks)
            chosen = sample_index(pmf, self._rng)
            version = self.model_version
        return Decision(
            event_id=event_id or new_event_id(),
            action_ids=tuple(a.id for a in actions),
            pmf=pmf,
            chosen=chosen,
            policy=self.name,
            model_version=version,
        )

    def learn(
        self, context: Context, actions: Sequence[Action], decision: Decision, reward: float,
        engaged: bool | None = None,
    ) -> None:
        """Update from the reward that ``decision`` (made over ``actions``) earned.

        ``engaged`` says whether the user engaged with the artwork (clicked it) when that is
        known; a policy that learns the funnel of engagement and reward uses it.
        """
        actions = check_candidates(actions)
        ids = tuple(a.id for a in actions)
        if ids != tuple(decision.action_ids):
            raise InvalidCandidatesError(
                f"decision {decision.event_id} was made over {list(decision.action_ids)} but learn "
                f"got {list(ids)}; pass the same candidates in the same order"
            )
        if not 0 <= decision.chosen < len(ids):
            raise InvalidCandidatesError(
                f"decision {decision.event_id} chose index {decision.chosen} of {len(ids)} candidates"
            )
        probability = decision.probability
        if not (0.0 < probability <= 1.0):
            raise InvalidCandidatesError(
                f"decision {decision.event_id} logged probability {probability}; "
                "a logged choice must have a probability in (0, 1]"
            )
        try:
            value = float(reward)
        except (TypeError, ValueError):
            raise InvalidRewardError(f"reward {reward!r} is not a number") from None
        if not math.isfinite(value):
            raise InvalidRewardError(f"reward {reward!r} is not a finite number")
        with self._lock:
            self._learn(context, actions, decision, value, engaged)

    def pmf(self, context: Context, actions: Sequence[Action],
            new_artworks: Collection[str] = ()) -> tuple[float, ...]:
        """The pmf the policy would sample from now (no sampling, no event)."""
        actions = self._check(actions)
        with self._lock:
            return self._served_pmf(context, actions, new_artworks)

    def _check(self, actions: Sequence[Action]) -> tuple[Action, ...]:
        """The candidates as a checked tuple (see check_candidates), once per tuple in a row."""
        if actions is self._checked:
            return actions  # type: ignore[return-value]
        checked = check_candidates(actions)
        self._checked = checked
        return checked

    def _served_pmf(self, context: Context, actions: tuple[Action, ...],
                    new_artworks: Collection[str]) -> tuple[float, ...]:
        """The raw pmf under the floor, then with new artworks lifted to their share."""
        floor = self._floor(context)
        pmf = apply_floor(self._pmf(context, actions), floor)
        exposure = self.exposure
        if new_artworks and exposure is not None and exposure.enabled:
            boosted = [a.id in new_artworks for a in actions]
            if any(boosted):
                pmf = apply_minimums(pmf, exposure.minimums(floor, boosted))
        return pmf

    def state(self) -> bytes:
        """The learned state as bytes (what a snapshot stores)."""
        with self._lock:
            return self._state()

    def restore(self, data: bytes, model_version: int = 0) -> None:
        """Replace the learned state with ``data`` from `state`, and take ``model_version``."""
        with self._lock:
            self._restore(bytes(data))
            self.model_version = int(model_version)

    def _floor(self, context: Context) -> float:
        """The probability floor for this context (the policy's floor unless it adapts)."""
        return self.floor

    @property
    def floor_min(self) -> float:
        """The lowest probability any candidate can get: the floor, or where an adaptive one stops."""
        return self.floor

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """The settings that must match for a snapshot to be loaded into this policy."""

    @abstractmethod
    def _pmf(self, context: Context, actions: tuple[Action, ...]) -> Sequence[float]:
        """Raw (unfloored) action probabilities; called under the lock."""

    @abstractmethod
    def _learn(
        self, context: Context, actions: tuple[Action, ...], decision: Decision, reward: float,
        engaged: bool | None,
    ) -> None:
        """Apply one update; called under the lock."""

    @abstractmethod
    def _state(self) -> bytes:
        """Serialize the learned state; called under the lock."""

    @abstractmethod
    def _restore(self, data: bytes) -> None:
        """Load a serialized state; called under the lock."""
