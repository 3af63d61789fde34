"""Eligibility rules: set through the API and the CLI, and honoured by a real server's decisions."""
from __future__ import annotations

import json
import math
import time

import pytest
import requests

from api.cli import main
from artwork.store import Store
from tests.api.conftest import AUTH, add_artworks


@pytest.fixture
def three(client, app, jpeg_bytes):
    """Title t with three live artworks: open, limited to DE, and rated adult."""
    client.post("/titles", json={"id": "t", "name": "T"}, headers=AUTH)
    ids = add_artworks(app, "t", [jpeg_bytes(i) for i in range(3)], status="live")
    client.patch(f"/artworks/{ids[1]}", json={"eligibility": {"countries": ["de"]}}, headers=AUTH)
    client.patch(f"/artworks/{ids[2]}", json={"eligibility": {"maturity": "adult"}}, headers=AUTH)
    return ids


def test_rules_are_set_shown_and_audited(client, app, three):
    r = client.get("/titles/t", headers=AUTH)
    shown = {a["id"]: a["eligibility"] for a in r.get_json()["artworks"]}
    assert shown == {three[0]: {}, three[1]: {"countries": ["DE"]},
                     three[2]: {"maturity": "adult"}}
    r = client.patch(f"/artworks/{three[1]}", json={"eligibility": {
        "languages": ["de"], "starts": "2026-01-01T00:00:00+00:00", "ends": 1900000000}},
        headers=AUTH)
    assert r.status_code == 200
    assert r.get_json()["eligibility"] == {"languages": ["de"], "starts": 1767225600.0,
                                           "ends": 1900000000.0}
    audit = app.extensions["artbandit"].store.audit_for(three[1])
    assert [e.action for e in audit if e.action == "eligibility"] == ["eligibility"] * 2
    assert audit[-1].detail["from"] == {"countries": ["DE"]}
    r = client.patch(f"/artworks/{three[1]}", json={"eligibility": {}}, headers=AUTH)
    assert r.get_json()["eligibility"] == {}


@pytest.mark.parametrize("rules, words", [
    ({"countries": ["Germany"]}, "countries"),
    ({"countries": "DE"}, "eligibility"),
    ({"maturity": "R"}, "eligibility"),
    ({"starts": "tomorrow"}, "ISO 8601"),
    ({"starts": "2026-01-01T00:00:00"}, "time zone"),
    ({"starts": 20, "ends": 10}, "ends before it starts"),
    ({"colour": ["red"]}, "eligibility"),
])
def test_bad_rules_are_refused_and_nothing_changes(client, three, rules, words):
    r = client.patch(f"/artworks/{three[0]}", json={"eligibility": rules}, headers=AUTH)
    assert r.status_code == 400 and words in r.get_json()["error"], r.get_json()
    assert client.get("/titles/t", headers=AUTH).get_json()["artworks"][0]["eligibility"] == {}


def test_decisions_are_over_eligible_artworks_only(client, app, three):
    for query, expected in [("country=US&maturity=adult", {three[0], three[2]}),
                            ("country=de&maturity=kids", {three[0], three[1]}),
                            ("", {three[0]})]:
        body = client.get(f"/artwork?user=u&title=t&{query}").get_json()
        logged = app.extensions["artbandit"].store.get_decision(body["event_id"])
        assert set(logged.candidates) == expected and len(logged.pmf) == len(expected)
        assert math.isclose(math.fsum(logged.pmf), 1.0)
    r = client.get("/artwork?user=u&title=t&maturity=R")
    assert r.status_code == 400 and "maturity" in r.get_json()["error"]


def test_none_eligible_serves_the_eligible_default_or_404(client, app, three):
    store = app.extensions["artbandit"].store
    client.patch(f"/artworks/{three[0]}", json={"eligibility": {"devices": ["tv"]}}, headers=AUTH)
    r = client.get("/artwork?user=u&title=t&device=web")
    assert r.status_code == 404 and "eligible" in r.get_json()["error"]
    client.patch(f"/artworks/{three[0]}", json={"default": True, "status": "candidate"},
                 headers=AUTH)
    store.set_eligibility(three[0], store.get_artwork(three[0]).eligibility)  # unchanged rules
    assert client.get("/artwork?user=u&title=t&device=tv").get_json()["artwork_id"] == three[0]
    assert client.get("/artwork?user=u&title=t&device=web").status_code == 404


def test_openapi_documents_language_and_maturity(client):
    params = {p["name"]: p for p in
              client.get("/openapi.json").get_json()["paths"]["/artwork"]["get"]["parameters"]}
    assert params["maturity"]["schema"] == {"enum": ["kids", "teen", "adult"]}
    assert "language" in params and "not candidates" in params["language"]["description"]


def test_cli_sets_and_clears_rules(data_dir, app, three, capsys):
    base = ["--data-dir", str(data_dir), "artwork", "set-eligibility", three[0]]
    assert main([*base, "--countries", "de,at", "--maturity", "teen",
                 "--ends", "2030-01-01T00:00:00Z", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)[0]["eligibility"]
    assert shown == {"countries": ["AT", "DE"], "maturity": "teen", "ends": 1893456000.0}
    assert main([*base, "--countries", "Germany"]) == 2
    assert "countries" in capsys.readouterr().err
    assert main([*base]) == 0
    with Store.open(data_dir) as store:
        assert store.get_artwork(three[0]).eligibility.unrestricted


def _upload_live(url: str, jpeg_bytes, count: int) -> list[str]:
    r = requests.post(f"{url}/titles", json={"id": "t", "name": "T"}, headers=AUTH, timeout=10)
    assert r.status_code == 201, r.text
    files = [("file", (f"s{i}.jpg", jpeg_bytes(i, 160, 90), "image/jpeg")) for i in range(count)]
    r = requests.post(f"{url}/titles/t/artworks", files=files, headers=AUTH, timeout=60)
    assert r.status_code == 201, r.text
    ids = [res["artwork"]["id"] for res in r.json()["results"]]
    for aid in ids:
        r = requests.patch(f"{url}/artworks/{aid}", json={"status": "live"}, headers=AUTH,
                           timeout=10)
        assert r.status_code == 200, r.text
    return ids


def _set_rules(url: str, artwork_id: str, rules: dict) -> None:
    r = requests.patch(f"{url}/artworks/{artwork_id}", json={"eligibility": rules}, headers=AUTH,
                       timeout=10)
    assert r.status_code == 200, r.text


@pytest.mark.slow
def test_real_server_never_serves_an_ineligible_artwork(live_server, data_dir, jpeg_bytes):
    url = live_server.url
    open_art, de_only, mature = _upload_live(url, jpeg_bytes, 3)
    _set_rules(url, de_only, {"countries": ["DE"]})
    _set_rules(url, mature, {"maturity": "adult"})
    session = requests.Session()
    chosen: dict[str, set[str]] = {"US": set(), "DE": set(), "kids": set()}
    events = []
    for i in range(3000):
        group = ("US", "DE", "kids")[i % 3]
        params = {"user": f"u{i % 50}", "title": "t", "country": "DE" if group == "DE" else "US",
                  "maturity": "kids" if group == "kids" else "adult"}
        body = session.get(f"{url}/artwork", params=params, timeout=10).json()
        chosen[group].add(body["artwork_id"])
        events.append((group, body["event_id"]))
    assert de_only not in chosen["US"] and de_only in chosen["DE"]
    assert mature not in chosen["kids"] and mature in chosen["US"]
    assert chosen["kids"] == {open_art}  # a kids' profile outside DE: only the open artwork
    eligible = {"US": {open_art, mature}, "DE": {open_art, de_only, mature}, "kids": {open_art}}
    with Store.open(data_dir) as store:
        for group, event_id in events:
            d = store.get_decision(event_id)
            assert set(d.candidates) == eligible[group] and len(d.pmf) == len(d.candidates)
            assert math.isclose(math.fsum(d.pmf), 1.0, abs_tol=1e-9)
            assert d.probability == d.pmf[d.candidates.index(d.action)]


@pytest.mark.slow
def test_a_closing_window_takes_the_artwork_out_without_restart(live_server, data_dir, jpeg_bytes):
    url = live_server.url
    ids = _upload_live(url, jpeg_bytes, 2)
    ends = time.time() + 3.0
    _set_rules(url, ids[1], {"ends": ends})
    session = requests.Session()

    def candidates() -> set[str]:
        event = session.get(f"{url}/artwork", params={"user": "u", "title": "t"},
                            timeout=10).json()["event_id"]
        with Store.open(data_dir) as store:
            return set(store.get_decision(event).candidates)

    assert candidates() == set(ids)
    time.sleep(max(0.0, ends - time.time()) + 0.2)
    seen = {session.get(f"{url}/artwork", params={"user": f"u{i}", "title": "t"},
                        timeout=10).json()["artwork_id"] for i in range(200)}
    assert seen == {ids[0]} and candidates() == {ids[0]}
