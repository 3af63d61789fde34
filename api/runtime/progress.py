"""Progress records of background work (ingest jobs, replay runs), one JSON file each.

The files live in the data directory, so any worker process can answer for any run.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from api.errors import UnknownIdError

_ID = re.compile(r"[0-9a-f]{32}")


class ProgressRecords:
    """Atomically written JSON records named by a 32-hex-digit id."""

    def __init__(self, folder: Path, what: str) -> None:
        self.folder = folder
        self.what = what
        self._lock = threading.Lock()

    def get(self, record_id: str) -> dict[str, Any]:
        """The record's current state; UnknownIdError for an unknown or malformed id."""
        path = self.folder / f"{record_id}.json"
        if not _ID.fullmatch(record_id) or not path.is_file():
            raise UnknownIdError(f"no {self.what} {record_id!r}")
        return json.loads(path.read_text())

    def all(self) -> list[dict[str, Any]]:
        """Every readable record in the folder."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob("*.json")):
            if _ID.fullmatch(path.stem):
                try:
                    found.append(json.loads(path.read_text()))
                except (OSError, ValueError):
                    continue  # removed meanwhile, or not ours
        return found

    def save(self, record: dict[str, Any]) -> None:
        """Write the record (temp file + rename, so readers never see half of it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".record-")
            try:
                with os.fdopen(fd, "w") as fh:
                    json.dump(record, fh)
                os.replace(tmp, self.folder / f"{record['id']}.json")
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
