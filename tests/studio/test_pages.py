"""The studio's pages through Flask's test client: sign-in, gallery, approval, insights, reports."""
from __future__ import annotations

import io
import json
import re
import time
from html import unescape

import numpy as np
import pytest

from artwork.export import export_log
from artwork.reward_mapping import RewardMapping
from simulator.estimators import make_estimator
from simulator.evaluation import evaluate_policies
from simulator.log_files import read_log
from simulator.reports import write_evaluation_report
from simulator.specs import parse_policy_specs

from tests.studio.conftest import World, add_artwork, add_user, log_traffic, picture, sign_in

QUALITY = {"score": 0.81, "sharpness": 240.0, "brightness": 0.52, "contrast": 0.3, "colourfulness": 55.0,
           "face_count": 2.0, "face_share": 0.09}


def _services(app):
    return app.extensions["artbandit"]


# -- sign-in -----------------------------------------------------------------------------


def test_pages_redirect_to_sign_in_and_json_answers_401(studio_app):
    client = studio_app.test_client()
    r = client.get("/studio/titles/x")
    assert r.status_code == 302 and r.headers["Location"].startswith("/studio/login?next=/studio/titles/x")
    r = client.get("/studio/reports/runs/" + "0" * 32 + ".json")
    assert r.status_code == 401 and "sign in" in r.get_json()["error"]


def test_wrong_password_is_refused_and_the_api_keeps_its_semantics(studio_app):
    client = studio_app.test_client()
    add_user(studio_app)
    r = sign_in(client, "editor", "not the password")
    assert r.status_code == 401 and "do not match an account" in unescape(r.text)
    assert client.get("/studio/").status_code == 302
    # A studio session is no bearer token: the JSON API still wants the header.
    assert client.get("/titles").status_code == 401
    assert client.get("/titles", headers={"Authorization": "Bearer wrong"}).status_code == 403


def test_sign_in_only_redirects_inside_the_studio(studio_app):
    client = studio_app.test_client()
    r = sign_in(client, add_user(studio_app), next="//evil.example/x")
    assert r.status_code == 302 and r.headers["Location"] == "/studio/"


def test_forms_without_the_csrf_token_are_refused(studio, studio_app):
    r = studio.post("/studio/titles", data={"id": "t1", "name": "One"})
    assert r.status_code == 403 and "reload the page" in unescape(r.text)
    assert _services(studio_app).store.count_titles() == 0


def test_sign_out_ends_the_session(studio):
    assert studio.post("/studio/logout", data={"csrf": studio.csrf}).status_code == 302
    assert studio.get("/studio/").status_code == 302


def test_studio_off_without_a_token(data_dir):
    from api.web.app import create_app
    from tests.api.conftest import app_settings

    app = create_app(app_settings(data_dir, token=""))
    try:
        r = app.test_client().get("/studio/login")
        assert r.status_code == 503 and "ARTBANDIT_TOKEN" in unescape(r.text)
    finally:
        app.extensions["artbandit"].close()


# -- titles and gallery ------------------------------------------------------------------


def test_create_title_and_list_it(studio, studio_app):
    r = studio.post("/studio/titles", data={"csrf": studio.csrf, "id": "t1", "name": "One",
                                            "genres": "drama, thriller"})
    assert r.status_code == 302 and r.headers["Location"] == "/studio/titles/t1"
    assert _services(studio_app).store.get_title("t1").genres == ("drama", "thriller")
    page = studio.get("/studio/").text
    assert "One" in page and "drama, thriller" in page
    again = studio.post("/studio/titles", data={"csrf": studio.csrf, "id": "t1", "name": "Dup"})
    assert again.status_code == 409 and "already exists" in unescape(again.text)
    bad = studio.post("/studio/titles", data={"csrf": studio.csrf, "id": "../x", "name": "Bad"})
    assert bad.status_code == 400 and "not valid" in unescape(bad.text)


def test_gallery_shows_features_and_live_performance(studio, studio_app):
    store = _services(studio_app).store
    store.add_title("t1", "One", ["drama"])
    art = add_artwork(store, "t1", 1, quality=QUALITY, tags=["group", "bright"], status="candidate")
    page = studio.get("/studio/titles/t1").text
    assert f'data-artwork-id="{art.id}"' in page
    assert "score <strong>0.81</strong>" in page and "group, bright" in page
    assert "2 (largest 9.0% of the frame)" in page and "uploaded still" in page
    assert 'data-field="decisions">0<' in page

    r = studio.post(f"/studio/artworks/{art.id}/status", data={"csrf": studio.csrf, "status": "live"})
    assert r.status_code == 302 and store.get_artwork(art.id).status == "live"
    served = studio_app.test_client().get("/artwork?user=u1&title=t1").get_json()
    studio_app.test_client().post("/feedback", json={"event_id": served["event_id"], "kind": "impression"})
    page = studio.get("/studio/titles/t1").text
    assert "Approved artwork" in page
    assert 'data-field="decisions">1<' in page and 'data-field="impressions">1<' in page
    assert 'data-field="share">100.0%<' in page


def test_retire_and_make_default(studio, studio_app):
    store = _services(studio_app).store
    store.add_title("t1", "One")
    a = add_artwork(store, "t1", 1)
    b = add_artwork(store, "t1", 2)
    studio.post(f"/studio/artworks/{a.id}/default", data={"csrf": studio.csrf})
    studio.post(f"/studio/artworks/{b.id}/status", data={"csrf": studio.csrf, "status": "retired"})
    assert store.get_artwork(a.id).is_default and store.get_artwork(b.id).status == "retired"
    r = studio.post(f"/studio/artworks/{b.id}/status", data={"csrf": studio.csrf, "status": "gone"})
    assert r.status_code == 400 and "Status must be one of" in unescape(r.text)
    assert studio.post("/studio/artworks/nope/default", data={"csrf": studio.csrf}).status_code == 404


def test_near_duplicates_are_flagged_before_approval(studio, studio_app):
    store = _services(studio_app).store
    store.add_title("t1", "One")
    base = np.ones(16, np.float32) / 4.0
    look_alike = base.copy()
    look_alike[:4] += 0.15
    look_alike /= np.linalg.norm(look_alike)
    other = np.zeros(16, np.float32)
    other[0] = 1.0
    live = add_artwork(store, "t1", 1, embedding=base, embedder="classic-v1", status="live")
    dup = add_artwork(store, "t1", 2, embedding=look_alike, embedder="classic-v1", status="candidate")
    fresh = add_artwork(store, "t1", 3, embedding=other, embedder="classic-v1", status="candidate")
    page = studio.get("/studio/titles/t1").text
    assert f'id="dup-{dup.id}"' in page and f'href="#art-{live.id}"' in page
    assert f'id="dup-{fresh.id}"' not in page and f'id="dup-{live.id}"' not in page


def test_uploads_report_each_file(studio, studio_app, ingest_worker, jpeg_bytes):
    store = _services(studio_app).store
    store.add_title("t1", "One")
    data = {"csrf": studio.csrf, "file": [(io.BytesIO(jpeg_bytes(1)), "good.jpg"),
                                          (io.BytesIO(b"just some notes"), "notes.txt")]}
    r = studio.post("/studio/titles/t1/stills", data=data, content_type="multipart/form-data")
    assert r.status_code == 200
    assert "notes.txt: not a decodable image" in unescape(r.text)
    assert len(store.list_artworks("t1")) == 1
    only_bad = {"csrf": studio.csrf, "file": [(io.BytesIO(b"nope"), "bad.png")]}
    r = studio.post("/studio/titles/t1/stills", data=only_bad, content_type="multipart/form-data")
    assert r.status_code == 400 and "bad.png" in unescape(r.text)
    none = studio.post("/studio/titles/t1/stills", data={"csrf": studio.csrf}, content_type="multipart/form-data")
    assert none.status_code == 400 and "Choose one or more image files" in unescape(none.text)


def test_unknown_things_are_404_pages(studio):
    r = studio.get("/studio/titles/nope")
    assert r.status_code == 404 and "no title" in unescape(r.text) and r.mimetype == "text/html"
    assert studio.get("/studio/jobs/" + "a" * 32).status_code == 404
    assert studio.get("/studio/jobs/nope.json").get_json()["status"] == 404


# -- insights ----------------------------------------------------------------------------


def test_insights_pages_show_what_wins(studio, studio_app):
    store = _services(studio_app).store
    store.add_title("t1", "One", ["drama"])
    close = add_artwork(store, "t1", 1, quality={"face_count": 1, "face_share": 0.1, "brightness": 0.5})
    wide = add_artwork(store, "t1", 2, quality={"face_count": 0, "face_share": 0.0, "brightness": 0.5})
    world = World(("tv", "mobile"), {("tv", close.id): 0.35, ("tv", wide.id): 0.05,
                                     ("mobile", close.id): 0.2, ("mobile", wide.id): 0.2},
                  {close.id: 0.5, wide.id: 0.5})
    log_traffic(store, "t1", world, 1500, np.random.default_rng(3))
    page = studio.get("/studio/titles/t1/insights").text
    assert "1500 decisions" in page
    assert re.search(r"<strong>device: tv</strong>:\s*artwork with <strong class=\"win\">[^<]*close-up[^<]*</strong> wins", page)
    catalog = studio.get("/studio/insights").text
    assert "across the catalog" in catalog and "device: mobile" in catalog


def test_insights_without_closed_decisions(studio, studio_app):
    _services(studio_app).store.add_title("t1", "One")
    assert 'id="no-insights"' in studio.get("/studio/titles/t1/insights").text


# -- reports -----------------------------------------------------------------------------


def _logged_store(studio_app, n=600):
    store = _services(studio_app).store
    store.add_title("t1", "One")
    a = add_artwork(store, "t1", 1)
    b = add_artwork(store, "t1", 2)
    world = World(("tv",), {("tv", a.id): 0.3, ("tv", b.id): 0.1}, {a.id: 0.5, b.id: 0.5})
    log_traffic(store, "t1", world, n, np.random.default_rng(5))
    return store


def test_reports_written_by_the_simulator_are_listed_and_shown(studio, studio_app, tmp_path):
    store = _logged_store(studio_app)
    path = tmp_path / "log.csv"
    export_log(store, path, window=0.3, reward_of=RewardMapping())
    log = read_log(path)
    evaluations = evaluate_policies(log, parse_policy_specs(["uniform", "logged"]),
                                    [make_estimator("ips"), make_estimator("snips")])
    write_evaluation_report(_services(studio_app).config.data_dir / "reports" / "cli-run", evaluations,
                            {"log": str(path), "n_rounds": log.n_rounds})
    listing = studio.get("/studio/reports/").text
    assert 'href="/studio/reports/cli-run/"' in listing
    page = studio.get("/studio/reports/cli-run/").text
    assert page.count("<tr>") >= 5 and "snips" in page and "uniform" in page
    assert 'src="/studio/reports/cli-run/estimates.png"' in page
    png = studio.get("/studio/reports/cli-run/estimates.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:4] == b"\x89PNG"


@pytest.mark.parametrize("path", ["/studio/reports/nope/", "/studio/reports/cli-run/report.json",
                                  "/studio/reports/..%2F..%2Fetc/", "/studio/reports/.runs/",
                                  "/studio/reports/cli-run/..%2Fx.png"])
def test_report_paths_outside_the_reports_are_404(studio, studio_app, path):
    folder = _services(studio_app).config.data_dir / "reports" / "cli-run"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({"meta": {}, "estimates": []}))
    assert studio.get(path).status_code == 404


def test_a_replay_run_from_the_form_writes_a_report(studio, studio_app):
    _logged_store(studio_app)
    r = studio.post("/studio/reports/runs", data={
        "csrf": studio.csrf, "policy": ["uniform", "egreedy:0.1"], "extra_policies": "default:0.05",
        "estimator": ["ips", "snips", "replay"]})
    assert r.status_code == 302
    run_url = r.headers["Location"]
    assert "Replay of the decision log" in studio.get(run_url).text
    runner = studio_app.extensions["artbandit"].replays
    runner.close()  # waits for the queued run to finish
    status = studio.get(run_url + ".json").get_json()
    assert status["status"] == "done", status
    report = studio.get(status["report_url"]).text
    assert "default:0.05" in report and "egreedy:0.1" in report and "estimates.png" in report


@pytest.mark.parametrize("form, message", [
    ({"policy": ["bogus"], "estimator": ["ips"]}, "unknown policy"),
    ({"policy": ["uniform"], "estimator": []}, "choose at least one estimator"),
    ({"policy": ["uniform"], "estimator": ["nope"]}, "unknown estimator"),
    ({"extra_policies": "file:/etc/passwd", "estimator": ["ips"]}, "probability files cannot be replayed here"),
    ({"estimator": ["ips"]}, "Choose at least one policy"),
])
def test_bad_replay_forms_say_what_to_fix(studio, form, message):
    r = studio.post("/studio/reports/runs", data={"csrf": studio.csrf, **form})
    assert r.status_code == 400 and message in unescape(r.text)


def test_a_replay_of_an_empty_log_fails_with_a_reason(studio, studio_app):
    r = studio.post("/studio/reports/runs", data={"csrf": studio.csrf, "policy": ["uniform"],
                                                  "estimator": ["ips"]})
    studio_app.extensions["artbandit"].replays.close()
    status = studio.get(r.headers["Location"] + ".json").get_json()
    assert status["status"] == "failed" and "reward window has closed" in status["error"]


def test_a_video_upload_runs_as_a_job_with_progress(studio, studio_app, ingest_worker, tmp_path):
    from vision.synthetic import random_shots, write_video

    _services(studio_app).store.add_title("t1", "One")
    video = write_video(tmp_path / "trailer.mp4", random_shots([picture(i) for i in range(4)], 4, seed=1))
    with open(video.path, "rb") as fh:
        r = studio.post("/studio/titles/t1/videos", content_type="multipart/form-data",
                        data={"csrf": studio.csrf, "file": (fh, "trailer.mp4"), "max_candidates": "3"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/studio/jobs/")
    page = studio.get(r.headers["Location"]).text
    assert "<progress" in page and 'data-poll-url="' in page and "trailer.mp4" in page
    deadline = time.monotonic() + 60
    while (job := studio.get(r.headers["Location"] + ".json").get_json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"the ingest job did not finish: {job}"
        time.sleep(0.2)
    assert job["status"] == "done" and job["progress"] == 1.0, job
    gallery = studio.get("/studio/titles/t1").text
    assert gallery.count('class="artwork status-candidate"') == len(job["result"]["candidates"]) >= 1
    assert "video, shot" in gallery
    # The finished job's page shows what it extracted, as thumbnails to approve there and then.
    ids = [c["artwork_id"] for c in job["result"]["candidates"]]
    page = unescape(studio.get(r.headers["Location"]).text)
    assert "data-reload-when-done" not in page and f"{len(ids)} new artwork" in page
    for artwork_id in ids:
        assert f'<img src="/artworks/{artwork_id}/image"' in page
        assert f'name="artwork" value="{artwork_id}" form="bulk"' in page
    assert studio.get(f"/artworks/{ids[0]}/image").status_code == 200
    approved = studio.post("/studio/titles/t1/status", data={"csrf": studio.csrf, "status": "live",
                                                            "artwork": ids})
    assert approved.status_code == 302
    assert {a.status for a in _services(studio_app).store.list_artworks("t1")} == {"live"}


def test_a_bad_video_upload_is_refused(studio, studio_app):
    _services(studio_app).store.add_title("t1", "One")
    r = studio.post("/studio/titles/t1/videos", content_type="multipart/form-data",
                    data={"csrf": studio.csrf, "file": (io.BytesIO(b"x"), "a.mp4"), "max_candidates": "0"})
    assert r.status_code == 400 and "between 1 and 100" in unescape(r.text)
    r = studio.post("/studio/titles/t1/videos", content_type="multipart/form-data", data={"csrf": studio.csrf})
    assert r.status_code == 400 and "Choose a video file" in unescape(r.text)
