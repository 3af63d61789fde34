"""The artwork catalog and event store: titles, artworks, decisions and rewards in one database."""
from artwork.errors import (
    AlreadyExistsError,
    CatalogError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidRecordError,
    NotFoundError,
    SchemaError,
)
from artwork.export import export_log
from artwork.images import encode_image, validate_image
from artwork.records import Artwork, LearningPair, LoggedDecision, Reward, Title
from artwork.store import Store

__all__ = [
    "AlreadyExistsError", "Artwork", "CatalogError", "ImageTooLargeError", "InvalidImageError",
    "InvalidRecordError", "LearningPair", "LoggedDecision", "NotFoundError", "Reward",
    "SchemaError", "Store", "Title", "encode_image", "export_log", "validate_image",
]
