"""The classic OpenCV-feature embedder, `auto` selection, and the seeded projection."""
from __future__ import annotations

import logging
from dataclasses import replace

import cv2
import numpy as np
import pytest

from vision.embed import ClassicEmbedder, Embedder, Projection, make_embedder, project
from vision.errors import EmbedderConfigError, InvalidParameterError
from vision.faces import FaceDetector


@pytest.fixture(scope="module")
def classic() -> ClassicEmbedder:
    return ClassicEmbedder()


def test_classic_vectors_are_unit_float32_and_deterministic(classic, pictures):
    a = classic.embed(pictures[:4])
    b = ClassicEmbedder().embed(pictures[:4])
    assert a.dtype == np.float32 and a.shape == (4, classic.dim)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(a, b)
    assert isinstance(classic, Embedder)


def test_classic_batch_of_one_equals_batch(classic, pictures):
    together = classic.embed(pictures[:3])
    alone = np.concatenate([classic.embed([p]) for p in pictures[:3]])
    assert np.array_equal(together, alone)


def test_near_identical_images_are_closer_than_different_ones(classic, pictures):
    rng = np.random.default_rng(0)
    photo = cv2.resize(pictures[1], (480, 320))
    noisy = np.clip(photo + rng.normal(0, 3, photo.shape), 0, 255).astype(np.uint8)
    recompressed = cv2.imdecode(cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 60])[1], cv2.IMREAD_COLOR)
    other = cv2.resize(pictures[2], (480, 320))
    e = classic.embed([photo, noisy, recompressed, other])
    sims = e @ e[0]
    assert sims[1] >= classic.duplicate_threshold and sims[2] >= classic.duplicate_threshold
    assert sims[3] < classic.duplicate_threshold - 0.1


def test_face_statistics_are_part_of_the_vector(classic, astronaut):
    face, no_face = classic.embed([astronaut, cv2.flip(astronaut, 0)])  # upside down: no face found
    assert np.linalg.norm(face[-4:]) > 0 and np.linalg.norm(no_face[-4:]) == 0


def test_faces_already_found_are_used_as_found(classic, pictures, astronaut):
    # What video ingest passes: the scan's faces, so that the embedder need not look again.
    images = [astronaut, *pictures[:3]]
    found = [FaceDetector(detect_width=320).detect(img) for img in images]
    assert found[0].count >= 1
    assert np.array_equal(classic.embed(images, faces=found), classic.embed(images))
    moved = [replace(found[0], x=0.05, y=0.05), *found[1:]]
    assert not np.array_equal(classic.embed(images, faces=moved)[0], classic.embed(images)[0])
    with pytest.raises(InvalidParameterError, match="2 face results for 4 images"):
        classic.embed(images, faces=found[:2])


def test_classic_rejects_non_images(classic):
    with pytest.raises(InvalidParameterError, match="image 1"):
        classic.embed([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)])
    assert classic.embed([]).shape == (0, classic.dim)


def test_make_embedder_classic_and_unknown_kind():
    assert isinstance(make_embedder("classic"), ClassicEmbedder)
    with pytest.raises(EmbedderConfigError, match="unknown embedder 'vgg'"):
        make_embedder("vgg")


def test_auto_falls_back_to_classic_and_says_why(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="vision.embed")
    embedder = make_embedder("auto", clip_model="ViT-B-32", clip_pretrained=str(tmp_path / "missing.pt"))
    assert isinstance(embedder, ClassicEmbedder)
    assert any("falling back to the classic OpenCV embedder" in r.getMessage() for r in caplog.records)


def test_projection_is_seeded_orthonormal_and_normalizing(classic, pictures):
    e = classic.embed(pictures)
    p = Projection(classic.dim, 8, seed=3)
    m = p.matrix()
    assert np.allclose(m.T @ m, np.eye(8), atol=1e-5)
    out = p.apply(e)
    assert out.shape == (len(pictures), 8) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(out, project(e, 8, seed=3))
    assert not np.allclose(out, project(e, 8, seed=4))
    assert project(e[0], 8, seed=3).shape == (8,)


def test_projection_rejects_bad_shapes(classic):
    with pytest.raises(InvalidParameterError):
        Projection(10, 20)
    with pytest.raises(InvalidParameterError, match="expects 276"):
        Projection(276, 8).apply(np.zeros((2, 5), np.float32))
