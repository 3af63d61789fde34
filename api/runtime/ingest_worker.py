"""The ingest worker: the one process per data directory that runs upload jobs (the vision stage)
and ingests the serving workers' decision journals into the decision log.

`artbandit ingest worker` runs it (and `artbandit serve` starts that command beside its
workers, which then leave their journals to it). It resolves the embedder once, on its first
job, and only after the job's files have been checked; its jobs run at a lower CPU priority
than serving, stills before videos, and at start it queues again (or fails) the jobs a
stopped worker left unfinished.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

import cv2

from artwork.audit import Actor, acting
from artwork.errors import CatalogError, StorageFullError, StoreUnavailableError
from bandit.errors import BanditError
from vision.embed import Embedder, make_embedder
from vision.errors import VisionError
from vision.frames import probe_video
from vision.crops import parse_placements
from vision.ingest import ingest_still, ingest_video

from api.config import Config
from api.errors import ApiError, IngestWorkerBusyError
from api.runtime.jobs import (
    ACTIVE,
    JOBS_FOLDER,
    MAX_ATTEMPTS,
    JobQueue,
    UploadResult,
    error_type_name,
)
from api.runtime.locks import hold_lock
from api.runtime.stores import open_store

log = logging.getLogger(__name__)

LOCK_FILE = "worker.lock"
# Jobs run side by side (a still need not wait for a long video), at the lowest CPU
# priority, each decoding on one core: serving keeps the others, and its latency.
THREADS = 2
NICENESS = 19
DECODE_THREADS = 1
# A fault of the upload itself (not a video, a near-duplicate, ...): failed at once. Anything
# else (a full disk, a database error, a bug) may pass: the job runs again while it has runs left.
UPLOAD_FAULTS = (CatalogError, VisionError, BanditError, ApiError)
PASSING_FAULTS = (StorageFullError, StoreUnavailableError)
PARENT_CHECK_SECONDS = 1.0


def _job_actor(record: dict[str, Any]) -> Actor:
    """Who asked for a job, as the audit trail names them, with the job and its file."""
    asked = record.get("actor") or {}
    what = record.get("filename") or ", ".join(f["file"] for f in record.get("files", []))
    origin = f"{asked.get('origin') or 'unknown'}, ingest job {record['id']} ({what})"
    return Actor(asked.get("name") or "system", origin)


def _stop_when_orphaned(parent: int) -> None:
    # The server that started this worker was killed: stop too, as its workers do.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    log.warning("the process that started this ingest worker is gone; stopping")
    os.kill(os.getpid(), signal.SIGTERM)


class IngestWorker:
    """Runs the upload jobs of one data directory (one such process per directory)."""

    def __init__(self, config: Config) -> None:
        folder = config.data_dir / JOBS_FOLDER
        self._lock_fd = hold_lock(folder / LOCK_FILE, lambda holder: IngestWorkerBusyError(
            f"an ingest worker is already running for {config.data_dir} (pid {holder})"))
        self.store = open_store(config)
        self.queue = JobQueue(folder, max_upload_bytes=config.max_upload_bytes,
                              max_video_bytes=config.max_video_bytes,
                              max_image_pixels=config.max_image_pixels, run=self.run_job)
        self.embedder_kind = config.embedder
        self.placements = parse_placements(config.placements)
        self._embedder: Embedder | None = None
        self._embedder_lock = threading.Lock()
        self._running: set[str] = set()  # jobs a thread of this worker runs now
        self._running_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """The embedder of every job, made on the first job that needs one."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = make_embedder(self.embedder_kind)
            return self._embedder

    def run(self) -> None:
        """Watch the decision journals; recover unfinished jobs, then run jobs (Huey's consumer)
        until SIGTERM, SIGINT or orphaned."""
        # Started before the process lowers its priority: on Linux a thread's nice value is
        # its own and only threads started later inherit it, so ingesting the serving
        # workers' decisions keeps its share of the CPU while the vision jobs yield theirs.
        self.store.watch_journals()
        os.nice(NICENESS)
        cv2.setNumThreads(DECODE_THREADS)
        threading.Thread(target=_stop_when_orphaned, args=(os.getppid(),), daemon=True,
                         name="parent-watch").start()
        again, failed = self.queue.recover()
        if again or failed:
            log.warning("found %d unfinished job(s) of a stopped worker: %d queued again, "
                        "%d failed", again + failed, again, failed)
        consumer = self.queue.huey.create_consumer(
            workers=THREADS, worker_type="thread", periodic=False, initial_delay=0.05,
            backoff=1.5, max_delay=0.5)
        consumer.run()

    def run_job(self, job_id: str) -> None:
        """Run one job and record how it ended; a passing fault is raised for Huey to retry.

        A job is run by one thread at a time: a second message for a job that is running (the
        recovery at start can queue a job again just as a server queues it) is dropped.
        """
        with self._running_lock:
            if job_id in self._running:
                log.info("job %s is running already; its second message is dropped", job_id)
                return
            self._running.add(job_id)
        try:
            self._run_job(job_id)
        finally:
            with self._running_lock:
                self._running.discard(job_id)

    def _run_job(self, job_id: str) -> None:
        record = self.queue.get(job_id)
        if record["status"] not in ACTIVE:
            return  # finished already (a message that was queued twice)
        attempts = record.get("attempts", 0) + 1
        record.update(status="running", started=time.time(), attempts=attempts, error=None)
        self.queue.records.save(record)
        try:
            work = self._stills if record["kind"] == "stills" else self._video
            with acting(_job_actor(record)):
                record.update(result=work(record), status="done", progress=1.0)
        except UPLOAD_FAULTS as exc:
            if isinstance(exc, PASSING_FAULTS) and attempts < MAX_ATTEMPTS:
                self._retry(record, exc)
                raise
            record.update(status="failed", error=self._reason(record, exc),
                          error_type=error_type_name(exc))
        except Exception as exc:
            if attempts < MAX_ATTEMPTS:
                self._retry(record, exc)
                raise
            record.update(status="failed", error=self._reason(record, exc),
                          error_type=error_type_name(exc))
        record["finished"] = time.time()
        self.queue.records.save(record)
        self.queue.discard(record)
        log.info("job %s %s", job_id, record["status"])

    def _retry(self, record: dict[str, Any], exc: BaseException) -> None:
        self.queue.records.save({**record, "status": "queued",
                                 "error": f"{self._reason(record, exc)}; trying again"})

    def _reason(self, record: dict[str, Any], exc: BaseException) -> str:
        # Name the file as the creative uploaded it, not where it was saved here.
        text = str(exc) or type(exc).__name__
        if record.get("saved"):
            name = record.get("filename", "video")
            text = text.replace(str(self.queue.path_of(record["saved"])), name)
            text = text.replace(record["saved"], name)
        return text

    def _stills(self, record: dict[str, Any]) -> dict[str, Any]:
        self.store.get_title(record["title_id"])
        files, results = record["files"], []
        for i, f in enumerate(files):
            try:
                data = self.queue.path_of(f["saved"]).read_bytes()
                art = ingest_still(self.store, record["title_id"], f["file"], data,
                                   embedder=self.embedder, placements=self.placements)
                results.append(UploadResult(f["file"], artwork_id=art.id))
            except PASSING_FAULTS:
                raise
            except UPLOAD_FAULTS as exc:
                results.append(UploadResult(f["file"], error=str(exc),
                                            error_type=error_type_name(exc)))
            self.queue.records.save({**record, "progress": round((i + 1) / len(files), 4)})
        return {"files": [r.__dict__ for r in results]}

    def _video(self, record: dict[str, Any]) -> dict[str, Any]:
        path = self.queue.path_of(record["saved"])
        self.store.get_title(record["title_id"])
        probe_video(path)  # a file that is not a video is refused before any model is loaded

        def progress(done: float) -> None:
            self.queue.records.save({**record, "progress": round(float(done), 4)})

        report = ingest_video(self.store, record["title_id"], path, embedder=self.embedder,
                              max_candidates=record["max_candidates"], on_progress=progress,
                              placements=self.placements)
        return {**report.as_dict(), "source": record["filename"]}

    def close(self) -> None:
        """Release the lock and the store."""
        self.store.close_all()
        os.close(self._lock_fd)
