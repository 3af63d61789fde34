"""The store of the configured data directory, opened with the configured limits."""
from __future__ import annotations

from artwork.snapshot_table import SnapshotTable
from artwork.store import Store

from api.config import Config


def open_store(config: Config) -> Store:
    """The store in the configured data directory (and database), with the configured image limits."""
    return Store.open(config.data_dir, max_image_bytes=config.max_upload_bytes,
                      max_image_pixels=config.max_image_pixels,
                      database_url=config.database_url or None)


def snapshot_shelf(store: Store) -> SnapshotTable | None:
    """The shelf of model snapshots: the database when hosts share it, else None (the models folder)."""
    return SnapshotTable(store.db) if store.db.SHARED else None
