"""One pass over a video: boundaries, sampled quality, and the pool of best frames per shot."""
from __future__ import annotations

import pytest

from vision.errors import InvalidParameterError, VideoDecodeError
from vision.scan import scan_video
from vision.synthetic import score_boundaries

from tests.vision.conftest import BBB


def test_black_and_blurred_frames_never_reach_the_pool(mixed_video):
    scan = scan_video(mixed_video.path)
    assert score_boundaries([b.frame for b in scan.boundaries], mixed_video.boundaries).f1 == 1.0
    assert scan.pool
    for sample in scan.pool:
        assert sample.frame not in mixed_video.blurred_frames
        assert sample.frame not in mixed_video.black_frames
        assert sample.quality.usable
    assert scan.rejected["black"] >= 1 and scan.rejected["blurry"] >= 2
    assert {s.shot for s in scan.pool} == {0, 2, 3, 5}  # shots 1 and 4 are blurred


def test_pool_keeps_at_most_n_per_shot_in_frame_order(mixed_video):
    scan = scan_video(mixed_video.path, pool_per_shot=1, sample_every=0.2)
    shots = [s.shot for s in scan.pool]
    assert len(shots) == len(set(shots))
    assert [s.frame for s in scan.pool] == sorted(s.frame for s in scan.pool)
    assert scan.frames_sampled == pytest.approx(mixed_video.frame_count / 5, abs=1)
    assert scan.frames_decoded == mixed_video.frame_count
    assert scan.frames_analysed == (mixed_video.frame_count + 1) // 2  # default stride 2: others only grabbed


def test_real_clip_scan():
    scan = scan_video(BBB)
    assert scan.shots == 1 and scan.frames_decoded == 132
    assert 1 <= len(scan.pool) <= 2
    assert all(s.image.shape[1] == 320 for s in scan.pool)
    assert scan.letterbox.empty


def test_stride_one_analyses_every_frame(mixed_video):
    scan = scan_video(mixed_video.path, stride=1)
    assert scan.frames_analysed == mixed_video.frame_count
    assert score_boundaries([b.frame for b in scan.boundaries], mixed_video.boundaries, tolerance=0).f1 == 1.0


def test_scan_errors(tmp_path):
    with pytest.raises(InvalidParameterError):
        scan_video(BBB, sample_every=0)
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00" * 5000)
    with pytest.raises(VideoDecodeError):
        scan_video(bad)
