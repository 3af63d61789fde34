"""Face detection (OpenCV's LBP cascade by default) on real photos and real faces."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.errors import InvalidParameterError, VisionError
from vision.face_eval import face_scenes, score_detector
from vision.faces import FaceDetector

HAAR = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"


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
    path.write_bytes(HAAR.read_bytes())
    assert FaceDetector(path).detect(astronaut).count == 1
    path.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(VisionError, match="not a loadable OpenCV cascade"):
        FaceDetector(path)
    path.unlink()
    with pytest.raises(VisionError, match="not a loadable OpenCV cascade"):
        FaceDetector(path)


def test_the_default_detector_finds_more_real_faces_than_haar_and_no_more_false_ones(pictures):
    import skimage.data as d

    faces = [(f * 255).astype(np.uint8) for f in d.lfw_subset()[:100]]  # 100 real faces (LFW)
    scenes = face_scenes(faces, pictures, seed=3)
    without = [*pictures[1:], *(cv2.flip(p, 1) for p in pictures[1:])]  # all but the astronaut
    ours = score_detector(FaceDetector(), scenes, without)
    # OpenCV's Haar cascade at the settings the product used before
    haar = score_detector(FaceDetector(HAAR, scale_factor=1.25, min_neighbors=5), scenes, without)
    assert ours.found >= haar.found and ours.found >= 60
    assert ours.false_boxes <= haar.false_boxes and ours.false_boxes <= 1


def test_face_scenes_put_each_face_where_it_says(pictures):
    face = np.full((25, 25), 200, np.uint8)
    for scene in face_scenes([face] * 5, pictures[:2], seed=0, size=(320, 180), sides=(30, 60)):
        x, y, side = scene.box
        assert scene.image.shape == (180, 320, 3) and 30 <= side <= 60
        assert (scene.image[y:y + side, x:x + side] == 200).all()
    with pytest.raises(InvalidParameterError):
        face_scenes([face], pictures[:1], sides=(10, 20))
