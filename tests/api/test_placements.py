"""Placements through the API: crops proposed at ingest, chosen by `placement`, served cached."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import requests

from artwork.images import encode_image
from artwork.placements import DEFAULT_PLACEMENTS, parse_placements
from artwork.store import Store
from tests.api.conftest import AUTH, add_artworks
from tests.vision.conftest import DATA
from vision.placements import crop_artworks

PLACEMENTS = parse_placements(DEFAULT_PLACEMENTS)


def _photos() -> list[bytes]:
    photos = [(DATA / f"{n}.jpg").read_bytes() for n in ("astronaut", "chelsea", "coffee")]
    closeup = encode_image(cv2.imread(str(DATA / "astronaut.jpg"))[40:210, 150:300])
    return [*photos, closeup]


@pytest.fixture
def cropped(client, app):
    """Title t with four live photos, cropped for every placement (the close-up not as billboard)."""
    client.post("/titles", json={"id": "t", "name": "T"}, headers=AUTH)
    ids = add_artworks(app, "t", _photos(), status="live")
    store = app.extensions["artbandit"].store
    crop_artworks(store, [store.get_artwork(i) for i in ids], PLACEMENTS)
    return ids


def test_placement_chooses_among_artworks_that_serve_it(client, app, cropped):
    store = app.extensions["artbandit"].store
    body = client.get("/artwork?user=u&title=t&placement=billboard").get_json()
    logged = store.get_decision(body["event_id"])
    assert set(logged.candidates) == set(cropped[:3])  # the close-up cannot be a billboard
    assert logged.context["features"]["placement"] == "billboard"  # learned per placement
    assert body["image_url"].startswith("/crops/") and body["image_url"].endswith(".jpg")
    body = client.get("/artwork?user=u&title=t&placement=square").get_json()
    assert set(store.get_decision(body["event_id"]).candidates) == set(cropped)
    plain = client.get("/artwork?user=u&title=t").get_json()
    assert plain["image_url"].endswith(f"/artworks/{plain['artwork_id']}/image")
    r = client.get("/artwork?user=u&title=t&placement=poster")
    assert r.status_code == 400 and "tile" in r.get_json()["error"]


def test_no_artwork_for_a_placement_is_a_404(client, app, jpeg_bytes):
    client.post("/titles", json={"id": "bare", "name": "Bare"}, headers=AUTH)
    add_artworks(app, "bare", [jpeg_bytes(1)], status="live")  # never cropped
    r = client.get("/artwork?user=u&title=bare&placement=tile")
    assert r.status_code == 404 and "placement 'tile'" in r.get_json()["error"]


def test_crops_are_listed_adjusted_and_served_with_cache_headers(client, app, cropped):
    r = client.get(f"/artworks/{cropped[3]}/crops", headers=AUTH)
    crops = {c["placement"]: c for c in r.get_json()["crops"]}
    assert crops["billboard"]["box"] is None and "faces span" in crops["billboard"]["reason"]
    assert crops["square"]["image_url"] and 0 < crops["square"]["score"] <= 1
    r = client.put(f"/artworks/{cropped[0]}/crops/tile", json={"box": [0, 0, 320, 180]},
                   headers=AUTH)
    assert r.status_code == 200 and r.get_json()["adjusted"] is True
    image = client.get(r.get_json()["image_url"])
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.cache_control.public and image.cache_control.immutable
    assert image.cache_control.max_age >= 86400
    decoded = cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == (180, 320)
    again = client.get(r.get_json()["image_url"], headers={"If-None-Match": image.headers["ETag"]})
    assert again.status_code == 304
    for box, words in [([0, 0, 321, 180], "16:9"), ([400, 0, 320, 180], "inside")]:
        r = client.put(f"/artworks/{cropped[0]}/crops/tile", json={"box": box}, headers=AUTH)
        assert r.status_code == 400 and words in r.get_json()["error"]
    r = client.put(f"/artworks/{cropped[0]}/crops/poster", json={"box": [0, 0, 9, 9]}, headers=AUTH)
    assert r.status_code == 400 and "no placement" in r.get_json()["error"]
    assert client.get("/crops/0123456789abcdef0123.jpg").status_code == 404
    assert client.get("/crops/..%2Fartbandit.db").status_code == 404


def test_a_candidate_artworks_crops_are_not_public(client, app, cropped):
    crops = client.get(f"/artworks/{cropped[0]}/crops", headers=AUTH).get_json()["crops"]
    client.patch(f"/artworks/{cropped[0]}", json={"status": "candidate"}, headers=AUTH)
    url = crops[0]["image_url"]
    assert client.get(url).status_code == 404
    private = client.get(url, headers=AUTH)
    assert private.status_code == 200 and private.cache_control.no_store


@pytest.mark.slow
def test_real_server_returns_crops_of_exactly_the_placements_ratio(live_server, data_dir):
    url = live_server.url
    assert requests.post(f"{url}/titles", json={"id": "t", "name": "T"}, headers=AUTH,
                         timeout=10).status_code == 201
    files = [("file", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(_photos())]
    r = requests.post(f"{url}/titles/t/artworks", files=files, headers=AUTH, timeout=120)
    assert r.status_code == 201, r.text
    ids = [res["artwork"]["id"] for res in r.json()["results"]]
    for aid in ids:
        assert requests.patch(f"{url}/artworks/{aid}", json={"status": "live"}, headers=AUTH,
                              timeout=10).ok
    session = requests.Session()
    for placement in PLACEMENTS:
        shown, events = {}, []
        for i in range(40):
            body = session.get(f"{url}/artwork", params={"user": f"u{i}", "title": "t",
                                                        "placement": placement.name},
                               timeout=10).json()
            shown[body["artwork_id"]] = body["image_url"]
            events.append(body["event_id"])
        with Store.open(data_dir) as store:
            candidates = {c for e in events for c in store.get_decision(e).candidates}
            serving = {a for a in ids if store.crops.for_artwork(a)[placement.name].serves}
        assert candidates == serving and set(ids[:3]) <= serving
        if placement.name in ("tile", "billboard"):  # the close-up was refused them at ingest
            assert ids[3] not in serving
        for image_url in shown.values():
            image = session.get(url + image_url, timeout=10)
            assert "immutable" in image.headers["Cache-Control"]
            h, w = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR).shape[:2]
            assert w * placement.ratio[1] == h * placement.ratio[0], (placement, w, h)
    with Store.open(data_dir) as store:
        assert store.crops.for_artwork(ids[0]).keys() == {p.name for p in PLACEMENTS}


def test_what_wins_as_a_tile_and_as_box_art_is_learned_apart(data_dir):
    from api.config import Config
    from api.runtime.services import build_policy
    from bandit import Action, Context

    policy = build_policy(Config(data_dir=data_dir, seed=1))
    actions = (Action("a", {"x": 1.0}), Action("b", {"y": 1.0}))
    rates = {"tile": (0.15, 0.03), "boxart": (0.03, 0.15)}
    rng = np.random.default_rng(0)
    for i in range(4000):
        placement = ("tile", "boxart")[i % 2]
        context = Context(f"u{i % 50}", "t", {"device": "tv", "placement": placement})
        d = policy.decide(context, actions)
        policy.learn(context, actions, d, float(rng.random() < rates[placement][d.chosen]))
    tile = policy.pmf(Context("new", "t", {"device": "tv", "placement": "tile"}), actions)
    boxart = policy.pmf(Context("new", "t", {"device": "tv", "placement": "boxart"}), actions)
    assert tile[0] > 0.8 and boxart[1] > 0.8
