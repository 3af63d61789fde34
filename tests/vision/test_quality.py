"""Quality measures on real photos: sharpness, exposure, black/blank/blurred, letterbox, score."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vision.faces import FaceDetector
from vision.quality import (
    Letterbox,
    colourfulness,
    consensus_letterbox,
    detect_letterbox,
    flag_relative_blur,
    measure_quality,
    overall_score,
)


def test_sharpness_does_not_depend_on_resolution(pictures):
    photo = pictures[1]
    big = cv2.resize(photo, (photo.shape[1] * 2, photo.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    a, b = measure_quality(photo).sharpness, measure_quality(big).sharpness
    assert a == pytest.approx(b, rel=0.35)


@pytest.mark.parametrize("sigma", [4.0, 8.0])
def test_blurred_photo_scores_lower_and_is_flagged(pictures, sigma):
    photo = cv2.resize(pictures[0], (1280, 720))
    sharp = measure_quality(photo)
    blurred = measure_quality(cv2.GaussianBlur(photo, (0, 0), sigma))
    assert blurred.sharpness < sharp.sharpness / 5
    assert blurred.score < sharp.score
    flagged = flag_relative_blur([sharp, sharp, blurred, sharp])
    assert [q.is_blurry for q in flagged] == [False, False, True, False]
    assert flagged[2].score == pytest.approx(overall_score(flagged[2]))
    assert not flagged[2].usable and flagged[0].usable


def test_black_and_blank_frames():
    black = measure_quality(np.full((180, 320, 3), 3, np.uint8))
    grey = measure_quality(np.full((180, 320, 3), 128, np.uint8))
    assert black.is_black and not black.is_blank and black.score == 0.0 and not black.usable
    assert grey.is_blank and not grey.is_black and grey.score == 0.0


def test_a_dark_photo_with_highlights_is_not_black(pictures):
    hubble = measure_quality(pictures[4])
    assert not hubble.is_black and not hubble.is_blank


def test_colourfulness_of_grey_is_zero_and_of_a_photo_is_high(pictures):
    assert colourfulness(cv2.cvtColor(cv2.cvtColor(pictures[1], cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)) < 1.0
    assert colourfulness(pictures[1]) > 30


def test_letterbox_is_found_and_cropped(pictures):
    picture = cv2.resize(pictures[1], (320, 136))
    framed = cv2.copyMakeBorder(picture, 22, 22, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    box = detect_letterbox(framed)
    assert (box.top, box.bottom, box.left, box.right) == (22, 22, 0, 0)
    assert box.crop(framed).shape == picture.shape
    q = measure_quality(framed)
    assert q.letterbox == box and q.as_dict()["letterboxed"] == 1.0
    assert measure_quality(picture).brightness == pytest.approx(q.brightness, abs=0.02)


def test_pillarbox_and_no_bars(pictures):
    picture = cv2.resize(pictures[2], (240, 180))
    framed = cv2.copyMakeBorder(picture, 0, 0, 40, 40, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    box = detect_letterbox(framed)
    assert (box.left, box.right) == (40, 40) and box.top == box.bottom == 0
    assert detect_letterbox(picture).empty
    assert detect_letterbox(np.zeros((90, 160, 3), np.uint8)).empty  # a black frame is not all bars


def test_letterbox_consensus_and_scaling():
    boxes = [Letterbox(20, 22, 0, 0), Letterbox(18, 22, 0, 3), Letterbox(25, 30, 0, 0)]
    assert consensus_letterbox(boxes) == Letterbox(18, 22, 0, 0)
    assert consensus_letterbox([]) == Letterbox()
    assert Letterbox(10, 10, 4, 4).scaled(4.0, 4.0) == Letterbox(40, 40, 16, 16)


def test_faces_raise_the_score_and_are_reported(astronaut):
    without = measure_quality(astronaut)
    with_faces = measure_quality(astronaut, faces=FaceDetector())
    assert without.faces.count == 0 and with_faces.faces.count >= 1
    assert with_faces.score > without.score
    d = with_faces.as_dict()
    assert d["face_count"] >= 1 and 0 < d["face_x"] < 1 and 0 < d["face_y"] < 1
    assert set(without.as_dict()) == set(d) - {"face_x", "face_y"}


def test_rejects_a_non_image():
    with pytest.raises(ValueError, match="BGR image"):
        measure_quality(np.zeros((10, 10), np.uint8))
