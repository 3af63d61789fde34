"""Decoding, clear errors for bad files, and shot boundaries on real and generated video."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from vision.errors import InvalidParameterError, MediaNotFoundError, VideoDecodeError
from vision.frames import ShotDetector, VideoReader, detect_shots, probe_video, shot_of
from vision.synthetic import BoundaryScore, ShotSpec, score_boundaries, write_video

from tests.vision.conftest import ASTRONAUT, BBB


def test_probe_reads_the_real_clip():
    info = probe_video(BBB)
    assert (info.width, info.height, info.fps, info.frame_count) == (1280, 720, 25.0, 132)
    assert info.duration == pytest.approx(5.28)


def test_real_clip_decodes_completely_and_is_one_shot():
    with VideoReader(BBB) as reader:
        indices = [i for i, frame in reader.frames()]
        assert reader.frames_decoded == 132
    assert indices == list(range(132))
    assert detect_shots(BBB) == []


def test_stride_grabs_skipped_frames_and_yields_every_nth():
    with VideoReader(BBB) as reader:
        got = [(i, f.shape) for i, f in reader.frames(stride=5)]
    assert [i for i, _ in got] == list(range(0, 132, 5))
    assert all(shape == (720, 1280, 3) for _, shape in got)


def test_missing_file(tmp_path):
    with pytest.raises(MediaNotFoundError, match="no such video file"):
        probe_video(tmp_path / "nope.mp4")


def test_directory_is_not_a_video(tmp_path):
    with pytest.raises(MediaNotFoundError, match="not a regular file"):
        probe_video(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"hello, this is not a video at all\n" * 50, "not a video"),
        (bytes(range(256)) * 40, "cannot open it as a video|not a video"),
    ],
)
def test_non_video_files_fail_clearly(tmp_path, content, message):
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoDecodeError, match=message) as err:
        probe_video(path)
    assert "clip.mp4" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_a_still_image_is_not_a_video():
    with pytest.raises(VideoDecodeError, match="single image.*as a still"):
        probe_video(ASTRONAUT)


def test_truncated_mp4_cannot_be_opened(tmp_path):
    data = BBB.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError, match="truncated, corrupt or not a video"):
        probe_video(path)


def test_truncated_avi_fails_after_decoding_what_is_there(tmp_path, pictures):
    path = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 90))
    for i in range(60):
        writer.write(cv2.resize(pictures[i % 3], (160, 90)))
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with VideoReader(cut) as reader:
        assert reader.info.frame_count == 60
        with pytest.raises(VideoDecodeError, match=r"truncated or corrupt: only \d+ of the 60 frames"):
            for _ in reader.frames():
                pass


def test_generated_set_shot_boundaries_f1(generated_set):
    total = [0, 0, 0]
    for video in generated_set:
        found = detect_shots(video.path)
        score = score_boundaries([b.frame for b in found], video.boundaries)
        total = [total[0] + score.tp, total[1] + score.fp, total[2] + score.fn]
    overall = BoundaryScore(*total)
    assert overall.tp + overall.fn == sum(len(v.boundaries) for v in generated_set) == 78
    assert overall.f1 >= 0.95, overall


def test_cuts_and_fades_are_told_apart_with_times(generated_set):
    video = generated_set[0]
    found = detect_shots(video.path)
    kinds = {t.frame: t.kind for t in video.boundaries}
    fades = [b for b in found if b.kind == "fade"]
    assert fades and all(any(abs(b.frame - f) <= 6 and k == "fade" for f, k in kinds.items()) for b in fades)
    for b in found:
        assert b.time == pytest.approx(b.frame / video.fps)


def test_stride_two_finds_the_same_cuts_within_a_frame(generated_set):
    video = generated_set[1]
    found = detect_shots(video.path, stride=2)
    assert score_boundaries([b.frame for b in found], video.boundaries, tolerance=1).f1 >= 0.95


def test_fast_motion_alone_is_not_a_cut(tmp_path, pictures):
    video = write_video(tmp_path / "shake.mp4", [ShotSpec(pictures[8], 100, "shake")], seed=3)
    assert detect_shots(video.path) == []


def test_fade_frames_are_marked(tmp_path, pictures):
    shots = [ShotSpec(pictures[1], 30, "static", fade_out=8, black_after=6),
             ShotSpec(pictures[2], 30, "static", fade_in=8)]
    video = write_video(tmp_path / "fade.mp4", shots, seed=1)
    detector = ShotDetector(video.fps)
    with VideoReader(video.path) as reader:
        for i, frame in reader.frames():
            detector.update(i, frame)
    detector.finish()
    assert [b.kind for b in detector.boundaries] == ["fade"]
    assert abs(detector.boundaries[0].frame - video.boundaries[0].frame) <= 2
    assert detector.is_fade(33) and detector.is_fade(40)  # darkening, black
    assert not detector.is_fade(5) and not detector.is_fade(60)


def test_read_at_returns_the_same_pixels_as_sequential_decoding():
    wanted = [3, 64, 70, 131]
    with VideoReader(BBB) as reader:
        sequential = {i: f for i, f in reader.frames() if i in wanted}
    with VideoReader(BBB) as reader:
        again = reader.read_at([131, 3, 70, 64])
    assert sorted(again) == wanted
    for i in wanted:
        assert np.abs(again[i].astype(int) - sequential[i]).mean() < 1.0


def test_read_at_rejects_frames_outside_the_video():
    with VideoReader(BBB) as reader, pytest.raises(InvalidParameterError, match="outside 0..131"):
        reader.read_at([132])


def test_detector_rejects_bad_settings_and_out_of_order_frames():
    with pytest.raises(InvalidParameterError):
        ShotDetector(0)
    with pytest.raises(InvalidParameterError):
        ShotDetector(25, ratio=1.0)
    detector = ShotDetector(25)
    frame = np.zeros((36, 64, 3), np.uint8)
    detector.update(5, frame)
    with pytest.raises(InvalidParameterError, match="in order"):
        detector.update(5, frame)


def test_shot_of_counts_boundaries_before_a_frame(generated_set):
    found = detect_shots(generated_set[2].path)
    assert shot_of(0, found) == 0
    assert shot_of(found[0].frame, found) == 1
    assert shot_of(10**6, found) == len(found)
