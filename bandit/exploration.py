"""Exploration helpers: candidate checks, the probability floor and seeded sampling."""
from __future__ import annotations

import math
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
