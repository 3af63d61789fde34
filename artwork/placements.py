"""Placements: the named shapes the UI shows artwork in, each with its text safe zone.

A placement is written `name=W:H` or `name=W:H/side:share`: its aspect ratio, and the side of
the crop where the UI writes the title with the share of the crop it takes (no face may be
there). The vision stage crops every artwork for every configured placement (vision/crops.py).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from artwork.errors import InvalidRecordError

Box = tuple[int, int, int, int]  # x, y, width, height in image pixels

DEFAULT_PLACEMENTS = ("tile=16:9/bottom:0.33", "boxart=2:3/bottom:0.25",
                      "billboard=21:9/left:0.4", "square=1:1/bottom:0.2")
SIDES = ("top", "bottom", "left", "right")
_SPEC = re.compile(r"([a-z][a-z0-9_-]{0,31})=(\d{1,3}):(\d{1,3})(?:/(top|bottom|left|right):([0-9.]+))?")


@dataclass(frozen=True)
class Placement:
    """A named shape artwork is shown in: its aspect ratio and its text safe zone."""

    name: str
    ratio: tuple[int, int]  # width : height, reduced
    safe_side: str | None = None
    safe_share: float = 0.0

    @property
    def aspect(self) -> float:
        """Width over height."""
        return self.ratio[0] / self.ratio[1]

    def safe_zone(self, box: Box) -> Box | None:
        """The safe zone of a crop box, in image pixels (None when the placement has none)."""
        if self.safe_side is None or self.safe_share <= 0:
            return None
        x, y, w, h = box
        zw, zh = round(w * self.safe_share), round(h * self.safe_share)
        return {"top": (x, y, w, zh), "bottom": (x, y + h - zh, w, zh),
                "left": (x, y, zw, h), "right": (x + w - zw, y, zw, h)}[self.safe_side]

    def spec(self) -> str:
        """The placement written as the configuration writes it."""
        zone = f"/{self.safe_side}:{self.safe_share:g}" if self.safe_side else ""
        return f"{self.name}={self.ratio[0]}:{self.ratio[1]}{zone}"


def parse_placement(spec: str) -> Placement:
    """A placement from `name=W:H` or `name=W:H/side:share`, e.g. `tile=16:9/bottom:0.33`."""
    match = _SPEC.fullmatch(spec.strip())
    share = float(match.group(5)) if match and match.group(5) else 0.0
    if not match or int(match.group(2)) < 1 or int(match.group(3)) < 1 or not 0 <= share < 1:
        raise InvalidRecordError(
            f"placement {spec!r} is not NAME=W:H or NAME=W:H/SIDE:SHARE (SIDE one of "
            f"{', '.join(SIDES)}, SHARE below 1), e.g. tile=16:9/bottom:0.33")
    w, h = int(match.group(2)), int(match.group(3))
    g = math.gcd(w, h)
    return Placement(match.group(1), (w // g, h // g), match.group(4), share)


def parse_placements(specs: Sequence[str]) -> tuple[Placement, ...]:
    """Placements from their specs; names must be distinct."""
    placements = tuple(parse_placement(s) for s in specs)
    names = [p.name for p in placements]
    if len(set(names)) != len(names) or not placements:
        raise InvalidRecordError(f"placements need distinct names, at least one; got {names}")
    return placements
