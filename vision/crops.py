"""Crops of an artwork for each placement: faces kept inside and clear of the text safe zone.

A placement is a named shape the UI shows artwork in (a 16:9 tile, 2:3 box art, a 21:9
billboard, a square), with a safe zone: the part of the crop where the UI writes the title,
which must hold no face. For each placement the crop is chosen among boxes of exactly the
placement's aspect ratio (from the largest that fits the image down to MIN_SCALE of it, at
a grid of positions): every detected face must lie fully inside and outside the safe zone,
and among the boxes that qualify the one keeping the most of the image's salient region (a
spectral-residual saliency map), at the largest size, wins. A placement no box qualifies
for is refused with the reason.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from artwork.placements import DEFAULT_PLACEMENTS, Box, Placement, parse_placement, parse_placements
from vision.errors import InvalidParameterError
from vision.faces import FaceDetector

__all__ = ["DEFAULT_PLACEMENTS", "Box", "CropProposal", "Placement", "check_box", "parse_placement",
           "parse_placements", "propose_crop", "propose_crops", "render_crop", "saliency_map",
           "score_box"]


# The smallest crop considered, as a share of the largest one of the placement's shape.
MIN_SCALE = 0.4
# The fewest pixels a crop may have on its shorter side.
MIN_SIDE = 48
# Positions tried along each axis for each size.
GRID = 33
SCALES = 7
# How a qualifying crop is scored: salient share kept, and size kept (both 0..1).
SALIENCE_WEIGHT = 0.7
SALIENCY_WIDTH = 64
# How much room is kept around each face, as a share of its size on each side.
FACE_MARGIN = 0.05


@dataclass(frozen=True)
class CropProposal:
    """The crop of one image for one placement, or why there is none."""

    placement: str
    box: Box | None
    score: float  # 0..1: salient share and size kept (0 when refused)
    reason: str | None = None


def saliency_map(image: np.ndarray) -> np.ndarray:
    """Spectral-residual saliency of a small copy of the image, summing to 1."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    small = cv2.resize(grey, (SALIENCY_WIDTH, max(8, round(h * SALIENCY_WIDTH / w))),
                       interpolation=cv2.INTER_AREA).astype(np.float32)
    spectrum = np.fft.fft2(small)
    log_amplitude = np.log(np.abs(spectrum) + 1e-6).astype(np.float32)
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3))
    salient = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    salient = cv2.GaussianBlur(salient.astype(np.float32), (0, 0), 2.5)
    total = float(salient.sum())
    return salient / total if total > 0 else np.full_like(salient, 1 / salient.size)


def _overlaps(a0: np.ndarray, a1: np.ndarray, b0: int, b1: int) -> np.ndarray:
    return (a0 < b1) & (b0 < a1)


@functools.lru_cache(maxsize=4096)
def _positions(lo: int, hi: int) -> np.ndarray:
    """GRID positions from lo to hi, rounded to pixels, each once (what
    np.unique(np.linspace(lo, hi, GRID).round()) gives, at a fraction of its cost); read-only,
    as it is cached (the same ranges recur for every picture of a size)."""
    step = (hi - lo) / (GRID - 1)
    out = np.array(sorted({round(i * step + lo) for i in range(GRID - 1)} | {hi}))
    out.flags.writeable = False
    return out


def _scores(integral: np.ndarray, shape: tuple[int, int], x: np.ndarray, y: np.ndarray,
            cw: int, ch: int, size: float) -> np.ndarray:
    """Fit scores of crops of size (cw, ch) at every pair of positions y (rows) and x
    (columns): salient share and size kept."""
    height, width = shape
    sh, sw = integral.shape[0] - 1, integral.shape[1] - 1
    sx0, sx1 = (x * sw / width).round().astype(int), ((x + cw) * sw / width).round().astype(int)
    sy0, sy1 = (y * sh / height).round().astype(int), ((y + ch) * sh / height).round().astype(int)
    below, above = integral[sy1], integral[sy0]
    kept = below[:, sx1] - above[:, sx1] - below[:, sx0] + above[:, sx0]
    return SALIENCE_WEIGHT * np.minimum(np.maximum(kept, 0.0), 1.0) + (1 - SALIENCE_WEIGHT) * size


def score_box(image: np.ndarray, box: Box, placement: Placement) -> float:
    """The fit score of a given crop box (a person's), as proposals are scored."""
    height, width = image.shape[:2]
    k_max = min(width // placement.ratio[0], height // placement.ratio[1])
    integral = cv2.integral(saliency_map(image).astype(np.float64))
    score = _scores(integral, (height, width), np.array([box[0]]), np.array([box[1]]), box[2],
                    box[3], min(1.0, box[2] / placement.ratio[0] / max(k_max, 1)))
    return round(float(score[0, 0]), 4)


def propose_crop(shape: tuple[int, int], faces: Sequence[Box], placement: Placement,
                 saliency: np.ndarray) -> CropProposal:
    """The best crop of an image of `shape` (height, width) for a placement, or the refusal."""
    height, width = shape
    pw, ph = placement.ratio
    k_max = min(width // pw, height // ph)
    if min(pw, ph) * k_max < MIN_SIDE:
        return CropProposal(placement.name, None, 0.0,
                            f"a {placement.name} crop ({pw}:{ph}) of this {width}x{height} image "
                            f"would be under {MIN_SIDE} pixels on a side")
    faces = [tuple(int(v) for v in f) for f in faces]
    fx0 = min((f[0] for f in faces), default=width)
    fy0 = min((f[1] for f in faces), default=height)
    fx1 = max((f[0] + f[2] for f in faces), default=0)
    fy1 = max((f[1] + f[3] for f in faces), default=0)
    # Sizes from the largest down; the first best box in this order (and row by row within a
    # size) wins. Face and safe-zone tests are separable in x and y, so each size's grid is
    # tested and scored as the outer combination of its rows and columns.
    best: tuple[float, Box] | None = None
    faces_fit = False
    integral: np.ndarray | None = None
    k_min = max(math.ceil(MIN_SIDE / min(pw, ph)), math.ceil(k_max * MIN_SCALE))
    for k in sorted({round(k_max - i * (k_max - k_min) / max(1, SCALES - 1)) for i in range(SCALES)},
                    reverse=True):
        cw, ch = pw * k, ph * k
        # Positions that keep every face inside the crop.
        x_lo, x_hi = max(0, fx1 - cw), min(width - cw, fx0)
        y_lo, y_hi = max(0, fy1 - ch), min(height - ch, fy0)
        if faces and (x_lo > x_hi or y_lo > y_hi):
            continue
        if not faces:
            x_lo, x_hi, y_lo, y_hi = 0, width - cw, 0, height - ch
        faces_fit = True
        across, down = _positions(x_lo, x_hi), _positions(y_lo, y_hi)
        ok = np.ones((len(down), len(across)), bool)
        zone = placement.safe_zone((0, 0, cw, ch))  # from the box's corner
        if zone is not None:
            zx0, zy0 = across + zone[0], down + zone[1]
            for f in faces:
                ok &= ~(_overlaps(zy0, zy0 + zone[3], f[1], f[1] + f[3])[:, None]
                        & _overlaps(zx0, zx0 + zone[2], f[0], f[0] + f[2])[None, :])
        if not ok.any():
            continue
        if integral is None:
            integral = cv2.integral(saliency.astype(np.float64))
        scores = np.where(ok, _scores(integral, shape, across, down, cw, ch, k / k_max), -np.inf)
        i = int(np.argmax(scores))
        if best is None or scores.flat[i] > best[0]:
            iy, ix = divmod(i, len(across))
            best = (float(scores.flat[i]), (int(across[ix]), int(down[iy]), cw, ch))
    if best is not None:
        return CropProposal(placement.name, best[1], round(best[0], 4))
    if not faces_fit:
        reason = (f"the faces span {fx1 - fx0}x{fy1 - fy0} pixels; no {placement.name} crop "
                  f"({pw}:{ph}) of this {width}x{height} image holds them all")
    else:
        reason = (f"every {placement.name} crop ({pw}:{ph}) that holds the faces puts one in "
                  f"the text safe zone ({placement.safe_side} {placement.safe_share:g})")
    return CropProposal(placement.name, None, 0.0, reason)


def propose_crops(image: np.ndarray, placements: Sequence[Placement],
                  detector: FaceDetector | None = None,
                  faces: Sequence[Box] | None = None) -> list[CropProposal]:
    """A crop proposal of a BGR image for every placement (faces detected unless given)."""
    height, width = image.shape[:2]
    if faces is None:
        faces = (detector or FaceDetector()).detect(image).boxes
    # A margin around each face (detections on differently scaled copies differ by a few
    # pixels, and a crop should not graze a face), kept inside the picture.
    grown = []
    for x, y, w, h in faces:
        mx, my = math.ceil(w * FACE_MARGIN), math.ceil(h * FACE_MARGIN)
        x0, y0 = max(0, x - mx), max(0, y - my)
        x1, y1 = min(width, x + w + mx), min(height, y + h + my)
        if x1 > x0 and y1 > y0:
            grown.append((x0, y0, x1 - x0, y1 - y0))
    faces = grown
    saliency = saliency_map(image)
    return [propose_crop(image.shape[:2], faces, p, saliency) for p in placements]


def check_box(shape: tuple[int, int], box: Box, placement: Placement) -> Box:
    """A person's crop box, refused unless it lies in the image with the placement's exact ratio."""
    height, width = shape
    x, y, w, h = (int(v) for v in box)
    pw, ph = placement.ratio
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise InvalidParameterError(f"crop box {box} does not lie inside the {width}x{height} image")
    if w * ph != h * pw:
        raise InvalidParameterError(f"crop box {w}x{h} is not {pw}:{ph}; give a width and height "
                                    f"in that exact ratio, e.g. {pw * (w // pw)}x{ph * (w // pw)}")
    return x, y, w, h


def render_crop(image: np.ndarray, box: Box, placement: Placement, max_width: int) -> np.ndarray:
    """The cropped pixels, scaled down to at most `max_width` wide, keeping the exact ratio."""
    x, y, w, h = box
    out = image[y:y + h, x:x + w]
    pw, ph = placement.ratio
    if w > max_width:
        k = max(1, max_width // pw)
        out = cv2.resize(out, (pw * k, ph * k), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(out)
