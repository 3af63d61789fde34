"""The whole serving loop against a real gunicorn server on 127.0.0.1."""
from __future__ import annotations

import time

import requests

from api.web.serving import MAX_FEEDBACK_BATCH
from tests.api.conftest import AUTH


def test_create_upload_serve_feedback_learn_and_stats(live_server, jpeg_bytes):
    url = live_server.url
    r = requests.post(f"{url}/titles", json={"id": "bbb", "name": "Big Buck Bunny",
                                             "genres": ["animation"]}, headers=AUTH, timeout=10)
    assert r.status_code == 201, r.text
    files = [("file", (f"still{i}.jpg", jpeg_bytes(i, 160, 90), "image/jpeg")) for i in range(3)]
    r = requests.post(f"{url}/titles/bbb/artworks", files=files, headers=AUTH, timeout=60)
    assert r.status_code == 201, r.text
    ids = [res["artwork"]["id"] for res in r.json()["results"]]
    assert len(ids) == 3
    for aid in ids:
        r = requests.patch(f"{url}/artworks/{aid}", json={"status": "live"}, headers=AUTH,
                           timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "live"

    version0 = requests.get(f"{url}/healthz", timeout=5).json()["model_version"]
    session = requests.Session()
    events = []
    for i in range(120):
        r = session.get(f"{url}/artwork", params={"user": f"user{i % 40}", "title": "bbb",
                                                   "device": "tv", "hour": str(i % 24)}, timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["artwork_id"] in ids and 0 < body["probability"] <= 1
        assert body["image_url"].endswith(f"/artworks/{body['artwork_id']}/image")
        events.append(body)
    feedback = [{"event_id": e["event_id"], "kind": "impression"} for e in events]
    feedback += [{"event_id": e["event_id"], "kind": "play"} for e in events
                 if e["artwork_id"] == ids[0]]
    for start in range(0, len(feedback), MAX_FEEDBACK_BATCH):
        batch = feedback[start:start + MAX_FEEDBACK_BATCH]
        r = session.post(f"{url}/feedback", json={"events": batch}, timeout=10)
        assert r.status_code == 202 and r.json()["recorded"] == len(batch)

    deadline = time.monotonic() + 30
    version = version0
    while time.monotonic() < deadline and version <= version0:
        time.sleep(0.2)
        version = session.get(f"{url}/healthz", timeout=5).json()["model_version"]
    assert version > version0, "the learner's model version did not advance"
    r = session.get(f"{url}/artwork", params={"user": "new-user", "title": "bbb"}, timeout=10)
    assert r.json()["model_version"] >= version

    stats = session.get(f"{url}/stats", params={"title": "bbb"}, headers=AUTH, timeout=10).json()
    assert stats["decisions"] == 121
    per_art = {a["artwork_id"]: a for a in stats["artworks"]}
    plays = sum(1 for e in events if e["artwork_id"] == ids[0])
    assert per_art[ids[0]]["plays"] == plays
    assert sum(a["impressions"] for a in per_art.values()) == 120
    assert per_art[ids[0]]["take_rate"] > 0
    metrics = session.get(f"{url}/metrics", timeout=5).text
    assert "artbandit_decisions_total" in metrics and "artbandit_model_version" in metrics
