"""Exploration helpers: candidate checks, the probability floor and seeded sampling."""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate
from typing import Sequence

import numpy as np

from bandit.errors import InvalidCandidatesError, InvalidPolicyError
from bandit.types import Action

# Every candidate keeps at least this probability unless a policy is told otherwise.
DEFAULT_FLOOR = 0.01


def check_candidates(actions: Sequence[Action]) -> tuple[Action, ...]:
    """The candidates as a tuple; raises InvalidCandidatesError if empty, duplicated or not Actions."""
    actions = tuple(actions)
    if not actions:
        raise InvalidCandidatesError(
            "no candidate artworks; pass at least one live artwork for the title"
        )
    ids = []
    for action in actions:
        if not isinstance(action, Action):
            raise InvalidCandidatesError(
                f"candidate {action!r} is a {type(action).__name__}, not a bandit Action; "
                "build Action(id=..., features=...) for each artwork"
            )
        ids.append(action.id)
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        twice = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
        raise InvalidCandidatesError(
            f"candidates name artwork {', '.join(map(repr, twice))} more than once; "
            "pass each artwork once"
        )
    return actions


def check_floor(floor: float) -> float:
    """A valid probability floor in [0, 1) as a float; raises InvalidPolicyError otherwise."""
    try:
        value = float(floor)
    except (TypeError, ValueError):
        raise InvalidPolicyError(f"floor {floor!r} is not a number; use e.g. 0.01") from None
    if not (0.0 <= value < 1.0):
        raise InvalidPolicyError(f"floor {floor!r} must be in [0, 1); use e.g. 0.01")
    return value


def apply_floor(pmf: Sequence[float], floor: float) -> tuple[float, ...]:
    """Normalize ``pmf`` and mix it with uniform so every entry is at least ``floor``.

    Raises InvalidPolicyError when ``floor`` × n > 1 (no pmf can keep that floor).
    """
    n = len(pmf)
    if floor * n > 1.0 + 1e-12:
        raise InvalidPolicyError(
            f"floor {floor} cannot hold for {n} candidates (n × floor > 1); "
            f"lower the floor to at most {1.0 / n:.4g} or pass fewer candidates"
        )
    total = math.fsum(pmf)
    if not (total > 0.0 and math.isfinite(total)) or any(p < 0.0 for p in pmf):
        return (1.0 / n,) * n
    scale = (1.0 - n * floor) / total
    return tuple(floor + p * scale for p in pmf)


def sample_index(pmf: Sequence[float], rng: np.random.Generator) -> int:
    """Draw an index from ``pmf`` with ``rng``; never returns an index of probability 0."""
    u = rng.random() * math.fsum(pmf)
    last = 0
    for i, c in enumerate(accumulate(pmf)):
        if pmf[i] > 0.0:
            if u < c:
                return i
            last = i
    return last


def inverse_gap_weights(scores: Sequence[float], gamma: float) -> list[float]:
    """Inverse gap weighting (Abe & Long 1999; Foster & Rakhlin, ICML 2020) over `scores`.

    p(a) = 1 / (n + gamma * (best - score(a))) for every candidate but the best, which takes
    the rest: the larger `gamma`, the greedier; a candidate scored close to the best is
    explored often, a clearly worse one rarely, never with probability 0.
    """
    n = len(scores)
    best = max(range(n), key=scores.__getitem__)
    top = scores[best]
    pmf = [1.0 / (n + gamma * (top - s)) for s in scores]
    pmf[best] = 0.0
    pmf[best] = 1.0 - math.fsum(pmf)
    return pmf


@dataclass(frozen=True)
class AdaptiveFloor:
    """A probability floor that falls with a title's traffic, from `maximum` to `minimum`.

    floor(n) = maximum while n <= ramp, then maximum * sqrt(ramp / n), never below `minimum`.
    The exploration a title's artworks get from the floor still grows with its traffic (as
    the square root of it), so offline evaluation keeps gaining support on every title,
    while a popular title stops paying the full floor on every impression.
    """

    maximum: float
    minimum: float
    ramp: int = 5000

    def __post_init__(self) -> None:
        check_floor(self.maximum)
        if not 0.0 < check_floor(self.minimum) <= self.maximum:
            raise InvalidPolicyError(
                f"floor_min {self.minimum!r} must be in (0, floor]; use e.g. 0.002")
        if int(self.ramp) < 1:
            raise InvalidPolicyError(f"floor_ramp {self.ramp!r} must be at least 1")

    def __call__(self, traffic: int) -> float:
        """The floor for a title that has had `traffic` decisions."""
        if traffic <= self.ramp:
            return self.maximum
        return max(self.minimum, self.maximum * math.sqrt(self.ramp / traffic))
