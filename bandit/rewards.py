"""The reward mapping: from the feedback kinds an impression earned to one number."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from bandit.errors import InvalidPolicyError

FEEDBACK_KINDS = ("impression", "click", "play")
DEFAULT_WEIGHTS = {"impression": 0.0, "click": 0.0, "play": 1.0}


@dataclass(frozen=True)
class RewardMapping:
    """Reward = the largest weight among the feedback kinds received (0 for none).

    The default rewards plays only, so a "clickbait" artwork that draws clicks but not
    plays earns nothing.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def __post_init__(self) -> None:
        for kind, w in self.weights.items():
            if kind not in FEEDBACK_KINDS:
                raise InvalidPolicyError(
                    f"reward for {kind!r}: feedback kinds are {', '.join(FEEDBACK_KINDS)}"
                )
            if not math.isfinite(w):
                raise InvalidPolicyError(f"reward for {kind!r} must be a finite number, not {w}")

    @classmethod
    def from_weights(cls, overrides: Mapping[str, float]) -> "RewardMapping":
        """The default mapping with some kinds' rewards replaced."""
        return cls({**DEFAULT_WEIGHTS, **overrides})

    def __call__(self, kinds: Mapping[str, float | None]) -> float:
        """The reward earned by an impression that received these feedback kinds."""
        return max((self.weights.get(k, 0.0) for k in kinds), default=0.0)
