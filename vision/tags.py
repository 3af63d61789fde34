"""Tags for candidate artworks: CLIP zero-shot tags from text prompts when real CLIP weights are
loaded, heuristic tags from the quality measures otherwise."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from vision.embed import Embedder, OpenClipEmbedder
from vision.errors import InvalidParameterError
from vision.quality import FrameQuality

DEFAULT_PROMPTS: Mapping[str, str] = {
    "close-up face": "a close-up photo of a person's face",
    "group": "a photo of a group of people",
    "action": "an action scene from a movie",
    "romance": "a romantic scene from a movie",
    "landscape": "a landscape with no people",
    "animation": "a frame from an animated cartoon",
    "dark": "a dark, low-light scene at night",
    "bright": "a bright, colourful daylight scene",
}


class ClipTagger:
    """Zero-shot tags: softmax over the similarities of an image to each prompt's text embedding.

    An image gets the tags whose probability is at least `min_probability`, at most `top_k`
    of them, and always its single most likely tag.
    """

    def __init__(
        self,
        embedder: OpenClipEmbedder,
        prompts: Mapping[str, str] = DEFAULT_PROMPTS,
        *,
        top_k: int = 3,
        min_probability: float = 0.2,
    ):
        if not prompts or top_k < 1 or not 0 <= min_probability <= 1:
            raise InvalidParameterError("ClipTagger needs prompts, top_k >= 1 and 0 <= min_probability <= 1")
        self.labels = tuple(prompts)
        self._text = embedder.embed_text([prompts[label] for label in self.labels])
        self._scale = embedder.logit_scale
        self.top_k, self.min_probability = top_k, min_probability

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, len(labels)) probabilities of each tag for CLIP image embeddings."""
        logits = self._scale * np.asarray(embeddings, np.float32) @ self._text.T
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def tags(self, embeddings: np.ndarray) -> list[tuple[str, ...]]:
        """The tags of each image, most likely first."""
        out = []
        for row in self.probabilities(embeddings):
            order = np.argsort(-row, kind="stable")[: self.top_k]
            out.append(tuple(self.labels[i] for n, i in enumerate(order) if n == 0 or row[i] >= self.min_probability))
        return out


def heuristic_tags(q: FrameQuality) -> tuple[str, ...]:
    """Tags read off the quality measures: faces, exposure, colour and contrast."""
    tags = []
    if q.faces.count >= 3:
        tags.append("group")
    elif q.faces.count >= 1:
        tags.append("close-up face" if q.faces.largest_share >= 0.06 else "face")
    else:
        tags.append("no face")
    if q.brightness < 0.3:
        tags.append("dark")
    elif q.brightness > 0.6:
        tags.append("bright")
    if q.colourfulness >= 60:
        tags.append("colourful")
    elif q.colourfulness < 15:
        tags.append("muted")
    if q.contrast >= 0.28:
        tags.append("high contrast")
    return tuple(tags)


def tag_images(
    embedder: Embedder, embeddings: np.ndarray, qualities: Sequence[FrameQuality]
) -> list[tuple[str, ...]]:
    """CLIP zero-shot tags when `embedder` is CLIP with loaded weights, heuristic tags otherwise."""
    if len(qualities) != len(embeddings):
        raise InvalidParameterError(f"{len(embeddings)} embeddings but {len(qualities)} quality records")
    if isinstance(embedder, OpenClipEmbedder) and len(embeddings):
        return ClipTagger(embedder).tags(embeddings)
    return [heuristic_tags(q) for q in qualities]
