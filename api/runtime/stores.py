"""The store of the configured data directory, opened with the configured limits."""
from __future__ import annotations

from artwork.store import Store

from api.config import Config


def open_store(config: Config) -> Store:
    """The store in the configured data directory, with the configured image limits."""
    return Store.open(config.data_dir, max_image_bytes=config.max_upload_bytes,
                      max_image_pixels=config.max_image_pixels)
