"""Records as JSON-ready values, the same for the HTTP API, the studio and the command line."""
from __future__ import annotations

from typing import Any

from artwork.records import Artwork, Title


def title_dict(t: Title) -> dict[str, Any]:
    """A title as JSON-ready values."""
    return {"id": t.id, "name": t.name, "genres": list(t.genres), "created": t.created}


def artwork_dict(a: Artwork) -> dict[str, Any]:
    """An artwork as JSON-ready values (the embedding as its length only)."""
    return {
        "id": a.id, "title_id": a.title_id, "path": a.path, "source": a.source,
        "width": a.width, "height": a.height, "status": a.status, "is_default": a.is_default,
        "frame_time": a.frame_time, "frame_index": a.frame_index, "shot": a.shot,
        "quality": dict(a.quality), "tags": list(a.tags),
        "embedding_dim": 0 if a.embedding is None else int(a.embedding.size),
        "embedder": a.embedder, "created": a.created, "eligibility": a.eligibility.as_dict(),
    }
