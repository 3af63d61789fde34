"""The server as an attacker finds it: cookies that no guess of a credential can forge, the
browser headers on every response, pictures that are not live kept from anonymous clients,
and uploads that carry markup refused."""
from __future__ import annotations

import hashlib
import io
import re
import stat
import struct
import zlib

import pytest
import requests
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from api.web.app import create_app
from api.web.headers import SECURITY_HEADERS
from artwork.accounts import SECRET_FILE
from artwork.images import encode_image
from artwork.store import Store
from tests.api.conftest import AUTH, TOKEN, LiveServer, app_settings
from tests.api.test_accounts import PASSWORD, bearer, sign_in
from tests.conftest import make_image


def _serializer(key: bytes | str) -> URLSafeTimedSerializer:
    """Flask's own cookie serializer, keyed as Flask keys it."""
    interface = SecureCookieSessionInterface()
    return URLSafeTimedSerializer(key, salt=interface.salt, serializer=interface.serializer,
                                  signer_kwargs={"key_derivation": interface.key_derivation,
                                                 "digest_method": interface.digest_method})


def _keys_from(guess: str) -> list[bytes | str]:
    """Keys an attacker derives from a guessed credential (the old scheme among them)."""
    return [guess, guess.encode(), hashlib.sha256(guess.encode()).hexdigest(),
            hashlib.sha256(b"artbandit-studio-session\0" + guess.encode()).hexdigest(),
            hashlib.sha256(b"artbandit-studio-user\0" + guess.encode()).hexdigest()]


@pytest.fixture
def server(data_dir):
    """The real server in first-run mode (the configured token, no user yet)."""
    live = LiveServer(data_dir)
    live.data_dir = data_dir
    yield live
    live.stop()


def test_an_anonymous_cookie_resists_the_offline_attack(server):
    r = requests.get(server.url + "/studio/login", timeout=30)
    cookie = r.cookies["artbandit_studio"]
    guesses = [TOKEN, PASSWORD, "s3cret", "password", "admin"] + [f"guess-{i}" for i in range(400)]
    for guess in guesses:
        for key in _keys_from(guess):
            with pytest.raises(BadSignature):
                _serializer(key).loads(cookie)
    # The cookie is signed with the data directory's random key, readable by its owner only.
    secret_file = server.data_dir / SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    key = bytes.fromhex(secret_file.read_text())
    assert len(key) == 32 and all(key != k for g in guesses for k in _keys_from(g))
    assert set(_serializer(key).loads(cookie)) == {"studio_csrf"}  # no session id, no credential
    # Signing in (with the bootstrap token) puts only a random session id in the cookie.
    session, r = sign_in(server.url, "", TOKEN)
    assert r.status_code == 302
    content = _serializer(key).loads(session.cookies["artbandit_studio"])
    assert set(content) == {"sid"} and TOKEN not in str(content)


def test_every_response_carries_the_security_headers(server, jpeg_bytes):
    requests.post(server.url + "/titles", json={"id": "t1", "name": "One"}, headers=AUTH,
                  timeout=30).raise_for_status()
    requests.post(server.url + "/titles/t1/artworks", headers=AUTH, timeout=60,
                  files={"file": ("a.jpg", jpeg_bytes(1))})
    answers = [requests.request(method, server.url + path, timeout=30, allow_redirects=False, **kw)
               for method, path, kw in [
                   ("GET", "/ping", {}), ("GET", "/artwork?user=u&title=t1", {}),
                   ("GET", "/artwork", {}), ("POST", "/feedback", {"json": {"kind": "x"}}),
                   ("GET", "/titles", {}), ("GET", "/titles", {"headers": AUTH}),
                   ("GET", "/openapi.json", {}), ("GET", "/metrics", {}), ("GET", "/nope", {}),
                   ("DELETE", "/titles", {}), ("GET", "/studio/", {}),
                   ("GET", "/studio/login", {}), ("GET", "/studio/static/studio.css", {}),
                   ("GET", "/studio/static/studio.js", {}), ("GET", "/artworks/x/image", {}),
               ]]
    assert {r.status_code for r in answers} >= {200, 302, 400, 401, 404, 405}
    for r in answers:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (r.url, r.status_code, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    assert "script-src 'self'" in csp


def test_the_studio_cookie_is_httponly_samesite_lax_and_secure(data_dir):
    app = create_app(app_settings(data_dir, cookie_secure=True))
    try:
        cookie = app.test_client().get("/studio/login").headers["Set-Cookie"]
    finally:
        app.extensions["artbandit"].close()
    assert {"HttpOnly", "SameSite=Lax", "Secure"} <= {p.strip() for p in cookie.split(";")}


def test_static_files_need_no_session_and_the_login_page_links_them(server):
    page = requests.get(server.url + "/studio/login", timeout=30)
    for asset in re.findall(r'(?:href|src)="(/studio/static/[^"]+)"', page.text):
        r = requests.get(server.url + asset, timeout=30, allow_redirects=False)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(("text/css",
                                                                              "text/javascript"))
    # No inline script and no inline event handler: the CSP would block them.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page.text))
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page.text)


def test_only_live_pictures_are_public(server):
    store = Store.open(server.data_dir)
    store.add_title("t1", "One")
    art = store.add_artwork_image("t1", encode_image(make_image(3)), name="a.jpg", status="live")
    url = f"{server.url}/artworks/{art.id}/image"
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and "public" in r.headers["Cache-Control"]
    store.set_status(art.id, "retired")
    r = requests.get(url, timeout=30)
    assert r.status_code == 404 and r.json()["status"] == 404
    assert requests.get(url, headers={"If-None-Match": f'"{art.id}"'}, timeout=30).status_code == 404
    # Signed-in users see it (token or studio session), and no cache may keep it.
    for answer in (requests.get(url, headers=AUTH, timeout=30),
                   sign_in(server.url, "", TOKEN)[0].get(url, timeout=30)):
        assert answer.status_code == 200 and answer.content == store.images.root.joinpath(
            art.path).read_bytes()
        assert {"private", "no-store"} <= {p.strip() for p in answer.headers["Cache-Control"].split(",")}
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    store.close()


def _png_with_text(png: bytes, kind: bytes, body: bytes) -> bytes:
    chunk = (struct.pack(">I", len(body)) + kind + body
             + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return png[:33] + chunk + png[33:]  # after the signature and IHDR


def test_a_png_carrying_html_is_refused(server, png_bytes):
    requests.post(server.url + "/titles", json={"id": "t1", "name": "One"}, headers=AUTH,
                  timeout=30).raise_for_status()
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    for kind, body in ((b"tEXt", b"Comment\0" + html),
                       (b"zTXt", b"Comment\0\0" + zlib.compress(html))):
        data = _png_with_text(png_bytes(5), kind, body)
        r = requests.post(server.url + "/titles/t1/artworks", headers=AUTH, timeout=60,
                          files={"file": ("poster.png", io.BytesIO(data))})
        assert r.status_code == 400 and "HTML or script" in r.json()["error"]
    # Text that is not markup is fine.
    data = _png_with_text(png_bytes(6), b"tEXt", b"Software\0made with care, 1 < 2")
    r = requests.post(server.url + "/titles/t1/artworks", headers=AUTH, timeout=60,
                      files={"file": ("ok.png", io.BytesIO(data))})
    assert r.status_code == 201


def test_the_bootstrap_token_stops_when_a_user_exists(server):
    assert requests.get(server.url + "/titles", headers=AUTH, timeout=30).status_code == 200
    store = Store.open(server.data_dir)
    store.accounts.add_user("ada", "admin", PASSWORD)
    _, token = store.accounts.create_token("ada")
    store.close()
    assert requests.get(server.url + "/titles", headers=AUTH, timeout=30).status_code == 403
    assert requests.get(server.url + "/titles", headers=bearer(token), timeout=30).status_code == 200
    _, r = sign_in(server.url, "", TOKEN)
    assert r.status_code == 401
