"""How well a face detector does: real faces pasted into scenes at known places, and pictures
without faces; for tests and benchmarks of the detector's settings."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from vision.errors import InvalidParameterError
from vision.faces import FaceDetector

# How far a detection's centre may lie outside the pasted face, as a share of its side, and
# still count as finding it (a cascade's box is a little larger or smaller than the crop).
CENTRE_SLACK = 0.2


@dataclass(frozen=True)
class FaceScene:
    """A picture holding one face at a known square `box` (x, y, side)."""

    image: np.ndarray
    box: tuple[int, int, int]


@dataclass(frozen=True)
class FaceScore:
    """Faces found of those pasted, false boxes (in scenes and in pictures without faces), and
    the detector's time per picture."""

    found: int
    faces: int
    false_boxes: int
    ms_per_picture: float

    @property
    def recall(self) -> float:
        return self.found / self.faces if self.faces else 0.0


def face_scenes(faces: Sequence[np.ndarray], backgrounds: Sequence[np.ndarray], *, seed: int = 0,
                size: tuple[int, int] = (640, 360), sides: tuple[int, int] = (40, 200)) -> list[FaceScene]:
    """Each face (a tight grey or BGR crop) scaled to a random side in `sides` and pasted at a
    random place of a random background scaled to `size` (width, height)."""
    width, height = size
    if not faces or not backgrounds or not 24 <= sides[0] <= sides[1] <= min(width, height):
        raise InvalidParameterError("face_scenes needs faces, backgrounds and 24 <= sides <= the scene")
    rng = np.random.default_rng(seed)
    scaled = [cv2.resize(b if b.ndim == 3 else cv2.cvtColor(b, cv2.COLOR_GRAY2BGR), size,
                         interpolation=cv2.INTER_AREA) for b in backgrounds]
    scenes = []
    for face in faces:
        side = int(rng.integers(sides[0], sides[1] + 1))
        image = scaled[int(rng.integers(len(scaled)))].copy()
        x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
        patch = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
        image[y:y + side, x:x + side] = patch if patch.ndim == 3 else cv2.cvtColor(patch, cv2.COLOR_GRAY2BGR)
        scenes.append(FaceScene(image, (x, y, side)))
    return scenes


def _finds(box: tuple[int, int, int, int], face: tuple[int, int, int]) -> bool:
    x, y, side = face
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    slack = CENTRE_SLACK * side
    return x - slack <= cx <= x + side + slack and y - slack <= cy <= y + side + slack


def score_detector(detector: FaceDetector, scenes: Sequence[FaceScene],
                   without_faces: Sequence[np.ndarray]) -> FaceScore:
    """Faces found in `scenes`, boxes elsewhere (there and in `without_faces`), time per picture."""
    found = false = 0
    started = time.perf_counter()
    for scene in scenes:
        hits = [_finds(b, scene.box) for b in detector.detect(scene.image).boxes]
        found += any(hits)
        false += len(hits) - sum(hits)
    for picture in without_faces:
        false += detector.detect(picture).count
    pictures = len(scenes) + len(without_faces)
    elapsed = (time.perf_counter() - started) * 1000 / max(pictures, 1)
    return FaceScore(found, len(scenes), false, elapsed)
