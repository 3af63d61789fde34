"""Heuristic tags from quality measures (the CLIP tags are tested in test_clip.py)."""
from __future__ import annotations

import numpy as np

from vision.embed import ClassicEmbedder
from vision.faces import FaceDetector
from vision.quality import measure_quality
from vision.tags import heuristic_tags, tag_images


def test_astronaut_is_a_face(astronaut):
    tags = heuristic_tags(measure_quality(astronaut, faces=FaceDetector()))
    assert tags[0] in ("close-up face", "face")


def test_landscape_dark_and_bright(pictures):
    dark = heuristic_tags(measure_quality((pictures[1] * 0.2).astype(np.uint8)))
    bright = heuristic_tags(measure_quality(np.clip(pictures[1] * 1.6 + 40, 0, 255).astype(np.uint8)))
    assert "no face" in dark and "dark" in dark
    assert "bright" in bright


def test_classic_embedder_gets_heuristic_tags(pictures):
    embedder = ClassicEmbedder()
    q = [measure_quality(p) for p in pictures[:2]]
    assert tag_images(embedder, embedder.embed(pictures[:2]), q) == [heuristic_tags(x) for x in q]
