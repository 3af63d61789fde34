"""Creative insights: which visual attributes win for which user segments, estimated off-policy.

For a user segment (device, country, genre affinity) and a visual attribute (faces, close-up,
brightness, colour, a tag), the question is: *when a title offered both kinds of artwork, did
showing one with the attribute earn more plays than showing one without it?* Each side is the
self-normalized IPS estimate of a policy that picks uniformly among that row's candidates with
(or without) the attribute, on the logged rows of the segment where both kinds were candidates.
Because the logging policy always explored, these are unbiased comparisons, not the raw take
rates of whatever the bandit happened to show most.

Each side's interval is Wilson's at its effective sample size, so it stays inside [0, 1]
(simulator/intervals.py). A page of insights makes hundreds of comparisons, and at a 5% level
each one alone would hand out chance "findings" by the dozen; so every comparison with at
least `min_matches` logged choices on each side gets a p-value (the pooled two-proportion test
on effective sample sizes), and the Benjamini-Hochberg procedure across all of them decides
which are findings: the expected share of false findings among those reported stays at most
`fdr`. Comparisons the log cannot tell apart (attributes that always came together on the same
artworks) are one test, not several. A cell below `min_matches` says "too little data".
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from artwork.records import Artwork

from simulator.errors import InvalidEstimatorError
from simulator.estimators import Estimate, SelfNormalizedIPS
from simulator.intervals import benjamini_hochberg, two_rate_p_value, wilson_estimate
from simulator.logs import LoggedFeedback
from simulator.segments import SEGMENT_DIMENSIONS, context_segments, segment_rows, slim_log

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
DEFAULT_FDR = 0.05  # expected share of false findings among those reported
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


@dataclass(frozen=True)
class InsightCell:
    """One segment x attribute comparison: artwork with the attribute against artwork without it.

    Each side's interval is Wilson's at its effective sample size. `p_value` tests "no
    difference"; `q_value` is its Benjamini-Hochberg adjusted value across every comparison
    of the same Insights (nan when the cell has too little data to be tested).
    """

    segment: str
    attribute: str
    n_rounds: int  # logged rows of the segment where both kinds were candidates
    with_attribute: Estimate
    without_attribute: Estimate
    min_matches: int
    p_value: float = float("nan")
    q_value: float = float("nan")
    fdr: float = DEFAULT_FDR

    @property
    def lift(self) -> float:
        """Estimated take rate with the attribute minus without it."""
        return self.with_attribute.value - self.without_attribute.value

    @property
    def enough(self) -> bool:
        """Whether both sides rest on at least `min_matches` logged choices."""
        return min(self.with_attribute.n_matched or 0, self.without_attribute.n_matched or 0) >= self.min_matches

    @property
    def tested(self) -> bool:
        """Whether the cell is one of the comparisons the false-discovery control counts."""
        return self.enough and bool(np.isfinite(self.p_value))

    @property
    def verdict(self) -> str:
        """wins / loses (a finding at the stated false-discovery rate), no clear difference, or too little data."""
        if not self.tested or not (np.isfinite(self.with_attribute.value)
                                   and np.isfinite(self.without_attribute.value)):
            return "too little data"
        if self.q_value <= self.fdr and self.lift != 0:
            return "wins" if self.lift > 0 else "loses"
        return "no clear difference"

    @property
    def comparison(self) -> tuple:
        """What the comparison measured: cells with the same key are one test seen from two sides."""
        values = tuple(sorted((round(self.with_attribute.value, 12), round(self.without_attribute.value, 12))))
        return self.segment, self.n_rounds, values


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
    fdr: float = DEFAULT_FDR
    n_comparisons: int = 0  # distinct comparisons tested, the m of Benjamini-Hochberg

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
            groups.setdefault(c.comparison, []).append(c)
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
    fdr: float = DEFAULT_FDR,
) -> Insights:
    """Off-policy comparisons of every visual attribute in every segment (see the module docstring).

    Args:
        log: logged feedback with contexts (the store's export read by `read_log`).
        artworks: artwork records by id; logged artworks missing here have no attributes.
        title_id: restrict to one title's decisions; None for the whole catalog.
        min_matches: logged choices each side needs before a cell is called.
        confidence: level of the intervals.
        max_values: most frequent values kept per segment dimension (device, country, affinity).
        fdr: the false-discovery rate the findings are held to (Benjamini-Hochberg), e.g. 0.05.
    """
    if min_matches < 1 or max_values < 1:
        raise InvalidEstimatorError(f"min_matches ({min_matches}) and max_values ({max_values}) must be >= 1")
    if not 0.0 < fdr < 1.0:
        raise InvalidEstimatorError(f"fdr {fdr!r} must be in (0, 1), e.g. 0.05")
    if title_id is not None:
        if log.title_id is None:
            raise InvalidEstimatorError("the log has no title column, so it cannot be split by title")
        log = log.take(log.title_id == title_id)
    estimator = SelfNormalizedIPS(confidence=confidence, min_matches=min_matches)
    if log.n_rounds == 0:
        return Insights(title_id, 0, float("nan"), confidence, min_matches, (), (), fdr=fdr)
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
    segments = segment_rows(log, max_values)
    slim = slim_log(log)
    cells: dict[tuple[str, str], InsightCell] = {}
    for segment, rows in segments.items():
        for j, attribute in enumerate(attributes):
            with_mask = cand_has[:, :, j]
            without_mask = valid & cand_known[:, :, _group(attribute)] & ~with_mask
            choice = rows & with_mask.any(axis=1) & without_mask.any(axis=1)
            if not choice.any():
                continue
            part = slim.take(choice)
            with_ = wilson_estimate(estimator.estimate(part, _uniform_over(with_mask[choice])))
            without = wilson_estimate(estimator.estimate(part, _uniform_over(without_mask[choice])))
            cell = InsightCell(segment, attribute, part.n_rounds, with_, without, min_matches, fdr=fdr)
            if cell.enough:
                cell = replace(cell, p_value=two_rate_p_value(with_.value, with_.ess, without.value, without.ess))
            cells[(segment, attribute)] = cell
    cells, n_comparisons = _control_fdr(cells)
    return Insights(
        title_id, log.n_rounds, float(log.reward.mean()), confidence, min_matches,
        tuple((s, int(m.sum())) for s, m in segments.items()), attributes, cells, fdr, n_comparisons,
    )


def _control_fdr(cells: dict[tuple[str, str], InsightCell]) -> tuple[dict[tuple[str, str], InsightCell], int]:
    """Cells with their Benjamini-Hochberg q-values, each distinct comparison counted once; and how many there were."""
    tests: dict[tuple, float] = {}
    for c in cells.values():
        if c.tested:
            tests.setdefault(c.comparison, c.p_value)
    keys = list(tests)
    q = dict(zip(keys, benjamini_hochberg([tests[k] for k in keys])))
    out = {key: replace(c, q_value=float(q[c.comparison])) if c.tested else c for key, c in cells.items()}
    return out, len(keys)
