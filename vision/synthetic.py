"""Synthetic videos with known shot boundaries (camera motion, blur, fades), and boundary scoring:
for tests and benchmarks of the shot detector."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from vision.errors import InvalidParameterError, VisionError

MOTIONS = ("static", "pan", "zoom", "shake")


@dataclass(frozen=True)
class ShotSpec:
    """One shot: a picture filmed with a camera motion, optionally blurred, fading in or out."""

    image: np.ndarray
    frames: int
    motion: str = "pan"
    blur: float = 0.0  # Gaussian sigma in output pixels
    fade_in: int = 0  # first frames brightening from black
    fade_out: int = 0  # last frames darkening to black
    black_after: int = 0  # black frames after the shot


@dataclass(frozen=True)
class TrueBoundary:
    """A boundary the generator put in: first frame of the new shot, and how far off a detector may
    be beyond the scorer's own tolerance (fades: half the dark stretch)."""

    frame: int
    kind: str
    tolerance: int


@dataclass(frozen=True)
class SyntheticVideo:
    """A generated video file and its ground truth."""

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int
    boundaries: tuple[TrueBoundary, ...]
    blurred_frames: frozenset[int]
    black_frames: frozenset[int]


@dataclass(frozen=True)
class BoundaryScore:
    """Precision, recall and F1 of found boundaries against the truth."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_boundaries(found: Sequence[int], truth: Sequence[TrueBoundary], tolerance: int = 1) -> BoundaryScore:
    """Match found boundary frames one-to-one to the truth (within each boundary's tolerance, at
    least `tolerance` frames), nearest first, and count hits, false alarms and misses."""
    pairs = sorted(
        (abs(f - t.frame), fi, ti)
        for fi, f in enumerate(found)
        for ti, t in enumerate(truth)
        if abs(f - t.frame) <= max(tolerance, t.tolerance)
    )
    used_found: set[int] = set()
    used_truth: set[int] = set()
    for _, fi, ti in pairs:
        if fi not in used_found and ti not in used_truth:
            used_found.add(fi)
            used_truth.add(ti)
    tp = len(used_truth)
    return BoundaryScore(tp, len(found) - tp, len(truth) - tp)


def _camera(image: np.ndarray, size: tuple[int, int], motion: str, t: float, rng_phase: float) -> np.ndarray:
    """The view at progress t (0..1) through the shot of a camera moving over `image`."""
    w, h = size
    ih, iw = image.shape[:2]
    # the widest crop with the output's aspect ratio, then a window 80% of it that moves
    base = min(iw / w, ih / h)
    cw, ch = w * base, h * base
    if motion == "static":
        scale, cx, cy = 0.85, iw / 2, ih / 2
    elif motion == "pan":
        scale = 0.8
        travel = (1 - scale) * cw / 2
        cx = iw / 2 + travel * (2 * t - 1) * np.cos(rng_phase)
        cy = ih / 2 + (1 - scale) * ch / 2 * (2 * t - 1) * np.sin(rng_phase)
    elif motion == "zoom":
        scale = 0.95 - 0.3 * t
        cx, cy = iw / 2, ih / 2
    elif motion == "shake":
        scale = 0.8
        cx = iw / 2 + 0.08 * cw * np.sin(2 * np.pi * 3 * t + rng_phase)
        cy = ih / 2 + 0.06 * ch * np.cos(2 * np.pi * 4 * t + rng_phase)
    else:
        raise InvalidParameterError(f"unknown motion {motion!r}; use one of {', '.join(MOTIONS)}")
    sx = scale * cw / w
    sy = scale * ch / h
    m = np.array([[sx, 0, cx - sx * w / 2], [0, sy, cy - sy * h / 2]], np.float64)
    return cv2.warpAffine(
        image, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
    )


def write_video(
    path: str | Path,
    shots: Sequence[ShotSpec],
    *,
    fps: float = 25.0,
    size: tuple[int, int] = (320, 180),
    noise: float = 2.0,
    seed: int = 0,
) -> SyntheticVideo:
    """Render `shots` into an MPEG-4 (mp4v) file and return it with its true boundaries.

    A hard cut's boundary is the first frame of the next shot (its tolerance is the scorer's); a
    fade through black's boundary is the middle of the dark stretch between the shots (tolerance
    half of it).
    """
    if not shots:
        raise InvalidParameterError("a synthetic video needs at least one shot")
    rng = np.random.default_rng(seed)
    w, h = size
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise VisionError(f"{path}: OpenCV cannot write an mp4v video here")
    grain = [rng.normal(0, noise, (h, w, 1)).astype(np.float32) for _ in range(4)] if noise > 0 else []
    truth: list[TrueBoundary] = []
    blurred: set[int] = set()
    black: set[int] = set()
    index = 0
    pending_dark = 0  # dark frames (fade-out + black) right before the current shot
    try:
        for n, shot in enumerate(shots):
            if shot.frames < 1:
                raise InvalidParameterError(f"shot {n}: frames must be at least 1")
            if n:
                dark = pending_dark + shot.fade_in
                if dark:
                    mid = index - pending_dark + dark // 2
                    truth.append(TrueBoundary(mid, "fade", dark // 2 + 2))
                else:
                    truth.append(TrueBoundary(index, "cut", 0))
            phase = float(rng.uniform(0, 2 * np.pi))
            picture = np.ascontiguousarray(shot.image[..., :3])
            for f in range(shot.frames):
                frame = _camera(picture, size, shot.motion, f / max(1, shot.frames - 1), phase)
                if shot.blur > 0:
                    frame = cv2.GaussianBlur(frame, (0, 0), shot.blur)
                    blurred.add(index)
                gain = 1.0
                if f < shot.fade_in:
                    gain = (f + 1) / (shot.fade_in + 1)
                elif f >= shot.frames - shot.fade_out:
                    gain = (shot.frames - f) / (shot.fade_out + 1)
                out = frame.astype(np.float32) * gain
                if grain:
                    out += grain[index % len(grain)]
                writer.write(np.clip(out, 0, 255).astype(np.uint8))
                index += 1
            for _ in range(shot.black_after):
                writer.write(np.zeros((h, w, 3), np.uint8))
                black.add(index)
                index += 1
            pending_dark = shot.fade_out + shot.black_after
    finally:
        writer.release()
    return SyntheticVideo(path, fps, index, w, h, tuple(truth), frozenset(blurred), frozenset(black))


def random_shots(
    pictures: Sequence[np.ndarray],
    count: int,
    *,
    fps: float = 25.0,
    seed: int = 0,
    fade_every: int = 4,
    min_seconds: float = 1.0,
    max_seconds: float = 3.0,
) -> list[ShotSpec]:
    """`count` shots cycling through `pictures` with seeded lengths and motions; every
    `fade_every`-th shot fades out through black (0 for none)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pictures))
    shots = []
    for n in range(count):
        picture = pictures[int(order[n % len(order)])]
        frames = int(rng.integers(int(min_seconds * fps), int(max_seconds * fps) + 1))
        fade = bool(fade_every) and n % fade_every == fade_every - 1 and n < count - 1
        shots.append(
            ShotSpec(
                picture,
                frames,
                motion=MOTIONS[int(rng.integers(0, len(MOTIONS)))],
                fade_out=int(fps * 0.4) if fade else 0,
                black_after=int(fps * 0.3) if fade else 0,
            )
        )
    # shots after a fade fade in again
    for n in range(1, len(shots)):
        if shots[n - 1].black_after:
            s = shots[n]
            shots[n] = ShotSpec(s.image, s.frames, s.motion, s.blur, int(fps * 0.4), s.fade_out, s.black_after)
    return shots
