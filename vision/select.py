"""Choosing candidates: faiss near-duplicate removal (also against a title's existing artworks)
and diversity-aware top-K selection with a cap per shot."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import faiss
import numpy as np

from vision.errors import InvalidParameterError


@dataclass(frozen=True)
class Selection:
    """Which inputs were kept (in selection order) and what each dropped duplicate repeated."""

    kept: tuple[int, ...]
    duplicates: dict[int, int | str] = field(default_factory=dict)  # input -> kept input or existing id


def _as_matrix(embeddings: np.ndarray, what: str) -> np.ndarray:
    e = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32))
    if e.ndim != 2:
        raise InvalidParameterError(f"{what} must be a 2-D (n, dim) array, got shape {e.shape}")
    return e


def remove_near_duplicates(
    embeddings: np.ndarray,
    scores: Sequence[float],
    *,
    threshold: float,
    existing: Sequence[tuple[str, np.ndarray]] = (),
) -> Selection:
    """Keep the best-scoring image of each group of near-duplicates.

    Images are visited from the best score down; one whose cosine similarity (inner product of
    unit vectors, searched with a faiss flat index) to an already kept image or to an
    `existing` (id, embedding) artwork reaches `threshold` is dropped as its duplicate.
    """
    e = _as_matrix(embeddings, "embeddings")
    if len(scores) != len(e):
        raise InvalidParameterError(f"{len(e)} embeddings but {len(scores)} scores")
    if not -1.0 <= threshold <= 1.0:
        raise InvalidParameterError(f"threshold is a cosine similarity in [-1, 1], got {threshold}")
    index = faiss.IndexFlatIP(e.shape[1])
    owners: list[int | str] = []
    if existing:
        index.add(_as_matrix(np.stack([v for _, v in existing]), "existing embeddings"))
        owners.extend(i for i, _ in existing)
    kept: list[int] = []
    duplicates: dict[int, int | str] = {}
    for i in np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable"):
        i = int(i)
        if index.ntotal:
            sim, nearest = index.search(e[i : i + 1], 1)
            if sim[0, 0] >= threshold:
                duplicates[i] = owners[int(nearest[0, 0])]
                continue
        index.add(e[i : i + 1])
        owners.append(i)
        kept.append(i)
    return Selection(tuple(kept), duplicates)


def select_diverse(
    embeddings: np.ndarray,
    scores: Sequence[float],
    k: int,
    *,
    shots: Sequence[int] | None = None,
    per_shot: int = 2,
    novelty: float = 0.5,
    existing: np.ndarray | None = None,
) -> list[int]:
    """Up to `k` inputs by maximal marginal relevance, at most `per_shot` from one shot.

    Each step takes the input maximising (1 - novelty) * score - novelty * (its highest cosine
    similarity to what is already chosen or to the `existing` embeddings).
    """
    e = _as_matrix(embeddings, "embeddings")
    s = np.asarray(scores, dtype=np.float64)
    if len(s) != len(e) or (shots is not None and len(shots) != len(e)):
        raise InvalidParameterError("embeddings, scores and shots must have the same length")
    if k < 0 or per_shot < 1 or not 0.0 <= novelty <= 1.0:
        raise InvalidParameterError(f"need k >= 0, per_shot >= 1 and 0 <= novelty <= 1 (k={k}, per_shot={per_shot}, novelty={novelty})")
    nearest = np.full(len(e), -1.0)
    if existing is not None and len(existing) and len(e):
        nearest = (e @ _as_matrix(existing, "existing embeddings").T).max(axis=1).astype(np.float64)
    available = np.ones(len(e), bool)
    per_shot_count: dict[int, int] = {}
    chosen: list[int] = []
    while len(chosen) < k and available.any():
        value = (1 - novelty) * s - novelty * np.maximum(nearest, 0.0)
        value[~available] = -np.inf
        best = int(np.argmax(value))
        available[best] = False
        shot = None if shots is None else int(shots[best])
        if shot is not None and per_shot_count.get(shot, 0) >= per_shot:
            continue
        if shot is not None:
            per_shot_count[shot] = per_shot_count.get(shot, 0) + 1
        chosen.append(best)
        nearest = np.maximum(nearest, e @ e[best])
    return chosen


def select_candidates(
    embeddings: np.ndarray,
    scores: Sequence[float],
    k: int,
    *,
    threshold: float,
    shots: Sequence[int] | None = None,
    per_shot: int = 2,
    novelty: float = 0.5,
    existing: Sequence[tuple[str, np.ndarray]] = (),
) -> Selection:
    """Near-duplicates removed (against each other and `existing`), then the diverse best `k`."""
    dedup = remove_near_duplicates(embeddings, scores, threshold=threshold, existing=existing)
    rows = list(dedup.kept)
    e = _as_matrix(embeddings, "embeddings")
    picked = select_diverse(
        e[rows],
        [scores[i] for i in rows],
        k,
        shots=None if shots is None else [shots[i] for i in rows],
        per_shot=per_shot,
        novelty=novelty,
        existing=np.stack([v for _, v in existing]) if existing else None,
    )
    return Selection(tuple(rows[i] for i in picked), dedup.duplicates)
