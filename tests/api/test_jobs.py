"""Background ingest jobs: a job still queued when the server stops is marked failed."""
from __future__ import annotations

import io
from pathlib import Path

from api.runtime.jobs import JobRunner

VIDEO = Path(__file__).resolve().parents[1] / "data" / "bigbuckbunny.mp4"


def test_jobs_queued_at_shutdown_are_failed_and_their_files_removed(store, data_dir):
    store.add_title("t1", "One")
    runner = JobRunner(store, data_dir / "jobs", max_upload_bytes=1_000_000,
                       max_video_bytes=10_000_000)
    jobs = [runner.submit_video("t1", io.BytesIO(VIDEO.read_bytes()), "bbb.mp4", max_candidates=2)
            for _ in range(3)]
    runner.close()
    states = [runner.get(j["id"])["status"] for j in jobs]
    assert states[0] == "done"  # the one running when close() was called finishes
    failed = [runner.get(j["id"]) for j in jobs if runner.get(j["id"])["status"] == "failed"]
    assert failed and all("upload the video again" in j["error"] for j in failed)
    assert not list((data_dir / "jobs").glob("*.mp4"))
