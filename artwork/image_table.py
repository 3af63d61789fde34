"""Artwork images kept in the database, so that a new host sharing it serves them at once.

Each image is a row (its bytes under its content-addressed path), written in the same
transaction as its artwork's row; the host's images folder is a cache, filled from the
database the first time an image is asked for there.
"""
from __future__ import annotations

from pathlib import Path

from artwork.database import Database, TransactionBase
from artwork.images import ImageFolder


class DatabaseImages(ImageFolder):
    """Images in the `images` table, with this host's folder as their cache."""

    def __init__(self, db: Database, root: Path) -> None:
        super().__init__(root)
        self._db = db

    def store(self, tx: TransactionBase, relative: str, data: bytes) -> bool:
        """Insert the image's row with the artwork's (transaction `tx`), and cache its file."""
        tx.execute("INSERT INTO images (path, data) VALUES (?, ?) ON CONFLICT DO NOTHING",
                   [relative, data])
        return self.write(relative, data)

    def forget(self, tx: TransactionBase, relative: str) -> None:
        """Delete the image's row with the artwork's, and its cached file after the commit."""
        tx.execute("DELETE FROM images WHERE path = ?", [relative])
        super().forget(tx, relative)

    def local_path(self, relative: str) -> Path:
        """The image's cached file, fetched from the database if this host has not got it yet."""
        path = self.root / relative
        if not path.exists():
            row = self._db.query_one("SELECT data FROM images WHERE path = ?", [relative])
            if row is not None:
                self.write(relative, bytes(row[0]))
        return path
