"""`artbandit ingest video|stills` through the real command line entry point."""
from __future__ import annotations

import json

import pytest

from api.cli import main
from artwork.store import Store

from tests.vision.conftest import ASTRONAUT


@pytest.fixture
def data(tmp_path, capsys):
    d = tmp_path / "data"
    assert main(["--data-dir", str(d), "title", "add", "--name", "Movie", "m1"]) == 0
    capsys.readouterr()
    return d


def test_ingest_video_json_summary(data, mixed_video, capsys):
    code = main(["--data-dir", str(data), "ingest", "video", "m1", str(mixed_video.path),
                 "--max-candidates", "3", "--embedder", "classic", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["embedder"] == "classic-v1" and out["title"] == "m1"
    assert out["frames_decoded"] == mixed_video.frame_count and out["frames_sampled"] > 0
    assert out["shots"] == len(out["shot_boundaries"]) + 1 == 6
    assert all(set(b) == {"frame", "seconds", "kind"} for b in out["shot_boundaries"])
    assert 1 <= len(out["candidates"]) <= 3
    for c in out["candidates"]:
        assert c["frame"] is not None and c["seconds"] == pytest.approx(c["frame"] / mixed_video.fps, abs=1e-3)
        assert 0 < c["score"] <= 1 and "sharpness" in c["quality"]
    with Store.open(data) as store:
        assert {a.id for a in store.list_artworks("m1")} == {c["artwork_id"] for c in out["candidates"]}


def test_ingest_video_text_output(data, mixed_video, capsys):
    assert main(["--data-dir", str(data), "ingest", "video", "m1", str(mixed_video.path), "--embedder", "classic"]) == 0
    out = capsys.readouterr().out
    assert "6 shots" in out and "candidate(s) stored for m1 with classic-v1" in out


def test_corrupt_video_is_a_one_line_error_and_stores_nothing(data, tmp_path, capsys):
    bad = tmp_path / "episode.mp4"
    bad.write_bytes(b"garbage" * 1000)
    assert main(["--data-dir", str(data), "ingest", "video", "m1", str(bad), "--embedder", "classic"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("artbandit: error: episode.mp4:") and "\n" not in err
    with Store.open(data) as store:
        assert store.list_artworks("m1") == []


def test_unknown_title_is_a_one_line_error(data, mixed_video, capsys):
    assert main(["--data-dir", str(data), "ingest", "video", "zz", str(mixed_video.path), "--embedder", "classic"]) == 2
    assert "no title 'zz'" in capsys.readouterr().err


def test_ingest_stills_json(data, capsys):
    assert main(["--data-dir", str(data), "ingest", "stills", "m1", str(ASTRONAUT), "--embedder", "classic", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["candidates"]) == 1 and out["candidates"][0]["quality"]["face_count"] >= 1
    assert "shot_boundaries" not in out


def test_missing_clip_weights_with_clip_embedder_fail_clearly(data, tmp_path, capsys):
    pytest.importorskip("open_clip")
    code = main(["--data-dir", str(data), "ingest", "stills", "m1", str(ASTRONAUT), "--embedder", "clip",
                 "--clip-pretrained", str(tmp_path / "none.pt")])
    assert code == 2
    assert "no such CLIP checkpoint file" in capsys.readouterr().err
