"""From the feedback kinds a decision received inside its reward window to one reward number."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from artwork.errors import InvalidRewardError
from artwork.records import REWARD_KINDS

# A play is what the product exists for; a click without one (clickbait) earns nothing.
DEFAULT_WEIGHTS = {**{kind: 0.0 for kind in REWARD_KINDS}, "play": 1.0}
# The feedback that says the user engaged with the artwork, whatever it earned: the policy
# learns the funnel of engagement, then reward given engagement (see bandit.vw_policy).
ENGAGEMENT_KIND = "click"


def engaged(kinds: Mapping[str, float | None]) -> bool:
    """Whether the feedback a decision received says the user engaged with the artwork."""
    return ENGAGEMENT_KIND in kinds


def _default_weights() -> dict[str, float]:
    return dict(DEFAULT_WEIGHTS)


@dataclass(frozen=True)
class RewardMapping:
    """Reward of a decision = the largest weight among the feedback kinds it received.

    The default rewards a play only, so a "clickbait" artwork that draws clicks but no plays
    earns nothing. With ``use_values`` a kind that arrived with a value counts weight × value
    (e.g. the share of the title watched). No feedback at all is reward 0.
    """

    weights: Mapping[str, float] = field(default_factory=_default_weights)
    use_values: bool = False

    def __post_init__(self) -> None:
        if not self.weights:
            raise InvalidRewardError("reward weights are empty; give at least one kind, e.g. {'play': 1.0}")
        for kind, weight in self.weights.items():
            if not isinstance(kind, str) or not kind:
                raise InvalidRewardError(f"feedback kind {kind!r} must be a non-empty string")
            if not isinstance(weight, (int, float)) or not math.isfinite(weight):
                raise InvalidRewardError(f"weight of {kind!r} is {weight!r}; use a finite number")
        object.__setattr__(self, "weights", {k: float(v) for k, v in self.weights.items()})

    def __call__(self, kinds: Mapping[str, float | None]) -> float:
        """The reward for the feedback ``{kind: value or None}`` received inside the reward window."""
        reward: float | None = None
        for kind, value in kinds.items():
            weight = self.weights.get(kind)
            if weight is None:
                raise InvalidRewardError(
                    f"feedback kind {kind!r} has no reward weight; known kinds: "
                    f"{', '.join(sorted(self.weights))}"
                )
            if self.use_values and value is not None:
                if not math.isfinite(float(value)):
                    raise InvalidRewardError(f"feedback {kind!r} has value {value!r}; send a finite number")
                weight *= float(value)
            reward = weight if reward is None else max(reward, weight)
        return 0.0 if reward is None else reward
