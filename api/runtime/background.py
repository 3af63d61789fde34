"""Background work run one item at a time on a thread of its own, with a progress record each."""
from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from api.runtime.progress import ProgressRecords

log = logging.getLogger(__name__)

# Reports progress: the fraction done and, optionally, what is being done.
Progress = Callable[..., None]
# Does the work of the run with this id, reporting progress; returns what to add to its record.
Work = Callable[[str, Progress], dict[str, Any]]


class BackgroundRunner:
    """Runs submitted work in submission order; each run's record says how far it is.

    A record moves from `queued` to `running` to `done` (with what the work returned merged
    in) or `failed` (with the error's message); work still queued when the runner closes is
    failed with a reason. Records are files, so any process can answer for any run.
    """

    def __init__(self, folder: Path, what: str, *, again: str = "start it again") -> None:
        self.what, self.again = what, again
        self.records = ProgressRecords(folder, what)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=what.replace(" ", "-"))
        self._queued: dict[Future, tuple[dict, Callable[[], None] | None]] = {}

    def submit(self, fields: dict[str, Any], work: Work, *,
               error_text: Callable[[Exception], str] = str,
               cleanup: Callable[[], None] | None = None) -> dict[str, Any]:
        """Queue `work(run_id, progress)` and return its new record (with `fields` in it)."""
        record = {"id": uuid.uuid4().hex, **fields, "status": "queued", "progress": 0.0,
                  "created": time.time(), "error": None}
        self.records.save(record)
        future = self._pool.submit(self._run, record, work, error_text, cleanup)
        self._queued[future] = (record, cleanup)
        future.add_done_callback(lambda f: self._queued.pop(f, None))
        return record

    def _run(self, record: dict, work: Work, error_text: Callable[[Exception], str],
             cleanup: Callable[[], None] | None) -> None:
        record = {**record, "status": "running", "started": time.time()}
        self.records.save(record)

        def progress(done: float, stage: str | None = None) -> None:
            record["progress"] = round(float(done), 4)
            if stage is not None:
                record["stage"] = stage
            self.records.save(record)

        try:
            result = work(record["id"], progress)
            record.update(result, status="done", progress=1.0)
        except Exception as exc:  # the record reports any failure; the server keeps serving
            log.warning("%s %s failed: %s", self.what, record["id"], exc)
            record.update(status="failed", error=error_text(exc))
        finally:
            record["finished"] = time.time()
            if cleanup is not None:
                cleanup()
            self.records.save(record)

    def get(self, record_id: str) -> dict[str, Any]:
        """A run's current record; UnknownIdError for an unknown id."""
        return self.records.get(record_id)

    def close(self) -> None:
        """Wait for the running item and stop; items still queued are failed with a reason."""
        queued = dict(self._queued)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for future, (record, cleanup) in queued.items():
            if future.cancelled():
                if cleanup is not None:
                    cleanup()
                self.records.save({**record, "status": "failed", "finished": time.time(),
                                   "error": f"the server stopped before this {self.what} ran; "
                                            f"{self.again}"})
