"""Face detection with OpenCV's shipped Haar cascade on a real photo."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.errors import InvalidParameterError, VisionError
from vision.faces import FaceDetector


def test_astronaut_face_is_found(astronaut):
    stats = FaceDetector().detect(astronaut)
    assert stats.count == 1
    x, y, w, h = stats.boxes[0]
    # Eileen Collins' face is in the upper middle of the 512x512 picture
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 200
    assert 0.02 < stats.largest_share < 0.2
    assert stats.x == pytest.approx((x + w / 2) / 512) and stats.y == pytest.approx((y + h / 2) / 512)


def test_face_is_found_at_any_resolution(astronaut):
    big = cv2.resize(astronaut, (1536, 1536))
    stats = FaceDetector().detect(big)
    assert stats.count == 1
    assert stats.largest_share == pytest.approx(FaceDetector().detect(astronaut).largest_share, rel=0.3)


def test_no_face_in_a_landscape(pictures):
    for picture in (pictures[3], pictures[8], np.full((200, 300, 3), 90, np.uint8)):
        stats = FaceDetector().detect(picture)
        assert stats.count == 0 and stats.x is None and stats.largest_share == 0.0


def test_grey_input_works(astronaut):
    assert FaceDetector().detect(cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)).count == 1


def test_bad_cascade_and_settings(tmp_path):
    bogus = tmp_path / "cascade.xml"
    bogus.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(VisionError, match="not a loadable OpenCV cascade"):
        FaceDetector(bogus)
    with pytest.raises(InvalidParameterError):
        FaceDetector(detect_width=10)


def test_one_detector_in_several_threads_finds_what_it_finds_alone(astronaut, pictures):
    from concurrent.futures import ThreadPoolExecutor

    detector = FaceDetector()
    images = [astronaut, pictures[3], cv2.resize(astronaut, (800, 800)), pictures[8]] * 4
    alone = [detector.detect(image) for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(detector.detect, images))
    assert together == alone and alone[0].count == 1


def test_a_cascade_file_changed_on_disk_is_read_again(tmp_path, astronaut):
    path = tmp_path / "faces.xml"
    path.write_bytes((Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml").read_bytes())
    assert FaceDetector(path).detect(astronaut).count == 1
    path.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(VisionError, match="not a loadable OpenCV cascade"):
        FaceDetector(path)
    path.unlink()
    with pytest.raises(VisionError, match="not a loadable OpenCV cascade"):
        FaceDetector(path)
