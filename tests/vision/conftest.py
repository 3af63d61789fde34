"""Fixtures for the vision tests: real test media, real photos, generated videos with known cuts."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.synthetic import ShotSpec, SyntheticVideo, random_shots, write_video

DATA = Path(__file__).resolve().parents[1] / "data"
BBB = DATA / "bigbuckbunny.mp4"
ASTRONAUT = DATA / "astronaut.jpg"


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image[..., :3][..., ::-1])


@pytest.fixture(scope="session")
def pictures() -> list[np.ndarray]:
    """Real photographs (BGR) from scikit-image's bundled data, no download."""
    import skimage.data as d

    sources = (d.astronaut, d.coffee, d.chelsea, d.rocket, d.hubble_deep_field, d.retina,
               d.immunohistochemistry, d.camera, d.grass, d.brick)
    return [_bgr(f()) for f in sources]


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The astronaut photo from tests/data, decoded."""
    image = cv2.imread(str(ASTRONAUT))
    assert image is not None
    return image


@pytest.fixture(scope="session")
def generated_set(tmp_path_factory, pictures) -> list[SyntheticVideo]:
    """Six 320x180 videos of 14 shots each: pans, zooms, shakes, fades through black."""
    folder = tmp_path_factory.mktemp("generated")
    return [
        write_video(folder / f"cuts{seed}.mp4", random_shots(pictures, 14, seed=seed), seed=seed)
        for seed in range(6)
    ]


@pytest.fixture(scope="session")
def mixed_video(tmp_path_factory, pictures) -> SyntheticVideo:
    """Sharp shots, one blurred shot, black frames, and a static shot repeated later."""
    folder = tmp_path_factory.mktemp("mixed")
    astro, coffee, chelsea, rocket, camera = pictures[0], pictures[1], pictures[2], pictures[3], pictures[7]
    shots = [
        ShotSpec(coffee, 40, "pan"),
        ShotSpec(rocket, 40, "static", blur=6.0),
        ShotSpec(astro, 40, "static", black_after=12),
        ShotSpec(chelsea, 40, "zoom"),
        ShotSpec(camera, 40, "static", blur=6.0),
        ShotSpec(astro, 40, "static"),  # the same static view again: a near-duplicate
    ]
    return write_video(folder / "mixed.mp4", shots, size=(480, 270), seed=7)


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    """A tiny randomly initialised open_clip model saved as a local-dir folder (config + weights)."""
    torch = pytest.importorskip("torch")
    open_clip = pytest.importorskip("open_clip")
    folder = tmp_path_factory.mktemp("tinyclip")
    config = {
        "model_cfg": {
            "embed_dim": 32,
            "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
        },
        "preprocess_cfg": {},
    }
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    model = open_clip.create_model(f"local-dir:{folder}", load_weights=False)
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    return folder
