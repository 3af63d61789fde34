"""Upload jobs: checked and saved by a serving process, queued durably, run by the ingest worker.

Serving processes never run the vision stage: they check each upload (size, and stills by
decoding them), save it under the data directory and queue a job in a SQLite queue of its
own (Huey's); the ingest worker process (`artbandit ingest worker`, which `serve` starts)
takes jobs from it. A job's record is a JSON file any process can answer from; it moves from
`queued` to `running` to `done` or `failed` (with the reason). Jobs survive restarts: one
that was running when its worker died is queued again, until MAX_ATTEMPTS runs have
started, and then failed with a reason (see `JobQueue.recover`).
"""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

from huey import SqliteHuey

from artwork.audit import current_actor
from artwork.database import storage_error
from artwork.errors import CatalogError
from artwork.images import validate_image

from api.errors import NotReadyError, TooLargeError
from api.runtime.progress import ProgressRecords

_SUFFIX = re.compile(r"\.[a-z0-9]{1,7}")
_CHUNK = 1 << 20
JOBS_FOLDER = "jobs"
QUEUE_FILE = "queue.db"
# Runs of one job that may start before it is failed: a run cut short by its worker dying
# (or a passing fault, such as a full disk) is retried once.
MAX_ATTEMPTS = 2
RETRY_DELAY_SECONDS = 2
# Stills are small and a creative waits for them: they go before videos.
STILLS_PRIORITY, VIDEO_PRIORITY = 10, 0
WAIT_POLL_SECONDS = 0.05
# How long an upload of stills waits for the ingest worker before it answers with the job.
STILLS_WAIT_SECONDS = 30.0
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded still: the artwork stored, or why not (neither: not known yet)."""

    file: str
    artwork_id: str | None = None
    error: str | None = None
    error_type: str | None = None  # "module.Class" of the error, for its status


def error_type_name(exc: BaseException) -> str:
    """The name an error's type is recorded under in a job record: "module.Class"."""
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


def job_view(record: dict[str, Any]) -> dict[str, Any]:
    """A job's record as callers see it: without the names its files were saved under, nor who
    asked from where (the audit trail keeps that)."""
    view = {k: v for k, v in record.items() if k not in ("saved", "actor")}
    if "files" in view:
        view["files"] = [f["file"] for f in view["files"]]
    return view


def upload_results(record: dict[str, Any]) -> list[UploadResult]:
    """The per-file results of a finished stills job."""
    return [UploadResult(**r) for r in (record.get("result") or {}).get("files", [])]


class JobQueue:
    """Upload job records and the durable queue the ingest worker takes them from.

    `run` is the function that does a job (the ingest worker's); serving processes only queue.
    """

    def __init__(self, folder: Path, *, max_upload_bytes: int, max_video_bytes: int,
                 max_image_pixels: int, run: Callable[[str], None] | None = None) -> None:
        self.folder = folder
        self.max_upload_bytes, self.max_video_bytes = max_upload_bytes, max_video_bytes
        self.max_image_pixels = max_image_pixels
        self.records = ProgressRecords(folder, "job")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, "the jobs folder could not be made") or exc from None
        self.huey = SqliteHuey("artbandit-ingest", filename=str(folder / QUEUE_FILE),
                               results=False, timeout=30)
        work = run or _queued_only

        def ingest(job_id: str) -> None:  # one task name in every process: this module's
            work(job_id)

        self._task = self.huey.task(name="ingest", retries=MAX_ATTEMPTS - 1,
                                    retry_delay=RETRY_DELAY_SECONDS)(ingest)

    # -- serving side: check, save, queue -------------------------------------------

    def ingest_stills(self, title_id: str, uploads: Iterable[tuple[str, BinaryIO]], *,
                      wait: float = STILLS_WAIT_SECONDS
                      ) -> tuple[list[UploadResult], dict[str, Any] | None]:
        """Check and queue stills, then wait up to `wait` seconds for the ingest worker.

        Returns a result per file in upload order, and the job's record when the job is
        still queued or running after `wait` (its files' results are then not known yet).
        """
        results, record = self.submit_stills(title_id, uploads)
        if record is None:
            return results, None
        record = self.wait(record["id"], wait)
        if record["status"] in ACTIVE:
            return results, record
        ingested = iter(upload_results(record))
        merged = []
        for r in results:
            if r.error is None:  # queued: its outcome is the job's
                r = next(ingested, None) or UploadResult(
                    r.file, error=record.get("error") or "the ingest failed",
                    error_type=record.get("error_type"))
            merged.append(r)
        return merged, None

    def submit_stills(self, title_id: str, uploads: Iterable[tuple[str, BinaryIO]]
                      ) -> tuple[list[UploadResult], dict[str, Any] | None]:
        """Check each (name, stream) still by decoding it; queue the good ones as one job.

        Returns a result per file in upload order (a queued one has no error yet), and the
        job record (None if no file was good).
        """
        results, files = [], []
        limit = self.max_upload_bytes
        for name, stream in uploads:
            data = stream.read(limit + 1)
            try:
                if len(data) > limit:
                    raise TooLargeError(f"{name}: over the {limit}-byte upload limit")
                info = validate_image(data, name, max_bytes=limit, max_pixels=self.max_image_pixels)
            except (TooLargeError, CatalogError) as exc:
                results.append(UploadResult(name, error=str(exc), error_type=error_type_name(exc)))
                continue
            files.append({"file": name, "saved": self._save(data, info.extension)})
            results.append(UploadResult(name))
        if not files:
            return results, None
        return results, self._queue({"kind": "stills", "title_id": title_id, "files": files},
                                    STILLS_PRIORITY)

    def submit_video(self, title_id: str, upload: BinaryIO, filename: str, *,
                     max_candidates: int) -> dict[str, Any]:
        """Save an uploaded video and queue its ingest; returns the job record."""
        suffix = Path(filename).suffix.lower()
        saved = f"upload-{uuid.uuid4().hex}{suffix if _SUFFIX.fullmatch(suffix) else '.mp4'}"
        path = self.folder / saved
        size = 0
        try:
            with open(path, "wb") as out:
                while chunk := upload.read(_CHUNK):
                    size += len(chunk)
                    if size > self.max_video_bytes:
                        raise TooLargeError(
                            f"video over the {self.max_video_bytes}-byte upload limit")
                    out.write(chunk)
        except BaseException as exc:
            path.unlink(missing_ok=True)
            raise _stored_error(exc) from None
        fields = {"kind": "video", "title_id": title_id, "filename": Path(filename).name or "video",
                  "saved": saved, "bytes": size, "max_candidates": max_candidates}
        return self._queue(fields, VIDEO_PRIORITY)

    def _save(self, data: bytes, extension: str) -> str:
        name = f"upload-{uuid.uuid4().hex}{extension}"
        try:
            (self.folder / name).write_bytes(data)
        except BaseException as exc:
            (self.folder / name).unlink(missing_ok=True)
            raise _stored_error(exc) from None
        return name

    def _queue(self, fields: dict[str, Any], priority: int) -> dict[str, Any]:
        # Who asked, so the ingest worker records the artworks as theirs (the audit trail).
        record = {"id": uuid.uuid4().hex, **fields, "actor": current_actor().as_dict(),
                  "status": "queued", "progress": 0.0,
                  "attempts": 0, "created": time.time(), "error": None, "result": None}
        try:
            self.records.save(record)
            self.enqueue(record["id"], priority)
        except BaseException as exc:
            self.discard(record)
            raise _stored_error(exc) from None
        return record

    def enqueue(self, job_id: str, priority: int) -> None:
        """Put a job on the queue (again)."""
        self.huey.enqueue(self._task.s(job_id, priority=priority))

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's current record; UnknownIdError for an unknown id."""
        return self.records.get(job_id)

    def wait(self, job_id: str, timeout: float) -> dict[str, Any]:
        """The job's record once it is done or failed, or as it is after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.get(job_id)
            if record["status"] not in ACTIVE or time.monotonic() >= deadline:
                return record
            time.sleep(WAIT_POLL_SECONDS)

    def discard(self, record: dict[str, Any]) -> None:
        """Remove a job's uploaded files (once it is done or failed for good)."""
        for name in [f["saved"] for f in record.get("files", [])] + [record.get("saved")]:
            if name:
                (self.folder / name).unlink(missing_ok=True)

    def path_of(self, saved: str) -> Path:
        """Where a job's uploaded file was saved."""
        return self.folder / saved

    # -- worker side: jobs found unfinished at start ----------------------------------

    def recover(self) -> tuple[int, int]:
        """At the ingest worker's start: queue again or fail the jobs a stopped worker left.

        A job still `running` was cut short (its worker died); one `queued` whose message
        is not on the queue was taken by a worker that died before it started it. Each is
        queued again while it has runs left, else failed with the reason. Returns (queued
        again, failed).
        """
        # Records first, then the queue: a job a server queues meanwhile is queued again only
        # if the queue is read between the server's saving its record and queueing it (and
        # the ingest worker drops the second message of a job it is running).
        records = self.records.all()
        waiting = {t.args[0] for t in [*self.huey.pending(), *self.huey.scheduled()] if t.args}
        again = failed = 0
        for record in records:
            if record.get("status") not in ACTIVE or record["id"] in waiting:
                continue
            if record.get("attempts", 0) < MAX_ATTEMPTS:
                self.records.save({**record, "status": "queued", "progress": 0.0})
                self.enqueue(record["id"], STILLS_PRIORITY if record.get("kind") == "stills"
                             else VIDEO_PRIORITY)
                again += 1
            else:
                self.records.save({**record, "status": "failed", "finished": time.time(),
                                   "error": f"the ingest worker stopped while this job ran, "
                                            f"{record.get('attempts', 0)} times; upload it again"})
                self.discard(record)
                failed += 1
        return again, failed


def _queued_only(job_id: str) -> None:
    raise NotReadyError(f"job {job_id} can only run in the ingest worker (artbandit ingest worker)")


def _stored_error(exc: BaseException) -> BaseException:
    """A failed write as the store's error (a full disk is StorageFullError), else as it is."""
    error = storage_error(exc, "the upload could not be saved")
    return exc if error is None else error

