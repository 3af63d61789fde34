"""Hostile input on a real server: deep JSON, control characters, huge names, wrong methods."""
from __future__ import annotations

import pytest
import requests

from artwork.store import Store
from tests.reliability.conftest import AUTH, LiveServer, seed_catalog


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("input") / "data"
    seed_catalog(data_dir)
    live = LiveServer(data_dir, workers=1, env={"learn": "false"})
    live.data_dir = data_dir
    yield live
    live.stop()


def _post_json(url: str, text: str, headers=None) -> requests.Response:
    return requests.post(url, data=text, timeout=10,
                         headers={"Content-Type": "application/json", **(headers or {})})


@pytest.mark.parametrize("depth, status", [(8_000, 400), (100_000, 413)])
def test_deeply_nested_json_is_refused_not_crashed_on(server, depth, status):
    r = _post_json(f"{server.url}/feedback", "[" * depth + "]" * depth)
    assert r.status_code == status and r.json()["status"] == status, r.text
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("user", ["a\x00b", "line\nbreak", "bell\x07", "del\x7f"])
def test_control_characters_in_user_are_refused_and_nothing_is_logged(server, user):
    before = Store.open(server.data_dir).count_decisions()
    r = requests.get(f"{server.url}/artwork", params={"user": user, "title": "t1"}, timeout=5)
    assert r.status_code == 400 and "control characters" in r.json()["error"]
    assert Store.open(server.data_dir).count_decisions() == before


@pytest.mark.parametrize("body, status, fragment", [
    ({"id": "big", "name": "n" * 900_000}, 413, "limited to"),
    ({"id": "long", "name": "n" * 201}, 400, "1 to 200 characters"),
    ({"id": "many", "name": "N", "genres": [f"g{i}" for i in range(50_000)]}, 413, "limited to"),
    ({"id": "some", "name": "N", "genres": [f"g{i}" for i in range(21)]}, 400, "at most 20 genres"),
    ({"id": "ctl", "name": "a\x00b"}, 400, "control characters"),
])
def test_title_names_and_genres_are_bounded(server, body, status, fragment):
    r = requests.post(f"{server.url}/titles", json=body, headers=AUTH, timeout=10)
    assert r.status_code == status and fragment in r.json()["error"], r.text


def test_a_wrong_method_is_a_405_that_says_what_is_allowed(server):
    r = requests.delete(f"{server.url}/artwork", timeout=5)
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    assert r.json() == {"error": "The method is not allowed for the requested URL.", "status": 405}


def test_stats_are_for_creatives_only(server):
    assert requests.get(f"{server.url}/stats?title=t1", timeout=5).status_code == 401
    r = requests.get(f"{server.url}/stats?title=t1", headers=AUTH, timeout=5)
    assert r.status_code == 200 and "artworks" in r.json()
