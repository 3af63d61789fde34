"""The creatives' endpoints: titles, uploads, status changes and images."""
from __future__ import annotations

import io

from tests.api.conftest import AUTH


def test_title_detail_lists_artworks(client, ingest_worker, jpeg_bytes):
    assert client.post("/titles", json={"id": "t1", "name": "One", "genres": ["drama"]},
                       headers=AUTH).status_code == 201
    client.post("/titles/t1/artworks", headers=AUTH,
                data={"file": (io.BytesIO(jpeg_bytes(1)), "a.jpg")})
    body = client.get("/titles/t1", headers=AUTH).get_json()
    assert body["name"] == "One" and body["genres"] == ["drama"]
    assert len(body["artworks"]) == 1 and body["artworks"][0]["status"] == "candidate"
    assert client.get("/titles", headers=AUTH).get_json()["titles"][0]["id"] == "t1"


def test_upload_reports_each_file(client, ingest_worker, jpeg_bytes):
    client.post("/titles", json={"id": "t1", "name": "One"}, headers=AUTH)
    data = {"file": [(io.BytesIO(jpeg_bytes(1)), "good.jpg"),
                     (io.BytesIO(b"not an image"), "bad.jpg")]}
    r = client.post("/titles/t1/artworks", headers=AUTH, data=data)
    assert r.status_code == 207
    results = r.get_json()["results"]
    assert [x["ok"] for x in results] == [True, False]
    assert "bad.jpg: not a decodable image" in results[1]["error"]
    art = results[0]["artwork"]
    assert art["quality"] and art["embedding_dim"] > 0, "stills get visual features"


def test_image_has_type_etag_and_cache_headers(client, ingest_worker, jpeg_bytes, png_bytes):
    client.post("/titles", json={"id": "t1", "name": "One"}, headers=AUTH)
    data = {"file": [(io.BytesIO(jpeg_bytes(1)), "a.jpg"), (io.BytesIO(png_bytes(2)), "b.png")]}
    results = client.post("/titles/t1/artworks", headers=AUTH, data=data).get_json()["results"]
    jpg, png = (x["artwork"] for x in results)
    for art in (jpg, png):  # live artworks are public; the others need sign-in (test_hardening)
        client.patch(f"/artworks/{art['id']}", json={"status": "live"}, headers=AUTH)
    r = client.get(f"/artworks/{jpg['id']}/image")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert r.data == jpeg_bytes(1)
    assert r.headers["ETag"].strip('"') == jpg["id"]
    assert "public" in r.headers["Cache-Control"] and "max-age=86400" in r.headers["Cache-Control"]
    again = client.get(f"/artworks/{jpg['id']}/image", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert client.get(f"/artworks/{png['id']}/image").mimetype == "image/png"


def test_patch_status_and_default(client, ingest_worker, jpeg_bytes):
    client.post("/titles", json={"id": "t1", "name": "One"}, headers=AUTH)
    data = {"file": [(io.BytesIO(jpeg_bytes(i)), f"{i}.jpg") for i in range(2)]}
    a, b = (x["artwork"]["id"] for x in
            client.post("/titles/t1/artworks", headers=AUTH, data=data).get_json()["results"])
    r = client.patch(f"/artworks/{a}", json={"status": "live", "default": True}, headers=AUTH)
    assert r.get_json()["status"] == "live" and r.get_json()["is_default"] is True
    client.patch(f"/artworks/{b}", json={"default": True}, headers=AUTH)
    detail = {x["id"]: x for x in client.get("/titles/t1", headers=AUTH).get_json()["artworks"]}
    assert detail[b]["is_default"] and not detail[a]["is_default"]


def _wait_for_job(client, url: str, timeout: float = 120.0) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url, headers=AUTH).get_json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job did not finish: {job}")


def test_video_upload_runs_an_ingest_job(client, ingest_worker, app):
    from pathlib import Path

    video = Path(__file__).resolve().parents[1] / "data" / "bigbuckbunny.mp4"
    client.post("/titles", json={"id": "bbb", "name": "Big Buck Bunny"}, headers=AUTH)
    r = client.post("/titles/bbb/videos", headers=AUTH,
                    data={"file": (io.BytesIO(video.read_bytes()), "bbb.mp4"),
                          "max_candidates": "3"})
    assert r.status_code == 202
    job = _wait_for_job(client, r.get_json()["url"])
    assert job["status"] == "done" and job["progress"] == 1.0, job
    kept = job["result"]["candidates"]
    assert 1 <= len(kept) <= 3 and job["result"]["frames_analysed"] > 0
    arts = client.get("/titles/bbb", headers=AUTH).get_json()["artworks"]
    assert {a["id"] for a in arts} == {c["artwork_id"] for c in kept}
    assert all(a["source"] == "video" and a["frame_time"] is not None for a in arts)


def test_corrupt_video_job_fails_clearly_and_stores_nothing(client, ingest_worker, app):
    client.post("/titles", json={"id": "bad", "name": "Bad"}, headers=AUTH)
    r = client.post("/titles/bad/videos", headers=AUTH,
                    data={"file": (io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500),
                                   "broken.mp4")})
    job = _wait_for_job(client, r.get_json()["url"])
    assert job["status"] == "failed", job
    assert job["error"].startswith("broken.mp4: OpenCV cannot open it as a video")
    assert client.get("/titles/bad", headers=AUTH).get_json()["artworks"] == []
