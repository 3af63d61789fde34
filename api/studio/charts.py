"""Small charts the studio draws as inline SVG: take rates with their intervals, and shares in parts.

Only geometry is computed here (what goes where, in pixels); templates/_charts.html draws it
with CSS classes, so pages need no script and no inline style.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

# Where an axis may end (its quarters are round percentages): the smallest that holds every interval.
_AXIS_ENDS = (0.02, 0.04, 0.08, 0.12, 0.16, 0.2, 0.28, 0.4, 0.6, 0.8, 1.0)
ROW_HEIGHT = 26
AXIS_HEIGHT = 22
PAD = 10
VALUE_ROOM = 52  # right of the axis: the value printed beside the highest interval


@dataclass(frozen=True)
class ChartRow:
    """One interval on a chart: a label, the estimate and its interval (0..1), a CSS class."""

    label: str
    value: float
    low: float
    high: float
    kind: str = ""
    y: float = 0.0
    x: float = 0.0
    x_low: float = 0.0
    x_high: float = 0.0

    @property
    def text(self) -> str:
        """The estimate and interval in words, for the chart's description."""
        return f"{self.label}: {self.value:.1%} ({self.low:.1%} to {self.high:.1%})"


@dataclass(frozen=True)
class IntervalChart:
    """Rows of intervals on one horizontal percentage axis."""

    rows: tuple[ChartRow, ...]
    ticks: tuple[tuple[float, str], ...]  # (x, label)
    width: int
    height: int
    left: int  # where the axis starts (labels to its left)
    right: int  # where it ends
    axis_y: float

    @property
    def description(self) -> str:
        """Every row in words (the SVG's <desc>)."""
        return "; ".join(r.text for r in self.rows)


def _axis_end(highest: float) -> float:
    return next((end for end in _AXIS_ENDS if highest <= end), 1.0)


def interval_chart(rows: Sequence[tuple[str, float, float, float, str]], *, width: int = 460,
                   label_width: int = 170, top: float | None = None) -> IntervalChart:
    """Lay out (label, value, low, high, kind) rows; `top` fixes the axis end (else the smallest step that fits)."""
    finite = [r for r in rows if all(math.isfinite(v) for v in r[1:4])]
    end = top if top is not None else _axis_end(max((r[3] for r in finite), default=0.0))
    left, right = label_width + PAD, width - VALUE_ROOM
    scale = lambda v: left + (right - left) * min(max(v, 0.0), end) / end  # noqa: E731
    placed = tuple(
        ChartRow(label, value, low, high, kind, y=PAD + ROW_HEIGHT * i + ROW_HEIGHT / 2,
                 x=scale(value), x_low=scale(low), x_high=scale(high))
        for i, (label, value, low, high, kind) in enumerate(finite))
    axis_y = PAD + ROW_HEIGHT * len(placed) + 4
    ticks = tuple((scale(end * k / 4), f"{end * k / 4:.0%}" if end >= 0.04 else f"{end * k / 4:.1%}")
                  for k in range(5))
    return IntervalChart(placed, ticks, width, int(axis_y + AXIS_HEIGHT), left, right, axis_y)


@dataclass(frozen=True)
class ShareBar:
    """A share split in two parts (exploration, preference), laid out on a 0..1 bar."""

    first: float
    second: float
    width: int
    x_split: float
    x_end: float


def share_bar(first: float, second: float, *, width: int = 160) -> ShareBar:
    """A bar `width` pixels for a share of 1, its first part then its second (nan counts as 0)."""
    a = min(max(0.0, first if math.isfinite(first) else 0.0), 1.0)
    b = min(max(0.0, second if math.isfinite(second) else 0.0), 1.0 - a)
    return ShareBar(a, b, width, width * a, width * (a + b))
