"""A full disk is a 503 with a retry hint and no server path on every write route, and passes."""
from __future__ import annotations

import io
from typing import Callable

import requests

from tests.conftest import make_image
from artwork.images import encode_image
from tests.reliability.conftest import AUTH, LiveServer, fill, seed_catalog

# Writes tried per route before the disk must have said it is full: SQLite may first reuse
# the space of its write-ahead log, and a file the free bytes left in its last block.
ATTEMPTS = 200


def _until_refused(request: Callable[[int], requests.Response]) -> requests.Response:
    for i in range(ATTEMPTS):
        r = request(i)
        assert r.status_code < 500 or r.status_code == 503, (r.status_code, r.text)
        if r.status_code >= 400:
            return r
    raise AssertionError(f"{ATTEMPTS} writes went through on a full disk")


def test_every_write_route_answers_503_with_retry_after_and_no_path(small_disk):
    data_dir = small_disk / "data"
    artworks = seed_catalog(data_dir)
    server = LiveServer(data_dir, workers=1)
    url = server.url
    try:
        events = [requests.get(f"{url}/artwork", params={"user": f"u{i}", "title": "t1"},
                               timeout=5).json()["event_id"] for i in range(ATTEMPTS)]
        image = encode_image(make_image(99, 320, 200))
        filler = fill(small_disk)
        routes = {
            "GET /artwork": lambda i: requests.get(
                f"{url}/artwork", params={"user": f"full{i}", "title": "t1"}, timeout=10),
            "POST /feedback": lambda i: requests.post(
                f"{url}/feedback", json={"event_id": events[i], "kind": "play"}, timeout=10),
            "POST /titles": lambda i: requests.post(
                f"{url}/titles", json={"id": f"new{i}", "name": "New"}, headers=AUTH, timeout=10),
            "PATCH /artworks": lambda i: requests.patch(
                f"{url}/artworks/{artworks[0]}", json={"status": ("candidate", "live")[i % 2]},
                headers=AUTH, timeout=10),
            "POST stills": lambda i: requests.post(
                f"{url}/titles/t1/artworks", headers=AUTH, timeout=30,
                files={"file": (f"s{i}.jpg", io.BytesIO(image), "image/jpeg")}),
            "POST video": lambda i: requests.post(
                f"{url}/titles/t1/videos", headers=AUTH, timeout=30,
                files={"file": ("v.mp4", io.BytesIO(b"\0" * 200_000), "video/mp4")}),
        }
        for name, request in routes.items():
            r = _until_refused(request)
            assert r.status_code == 503, (name, r.text)
            body = r.json()
            assert body["status"] == 503 and "try again" in body["error"], (name, body)
            assert int(r.headers["Retry-After"]) > 0, name
            assert str(small_disk) not in r.text and "/data" not in r.text, (name, r.text)
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        ready = requests.get(f"{url}/readyz", timeout=5).json()
        assert not ready["ready"] and str(small_disk) not in str(ready)
        filler.unlink()  # space again: every route works again, nothing restarted
        assert requests.get(f"{url}/artwork", params={"user": "back", "title": "t1"},
                            timeout=5).status_code == 200
        assert requests.post(f"{url}/feedback", json={"event_id": events[-1], "kind": "click"},
                             timeout=5).status_code == 202
        assert requests.post(f"{url}/titles", json={"id": "after", "name": "After"},
                             headers=AUTH, timeout=5).status_code == 201
        assert requests.get(f"{url}/readyz", timeout=5).status_code == 200
    finally:
        server.stop()
