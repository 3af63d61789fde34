"""Domain records the store returns: titles, artworks, logged decisions and rewards."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from artwork.eligibility import UNRESTRICTED, Eligibility

if TYPE_CHECKING:  # numpy is imported where arrays are used: listing titles needs none
    import numpy as np

ARTWORK_STATUSES = ("candidate", "live", "retired")
ARTWORK_SOURCES = ("upload", "video")
REWARD_KINDS = ("impression", "click", "play")
# How far a logged pmf may sum from 1, and a logged probability from its pmf entry.
PMF_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Title:
    """A title in the catalog."""

    id: str
    name: str
    genres: tuple[str, ...] = ()
    created: float = 0.0


@dataclass(frozen=True, eq=False)
class Artwork:
    """One candidate or live thumbnail of a title, with its visual features."""

    id: str
    title_id: str
    path: str
    source: str
    width: int
    height: int
    status: str = "candidate"
    is_default: bool = False
    frame_time: float | None = None
    frame_index: int | None = None
    shot: int | None = None
    quality: Mapping[str, float] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    embedding: np.ndarray | None = None
    embedder: str | None = None
    created: float = 0.0
    eligibility: Eligibility = UNRESTRICTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Artwork):
            return NotImplemented
        import numpy as np

        mine, theirs = self.__dict__.copy(), other.__dict__.copy()
        a, b = mine.pop("embedding"), theirs.pop("embedding")
        same_embedding = (a is None and b is None) or (
            a is not None and b is not None and np.array_equal(a, b)
        )
        return mine == theirs and same_embedding

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class LoggedDecision:
    """A decision as logged before it was served: everything off-policy evaluation needs."""

    event_id: str
    timestamp: float
    user_id: str
    title_id: str
    context: Mapping[str, Any]
    candidates: tuple[str, ...]
    pmf: tuple[float, ...]
    action: str
    probability: float
    policy: str
    model_version: int
    # Keys of the candidates' descriptions as the policy saw them (see Store.record_actions),
    # aligned with `candidates`; empty when they were not recorded.
    action_keys: tuple[str, ...] = ()
    # The pmf each shadow challenger gave for the same candidates (policy name -> pmf,
    # aligned with `candidates`), so each can be evaluated offline exactly.
    shadow: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def action_index(self) -> int:
        """Position of the chosen artwork among the candidates."""
        return self.candidates.index(self.action)


@dataclass(frozen=True)
class Reward:
    """One piece of feedback on a logged decision."""

    event_id: str
    timestamp: float
    kind: str
    value: float | None = None


@dataclass(frozen=True)
class LearningPair:
    """A decision joined with the reward it earned inside the reward window."""

    decision: LoggedDecision
    reward: float
    kinds: Mapping[str, float | None]
