"""Ingest of uploads: stills stored at once, videos as background jobs with their progress kept.

Job records live in the data directory, so any worker process can answer for any job.
"""
from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

from artwork.errors import CatalogError
from artwork.records import Artwork
from artwork.store import Store
from vision.embed import Embedder, make_embedder
from vision.errors import VisionError
from vision.ingest import ingest_still, ingest_video

from api.errors import TooLargeError
from api.runtime.background import BackgroundRunner, Progress

_SUFFIX = re.compile(r"\.[a-z0-9]{1,7}")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded still: the artwork stored, or the error that refused it."""

    file: str
    artwork: Artwork | None = None
    error: Exception | None = None


class JobRunner:
    """Stores uploaded stills, and runs video ingests one at a time in the background."""

    def __init__(self, store: Store, folder: Path, *, max_upload_bytes: int, max_video_bytes: int,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.folder = folder
        self.max_upload_bytes = max_upload_bytes
        self.max_video_bytes = max_video_bytes
        self.on_change = on_change
        self.runner = BackgroundRunner(folder, "job", again="upload the video again")
        self._embedder: Embedder | None = None
        self._embedder_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """The embedder for uploads, made on first use (CLIP when weights are available)."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = make_embedder("auto")
            return self._embedder

    def ingest_stills(self, title_id: str, uploads: Iterable[tuple[str, BinaryIO]]) -> list[UploadResult]:
        """Store each uploaded (name, stream) still on its own; one result per file."""
        results = []
        limit = self.max_upload_bytes
        for name, stream in uploads:
            data = stream.read(limit + 1)
            try:
                if len(data) > limit:
                    raise TooLargeError(f"{name}: over the {limit}-byte upload limit")
                results.append(UploadResult(name, ingest_still(self.store, title_id, name, data,
                                                               embedder=self.embedder)))
            except (TooLargeError, CatalogError, VisionError) as exc:
                results.append(UploadResult(name, error=exc))
        if self.on_change and any(r.artwork for r in results):
            self.on_change(title_id)
        return results

    def submit_video(self, title_id: str, upload: BinaryIO, filename: str, *,
                     max_candidates: int) -> dict[str, Any]:
        """Save an uploaded video and queue its ingest; returns the job record."""
        self.store.get_title(title_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        suffix = Path(filename).suffix.lower()
        path = self.folder / f"upload-{uuid.uuid4().hex}{suffix if _SUFFIX.fullmatch(suffix) else '.mp4'}"
        size = 0
        with open(path, "wb") as out:
            while chunk := upload.read(_CHUNK):
                size += len(chunk)
                if size > self.max_video_bytes:
                    out.close()
                    path.unlink(missing_ok=True)
                    raise TooLargeError(f"video over the {self.max_video_bytes}-byte upload limit")
                out.write(chunk)
        name = Path(filename).name or "video"

        def work(_run_id: str, progress: Progress) -> dict[str, Any]:
            report = ingest_video(self.store, title_id, path, embedder=self.embedder,
                                  max_candidates=max_candidates,
                                  on_progress=lambda done: progress(done))
            if self.on_change:
                self.on_change(title_id)
            return {"result": {**report.as_dict(), "source": name}}

        return self.runner.submit(
            {"title_id": title_id, "filename": name, "bytes": size, "result": None}, work,
            # name the file as the creative uploaded it, not as it was saved here
            error_text=lambda exc: str(exc).replace(path.name, name),
            cleanup=lambda: path.unlink(missing_ok=True),
        )

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's current record; UnknownIdError for an unknown id."""
        return self.runner.get(job_id)

    def close(self) -> None:
        """Wait for the running job and stop; jobs still queued are failed."""
        self.runner.close()
