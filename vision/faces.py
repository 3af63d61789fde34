"""Face detection with an OpenCV cascade (LBP by default): count, largest face's share, position."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from vision.errors import InvalidParameterError, VisionError

# OpenCV's LBP frontal-face cascade (see cascades/ATTRIBUTION.md). Against OpenCV's Haar cascade
# (`haarcascade_frontalface_default.xml`, in `cv2.data.haarcascades`, still usable by path) at
# the settings used before (scale 1.25, 5 neighbours), on scikit-image's 100 LFW faces pasted
# into photos and frames and on pictures without faces (`bench/vision_bench.py` prints it): more
# faces found (149 against 123 of 200), no false ones either, in 40% of the time.
DEFAULT_CASCADE = Path(__file__).resolve().parent / "cascades" / "lbpcascade_frontalface.xml"

# Loaded cascades that no detection is using, per file version. A classifier is used by one
# detection at a time (its detection is not safe to share between threads).
_idle: dict[tuple[str, int, int], list[cv2.CascadeClassifier]] = {}
_idle_lock = threading.Lock()


@contextmanager
def _borrowed(path: Path) -> Iterator[cv2.CascadeClassifier]:
    """A classifier of the cascade in `path` for one detection (loaded unless one is idle)."""
    problem = f"{path}: not a loadable OpenCV cascade; pass an OpenCV cascade XML file (Haar or LBP)"
    try:
        stat = path.stat()
    except OSError:
        raise VisionError(problem) from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _idle_lock:
        idle = _idle.setdefault(key, [])
        cascade = idle.pop() if idle else None
    if cascade is None:
        try:
            cascade = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError) as exc:  # OpenCV raises on some malformed files
            raise VisionError(problem) from exc
        if cascade.empty():
            raise VisionError(problem)
    try:
        yield cascade
    finally:
        with _idle_lock:
            _idle[key].append(cascade)


@dataclass(frozen=True)
class FaceStats:
    """Faces found in one image; the position is the largest face's centre, 0..1 of width/height."""

    count: int = 0
    largest_share: float = 0.0  # largest face's box area / image area
    x: float | None = None
    y: float | None = None
    boxes: tuple[tuple[int, int, int, int], ...] = ()  # (x, y, w, h) in input pixels, largest first


class FaceDetector:
    """Frontal faces with an OpenCV cascade (LBP or Haar), run on a copy scaled to `detect_width`."""

    def __init__(
        self,
        cascade: str | Path | None = None,
        *,
        detect_width: int = 320,
        min_face_fraction: float = 0.06,
        scale_factor: float = 1.2,
        min_neighbors: int = 3,
    ):
        if detect_width < 64 or not 0 < min_face_fraction < 1 or scale_factor <= 1 or min_neighbors < 0:
            raise InvalidParameterError(
                "FaceDetector needs detect_width >= 64, 0 < min_face_fraction < 1, scale_factor > 1, "
                "min_neighbors >= 0"
            )
        self._path = Path(cascade) if cascade else DEFAULT_CASCADE
        with _borrowed(self._path):  # refused here when it does not load
            pass
        self.detect_width = detect_width
        self.min_face_fraction = min_face_fraction
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors

    def detect(self, image: np.ndarray) -> FaceStats:
        """Faces in a BGR (or grey) image."""
        h, w = image.shape[:2]
        scale = min(1.0, self.detect_width / w)
        small = image if scale == 1.0 else cv2.resize(
            image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
        grey = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        grey = cv2.equalizeHist(grey)
        side = max(24, int(min(grey.shape) * self.min_face_fraction))
        with _borrowed(self._path) as cascade:
            found = cascade.detectMultiScale(
                grey, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(side, side)
            )
        if len(found) == 0:
            return FaceStats()
        boxes = sorted(
            (tuple(int(round(v / scale)) for v in box) for box in np.asarray(found).reshape(-1, 4)),
            key=lambda b: b[2] * b[3],
            reverse=True,
        )
        bx, by, bw, bh = boxes[0]
        return FaceStats(
            count=len(boxes),
            largest_share=float(bw * bh) / float(w * h),
            x=(bx + bw / 2) / w,
            y=(by + bh / 2) / h,
            boxes=tuple(boxes),  # type: ignore[arg-type]
        )
