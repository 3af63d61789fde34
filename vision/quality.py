"""Frame quality: sharpness, exposure, contrast, colourfulness, black/blank/blurred/fade flags,
letterbox bars, faces, and one overall score.

The overall score (0..1) is 0 for black or blank frames; otherwise the weighted sum

    0.40 * sharp      sharp = s / (s + 150), s = Laplacian variance at 320 px width
    0.20 * exposure   1 - |brightness - 0.5| / 0.5
    0.15 * contrast   min(1, luma std / 0.25)
    0.10 * colour     min(1, colourfulness / 80)  (Hasler & Suesstrunk's M on 0..255 values)
    0.15 * face       0.4 without a face, else 0.7 + 0.3 * min(1, largest face share / 0.04)

halved for a blurred frame or a frame inside a fade. All measures are taken on the frame with its
letterbox bars cropped, scaled to 320 px wide, so they do not depend on the resolution.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from typing import Sequence

import cv2
import numpy as np

from vision.faces import FaceDetector, FaceStats
from vision.frames import resize_to_width

QUALITY_WIDTH = 320
BLACK_BRIGHTNESS = 0.07  # mean luma (0..1) under which a frame is black
BLANK_CONTRAST = 0.03  # luma std under which a frame is one flat colour
BLUR_SHARPNESS = 30.0  # Laplacian variance (at 320 px) under which a frame is blurred
RELATIVE_BLUR = 0.2  # ... or under this fraction of the median sharpness of its video / upload batch


@dataclass(frozen=True)
class Letterbox:
    """Dark bars around the picture, in pixels of the image they were measured on."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    @property
    def empty(self) -> bool:
        """True when there are no bars."""
        return not (self.top or self.bottom or self.left or self.right)

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The picture without its bars (a view, not a copy)."""
        h, w = image.shape[:2]
        return image[self.top : h - self.bottom, self.left : w - self.right]

    def scaled(self, sx: float, sy: float) -> "Letterbox":
        """The same bars on an image `sx` times as wide and `sy` times as tall."""
        return Letterbox(int(self.top * sy), int(self.bottom * sy), int(self.left * sx), int(self.right * sx))


def detect_letterbox(
    image: np.ndarray, *, dark_level: float = 16.0, min_bar: float = 0.02, max_bars: float = 0.5
) -> Letterbox:
    """Letterbox (top/bottom) and pillarbox (left/right) bars of an image.

    A bar is a run of rows (columns) from the edge whose mean is under `dark_level` and whose
    brightest pixel is under three times that; bars thinner than `min_bar` of the side are ignored,
    and bars covering `max_bars` or more of the frame mean a dark frame, not a letterbox.
    """
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape

    def bars(means: np.ndarray, maxima: np.ndarray, length: int) -> tuple[int, int]:
        dark = (means < dark_level) & (maxima < 3 * dark_level)
        if dark.all():
            return 0, 0
        first = int(np.argmin(dark))
        last = int(np.argmin(dark[::-1]))
        first = first if first >= min_bar * length else 0
        last = last if last >= min_bar * length else 0
        if first + last >= max_bars * length:
            return 0, 0
        return first, last

    top, bottom = bars(grey.mean(axis=1), grey.max(axis=1), h)
    left, right = bars(grey.mean(axis=0), grey.max(axis=0), w)
    return Letterbox(top, bottom, left, right)


def consensus_letterbox(boxes: Sequence[Letterbox]) -> Letterbox:
    """Bars present in every one of `boxes` (the per-side minimum): never crops picture."""
    if not boxes:
        return Letterbox()
    return Letterbox(
        min(b.top for b in boxes), min(b.bottom for b in boxes),
        min(b.left for b in boxes), min(b.right for b in boxes),
    )


@dataclass(frozen=True)
class FrameQuality:
    """Quality measures of one frame or still; see the module docstring for the score."""

    sharpness: float
    brightness: float
    contrast: float
    colourfulness: float
    is_black: bool
    is_blank: bool
    is_blurry: bool
    is_fade: bool = False
    faces: FaceStats = field(default_factory=FaceStats)
    letterbox: Letterbox = field(default_factory=Letterbox)
    score: float = 0.0

    @property
    def usable(self) -> bool:
        """Whether the frame may become a candidate (not black, blank, blurred or in a fade)."""
        return not (self.is_black or self.is_blank or self.is_blurry or self.is_fade)

    def with_flags(self, *, is_blurry: bool | None = None, is_fade: bool | None = None) -> "FrameQuality":
        """A copy with the blurred/fade flags changed and the score recomputed."""
        q = replace(
            self,
            is_blurry=self.is_blurry if is_blurry is None else is_blurry,
            is_fade=self.is_fade if is_fade is None else is_fade,
        )
        return replace(q, score=overall_score(q))

    def with_faces(self, faces: FaceStats) -> "FrameQuality":
        """A copy with these face statistics and the score recomputed."""
        q = replace(self, faces=faces)
        return replace(q, score=overall_score(q))

    def as_dict(self) -> dict[str, float]:
        """Flat float mapping as the catalog stores it (face position only when a face was found)."""
        out = {
            "score": round(self.score, 4),
            "sharpness": round(self.sharpness, 2),
            "brightness": round(self.brightness, 4),
            "contrast": round(self.contrast, 4),
            "colourfulness": round(self.colourfulness, 2),
            "black": float(self.is_black),
            "blank": float(self.is_blank),
            "blurry": float(self.is_blurry),
            "fade": float(self.is_fade),
            "face_count": float(self.faces.count),
            "face_share": round(self.faces.largest_share, 4),
            "letterboxed": float(not self.letterbox.empty),
        }
        if self.faces.x is not None and self.faces.y is not None:
            out["face_x"] = round(self.faces.x, 4)
            out["face_y"] = round(self.faces.y, 4)
        return out


def overall_score(q: FrameQuality) -> float:
    """The documented 0..1 overall score of a frame (see the module docstring)."""
    if q.is_black or q.is_blank:
        return 0.0
    sharp = q.sharpness / (q.sharpness + 150.0)
    exposure = 1.0 - min(1.0, abs(q.brightness - 0.5) / 0.5)
    contrast = min(1.0, q.contrast / 0.25)
    colour = min(1.0, q.colourfulness / 80.0)
    face = 0.4 if q.faces.count == 0 else 0.7 + 0.3 * min(1.0, q.faces.largest_share / 0.04)
    score = 0.40 * sharp + 0.20 * exposure + 0.15 * contrast + 0.10 * colour + 0.15 * face
    if q.is_blurry or q.is_fade:
        score *= 0.5
    return float(score)


def colourfulness(image: np.ndarray) -> float:
    """Hasler & Suesstrunk's colourfulness M of a BGR image (0 for grey, ~100+ for vivid)."""
    b, g, r = cv2.split(image.astype(np.float32))
    rg = r - g
    yb = 0.5 * (r + g) - b
    (mrg, srg), (myb, syb) = [(float(m[0][0]), float(s[0][0])) for m, s in (cv2.meanStdDev(rg), cv2.meanStdDev(yb))]
    return float(np.hypot(srg, syb) + 0.3 * np.hypot(mrg, myb))


def measure_quality(
    image: np.ndarray,
    *,
    faces: FaceDetector | None = None,
    letterbox: Letterbox | None = None,
    is_fade: bool = False,
) -> FrameQuality:
    """Quality of one BGR image: its bars are detected (unless given) and cropped first.

    Faces are looked for when a detector is given and the frame is neither black nor blank.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ValueError(f"expected a non-empty BGR image (H, W, 3), got shape {image.shape}")
    box = detect_letterbox(image) if letterbox is None else letterbox
    picture = box.crop(image)
    if picture.size == 0:
        picture, box = image, Letterbox()
    small = resize_to_width(picture, QUALITY_WIDTH)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    mean, std = (float(v[0][0]) / 255.0 for v in cv2.meanStdDev(grey))
    sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    is_black = mean < BLACK_BRIGHTNESS and std < 0.05
    is_blank = not is_black and std < BLANK_CONTRAST
    face_stats = faces.detect(picture) if faces is not None and not (is_black or is_blank) else FaceStats()
    q = FrameQuality(
        sharpness=sharpness,
        brightness=mean,
        contrast=std,
        colourfulness=colourfulness(small),
        is_black=is_black,
        is_blank=is_blank,
        is_blurry=sharpness < BLUR_SHARPNESS,
        is_fade=is_fade,
        faces=face_stats,
        letterbox=box,
    )
    return replace(q, score=overall_score(q))


def flag_relative_blur(qualities: Sequence[FrameQuality], fraction: float = RELATIVE_BLUR) -> list[FrameQuality]:
    """Mark as blurred the frames far softer than the median of their video or batch."""
    sharp = [q.sharpness for q in qualities if not (q.is_black or q.is_blank)]
    if len(sharp) < 3:
        return list(qualities)
    limit = fraction * statistics.median(sharp)
    return [q.with_flags(is_blurry=True) if q.sharpness < limit and not q.is_blurry else q for q in qualities]
