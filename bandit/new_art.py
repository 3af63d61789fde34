"""Fair exposure for new artwork: a minimum share of its title's impressions, as part of the pmf.

A newly approved artwork is shown at least `share` of its title's impressions until it has
had `impressions` of them or `window` seconds have passed since it went live, so creatives
learn quickly whether it works. The guarantee is a transformation of the policy's (floored)
pmf before sampling, so the logged probabilities are exactly those the choice was drawn from.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from bandit.errors import InvalidPolicyError

__all__ = ["FairExposure", "apply_minimums"]


def apply_minimums(pmf: Sequence[float], minimums: Sequence[float]) -> tuple[float, ...]:
    """The pmf moved as little as possible so that entry i is at least ``minimums[i]``.

    p'_i = m_i + (1 - sum m) * (p_i - m_i)+ / sum_j (p_j - m_j)+ : entries already above their
    minimum give up mass in proportion to their excess, so none falls below its own minimum and
    the order among them is kept. With minimums all equal to a floor this is `apply_floor` on a
    pmf already floored. When the minimums sum above 1, the part of each above the smallest is
    scaled down until they sum to 1 (every entry keeps at least that smallest one; when even
    that is 1/n or more, the pmf is uniform).
    """
    n = len(pmf)
    if len(minimums) != n:
        raise InvalidPolicyError(f"{len(minimums)} minimums for {n} candidates; pass one per candidate")
    lower = [float(m) for m in minimums]
    if any(not (0.0 <= m <= 1.0) for m in lower):
        raise InvalidPolicyError(f"minimum probabilities {lower} must be in [0, 1]")
    total = math.fsum(lower)
    if total > 1.0:
        base = min(lower)
        extra = total - n * base
        if base * n >= 1.0 or extra <= 0.0:  # every one asks for at least 1/n: uniform
            return (1.0 / n,) * n
        scale = (1.0 - n * base) / extra
        lower = [base + (m - base) * scale for m in lower]
        total = 1.0
    excess = [max(p - m, 0.0) for p, m in zip(pmf, lower)]
    spare = math.fsum(excess)
    if spare <= 0.0:
        return tuple(m / total for m in lower) if total > 0.0 else (1.0 / n,) * n
    left = max(1.0 - total, 0.0)
    return tuple(m + left * e / spare for m, e in zip(lower, excess))


@dataclass(frozen=True)
class FairExposure:
    """At least `share` of a title's impressions for each of its new artworks.

    An artwork is new while it has had fewer than `impressions` impressions and went live less
    than `window` seconds ago. `share` 0 turns the guarantee off.
    """

    share: float = 0.10
    impressions: int = 2000
    window: float = 7 * 86400.0

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.share) < 1.0:
            raise InvalidPolicyError(f"new_art_share {self.share!r} must be in [0, 1); use e.g. 0.1")
        if int(self.impressions) < 1:
            raise InvalidPolicyError(
                f"new_art_impressions {self.impressions!r} must be at least 1; use e.g. 2000")
        if not float(self.window) > 0.0:
            raise InvalidPolicyError(
                f"new_art_window {self.window!r} must be > 0 seconds; use e.g. 604800 (a week)")

    @property
    def enabled(self) -> bool:
        """Whether the guarantee does anything."""
        return self.share > 0.0

    def is_new(self, impressions: int, live_for: float) -> bool:
        """Whether an artwork with `impressions` so far, live for `live_for` seconds, is still boosted."""
        return self.enabled and impressions < self.impressions and live_for < self.window

    def minimums(self, floor: float, boosted: Sequence[bool]) -> list[float]:
        """Per candidate, the least probability it must get: `share` if boosted, else `floor`."""
        return [max(self.share, floor) if b else floor for b in boosted]
