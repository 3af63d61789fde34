"""Small charts the studio draws as inline SVG: take rates with their intervals, shares in parts, and
a difference over time with its confidence band.

Only geometry is computed here (what goes where, in pixels); templates/_charts.html draws it
with CSS classes, so pages need no script and no inline style.
"""
from __future__ import annotations

import math
import time
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


@dataclass(frozen=True)
class PathChart:
    """A difference over time: its line, its band (low..high), the zero line, laid out in pixels."""

    line: str  # polyline points, "x,y x,y ..."
    band: str  # polygon points: the highs left to right, then the lows right to left
    last: tuple[float, float]  # the last point, marked
    zero_y: float
    x_ticks: tuple[tuple[float, str], ...]  # (x, label)
    y_ticks: tuple[tuple[float, str], ...]  # (y, label)
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    description: str


def points_text(value: float) -> str:
    """A difference of rates in percentage points, signed: "+1.2 pp"."""
    return f"{value * 100:+.1f} pp"


def _y_axis(lows: Sequence[float], highs: Sequence[float]) -> tuple[float, float, float]:
    """(bottom, top, step) of the axis: round steps, zero inside.

    Early bands (few users) are far wider than the last; the axis holds the last band and up
    to three of its widths on either side, and cuts wider bands at its edges."""
    reach = 3 * max(highs[-1] - lows[-1], 0.02)
    low = min(max(min(lows), lows[-1] - reach), 0.0)
    high = max(min(max(highs), highs[-1] + reach), 0.0)
    raw = max((high - low) / 4, 0.001)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    bottom, top = math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step
    return bottom, max(top, bottom + step), step


def _time_format(span: float) -> str:
    return "%H:%M:%S" if span < 3600 else "%m-%d %H:%M" if span < 3 * 86400 else "%Y-%m-%d"


def path_chart(points: Sequence[tuple[float, float, float, float]], *, start: float, end: float,
               label: str, width: int = 560, height: int = 220) -> PathChart | None:
    """Lay out (time, difference, low, high) points on a time axis from `start` to `end`; None without points."""
    if not points:
        return None
    left, right, top, bottom = 76, width - PAD, PAD, height - AXIS_HEIGHT
    y_low, y_high, step = _y_axis([p[2] for p in points], [p[3] for p in points])
    span = max(end - start, 1e-9)
    x = lambda t: left + (right - left) * (min(max(t, start), end) - start) / span  # noqa: E731
    y = lambda v: bottom - (bottom - top) * (min(max(v, y_low), y_high) - y_low) / (y_high - y_low)  # noqa: E731
    xy = lambda t, v: f"{x(t):.1f},{y(v):.1f}"  # noqa: E731
    band = [xy(t, hi) for t, _, _, hi in points] + [xy(t, lo) for t, _, lo, _ in reversed(points)]
    x_ticks = tuple((x(t), time.strftime(_time_format(span), time.localtime(t)))
                    for t in (start, (start + end) / 2, end))
    digits = 0 if step >= 0.01 - 1e-12 else 1
    y_ticks = tuple((y(v), f"{v * 100:+.{digits}f} pp" if abs(v) > step / 2 else "0")
                    for v in (y_low + step * k for k in range(round((y_high - y_low) / step) + 1)))
    at, diff, low, high = points[-1]
    verdict = "excludes zero" if low > 0 or high < 0 else "includes zero"
    description = (f"{label}, at {len(points)} times from {x_ticks[0][1]} to {x_ticks[-1][1]}: "
                   f"from {points_text(points[0][1])} ({points_text(points[0][2])} to "
                   f"{points_text(points[0][3])}) at first to {points_text(diff)} "
                   f"({points_text(low)} to {points_text(high)}) at the last, whose band {verdict}.")
    return PathChart(" ".join(xy(t, v) for t, v, _, _ in points), " ".join(band),
                     (x(at), y(diff)), y(0.0), x_ticks, y_ticks, width, height, left, right, top,
                     bottom, description)
