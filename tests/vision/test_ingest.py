"""The whole pipeline into a real store: candidates, duplicates, failures that store nothing."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from artwork.errors import InvalidImageError, NotFoundError
from artwork.store import Store
from vision.embed import ClassicEmbedder
from vision.errors import MediaNotFoundError, VideoDecodeError
from vision.ingest import ingest_stills, ingest_video
from vision.scan import scan_video

from tests.vision.conftest import ASTRONAUT, BBB


@pytest.fixture
def title(store):
    store.add_title("t1", "Test Title", genres=("drama",))
    return "t1"


@pytest.fixture(scope="module")
def embedder():
    return ClassicEmbedder()


def test_video_candidates_are_stored_with_features(store, title, mixed_video, embedder):
    report = ingest_video(store, title, mixed_video.path, max_candidates=10, embedder=embedder)
    stored = store.list_artworks(title)
    assert {a.id for a in stored} == {a.id for a in report.candidates}
    assert 3 <= len(stored) <= 10
    for art in stored:
        assert art.status == "candidate" and art.source == "video"
        assert art.frame_index not in mixed_video.blurred_frames | mixed_video.black_frames
        assert art.frame_time == pytest.approx(art.frame_index / mixed_video.fps)
        assert art.embedder == "classic-v1" and art.embedding.shape == (embedder.dim,)
        assert art.quality["score"] > 0 and art.quality["blurry"] == 0.0 and art.tags
        assert (art.width, art.height) == (480, 270)  # full resolution, not the analysis copy
        image = cv2.imread(str(store.image_path(art)))
        assert image is not None and image.shape == (270, 480, 3)
    # the static astronaut shot appears twice (shots 2 and 5): it is stored once
    astro = [a for a in stored if a.shot in (2, 5)]
    assert len(astro) == 1
    assert report.duplicates >= 1
    summary = report.as_dict()
    assert summary["shots"] == 6 and summary["frames_decoded"] == mixed_video.frame_count
    assert [b["frame"] for b in summary["shot_boundaries"]] == [b.frame for b in report.boundaries]


def test_frames_kept_by_the_scan_are_the_frames_read_again(store, title, mixed_video, embedder, tmp_path):
    # Within the budget the scan keeps the pooled frames; without one ingest reads them again:
    # the same pictures either way, byte for byte.
    kept = ingest_video(store, title, mixed_video.path, embedder=embedder)
    other = Store.open(tmp_path / "other")
    try:
        other.add_title(title, "Test Title", genres=("drama",))
        again = ingest_video(other, title, mixed_video.path, embedder=embedder, full_frames_bytes=0)
        assert [a.id for a in kept.candidates] == [a.id for a in again.candidates]
        assert [store.image_path(a).read_bytes() for a in kept.candidates] == \
            [other.image_path(a).read_bytes() for a in again.candidates]
    finally:
        other.close_all()
    scan = scan_video(mixed_video.path, full_frames_bytes=3 * 480 * 270 * 3)
    assert 0 < sum(s.full is not None for s in scan.pool) <= 3 < len(scan.pool)


def test_ingesting_again_adds_no_duplicates(store, title, mixed_video, embedder):
    first = ingest_video(store, title, mixed_video.path, embedder=embedder)
    again = ingest_video(store, title, mixed_video.path, embedder=embedder)
    assert first.candidates and not again.candidates
    assert len(store.list_artworks(title)) == len(first.candidates)


def test_the_real_clip_collapses_to_few_candidates(store, title, embedder):
    report = ingest_video(store, title, BBB, embedder=embedder)
    assert 1 <= len(report.candidates) <= 2
    art = report.candidates[0]
    assert (art.width, art.height) == (1280, 720)


@pytest.mark.parametrize("content", [b"", b"not a video" * 100, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000])
def test_corrupt_or_non_video_stores_nothing(store, title, tmp_path, embedder, content):
    bad = tmp_path / "trailer.mp4"
    bad.write_bytes(content)
    with pytest.raises(VideoDecodeError, match="trailer.mp4"):
        ingest_video(store, title, bad, embedder=embedder)
    assert store.list_artworks(title) == []


def test_missing_video_and_unknown_title(store, title, tmp_path, embedder):
    with pytest.raises(MediaNotFoundError):
        ingest_video(store, title, tmp_path / "gone.mp4", embedder=embedder)
    with pytest.raises(NotFoundError):
        ingest_video(store, "nope", BBB, embedder=embedder)


def test_stills_keep_originals_and_skip_near_duplicates(store, title, tmp_path, pictures, embedder):
    copy = tmp_path / "astronaut-copy.jpg"
    cv2.imwrite(str(copy), cv2.imread(str(ASTRONAUT)), [cv2.IMWRITE_JPEG_QUALITY, 70])
    coffee = tmp_path / "coffee.png"
    cv2.imwrite(str(coffee), pictures[1])
    black = tmp_path / "black.png"
    cv2.imwrite(str(black), np.zeros((100, 200, 3), np.uint8))
    report = ingest_stills(store, title, [ASTRONAUT, coffee, copy, black], embedder=embedder)
    stored = store.list_artworks(title)
    assert len(stored) == 2 and report.duplicates == 1 and report.rejected["black"] == 1
    astro = next(a for a in stored if a.width == 512)
    assert astro.source == "upload" and astro.quality["face_count"] >= 1
    assert store.image_path(astro).read_bytes() == ASTRONAUT.read_bytes()
    assert any(t in astro.tags for t in ("face", "close-up face"))


def test_a_stills_embedding_is_the_embedders_own_with_the_faces_quality_found(store, title, embedder):
    from vision.frames import resize_to_width
    from vision.ingest import STILL_ANALYSIS_WIDTH

    art = ingest_stills(store, title, [ASTRONAUT], embedder=embedder).candidates[0]
    assert art.quality["face_count"] == 1
    own = embedder.embed([resize_to_width(cv2.imread(str(ASTRONAUT)), STILL_ANALYSIS_WIDTH)])[0]
    np.testing.assert_allclose(art.embedding, own, rtol=0, atol=1e-6)


def test_a_bad_still_stores_nothing(store, title, tmp_path, embedder):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(ASTRONAUT.read_bytes()[:5000])
    with pytest.raises(InvalidImageError, match="broken.jpg"):
        ingest_stills(store, title, [ASTRONAUT, broken], embedder=embedder)
    assert store.list_artworks(title) == []


def test_letterbox_bars_are_cropped_from_stored_frames(store, title, tmp_path, pictures, embedder):
    path = tmp_path / "scope.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (640, 360))
    for picture in (pictures[1], pictures[2]):
        framed = cv2.copyMakeBorder(cv2.resize(picture, (640, 272)), 44, 44, 0, 0, cv2.BORDER_CONSTANT, value=0)
        for _ in range(30):
            writer.write(framed)
    writer.release()
    report = ingest_video(store, title, path, embedder=embedder)
    assert len(report.boundaries) == 1 and len(report.candidates) == 2
    for art in report.candidates:
        assert art.width == 640 and abs(art.height - 272) <= 6
        assert art.quality["letterboxed"] == 1.0
