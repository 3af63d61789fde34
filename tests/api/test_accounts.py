"""Accounts against the real server: roles, API tokens, sessions that end at once, the sign-in
rate limit, and the audit trail (shown per artwork, exported by `artbandit audit export`)."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import requests

from artwork.accounts import MAX_FAILURES
from artwork.images import encode_image
from artwork.store import Store
from tests.api.conftest import TOKEN, LiveServer
from tests.conftest import make_image

PASSWORD = "a long enough password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def cli(data_dir, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Run `artbandit --data-dir DATA ARGS` in a child process, as an admin would."""
    return subprocess.run([sys.executable, "-m", "api.cli", "--data-dir", str(data_dir), *args],
                          input=stdin, capture_output=True, text=True, timeout=120)


def sign_in(url: str, name: str, password: str = PASSWORD, session=None):
    """Sign in to the studio like a browser (form with its CSRF token); (session, response)."""
    session = session or requests.Session()
    page = session.get(url + "/studio/login", timeout=30)
    csrf = CSRF.search(page.text).group(1)
    response = session.post(url + "/studio/login", timeout=30, allow_redirects=False,
                            data={"csrf": csrf, "name": name, "password": password})
    return session, response


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def server(data_dir):
    """The real server with a title, two artworks, three users (one per role) and their tokens."""
    data_dir.mkdir(parents=True)
    for name, role in (("ada", "admin"), ("eve", "editor"), ("vic", "viewer")):
        assert cli(data_dir, "user", "add", name, "--role", role, stdin=PASSWORD + "\n").returncode == 0
    tokens = {}
    for name in ("eve", "vic"):
        run = cli(data_dir, "user", "token", "create", name, "--json")
        tokens[name] = json.loads(run.stdout)[0]["token"]
    store = Store.open(data_dir)
    store.add_title("t1", "One")
    arts = [store.add_artwork_image("t1", encode_image(make_image(i)), name=f"{i}.jpg").id
            for i in range(2)]
    store.close_all()
    live = LiveServer(data_dir)
    live.data_dir, live.tokens, live.artworks = data_dir, tokens, arts
    yield live
    live.stop()


def test_roles_decide_what_a_token_may_do(server):
    art = server.artworks[0]
    r = requests.patch(f"{server.url}/artworks/{art}", json={"status": "live"},
                       headers=bearer(server.tokens["vic"]), timeout=30)
    assert r.status_code == 403 and "editor role" in r.json()["error"]
    assert requests.get(server.url + "/titles", headers=bearer(server.tokens["vic"]),
                        timeout=30).status_code == 200
    r = requests.patch(f"{server.url}/artworks/{art}", json={"status": "live"},
                       headers=bearer(server.tokens["eve"]), timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "live"
    # Once users exist, the configured token is no longer a way in.
    assert requests.get(server.url + "/titles", headers=bearer(TOKEN), timeout=30).status_code == 403


def test_a_viewer_cannot_approve_in_the_studio(server):
    session, r = sign_in(server.url, "vic")
    assert r.status_code == 302
    gallery = session.get(f"{server.url}/studio/titles/t1", timeout=30).text
    csrf = CSRF.search(gallery).group(1)
    art = server.artworks[0]
    r = session.post(f"{server.url}/studio/artworks/{art}/status", timeout=30,
                     data={"csrf": csrf, "status": "live"}, allow_redirects=False)
    assert r.status_code == 403 and "editor role" in r.text
    store = Store.open(server.data_dir)
    assert store.get_artwork(art).status == "candidate"
    store.close()


def test_a_revoked_token_stops_working_at_once(server):
    token = server.tokens["eve"]
    assert requests.get(server.url + "/titles", headers=bearer(token), timeout=30).ok
    listed = json.loads(cli(server.data_dir, "user", "token", "list", "eve", "--json").stdout)
    assert token not in json.dumps(listed)  # only ids and labels are kept
    assert cli(server.data_dir, "user", "token", "revoke", listed[0]["id"]).returncode == 0
    r = requests.get(server.url + "/titles", headers=bearer(token), timeout=30)
    assert r.status_code == 403 and "revoked" in r.json()["error"]


def test_logged_out_and_revoked_sessions_get_401(server):
    probe = f"{server.url}/studio/reports/runs/{'0' * 32}.json"  # a studio JSON endpoint
    session, r = sign_in(server.url, "eve")
    assert r.status_code == 302
    assert session.get(probe, timeout=30).status_code == 404  # signed in: it is looked up
    kept = requests.utils.dict_from_cookiejar(session.cookies)
    page = session.get(server.url + "/studio/", timeout=30).text
    session.post(server.url + "/studio/logout", data={"csrf": CSRF.search(page).group(1)},
                 timeout=30)
    # The cookie from before the sign-out no longer signs anyone in.
    r = requests.get(probe, cookies=kept, timeout=30)
    assert r.status_code == 401 and "sign in" in r.json()["error"]

    session, _ = sign_in(server.url, "eve")
    assert session.get(probe, timeout=30).status_code == 404
    assert cli(server.data_dir, "user", "sign-out", "eve").returncode == 0
    assert session.get(probe, timeout=30).status_code == 401
    session, _ = sign_in(server.url, "vic")
    assert cli(server.data_dir, "user", "disable", "vic").returncode == 0
    assert session.get(probe, timeout=30).status_code == 401
    assert requests.get(server.url + "/titles", headers=bearer(server.tokens["vic"]),
                        timeout=30).status_code == 403


def test_the_eleventh_wrong_sign_in_within_a_minute_is_throttled(server):
    session = requests.Session()
    for _ in range(MAX_FAILURES):
        _, r = sign_in(server.url, "eve", "wrong password", session)
        assert r.status_code == 401
    _, r = sign_in(server.url, "eve", "wrong password", session)
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert "too many failed sign-ins" in r.text
    # Throttled means throttled: the right password waits too, from this client.
    _, r = sign_in(server.url, "eve", PASSWORD, session)
    assert r.status_code == 429
    # The lockout is per user and client: nobody else is locked out.
    _, r = sign_in(server.url, "ada", PASSWORD)
    assert r.status_code == 302


def test_wrong_bearer_tokens_are_throttled_too(server):
    for _ in range(MAX_FAILURES):
        assert requests.get(server.url + "/titles", headers=bearer("guess"),
                            timeout=30).status_code == 403
    r = requests.get(server.url + "/titles", headers=bearer("guess"), timeout=30)
    assert r.status_code == 429 and r.json()["status"] == 429 and "Retry-After" in r.headers


def test_catalog_changes_are_audited_with_who_when_and_from_where(server):
    a, b = server.artworks
    requests.patch(f"{server.url}/artworks/{a}", json={"status": "live", "default": True},
                   headers=bearer(server.tokens["eve"]), timeout=30).raise_for_status()
    session, _ = sign_in(server.url, "ada")
    csrf = CSRF.search(session.get(f"{server.url}/studio/titles/t1", timeout=30).text).group(1)
    r = session.post(f"{server.url}/studio/artworks/{b}/status", timeout=30,
                     data={"csrf": csrf, "status": "retired"}, allow_redirects=False)
    assert r.status_code == 302
    store = Store.open(server.data_dir)
    trail = [(e.actor, e.action, e.detail) for e in store.audit_for(a)]
    assert trail == [("system", "upload", {"file": "0.jpg", "source": "upload"}),
                     ("eve", "status", {"from": "candidate", "to": "live"}),
                     ("eve", "default", {"default": True})]
    assert [e.origin for e in store.audit_for(a)][1:] == ["127.0.0.1 via api"] * 2
    [retired] = [e for e in store.audit_for(b) if e.action == "status"]
    assert (retired.actor, retired.origin, retired.detail) == (
        "ada", "127.0.0.1 via studio", {"from": "candidate", "to": "retired"})
    store.close()
    run = cli(server.data_dir, "audit", "export")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["action"] for e in lines].count("status") == 2
    assert all({"at", "actor", "origin", "action", "title_id", "artwork_id", "detail"} <= set(e)
               for e in lines)
    csv_run = cli(server.data_dir, "audit", "export", "--format", "csv")
    assert csv_run.stdout.splitlines()[0] == "id,at,actor,origin,action,title_id,artwork_id,detail"


def test_user_add_refuses_bad_input_with_one_line(data_dir):
    data_dir.mkdir(parents=True)
    run = cli(data_dir, "user", "add", "Bad Name", "--role", "editor", stdin=PASSWORD + "\n")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "user name" in run.stderr
    run = cli(data_dir, "user", "add", "ann", "--role", "editor", stdin="short\n")
    assert run.returncode == 2 and "10 to 1024 characters" in run.stderr
    run = cli(data_dir, "user", "add", "ann", "--role", "boss", stdin=PASSWORD + "\n")
    assert run.returncode == 2 and "invalid choice" in run.stderr


def test_an_upload_is_recorded_as_its_uploader_s(server, png_bytes):
    r = requests.post(f"{server.url}/titles/t1/artworks", headers=bearer(server.tokens["eve"]),
                      files={"file": ("poster.png", png_bytes(7))}, timeout=120)
    assert r.status_code == 201, r.text
    art = r.json()["results"][0]["artwork"]["id"]
    store = Store.open(server.data_dir)
    [upload] = store.audit_for(art)
    store.close()
    assert (upload.actor, upload.action, upload.detail) == (
        "eve", "upload", {"file": "poster.png", "source": "upload"})
    assert upload.origin.startswith("127.0.0.1 via api, ingest job ")
    assert upload.origin.endswith("(poster.png)")
