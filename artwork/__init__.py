"""The artwork catalog and event store: titles, artworks, decisions and rewards in one database.

The names below are imported on first use, so that importing one module of the package
(`artwork.store` for a command that lists titles) does not load pyarrow and OpenCV.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "AlreadyExistsError": "artwork.errors", "CatalogError": "artwork.errors",
    "ImageTooLargeError": "artwork.errors", "InvalidImageError": "artwork.errors",
    "InvalidRecordError": "artwork.errors", "NotFoundError": "artwork.errors",
    "SchemaError": "artwork.errors", "export_log": "artwork.export",
    "encode_image": "artwork.images", "validate_image": "artwork.images",
    "Artwork": "artwork.records", "LearningPair": "artwork.records",
    "LoggedDecision": "artwork.records", "Reward": "artwork.records", "Title": "artwork.records",
    "Store": "artwork.store",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'artwork' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
