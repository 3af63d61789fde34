"""Who wins, for whom: each artwork's take rate in each user segment, and where its traffic came from.

For one title and each segment (simulator/segments.py), every artwork gets the self-normalized
IPS estimate of "always show this artwork" on the segment's rows where it was a candidate,
with Wilson's interval at its effective sample size (inside [0, 1]). The artwork with the
highest estimate leads; it leads *clearly* when its interval lies above every other's.

Its share of the traffic is explained from the logged pmfs. On each row, the smallest
probability any candidate had is what exploration gives every candidate alike (the floor, and
whatever uniform exploration the policy adds); the rest of an artwork's probability is the
policy's learned preference for it in that context. Averaged over a segment's rows:

    expected share = exploration + preference,   exploration_a = mean_i [a offered] min_k pmf_ik

and the share actually served is a random draw around the expected one. A popular artwork
with a modest take rate is then either preferred by the policy where it does win (see its
segments), or simply the last of few candidates sharing the floor.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.errors import InvalidEstimatorError
from simulator.estimators import Estimate, SelfNormalizedIPS
from simulator.intervals import wilson_estimate
from simulator.logs import LoggedFeedback
from simulator.segments import EVERYONE, segment_rows, slim_log

__all__ = ["ArtworkOutcome", "SegmentWinners", "Winners", "who_wins"]


@dataclass(frozen=True)
class ArtworkOutcome:
    """One artwork in one segment: its take rate if always shown, and its share of the traffic."""

    artwork_id: str
    estimate: Estimate  # self-normalized IPS of always showing it, Wilson interval
    offered: int  # the segment's rows where it was a candidate
    served: int  # the segment's rows where it was shown
    served_share: float  # served / the segment's rows
    exploration: float  # expected share from the part of the pmf every candidate got alike (nan: no pmf logged)
    preference: float  # expected share from the rest of the pmf: the policy's learned preference
    min_matches: int

    @property
    def expected_share(self) -> float:
        """The share the logged pmfs gave it on average: exploration + preference."""
        return self.exploration + self.preference

    @property
    def enough(self) -> bool:
        """Whether its estimate rests on at least `min_matches` times it was shown."""
        return (self.estimate.n_matched or 0) >= self.min_matches and bool(np.isfinite(self.estimate.value))


@dataclass(frozen=True)
class SegmentWinners:
    """A segment's artworks, the best estimate first (those with too little data last)."""

    segment: str
    n_rounds: int
    artworks: tuple[ArtworkOutcome, ...]

    @property
    def leader(self) -> ArtworkOutcome | None:
        """The artwork with the highest estimate among those with enough data."""
        return next((a for a in self.artworks if a.enough), None)

    @property
    def clear(self) -> bool:
        """Whether the leader's interval lies above the interval of every other artwork with enough data."""
        lead, rivals = self.leader, [a for a in self.artworks if a.enough][1:]
        return lead is not None and bool(rivals) and all(
            lead.estimate.ci_low > a.estimate.ci_high for a in rivals)


@dataclass(frozen=True)
class Winners:
    """Every segment's artworks for one title."""

    title_id: str
    n_rounds: int
    confidence: float
    min_matches: int
    segments: tuple[SegmentWinners, ...]

    def segment(self, name: str) -> SegmentWinners | None:
        """The named segment ("everyone", "device: tv", ...), or None."""
        return next((s for s in self.segments if s.segment == name), None)

    def outcome(self, artwork_id: str, segment: str = EVERYONE) -> ArtworkOutcome | None:
        """One artwork in one segment (everyone by default), or None where it was never a candidate."""
        found = self.segment(segment)
        return None if found is None else next((a for a in found.artworks if a.artwork_id == artwork_id), None)


def who_wins(log: LoggedFeedback, title_id: str, *, confidence: float = 0.95, min_matches: int = 30,
             max_values: int = 8) -> Winners:
    """Each artwork of `title_id` in each segment of its logged decisions (see the module docstring).

    Args:
        log: logged feedback with title ids and contexts (the store's log, `load_store_log`).
        title_id: the title whose decisions are analysed.
        confidence: level of the intervals.
        min_matches: times an artwork must have been shown in a segment before it can lead.
        max_values: most frequent values kept per segment dimension (device, country, affinity).
    """
    if min_matches < 1 or max_values < 1:
        raise InvalidEstimatorError(f"min_matches ({min_matches}) and max_values ({max_values}) must be >= 1")
    if log.title_id is None:
        raise InvalidEstimatorError("the log has no title column, so it cannot be split by title")
    log = log.take(log.title_id == title_id)
    if log.n_rounds == 0:
        return Winners(title_id, 0, confidence, min_matches, ())
    estimator = SelfNormalizedIPS(confidence=confidence, min_matches=min_matches)
    valid = log.candidates >= 0
    rows = np.arange(log.n_rounds)
    shown_action = log.candidates[rows, log.action]
    if log.pmf is None:
        floor = np.full(log.n_rounds, np.nan)
    else:
        floor = np.where(valid, log.pmf, np.inf).min(axis=1)
    slim = slim_log(log)
    per_artwork = []
    for index in np.unique(log.candidates[valid]):
        at = log.candidates == index
        offered = at.any(axis=1)
        position = at.argmax(axis=1)
        probability = np.where(offered, log.pmf[rows, position], 0.0) if log.pmf is not None else None
        per_artwork.append((int(index), offered, position, probability, shown_action == index))
    segments = []
    for segment, in_segment in segment_rows(log, max_values).items():
        n = int(in_segment.sum())
        outcomes = []
        for index, offered, position, probability, shown in per_artwork:
            take = in_segment & offered
            if not take.any():
                continue
            target = np.zeros((int(take.sum()), log.candidates.shape[1]))
            target[np.arange(target.shape[0]), position[take]] = 1.0
            estimate = wilson_estimate(estimator.estimate(slim.take(take), target))
            exploration = float(floor[take].sum()) / n
            expected = float(probability[in_segment].sum()) / n if probability is not None else float("nan")
            outcomes.append(ArtworkOutcome(
                log.action_names[index], estimate, int(take.sum()), int(shown[in_segment].sum()),
                float(shown[in_segment].sum()) / n, exploration, expected - exploration, min_matches))
        outcomes.sort(key=lambda a: (not a.enough, -np.nan_to_num(a.estimate.value, nan=-1.0), a.artwork_id))
        segments.append(SegmentWinners(segment, n, tuple(outcomes)))
    return Winners(title_id, log.n_rounds, confidence, min_matches, tuple(segments))
