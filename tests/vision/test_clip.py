"""The CLIP path for real: a small open_clip model created here, saved locally, loaded back through
the same code users call (local-dir folder, or an architecture name plus a checkpoint file)."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

pytestmark = pytest.mark.clip
torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

from vision.embed import OpenClipEmbedder, clip_weights_available, make_embedder  # noqa: E402
from vision.errors import EmbedderConfigError  # noqa: E402
from vision.quality import measure_quality  # noqa: E402
from vision.tags import DEFAULT_PROMPTS, ClipTagger, tag_images  # noqa: E402


@pytest.fixture(scope="module")
def clip(tiny_clip_dir) -> OpenClipEmbedder:
    return OpenClipEmbedder(f"local-dir:{tiny_clip_dir}", None, device="cpu", batch_size=3)


def test_embeddings_are_unit_float32_and_batch_size_independent(clip, pictures):
    a = clip.embed(pictures)
    assert a.shape == (len(pictures), 32) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    for size in (1, 4, 64):
        clip.batch_size = size
        assert np.allclose(clip.embed(pictures), a, atol=1e-5)
    clip.batch_size = 3
    assert clip.name == f"open_clip:{clip.model_name.rstrip('/').split('/')[-1]}:local"


def test_weights_are_the_saved_ones(tiny_clip_dir, clip, pictures):
    again = OpenClipEmbedder(f"local-dir:{tiny_clip_dir}", None, device="cpu")
    assert np.array_equal(again.embed(pictures[:2]), clip.embed(pictures[:2]))


def test_architecture_name_plus_checkpoint_file(tmp_path, tiny_clip_dir, clip, pictures):
    config = json.loads((tiny_clip_dir / "open_clip_config.json").read_text())["model_cfg"]
    (tmp_path / "tiny-test-clip.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path / "tiny-test-clip.json")
    checkpoint = tmp_path / "tiny.pt"
    torch.save(torch.load(tiny_clip_dir / "open_clip_pytorch_model.bin"), checkpoint)
    by_path = OpenClipEmbedder("tiny-test-clip", str(checkpoint), device="cpu")
    assert by_path.name == "open_clip:tiny-test-clip:tiny"
    assert np.allclose(by_path.embed(pictures[:3]), clip.embed(pictures[:3]), atol=1e-5)
    assert clip_weights_available("tiny-test-clip", str(checkpoint))


def test_auto_picks_clip_when_weights_are_present_and_says_so(tiny_clip_dir, caplog):
    caplog.set_level(logging.INFO, logger="vision.embed")
    embedder = make_embedder("auto", clip_model=f"local-dir:{tiny_clip_dir}", device="cpu")
    assert isinstance(embedder, OpenClipEmbedder)
    assert any("using CLIP" in r.getMessage() for r in caplog.records)


def test_text_embeddings_and_zero_shot_tags(clip, pictures, astronaut):
    text = clip.embed_text(["a dog", "a face"])
    assert text.shape == (2, 32) and np.allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    tagger = ClipTagger(clip, top_k=2)
    emb = clip.embed(pictures[:3])
    p = tagger.probabilities(emb)
    assert p.shape == (3, len(DEFAULT_PROMPTS)) and np.allclose(p.sum(axis=1), 1.0)
    tags = tagger.tags(emb)
    assert all(1 <= len(t) <= 2 and set(t) <= set(DEFAULT_PROMPTS) for t in tags)
    # tag_images uses CLIP prompts, not heuristics, when the embedder is CLIP
    q = [measure_quality(p) for p in pictures[:3]]
    assert tag_images(clip, emb, q) == tags


@pytest.mark.parametrize(
    "model, pretrained, message",
    [
        ("no-such-arch", "openai", "unknown open_clip model"),
        ("ViT-B-32", "/nowhere/weights.pt", "no such CLIP checkpoint file"),
        ("ViT-B-32", "not-a-tag", "not a pretrained tag of ViT-B-32"),
        ("local-dir:/nowhere", None, "needs open_clip_config.json and a weights file"),
    ],
)
def test_bad_model_or_weights_fail_clearly(model, pretrained, message):
    with pytest.raises(EmbedderConfigError, match=message):
        OpenClipEmbedder(model, pretrained, device="cpu")
