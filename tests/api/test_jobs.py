"""Upload jobs: checked before they are queued, run by the ingest worker, recovered after a stop."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from api.config import load_config
from api.errors import IngestWorkerBusyError
from api.runtime.ingest_worker import IngestWorker
from api.runtime.jobs import JOBS_FOLDER, MAX_ATTEMPTS, JobQueue
from tests.api.conftest import app_settings

VIDEO = Path(__file__).resolve().parents[1] / "data" / "bigbuckbunny.mp4"


@pytest.fixture
def worker(store, data_dir):
    store.add_title("t1", "One")
    w = IngestWorker(load_config(overrides=app_settings(data_dir)))
    yield w
    w.close()


def _queue(data_dir) -> JobQueue:
    """The queue as a serving process holds it."""
    return JobQueue(data_dir / JOBS_FOLDER, max_upload_bytes=1_000_000, max_video_bytes=10_000_000,
                    max_image_pixels=10_000_000)


def test_stills_that_do_not_decode_are_refused_before_anything_is_queued(worker, data_dir):
    queue = _queue(data_dir)
    results, job = queue.submit_stills("t1", [("notes.txt", io.BytesIO(b"hello")),
                                              ("empty.jpg", io.BytesIO(b""))])
    assert job is None and queue.huey.pending_count() == 0
    assert ["not a decodable image" in r.error for r in results] == [True, False]
    assert "empty file" in results[1].error
    assert not list((data_dir / JOBS_FOLDER).glob("upload-*"))


def test_the_worker_runs_a_queued_job_and_removes_its_files(worker, data_dir, jpeg_bytes):
    queue = _queue(data_dir)
    results, job = queue.submit_stills("t1", [("a.jpg", io.BytesIO(jpeg_bytes(1))),
                                              ("b.txt", io.BytesIO(b"x"))])
    assert [r.error is None for r in results] == [True, False]
    assert queue.huey.pending_count() == 1
    worker.run_job(job["id"])
    done = queue.get(job["id"])
    assert done["status"] == "done" and done["attempts"] == 1
    artwork = done["result"]["files"][0]["artwork_id"]
    assert worker.store.get_artwork(artwork).embedder == "classic-v1"
    assert not list((data_dir / JOBS_FOLDER).glob("upload-*"))


def test_a_job_left_running_is_queued_again_then_failed_with_a_reason(worker, data_dir):
    queue = _queue(data_dir)
    job = queue.submit_video("t1", io.BytesIO(VIDEO.read_bytes()), "bbb.mp4", max_candidates=2)
    queue.huey.flush()  # the message was taken by a worker that then died while running it
    for attempts in range(1, MAX_ATTEMPTS):
        queue.records.save({**queue.get(job["id"]), "status": "running", "attempts": attempts})
        assert worker.queue.recover() == (1, 0)
        assert queue.get(job["id"])["status"] == "queued" and queue.huey.pending_count() == 1
        queue.huey.flush()
    queue.records.save({**queue.get(job["id"]), "status": "running", "attempts": MAX_ATTEMPTS})
    assert worker.queue.recover() == (0, 1)
    failed = queue.get(job["id"])
    assert failed["status"] == "failed" and "upload it again" in failed["error"]
    assert not list((data_dir / JOBS_FOLDER).glob("upload-*"))


def test_one_ingest_worker_per_data_directory(worker, data_dir):
    with pytest.raises(IngestWorkerBusyError, match="already running"):
        IngestWorker(load_config(overrides=app_settings(data_dir)))


def test_a_job_whose_message_arrives_twice_runs_once(worker, data_dir, jpeg_bytes):
    import threading
    import time

    queue = _queue(data_dir)
    _, job = queue.submit_stills("t1", [(f"s{i}.jpg", io.BytesIO(jpeg_bytes(i, 160, 90))) for i in range(4)])
    first = threading.Thread(target=worker.run_job, args=(job["id"],))
    first.start()
    while queue.get(job["id"])["status"] == "queued":
        time.sleep(0.001)
    worker.run_job(job["id"])  # the second message, while the first run is under way
    first.join()
    done = queue.get(job["id"])
    assert done["status"] == "done" and done["attempts"] == 1
    assert all(f.get("artwork_id") for f in done["result"]["files"]), done["result"]
    assert len(worker.store.list_artworks("t1")) == 4
