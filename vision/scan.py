"""One decoding pass over a video: shot boundaries on every frame, quality and faces on samples,
and a small pool of the best samples of each shot kept at analysis resolution."""
from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping

import cv2
import numpy as np
from tqdm import tqdm

from vision.errors import InvalidParameterError
from vision.faces import FaceDetector
from vision.frames import ShotBoundary, ShotDetector, VideoInfo, VideoReader, resize_to_width, shot_of
from vision.quality import (
    FrameQuality,
    Letterbox,
    RELATIVE_BLUR,
    consensus_letterbox,
    measure_quality,
)


# Pooled frames are kept at full resolution up to this many bytes, so that ingest need not
# decode them again (a re-read seeks and decodes from the nearest keyframe); the rest are
# re-read. 192 MiB: about 30 frames of 1080p, 70 of 720p.
FULL_FRAMES_BYTES = 192 << 20


@dataclass(frozen=True)
class Sample:
    """A sampled frame at analysis resolution (bars not cropped) with its quality."""

    frame: int
    time: float
    shot: int
    image: np.ndarray = field(repr=False)
    quality: FrameQuality
    # The frame at full resolution, when the scan could keep it (see FULL_FRAMES_BYTES).
    full: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class VideoScan:
    """What one pass over a video found."""

    info: VideoInfo
    boundaries: tuple[ShotBoundary, ...]
    pool: tuple[Sample, ...]  # the best usable samples of each shot, in frame order
    frames_decoded: int
    frames_analysed: int  # frames compared for shot boundaries
    frames_sampled: int  # frames scored for quality and faces
    rejected: Mapping[str, int]  # sampled frames left out: black, blank, blurry, fade
    letterbox: Letterbox  # bars common to the video, at analysis resolution
    seconds: float

    @property
    def shots(self) -> int:
        """Number of shots."""
        return len(self.boundaries) + 1


class _ShotPools:
    """The `size` best usable samples of each shot, assigned once the shot is confirmed; each
    with its full-resolution frame while those held stay within `full_bytes`."""

    def __init__(self, size: int, full_bytes: int = 0):
        self.size = size
        self.full_bytes = full_bytes
        self.held = 0  # bytes of full-resolution frames held (pending and pooled)
        self._pending: list[Sample] = []
        self._heaps: dict[int, list[tuple[float, int, Sample]]] = {}

    def add(self, frame: int, t: float, image: np.ndarray, q: FrameQuality, full: np.ndarray) -> None:
        keep = self.held + full.nbytes <= self.full_bytes
        self.held += full.nbytes if keep else 0
        self._pending.append(Sample(frame, t, -1, image, q, full if keep else None))

    def _drop(self, sample: Sample) -> None:
        if sample.full is not None:
            self.held -= sample.full.nbytes

    def settle(self, confirmed_until: int, boundaries: list[ShotBoundary]) -> None:
        while self._pending and self._pending[0].frame <= confirmed_until:
            sample = self._pending.pop(0)
            sample = replace(sample, shot=shot_of(sample.frame, boundaries))
            heap = self._heaps.setdefault(sample.shot, [])
            entry = (sample.quality.score, -sample.frame, sample)
            if len(heap) < self.size:
                heapq.heappush(heap, entry)
            elif entry[:2] > heap[0][:2]:
                self._drop(heapq.heapreplace(heap, entry)[2])
            else:
                self._drop(sample)

    def samples(self) -> list[Sample]:
        return sorted((entry[2] for heap in self._heaps.values() for entry in heap), key=lambda s: s.frame)


def scan_video(
    path: str | Path,
    *,
    sample_every: float = 0.5,
    analysis_width: int = 320,
    pool_per_shot: int = 2,
    stride: int = 2,
    faces: FaceDetector | None = None,
    detector: Mapping[str, float] | None = None,
    progress: bool = False,
    on_progress: Callable[[float], None] | None = None,
    full_frames_bytes: int = FULL_FRAMES_BYTES,
) -> VideoScan:
    """Decode a video once: shot boundaries from every `stride`-th frame, quality every
    `sample_every` seconds on a copy `analysis_width` pixels wide, kept for the best
    `pool_per_shot` samples of each shot, whose faces are then detected; pooled samples keep
    their full-resolution frame while those kept take at most `full_frames_bytes`.

    The frames in between are only grab()bed, which skips their colour conversion: with the
    default stride of 2, a boundary is reported on its frame or the one after.

    Raises MediaNotFoundError or VideoDecodeError (not a video, truncated, corrupt).
    """
    if sample_every <= 0 or analysis_width < 64 or pool_per_shot < 1:
        raise InvalidParameterError(
            f"need sample_every > 0, analysis_width >= 64 and pool_per_shot >= 1 (got {sample_every}, "
            f"{analysis_width}, {pool_per_shot})"
        )
    started = time.perf_counter()
    face_detector = faces if faces is not None else FaceDetector()
    pools = _ShotPools(pool_per_shot, full_frames_bytes)
    rejected = {"black": 0, "blank": 0, "blurry": 0, "fade": 0}
    sharpness: list[float] = []
    boxes: list[Letterbox] = []
    sampled = 0
    with VideoReader(path) as reader:
        info = reader.info
        shots = ShotDetector(info.fps, **(detector or {}))
        step = max(stride, int(round(info.fps * sample_every)))
        bar = tqdm(total=info.frame_count, unit="frame", desc=Path(path).name, disable=not progress, leave=False)
        report_every = max(1, info.frame_count // 50)
        with bar:
            last = -1
            for index, frame in reader.frames(stride):
                shots.update(index, frame)
                if index % step < stride:
                    sampled += 1
                    image = _analysis_copy(frame, analysis_width)
                    q = measure_quality(image)
                    if q.is_black or q.is_blank:
                        rejected["black" if q.is_black else "blank"] += 1
                    else:
                        sharpness.append(q.sharpness)
                        boxes.append(q.letterbox)
                        if q.is_blurry:
                            rejected["blurry"] += 1
                        else:
                            pools.add(index, index / info.fps, image, q, frame)
                    pools.settle(shots.confirmed_until, shots.boundaries)
                bar.update(index - last)
                if on_progress is not None and index // report_every != last // report_every:
                    on_progress(min(1.0, index / max(info.frame_count, 1)))
                last = index
        frames_decoded = reader.frames_decoded
        shots.finish()
        pools.settle(frames_decoded, shots.boundaries)
    pool = [
        replace(s, quality=s.quality.with_faces(face_detector.detect(s.quality.letterbox.crop(s.image))))
        for s in _final_flags(pools.samples(), shots, sharpness, rejected)
    ]
    return VideoScan(
        info=info,
        boundaries=tuple(shots.boundaries),
        pool=tuple(pool),
        frames_decoded=frames_decoded,
        frames_analysed=shots.frames_seen,
        frames_sampled=sampled,
        rejected=rejected,
        letterbox=consensus_letterbox(boxes),
        seconds=time.perf_counter() - started,
    )


def _analysis_copy(frame: np.ndarray, width: int) -> np.ndarray:
    """The frame `width` wide: every other pixel down to twice that, then 2x2 averaging (close
    to INTER_AREA from full size, several times cheaper)."""
    return resize_to_width(resize_to_width(frame, 2 * width, cv2.INTER_NEAREST), width)


def _final_flags(
    samples: list[Sample], shots: ShotDetector, sharpness: list[float], rejected: dict[str, int]
) -> list[Sample]:
    """Drop pooled samples that turned out to be in a fade or far blurrier than the video."""
    limit = RELATIVE_BLUR * float(np.median(sharpness)) if len(sharpness) >= 3 else 0.0
    kept = []
    for s in samples:
        if shots.is_fade(s.frame):
            rejected["fade"] += 1
        elif s.quality.sharpness < limit:
            rejected["blurry"] += 1
        else:
            kept.append(s)
    return kept
