"""Threads issuing decisions and feedback at once against two real workers lose nothing."""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from artwork.store import Store
from tests.api.conftest import AUTH, LiveServer
from tests.conftest import count_rows

THREADS, PER_THREAD = 8, 40


@pytest.fixture
def two_workers(data_dir, jpeg_bytes):
    server = LiveServer(data_dir, workers=2)
    try:
        requests.post(f"{server.url}/titles", json={"id": "t1", "name": "One"}, headers=AUTH,
                      timeout=10).raise_for_status()
        files = [("file", (f"s{i}.jpg", jpeg_bytes(i), "image/jpeg")) for i in range(10)]
        r = requests.post(f"{server.url}/titles/t1/artworks", files=files, headers=AUTH,
                          timeout=60)
        for res in r.json()["results"]:
            requests.patch(f"{server.url}/artworks/{res['artwork']['id']}",
                           json={"status": "live"}, headers=AUTH, timeout=10).raise_for_status()
        yield server
    finally:
        server.stop()


def _client(url: str, worker: int) -> list[str]:
    session = requests.Session()
    events = []
    for i in range(PER_THREAD):
        r = session.get(f"{url}/artwork", params={"user": f"w{worker}-u{i % 5}", "title": "t1",
                                                   "device": "mobile"}, timeout=30)
        r.raise_for_status()
        event = r.json()["event_id"]
        events.append(event)
        fb = [{"event_id": event, "kind": "impression"}]
        if i % 3 == 0:
            fb.append({"event_id": event, "kind": "play"})
        session.post(f"{url}/feedback", json=fb, timeout=30).raise_for_status()
        # a repeat must be idempotent
        session.post(f"{url}/feedback", json=fb[0], timeout=30).raise_for_status()
    return events


def test_concurrent_decisions_and_feedback(two_workers, data_dir):
    with ThreadPoolExecutor(THREADS) as pool:
        events = [e for batch in pool.map(lambda w: _client(two_workers.url, w), range(THREADS))
                  for e in batch]
    assert len(set(events)) == THREADS * PER_THREAD
    store = Store.open(data_dir)
    logged = {d.event_id: d for d in store.decisions()}
    assert set(logged) == set(events)
    plays = len([i for i in range(PER_THREAD) if i % 3 == 0]) * THREADS
    assert count_rows(store, "rewards") == len(events) + plays
    for d in logged.values():
        assert len(d.pmf) == 10 and abs(math.fsum(d.pmf) - 1) < 1e-6
        assert min(d.pmf) > 0 and d.pmf[d.candidates.index(d.action)] == d.probability
