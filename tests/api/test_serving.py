"""`GET /artwork` and `POST /feedback` through the Flask test client."""
from __future__ import annotations

import math

import pytest

from tests.api.conftest import AUTH, add_artworks


@pytest.fixture
def catalog(client, app, jpeg_bytes):
    """Two titles: t1 with three live artworks, t2 with one candidate made default."""
    client.post("/titles", json={"id": "t1", "name": "One", "genres": ["drama"]}, headers=AUTH)
    client.post("/titles", json={"id": "t2", "name": "Two"}, headers=AUTH)
    ids = add_artworks(app, "t1", [jpeg_bytes(i) for i in range(3)])
    for aid in ids:
        client.patch(f"/artworks/{aid}", json={"status": "live"}, headers=AUTH)
    default = add_artworks(app, "t2", [jpeg_bytes(9)])[0]
    client.patch(f"/artworks/{default}", json={"default": True}, headers=AUTH)
    return {"t1": ids, "t2_default": default}


def test_decision_is_logged_before_it_is_returned(client, app, catalog):
    r = client.get("/artwork?user=alice&title=t1&device=tv&country=FR&hour=21")
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) >= {"event_id", "artwork_id", "image_url", "probability", "policy",
                         "model_version", "choices"}
    # On disk in this process's decision journal when the answer leaves.
    store = app.extensions["artbandit"].store
    assert body["event_id"] in store.decision_log.journal.path.read_text()
    logged = store.get_decision(body["event_id"])
    assert logged.action == body["artwork_id"] and logged.probability == body["probability"]
    assert logged.context["features"] == {"device": "tv", "country": "FR", "hour": 21.0}
    assert logged.context["title_genres"] == ["drama"]
    assert set(logged.candidates) == set(catalog["t1"])
    assert abs(math.fsum(logged.pmf) - 1) < 1e-9 and min(logged.pmf) >= 0.01 - 1e-12


def test_a_row_of_titles_in_one_call(client, catalog):
    r = client.get("/artwork?user=bob&title=t1&title=t2")
    choices = r.get_json()["choices"]
    assert [c["title_id"] for c in choices] == ["t1", "t2"]
    assert len({c["event_id"] for c in choices}) == 2


def test_title_without_live_artwork_serves_its_default_or_404(client, catalog):
    r = client.get("/artwork?user=bob&title=t2")
    assert r.status_code == 200
    body = r.get_json()
    assert body["artwork_id"] == catalog["t2_default"] and body["probability"] == 1.0
    client.post("/titles", json={"id": "t3", "name": "Three"}, headers=AUTH)
    r = client.get("/artwork?user=bob&title=t3")
    assert r.status_code == 404 and "no live artwork" in r.get_json()["error"]


def test_unknown_user_and_new_artwork_are_served_at_once(client, app, catalog, jpeg_bytes):
    r = client.get("/artwork?user=never-seen-before&title=t1")
    assert r.status_code == 200
    new = add_artworks(app, "t1", [jpeg_bytes(42)])[0]
    client.patch(f"/artworks/{new}", json={"status": "live"}, headers=AUTH)
    seen = set()
    for i in range(200):
        seen.add(client.get(f"/artwork?user=u{i}&title=t1").get_json()["artwork_id"])
    assert new in seen


def test_feedback_single_batch_and_repeats(client, catalog):
    e1 = client.get("/artwork?user=a&title=t1").get_json()["event_id"]
    e2 = client.get("/artwork?user=b&title=t1").get_json()["event_id"]
    r = client.post("/feedback", json={"event_id": e1, "kind": "click"})
    assert r.status_code == 202 and r.get_json() == {"recorded": 1, "duplicates": 0}
    r = client.post("/feedback", json=[{"event_id": e1, "kind": "click"},
                                       {"event_id": e2, "kind": "play", "value": 0.8}])
    assert r.get_json() == {"recorded": 1, "duplicates": 1}
    r = client.post("/feedback", json={"events": [{"event_id": e2, "kind": "impression"}]})
    assert r.get_json() == {"recorded": 1, "duplicates": 0}


def test_no_more_live_artworks_than_the_floor_allows(data_dir, jpeg_bytes):
    from api.web.app import create_app
    from tests.api.conftest import app_settings

    app = create_app(app_settings(data_dir, floor=0.3))  # at most 3 live artworks per title
    try:
        c = app.test_client()
        c.post("/titles", json={"id": "t1", "name": "One"}, headers=AUTH)
        ids = add_artworks(app, "t1", [jpeg_bytes(i) for i in range(4)])
        for aid in ids[:3]:
            assert c.patch(f"/artworks/{aid}", json={"status": "live"}, headers=AUTH).status_code == 200
        r = c.patch(f"/artworks/{ids[3]}", json={"status": "live"}, headers=AUTH)
        assert r.status_code == 409 and "retire one first" in r.get_json()["error"]
        pmf = app.extensions["artbandit"].store.get_decision(
            c.get("/artwork?user=u&title=t1").get_json()["event_id"]).pmf
        assert len(pmf) == 3 and min(pmf) >= 0.3 - 1e-9
    finally:
        app.extensions["artbandit"].close()


def test_a_journal_that_cannot_be_written_is_a_503_and_logs_nothing(client, app, catalog):
    store = app.extensions["artbandit"].store
    (store.data_dir / "journal").write_text("a file where the journal folder should be")
    r = client.get("/artwork?user=alice&title=t1")
    assert r.status_code == 503
    assert "decision journal" in r.get_json()["error"] and r.get_json()["status"] == 503
    assert str(store.data_dir) not in r.get_data(as_text=True) and r.headers["Retry-After"]
    assert store.count_decisions() == 0
