"""Every bad request gets its documented 4xx with a JSON body, and changes nothing."""
from __future__ import annotations

import io

import pytest

from tests.api.conftest import AUTH, add_artworks
from tests.conftest import count_rows

WRONG = {"Authorization": "Bearer not-the-token"}


@pytest.fixture
def seeded(client, app, jpeg_bytes):
    """A title with one live artwork and one logged decision."""
    client.post("/titles", json={"id": "t1", "name": "One"}, headers=AUTH)
    art = add_artworks(app, "t1", [jpeg_bytes(1)])[0]
    client.patch(f"/artworks/{art}", json={"status": "live"}, headers=AUTH)
    event = client.get("/artwork?user=u&title=t1").get_json()["event_id"]
    return {"artwork": art, "event": event}


def _snapshot(app):
    store = app.extensions["artbandit"].store
    files = sorted(p.name for p in (store.data_dir / "images").rglob("*") if p.is_file())
    titles = [(t.id, t.name) for t in store.list_titles()]
    arts = [(a.id, a.status, a.is_default) for t in store.list_titles()
            for a in store.list_artworks(t.id)]
    return titles, arts, store.count_decisions(), count_rows(store, "rewards"), files


CASES = [
    # (label, method, path, request kwargs, status, fragment of the error)
    ("no user", "get", "/artwork?title=t1", {}, 400, "`user` is required"),
    ("empty user", "get", "/artwork?user=&title=t1", {}, 400, "`user` is required"),
    ("no title", "get", "/artwork?user=u", {}, 400, "`title` is required"),
    ("empty title", "get", "/artwork?user=u&title=", {}, 400, "`title` is required"),
    ("unknown title", "get", "/artwork?user=u&title=nope", {}, 404, "no title 'nope'"),
    ("path trick title", "get", "/artwork?user=u&title=../../etc/passwd", {}, 404, "no title"),
    ("title twice", "get", "/artwork?user=u&title=t1&title=t1", {}, 400, "named twice"),
    ("too many titles", "get", "/artwork?user=u" + "&title=x" * 30, {}, 400, "at most 24"),
    ("bad hour", "get", "/artwork?user=u&title=t1&hour=25", {}, 400, "`hour`"),
    ("bad context name", "get", "/artwork?user=u&title=t1&Bad-Name=1", {}, 400, "context"),
    ("personal data as context", "get", "/artwork?user=u&title=t1&email=a@b.c", {}, 400,
     "unknown context parameter 'email'"),
    ("feedback not json", "post", "/feedback", {"data": "event_id=x"}, 400, "JSON body"),
    ("feedback broken json", "post", "/feedback",
     {"data": "{nope", "content_type": "application/json"}, 400, "not valid JSON"),
    ("feedback bad kind", "post", "/feedback", {"json": {"event_id": "E", "kind": "like"}}, 400,
     "`kind` must be one of"),
    ("feedback missing id", "post", "/feedback", {"json": {"kind": "play"}}, 400, "`event_id`"),
    ("feedback wrong type", "post", "/feedback", {"json": {"event_id": 7, "kind": "play"}}, 400,
     "`event_id`"),
    ("feedback bad value", "post", "/feedback",
     {"json": {"event_id": "E", "kind": "play", "value": "lots"}}, 400, "`value`"),
    ("feedback value overflows", "post", "/feedback",
     {"json": {"event_id": "E", "kind": "play", "value": int("9" * 400)}}, 400, "`value`"),
    ("feedback body too large", "post", "/feedback",
     {"data": '{"events": [' + ",".join(['{"event_id": "x", "kind": "play"}'] * 40000) + "]}",
      "content_type": "application/json"}, 413, "limited to"),
    ("feedback extra field", "post", "/feedback",
     {"json": {"event_id": "E", "kind": "play", "user": "u"}}, 400, "unknown field"),
    ("feedback unknown event", "post", "/feedback",
     {"json": {"event_id": "nope", "kind": "play"}}, 404, "no decision with event id 'nope'"),
    ("batch with one unknown event", "post", "/feedback",
     {"json": [{"event_id": "E", "kind": "play"}, {"event_id": "nope", "kind": "click"}]}, 404,
     "'nope'"),
    ("empty batch", "post", "/feedback", {"json": []}, 400, "no feedback events"),
    ("titles no token", "get", "/titles", {"headers": {}}, 401, "Bearer"),
    ("titles wrong token", "get", "/titles", {"headers": WRONG}, 403, "wrong token"),
    ("create no token", "post", "/titles", {"json": {"id": "t2", "name": "N"}, "headers": {}},
     401, "Bearer"),
    ("create wrong token", "post", "/titles",
     {"json": {"id": "t2", "name": "N"}, "headers": WRONG}, 403, "wrong token"),
    ("create missing name", "post", "/titles", {"json": {"id": "t2"}}, 400, "`name`"),
    ("create path trick id", "post", "/titles", {"json": {"id": "../x", "name": "N"}}, 400,
     "is not valid"),
    ("create genres wrong type", "post", "/titles",
     {"json": {"id": "t2", "name": "N", "genres": "drama"}}, 400, "`genres`"),
    ("create existing", "post", "/titles", {"json": {"id": "t1", "name": "N"}}, 409,
     "already exists"),
    ("create not an object", "post", "/titles", {"json": ["t2"]}, 400, "must be an object"),
    ("unknown title detail", "get", "/titles/nope", {}, 404, "no title"),
    ("upload to unknown title", "post", "/titles/nope/artworks",
     {"data": {"file": (b"x", "a.jpg")}}, 404, "no title"),
    ("upload with no file", "post", "/titles/t1/artworks", {"data": {}}, 400, "`file`"),
    ("upload non-image", "post", "/titles/t1/artworks",
     {"data": {"file": (b"just text", "a.jpg")}}, 400, "not a decodable image"),
    ("upload empty", "post", "/titles/t1/artworks", {"data": {"file": (b"", "a.jpg")}}, 400,
     "empty file"),
    ("upload oversized", "post", "/titles/t1/artworks",
     {"data": {"file": (b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024), "big.jpg")}}, 413, "limit"),
    ("patch bad status", "patch", "/artworks/{artwork}", {"json": {"status": "gone"}}, 400,
     "`status` must be one of"),
    ("patch bad default", "patch", "/artworks/{artwork}", {"json": {"default": "yes"}}, 400,
     "`default` must be"),
    ("patch unknown field", "patch", "/artworks/{artwork}", {"json": {"title_id": "x"}}, 400,
     "unknown field"),
    ("patch list body", "patch", "/artworks/{artwork}", {"json": ["live"]}, 400,
     "must be an object"),
    ("patch number body", "patch", "/artworks/{artwork}", {"json": 3}, 400, "must be an object"),
    ("patch empty", "patch", "/artworks/{artwork}", {"json": {}}, 400, "send `status`"),
    ("patch unknown artwork", "patch", "/artworks/nope", {"json": {"status": "live"}}, 404,
     "no artwork"),
    ("patch no token", "patch", "/artworks/{artwork}",
     {"json": {"status": "retired"}, "headers": {}}, 401, "Bearer"),
    ("image unknown", "get", "/artworks/nope/image", {}, 404, "no artwork"),
    ("image path trick", "get", "/artworks/..%2F..%2Fartbandit.db/image", {}, 404, ""),
    ("job unknown", "get", "/jobs/0123456789abcdef0123456789abcdef", {}, 404, "no job"),
    ("job path trick", "get", "/jobs/..%2Fx", {}, 404, ""),
    ("video no file", "post", "/titles/t1/videos", {"data": {}}, 400, "`file`"),
    ("video bad max", "post", "/titles/t1/videos",
     {"data": {"file": (b"x", "v.mp4"), "max_candidates": "many"}}, 400, "max_candidates"),
    ("stats no title", "get", "/stats", {}, 400, "`title` is required"),
    ("stats unknown title", "get", "/stats?title=nope", {}, 404, "no title"),
    ("stats no token", "get", "/stats?title=t1", {"headers": {}}, 401, "Bearer"),
    ("user with NUL", "get", "/artwork?user=a%00b&title=t1", {}, 400, "control characters"),
    ("user with newline", "get", "/artwork?user=a%0Ab&title=t1", {}, 400, "control characters"),
    ("context with control", "get", "/artwork?user=u&title=t1&device=t%07v", {}, 400,
     "control characters"),
    ("title name too long", "post", "/titles", {"json": {"id": "t9", "name": "n" * 201}}, 400,
     "name of 1 to 200 characters"),
    ("too many genres", "post", "/titles",
     {"json": {"id": "t9", "name": "N", "genres": [f"g{i}" for i in range(21)]}}, 400,
     "at most 20 genres"),
    ("feedback nested deep", "post", "/feedback",
     {"data": "[" * 8000 + "]" * 8000, "content_type": "application/json"}, 400,
     "must be an object"),
    ("feedback body too large", "post", "/feedback",
     {"json": [{"event_id": "E", "kind": "click"}] * 1000}, 413, "limited to"),
    ("feedback batch too long", "post", "/feedback",
     {"json": [{"event_id": "E", "kind": "click"}] * 101}, 400, "at most 100"),
    ("unknown route", "get", "/nothing-here", {}, 404, ""),
    ("wrong method", "delete", "/artwork", {}, 405, ""),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_request_table(client, app, seeded, case):
    label, method, path, kwargs, status, fragment = case
    kwargs = dict(kwargs)
    headers = kwargs.pop("headers", AUTH)
    data = kwargs.get("data")
    if isinstance(data, dict):
        kwargs["data"] = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v
                          for k, v in data.items()}
        kwargs.setdefault("content_type", "multipart/form-data")
    path = path.format(**seeded)
    if "json" in kwargs:
        kwargs["json"] = _fill(kwargs["json"], seeded)
    before = _snapshot(app)
    response = getattr(client, method)(path, headers=headers, **kwargs)
    assert response.status_code == status, (label, response.get_data(as_text=True))
    body = response.get_json()
    assert body["status"] == status and isinstance(body["error"], str), label
    assert set(body) <= {"error", "status", "results"}, label
    assert fragment in body["error"], (label, body["error"])
    assert _snapshot(app) == before, f"{label} changed the store"


def _fill(value, seeded):
    if isinstance(value, dict):
        return {k: seeded["event"] if v == "E" else v for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, seeded) for v in value]
    return value


def test_oversized_upload_uses_the_configured_limit(data_dir, jpeg_bytes):
    from api.web.app import create_app
    from tests.api.conftest import app_settings

    app = create_app(app_settings(data_dir, max_upload_bytes=2000))
    try:
        c = app.test_client()
        c.post("/titles", json={"id": "t1", "name": "One"}, headers=AUTH)
        r = c.post("/titles/t1/artworks", headers=AUTH,
                   data={"file": (io.BytesIO(jpeg_bytes(1, 300, 200)), "a.jpg")})
        assert r.status_code == 413
        assert "2000-byte" in r.get_json()["error"]
    finally:
        app.extensions["artbandit"].close()


def test_a_wrong_method_says_which_are_allowed(client):
    r = client.delete("/feedback")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert r.get_json()["status"] == 405
