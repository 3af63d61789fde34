"""Image embeddings: open_clip when weights are present, a deterministic OpenCV-feature embedder
otherwise, and a seeded low-dimensional projection for the bandit's action features.

Every embedder has `name`, `dim`, `duplicate_threshold` (cosine similarity from which two images
count as near-duplicates) and `embed(images) -> float32 (n, dim)` with L2-normalized rows; images
are BGR uint8 arrays as OpenCV returns them.
"""
from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import cv2
import numpy as np

from vision.errors import EmbedderConfigError, EmbedderUnavailableError, InvalidParameterError
from vision.faces import FaceDetector, FaceStats
from vision.frames import resize_to_width

logger = logging.getLogger(__name__)

EMBEDDER_KINDS = ("auto", "clip", "classic")
DEFAULT_CLIP_MODEL = "ViT-B-32"
DEFAULT_CLIP_PRETRAINED = "openai"


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns images into L2-normalized float32 vectors."""

    name: str
    dim: int
    duplicate_threshold: float

    def embed(self, images: Sequence[np.ndarray],
              faces: Sequence[FaceStats] | None = None) -> np.ndarray:
        """Embed BGR images: float32 array (len(images), dim), rows of unit length.

        `faces`, when given, are the faces already found on each image, for an embedder that
        uses them (it would otherwise look for them again).
        """
        ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(norms, 1e-12)).astype(np.float32)


def _check_images(images: Sequence[np.ndarray]) -> None:
    for i, img in enumerate(images):
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.size == 0:
            shape = getattr(img, "shape", type(img).__name__)
            raise InvalidParameterError(f"image {i}: expected a non-empty BGR array (H, W, 3), got {shape}")


class ClassicEmbedder:
    """Deterministic OpenCV features: HSV colour histogram, colour layout, edge orientations, faces.

    Blocks (each L2-normalized, then weighted and the whole vector normalized again):
    a 12x4x4 HSV histogram (square-rooted), a 4x4 grid of mean Lab colours, a 2x2 grid of
    8-bin gradient-orientation histograms weighted by magnitude, and face statistics (count,
    largest share, position of the largest face).
    """

    name = "classic-v1"
    duplicate_threshold = 0.97
    _WIDTH = 160
    _WEIGHTS = (1.0, 0.8, 0.8, 0.4)

    def __init__(self, faces: FaceDetector | None = None):
        self._faces = faces if faces is not None else FaceDetector(detect_width=320)
        self.dim = 12 * 4 * 4 + 4 * 4 * 3 + 2 * 2 * 8 + 4

    def embed(self, images: Sequence[np.ndarray],
              faces: Sequence[FaceStats] | None = None) -> np.ndarray:
        """Embed BGR images (see the class docstring), with their faces when already found."""
        _check_images(images)
        if faces is not None and len(faces) != len(images):
            raise InvalidParameterError(f"{len(faces)} face results for {len(images)} images")
        if not images:
            return np.zeros((0, self.dim), np.float32)
        found = faces if faces is not None else [None] * len(images)
        return np.stack([self._one(img, stats) for img, stats in zip(images, found)])

    def _one(self, image: np.ndarray, faces: FaceStats | None) -> np.ndarray:
        small = resize_to_width(image, self._WIDTH)
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [12, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
        hist = np.sqrt(hist / max(hist.sum(), 1.0))
        lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB)
        layout = cv2.resize(lab, (4, 4), interpolation=cv2.INTER_AREA).astype(np.float32).ravel() / 255.0 - 0.5
        edges = self._edge_orientations(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        faces = _face_features(faces if faces is not None else self._faces.detect(image))
        blocks = [l2_normalize(b) * w for b, w in zip((hist, layout, edges, faces), self._WEIGHTS)]
        return l2_normalize(np.concatenate(blocks))

    @staticmethod
    def _edge_orientations(grey: np.ndarray) -> np.ndarray:
        gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
        magnitude, angle = cv2.cartToPolar(gx, gy, angleInDegrees=True)
        bins = ((angle % 180.0) / 22.5).astype(np.int32).clip(0, 7)
        h, w = grey.shape
        out = []
        for rows in (slice(0, h // 2), slice(h // 2, h)):
            for cols in (slice(0, w // 2), slice(w // 2, w)):
                out.append(np.bincount(bins[rows, cols].ravel(), magnitude[rows, cols].ravel(), minlength=8))
        return np.sqrt(np.concatenate(out).astype(np.float32))


def _face_features(stats: FaceStats) -> np.ndarray:
    if stats.count == 0:
        return np.array([0.0, 0.0, 0.0, 0.0], np.float32)
    return np.array(
        [min(stats.count, 3) / 3.0, np.sqrt(stats.largest_share), stats.x or 0.5, stats.y or 0.5], np.float32
    )


def clip_installed() -> bool:
    """Whether torch and open_clip can be imported (the `clip` extra)."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "open_clip"))


def _import_clip() -> tuple[Any, Any]:
    try:
        import open_clip
        import torch
    except ImportError as exc:
        raise EmbedderUnavailableError(
            f"the CLIP embedder needs torch and open_clip, which are not installed ({exc})"
        ) from exc
    return torch, open_clip


def _checkpoints_in(folder: Path) -> list[Path]:
    return [p for p in folder.glob("*") if p.suffix in (".safetensors", ".bin", ".pth") and p.is_file()]


class OpenClipEmbedder:
    """CLIP image (and text) embeddings with open_clip, batched, on CPU or GPU.

    `model` is an open_clip architecture name (e.g. "ViT-B-32") or a "local-dir:/path" folder
    holding open_clip_config.json and weights; `pretrained` is an open_clip pretrained tag (e.g.
    "openai", downloaded once into open_clip's cache) or the path of a local checkpoint file.
    """

    def __init__(
        self,
        model: str = DEFAULT_CLIP_MODEL,
        pretrained: str | Path | None = DEFAULT_CLIP_PRETRAINED,
        *,
        device: str | None = None,
        batch_size: int = 32,
    ):
        if batch_size < 1:
            raise InvalidParameterError(f"batch_size must be at least 1, got {batch_size}")
        torch, open_clip = _import_clip()
        self._torch = torch
        pretrained_arg, label = _resolve_pretrained(open_clip, model, pretrained)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            net, _, preprocess = open_clip.create_model_and_transforms(
                model, pretrained=pretrained_arg, device=self.device
            )
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            raise EmbedderUnavailableError(
                f"open_clip could not load {model!r} with weights {label!r}: {exc}"
            ) from exc
        net.eval()
        self._model = net
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(model)
        self.model_name = model
        self.pretrained = label
        self.name = f"open_clip:{model.split(':', 1)[-1].rstrip('/').split('/')[-1]}:{label}"
        self.batch_size = batch_size
        self.dim = int(self._output_dim())
        self.duplicate_threshold = 0.95
        logger.info("CLIP embedder %s on %s (%d dims)", self.name, self.device, self.dim)

    def _output_dim(self) -> int:
        with self._torch.no_grad():
            probe = self._preprocess_one(np.zeros((32, 32, 3), np.uint8))
            return self._model.encode_image(probe.unsqueeze(0).to(self.device)).shape[-1]

    def _preprocess_one(self, image: np.ndarray) -> Any:
        from PIL import Image

        return self._preprocess(Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))

    def embed(self, images: Sequence[np.ndarray],
              faces: Sequence[FaceStats] | None = None) -> np.ndarray:
        """Embed BGR images in batches of `batch_size`; rows are L2-normalized float32 (faces unused)."""
        _check_images(images)
        out = [np.zeros((0, self.dim), np.float32)]
        with self._torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                batch = self._torch.stack([self._preprocess_one(img) for img in images[start : start + self.batch_size]])
                features = self._model.encode_image(batch.to(self.device)).float()
                out.append(features.cpu().numpy())
        return l2_normalize(np.concatenate(out))

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed text prompts: float32 (len(texts), dim), rows L2-normalized."""
        with self._torch.no_grad():
            tokens = self._tokenizer(list(texts)).to(self.device)
            return l2_normalize(self._model.encode_text(tokens).float().cpu().numpy())

    @property
    def logit_scale(self) -> float:
        """The model's learned temperature for image-text similarities."""
        return float(self._model.logit_scale.exp().item())


def _resolve_pretrained(open_clip: Any, model: str, pretrained: str | Path | None) -> tuple[str | None, str]:
    """Check the model name and weights up front; return open_clip's `pretrained` and a label."""
    if model.startswith("local-dir:"):
        folder = Path(model.split(":", 1)[1]).expanduser()
        if not (folder / "open_clip_config.json").is_file() or not _checkpoints_in(folder):
            raise EmbedderConfigError(
                f"{folder}: a local-dir model needs open_clip_config.json and a weights file "
                "(.safetensors, .bin or .pth) in that folder"
            )
        return None, "local"
    if model.startswith("hf-hub:"):
        return None, "hf-hub"
    if model not in open_clip.list_models():
        close = [m for m in open_clip.list_models() if model.lower().split("-")[0] in m.lower()][:8]
        raise EmbedderConfigError(
            f"unknown open_clip model {model!r}; pick one of open_clip.list_models() "
            f"(e.g. {', '.join(close) or 'ViT-B-32'}) or pass local-dir:/path/to/model"
        )
    if pretrained is None or str(pretrained) == "":
        raise EmbedderConfigError(
            f"no CLIP weights given for {model!r}; pass a pretrained tag (e.g. 'openai') or a checkpoint path"
        )
    text = str(pretrained)
    path = Path(text).expanduser()
    if path.is_file():
        return str(path), path.stem
    tags = open_clip.list_pretrained_tags_by_model(model)
    if text in tags:
        return text, text
    if isinstance(pretrained, Path) or path.suffix or "/" in text:
        raise EmbedderConfigError(f"{text}: no such CLIP checkpoint file; check the path")
    raise EmbedderConfigError(
        f"{text!r} is not a pretrained tag of {model} (tags: {', '.join(tags) or 'none'}) nor a checkpoint file"
    )


def clip_weights_available(model: str, pretrained: str | Path | None, cache_dir: str | None = None) -> bool:
    """Whether CLIP weights for (model, pretrained) are on this machine, without touching the network."""
    if not clip_installed() or pretrained is None:
        return False
    if model.startswith("local-dir:"):
        folder = Path(model.split(":", 1)[1]).expanduser()
        return (folder / "open_clip_config.json").is_file() and bool(_checkpoints_in(folder))
    if Path(str(pretrained)).expanduser().is_file():
        return True
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model, str(pretrained)) if model in open_clip.list_models() else {}
    if not cfg:
        return False
    if cfg.get("file"):
        return Path(cfg["file"]).is_file()
    hub = cfg.get("hf_hub", "")
    if hub and importlib.util.find_spec("huggingface_hub") is not None:
        from huggingface_hub import try_to_load_from_cache

        repo, filename = hub.rstrip("/").rsplit("/", 1) if not hub.endswith("/") else (hub.rstrip("/"), "")
        names = [filename] if filename else []
        names += ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        for name in names:
            alternatives = [name, name.replace(".bin", ".safetensors").replace(".pt", ".safetensors")]
            if any(isinstance(try_to_load_from_cache(repo, n, cache_dir=cache_dir), str) for n in alternatives):
                return True
    url = cfg.get("url", "")
    if url:
        folder = Path(cache_dir) if cache_dir else Path("~/.cache/clip").expanduser()
        return (folder / Path(url).name).is_file()
    return False


def make_embedder(
    kind: str = "auto",
    *,
    clip_model: str = DEFAULT_CLIP_MODEL,
    clip_pretrained: str | Path | None = DEFAULT_CLIP_PRETRAINED,
    device: str | None = None,
    batch_size: int = 32,
) -> Embedder:
    """The embedder for `kind`: "clip", "classic", or "auto" (CLIP when its weights are on this
    machine, else the classic embedder, saying which and why in the log)."""
    if kind not in EMBEDDER_KINDS:
        raise EmbedderConfigError(f"unknown embedder {kind!r}; use one of {', '.join(EMBEDDER_KINDS)}")
    if kind == "classic":
        return ClassicEmbedder()
    if kind == "clip":
        return OpenClipEmbedder(clip_model, clip_pretrained, device=device, batch_size=batch_size)
    if not clip_installed():
        reason = "torch/open_clip are not installed (the `clip` extra)"
    elif not clip_weights_available(clip_model, clip_pretrained):
        reason = f"no local weights for {clip_model}/{clip_pretrained}"
    else:
        try:
            embedder = OpenClipEmbedder(clip_model, clip_pretrained, device=device, batch_size=batch_size)
        except (EmbedderUnavailableError, EmbedderConfigError) as exc:
            reason = str(exc)
        else:
            logger.info("embedder: using CLIP (%s)", embedder.name)
            return embedder
    logger.warning("embedder: %s; falling back to the classic OpenCV embedder (%s)", reason, ClassicEmbedder.name)
    return ClassicEmbedder()


@dataclass(frozen=True)
class Projection:
    """A seeded random orthonormal projection of embeddings down to `out_dim` features.

    The same (in_dim, out_dim, seed) always gives the same matrix, so a model trained on the
    projected features keeps its meaning across processes and ingests.
    """

    in_dim: int
    out_dim: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.out_dim <= self.in_dim:
            raise InvalidParameterError(f"need 0 < out_dim <= in_dim, got out_dim={self.out_dim}, in_dim={self.in_dim}")

    def matrix(self) -> np.ndarray:
        """The (in_dim, out_dim) matrix with orthonormal columns."""
        rng = np.random.default_rng(self.seed)
        q, _ = np.linalg.qr(rng.standard_normal((self.in_dim, self.out_dim)))
        return q.astype(np.float32)

    def apply(self, embeddings: np.ndarray) -> np.ndarray:
        """Project (n, in_dim) or (in_dim,) embeddings; rows come back L2-normalized."""
        e = np.asarray(embeddings, dtype=np.float32)
        if e.shape[-1] != self.in_dim:
            raise InvalidParameterError(f"embeddings have {e.shape[-1]} dims, the projection expects {self.in_dim}")
        return l2_normalize(e @ self.matrix())


def project(embeddings: np.ndarray, dim: int = 8, seed: int = 0) -> np.ndarray:
    """Seeded low-dimensional projection of embeddings for the bandit's action features."""
    e = np.asarray(embeddings, dtype=np.float32)
    return Projection(e.shape[-1], dim, seed).apply(e)
