"""The generator of videos with known cuts, and boundary scoring."""
from __future__ import annotations

import pytest

from vision.errors import InvalidParameterError
from vision.frames import probe_video
from vision.synthetic import ShotSpec, TrueBoundary, score_boundaries, write_video


def test_score_boundaries_matches_one_to_one_within_tolerance():
    truth = [TrueBoundary(10, "cut", 1), TrueBoundary(50, "fade", 4)]
    s = score_boundaries([11, 12, 47, 90], truth)
    assert (s.tp, s.fp, s.fn) == (2, 2, 0)
    assert s.precision == 0.5 and s.recall == 1.0 and s.f1 == pytest.approx(2 / 3)
    empty = score_boundaries([], [])
    assert empty.f1 == 1.0


def test_written_video_has_the_declared_frames_and_truth(tmp_path, pictures):
    shots = [ShotSpec(pictures[0], 10), ShotSpec(pictures[1], 12, fade_out=3, black_after=2),
             ShotSpec(pictures[2], 8, fade_in=3)]
    video = write_video(tmp_path / "v.mp4", shots, size=(160, 90))
    info = probe_video(video.path)
    assert info.frame_count == video.frame_count == 32
    assert [(b.frame, b.kind) for b in video.boundaries] == [(10, "cut"), (19 + 4, "fade")]
    assert video.black_frames == {22, 23}


def test_bad_specs(tmp_path, pictures):
    with pytest.raises(InvalidParameterError):
        write_video(tmp_path / "v.mp4", [])
    with pytest.raises(InvalidParameterError, match="unknown motion"):
        write_video(tmp_path / "v.mp4", [ShotSpec(pictures[0], 3, motion="dolly")])
