"""Creative insights: which visual attributes win for which user segments, estimated off-policy.

For a user segment (device, country, genre affinity) and a visual attribute (faces, close-up,
brightness, colour, a tag), the question is: *when a title offered both kinds of artwork, did
showing one with the attribute earn more plays than showing one without it?* Each side is the
self-normalized IPS estimate of a policy that picks uniformly among that row's candidates with
(or without) the attribute, on the logged rows of the segment where both kinds were candidates.
Because the logging policy always explored, these are unbiased comparisons, not the raw take
rates of whatever the bandit happened to show most.

A cell is called only when both sides have at least `min_matches` logged choices and their
confidence intervals do not overlap; otherwise it says "no clear difference" or "too little data".
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from artwork.records import Artwork

from simulator.errors import InvalidEstimatorError
from simulator.estimators import Estimate, SelfNormalizedIPS
from simulator.logs import LoggedFeedback

__all__ = [
    "ATTRIBUTE_GROUPS",
    "Finding",
    "InsightCell",
    "Insights",
    "SEGMENT_DIMENSIONS",
    "artwork_attributes",
    "context_segments",
    "creative_insights",
]

CLOSE_UP_SHARE = 0.04  # largest face covers at least this share of the picture (as the quality score uses)
DARK_BELOW = 0.35  # mean brightness 0..1
BRIGHT_ABOVE = 0.6
VIVID_FROM = 40.0  # Hasler & Suesstrunk colourfulness ("quite colourful" starts near 33-45)
ATTRIBUTE_GROUPS = ("faces", "close-up", "brightness", "colour", "tags")
SEGMENT_DIMENSIONS = ("device", "country", "affinity")
EVERYONE = "everyone"
VERDICTS = ("wins", "loses", "no clear difference", "too little data")
# The other side of a two-valued attribute: compared against, never shown as a column of its own.
_MIRRORS = frozenset({"no faces", "no close-up", "muted colour"})


def artwork_attributes(art: Artwork) -> tuple[str, ...]:
    """An artwork's visual attributes from its stored quality measures and tags (unknown measures give none)."""
    q = art.quality
    out = []
    if "face_count" in q:
        out.append("faces" if q["face_count"] >= 1 else "no faces")
    if "face_share" in q:
        out.append("close-up" if q["face_share"] >= CLOSE_UP_SHARE else "no close-up")
    if "brightness" in q:
        b = q["brightness"]
        out.append("dark" if b < DARK_BELOW else "bright" if b > BRIGHT_ABOVE else "mid brightness")
    if "colourfulness" in q:
        out.append("vivid colour" if q["colourfulness"] >= VIVID_FROM else "muted colour")
    out.extend(f"tag: {t}" for t in art.tags)
    return tuple(out)


def _group(attribute: str) -> int:
    if attribute.startswith("tag: "):
        return 4
    if attribute.endswith("faces"):
        return 0
    if attribute.endswith("close-up"):
        return 1
    if attribute.endswith("brightness") or attribute in ("dark", "bright"):
        return 2
    return 3


def context_segments(context: Mapping[str, Any]) -> tuple[str, ...]:
    """The segments a logged context belongs to: everyone, its device, its country, its top genre affinity."""
    features = context.get("features") or {}
    out = [EVERYONE]
    for key in ("device", "country"):
        value = features.get(key)
        if value not in (None, ""):
            out.append(f"{key}: {value}")
    affinity = context.get("genre_affinity") or {}
    if affinity:
        top = max(sorted(affinity), key=lambda g: affinity[g])
        out.append(f"affinity: {top}")
    else:
        out.append("affinity: none yet")
    return tuple(out)


@dataclass(frozen=True)
class InsightCell:
    """One segment x attribute comparison: artwork with the attribute against artwork without it."""

    segment: str
    attribute: str
    n_rounds: int  # logged rows of the segment where both kinds were candidates
    with_attribute: Estimate
    without_attribute: Estimate
    min_matches: int

    @property
    def lift(self) -> float:
        """Estimated take rate with the attribute minus without it."""
        return self.with_attribute.value - self.without_attribute.value

    @property
    def enough(self) -> bool:
        """Whether both sides rest on at least `min_matches` logged choices."""
        return min(self.with_attribute.n_matched or 0, self.without_attribute.n_matched or 0) >= self.min_matches

    @property
    def verdict(self) -> str:
        """wins / loses (intervals apart), no clear difference, or too little data."""
        w, wo = self.with_attribute, self.without_attribute
        if not self.enough or not (np.isfinite(w.value) and np.isfinite(wo.value)):
            return "too little data"
        if w.ci_low > wo.ci_high:
            return "wins"
        if w.ci_high < wo.ci_low:
            return "loses"
        return "no clear difference"


@dataclass(frozen=True)
class Insights:
    """Every segment x attribute cell of one title (or of the whole catalog)."""

    title_id: str | None
    n_rounds: int
    mean_reward: float
    confidence: float
    min_matches: int
    segments: tuple[tuple[str, int], ...]  # (segment, logged rows), everyone first
    attributes: tuple[str, ...]
    cells: Mapping[tuple[str, str], InsightCell] = field(default_factory=dict)

    def cell(self, segment: str, attribute: str) -> InsightCell | None:
        """The cell, or None where the segment never had both kinds of artwork to choose from."""
        return self.cells.get((segment, attribute))

    def findings(self) -> list[InsightCell]:
        """Cells with a clear winner or loser, largest lift first."""
        called = [c for c in self.cells.values() if c.verdict in ("wins", "loses")]
        return sorted(called, key=lambda c: (-abs(c.lift), c.segment, c.attribute))

    def grouped_findings(self) -> list["Finding"]:
        """Findings with attributes the log cannot tell apart merged into one line.

        Attributes that always came together on the same artworks (and their opposites, such as
        "dark" against "mid brightness" when only two artworks were shown) give identical estimates
        on identical rows; they are one finding, not several.
        """
        groups: dict[tuple, list[InsightCell]] = {}
        for c in self.findings():
            values = tuple(sorted((round(c.with_attribute.value, 12), round(c.without_attribute.value, 12))))
            groups.setdefault((c.segment, c.n_rounds, values), []).append(c)
        out = []
        for cells in groups.values():
            winners = tuple(c.attribute for c in cells if c.verdict == "wins")
            losers = tuple(c.attribute for c in cells if c.verdict == "loses")
            lead = next((c for c in cells if c.verdict == "wins"), cells[0])
            out.append(Finding(lead.segment, winners, losers, lead))
        return out


@dataclass(frozen=True)
class Finding:
    """A clear result in one segment: attributes that win, and the ones they win against (or that lose)."""

    segment: str
    winners: tuple[str, ...]
    losers: tuple[str, ...]
    cell: InsightCell  # a cell of the finding, in the winners' direction when there are winners


def _segment_rows(log: LoggedFeedback, max_values: int) -> dict[str, np.ndarray]:
    # Contexts repeat (device x country x affinity), so each distinct one is parsed once.
    if log.context is None:
        distinct, inverse = [(EVERYONE, "affinity: none yet")], np.zeros(log.n_rounds, dtype=np.int64)
    else:
        keys, first, inverse = np.unique(log.context.astype(str), return_index=True, return_inverse=True)
        distinct = [context_segments(log.context_dict(int(r))) for r in first]
    per_key = np.bincount(inverse.ravel(), minlength=len(distinct))
    counts: Counter[str] = Counter()
    for labels, n in zip(distinct, per_key):
        for label in labels:
            counts[label] += int(n)
    keep: set[str] = {EVERYONE}
    for dim in SEGMENT_DIMENSIONS:
        # A value every row shares (one country only, nobody with history yet) just repeats "everyone".
        values = sorted((s for s in counts if s.startswith(dim + ": ") and counts[s] < log.n_rounds),
                        key=lambda s: (-counts[s], s))
        keep.update(values[:max_values])
    ordered = [EVERYONE] + sorted((s for s in keep if s != EVERYONE),
                                  key=lambda s: (SEGMENT_DIMENSIONS.index(s.split(":")[0]), -counts[s], s))
    return {s: np.isin(inverse.ravel(), [k for k, labels in enumerate(distinct) if s in labels]) for s in ordered}


def _slim(log: LoggedFeedback) -> LoggedFeedback:
    """Only what the estimator reads, so the many sub-logs below are cheap to cut."""
    return LoggedFeedback(action=log.action, reward=log.reward, pscore=log.pscore, candidates=log.candidates,
                          action_names=log.action_names, pmf=log.pmf, column_names=log.column_names)


def _uniform_over(mask: np.ndarray) -> np.ndarray:
    return mask / mask.sum(axis=1, keepdims=True)


def creative_insights(
    log: LoggedFeedback,
    artworks: Mapping[str, Artwork],
    *,
    title_id: str | None = None,
    min_matches: int = 30,
    confidence: float = 0.95,
    max_values: int = 8,
) -> Insights:
    """Off-policy comparisons of every visual attribute in every segment (see the module docstring).

    Args:
        log: logged feedback with contexts (the store's export read by `read_log`).
        artworks: artwork records by id; logged artworks missing here have no attributes.
        title_id: restrict to one title's decisions; None for the whole catalog.
        min_matches: logged choices each side needs before a cell is called.
        confidence: level of the intervals.
        max_values: most frequent values kept per segment dimension (device, country, affinity).
    """
    if min_matches < 1 or max_values < 1:
        raise InvalidEstimatorError(f"min_matches ({min_matches}) and max_values ({max_values}) must be >= 1")
    if title_id is not None:
        if log.title_id is None:
            raise InvalidEstimatorError("the log has no title column, so it cannot be split by title")
        log = log.take(log.title_id == title_id)
    estimator = SelfNormalizedIPS(confidence=confidence, min_matches=min_matches)
    if log.n_rounds == 0:
        return Insights(title_id, 0, float("nan"), confidence, min_matches, (), ())
    names = log.action_names
    per_action = [artwork_attributes(artworks[n]) if n in artworks else () for n in names]
    attributes = tuple(sorted({a for attrs in per_action for a in attrs} - _MIRRORS, key=lambda a: (_group(a), a)))
    # has[i, j]: artwork i has attribute j; known[i, g]: artwork i has a measured value in group g
    # (an artwork with no measures is on neither side of a comparison). Last row: the -1 padding.
    has = np.zeros((len(names) + 1, len(attributes)), dtype=bool)
    known = np.zeros((len(names) + 1, len(ATTRIBUTE_GROUPS)), dtype=bool)
    known[: len(names), _group("tag: ")] = True
    column = {a: j for j, a in enumerate(attributes)}
    for i, attrs in enumerate(per_action):
        for a in attrs:
            known[i, _group(a)] = True
            if a in column:
                has[i, column[a]] = True
    valid = log.candidates >= 0
    slots = np.where(valid, log.candidates, len(names))
    cand_has, cand_known = has[slots], known[slots]  # (rounds, max_candidates, attributes / groups)
    segments = _segment_rows(log, max_values)
    slim = _slim(log)
    cells: dict[tuple[str, str], InsightCell] = {}
    for segment, rows in segments.items():
        for j, attribute in enumerate(attributes):
            with_mask = cand_has[:, :, j]
            without_mask = valid & cand_known[:, :, _group(attribute)] & ~with_mask
            choice = rows & with_mask.any(axis=1) & without_mask.any(axis=1)
            if not choice.any():
                continue
            part = slim.take(choice)
            cells[(segment, attribute)] = InsightCell(
                segment, attribute, part.n_rounds,
                estimator.estimate(part, _uniform_over(with_mask[choice])),
                estimator.estimate(part, _uniform_over(without_mask[choice])),
                min_matches,
            )
    return Insights(
        title_id, log.n_rounds, float(log.reward.mean()), confidence, min_matches,
        tuple((s, int(m.sum())) for s, m in segments.items()), attributes, cells,
    )
