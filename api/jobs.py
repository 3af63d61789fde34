"""Background ingest jobs for uploaded videos, with their progress kept in JSON files.

Job files live in the data directory, so any worker process can answer `GET /jobs/<id>`.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, Callable

from artwork.errors import AlreadyExistsError
from artwork.records import Artwork
from artwork.store import Store
from vision.embed import Embedder, make_embedder
from vision.ingest import ingest_uploads, ingest_video

from api.errors import TooLarge
from api.records import RecordFolder

log = logging.getLogger(__name__)
_SUFFIX = re.compile(r"\.[a-z0-9]{1,7}")
_CHUNK = 1 << 20


class JobRunner:
    """Runs video ingests one at a time in a background thread."""

    def __init__(self, store: Store, folder: Path, *, max_video_bytes: int,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.folder = folder
        self.max_video_bytes = max_video_bytes
        self.on_change = on_change
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        self._queued: dict[Future, tuple[dict, Path]] = {}
        self.records = RecordFolder(folder, "job")
        self._embedder: Embedder | None = None
        self._embedder_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """The embedder for uploads, made on first use (CLIP when weights are available)."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = make_embedder("auto")
            return self._embedder

    def ingest_still(self, title_id: str, data: bytes, name: str) -> Artwork:
        """Score, embed and store one uploaded still (validated by decoding)."""
        report = ingest_uploads(self.store, title_id, [(name, data)], embedder=self.embedder)
        if not report.candidates:
            if report.skipped:
                reason = f"the same image is already artwork {report.skipped[0]}"
            elif report.duplicates:
                reason = "a near-duplicate of an artwork this title already has"
            else:
                kind = next((k for k, n in report.rejected.items() if n), "unusable")
                reason = f"a {kind} image, not usable as artwork"
            raise AlreadyExistsError(f"{name}: not added: {reason}")
        if self.on_change:
            self.on_change(title_id)
        return report.candidates[0]

    def submit_video(self, title_id: str, upload: BinaryIO, *, max_candidates: int) -> dict:
        """Save an uploaded video and queue its ingest; returns the job record."""
        job_id = uuid.uuid4().hex
        self.folder.mkdir(parents=True, exist_ok=True)
        suffix = Path(getattr(upload, "filename", "") or "").suffix.lower()
        if not _SUFFIX.fullmatch(suffix):
            suffix = ".mp4"
        path = self.folder / f"{job_id}{suffix}"
        size = 0
        with open(path, "wb") as out:
            while chunk := upload.read(_CHUNK):
                size += len(chunk)
                if size > self.max_video_bytes:
                    out.close()
                    path.unlink(missing_ok=True)
                    raise TooLarge(f"video over the {self.max_video_bytes}-byte upload limit")
                out.write(chunk)
        filename = Path(getattr(upload, "filename", "") or "video").name
        job = {"id": job_id, "title_id": title_id, "filename": filename, "status": "queued",
               "progress": 0.0,
               "bytes": size, "created": time.time(), "result": None, "error": None}
        self._save(job)
        future = self._pool.submit(self._run, job, path, max_candidates)
        self._queued[future] = (job, path)
        future.add_done_callback(lambda f: self._queued.pop(f, None))
        return job

    def _run(self, job: dict, path: Path, max_candidates: int) -> None:
        job = {**job, "status": "running", "started": time.time()}
        self._save(job)

        def progress(done: float) -> None:
            job["progress"] = round(float(done), 4)
            self._save(job)

        try:
            report = ingest_video(self.store, job["title_id"], path, embedder=self.embedder,
                                  max_candidates=max_candidates, on_progress=progress)
            job.update(status="done", progress=1.0,
                       result={**report.as_dict(), "source": job["filename"]})
            if self.on_change:
                self.on_change(job["title_id"])
        except Exception as exc:  # the job reports any failure; the server keeps serving
            log.warning("ingest job %s failed: %s", job["id"], exc)
            # name the file as the creative uploaded it, not as it was saved here
            job.update(status="failed", error=str(exc).replace(path.name, job["filename"]))
        finally:
            job["finished"] = time.time()
            path.unlink(missing_ok=True)
            self._save(job)

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's current record; 404 for an unknown id."""
        return self.records.get(job_id)

    def _save(self, job: dict) -> None:
        self.records.save(job)

    def close(self) -> None:
        """Wait for the running job and stop; jobs still queued are marked failed."""
        queued = dict(self._queued)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for future, (job, path) in queued.items():
            if future.cancelled():
                path.unlink(missing_ok=True)
                self._save({**job, "status": "failed", "finished": time.time(),
                            "error": "the server stopped before this job ran; upload the video again"})
