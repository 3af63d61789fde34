"""What the production server puts on the wire: every kind of response whole and well framed.

The serving worker answers the hot path in its event loop, holds a response's head until it
can leave with the body, and serves files with sendfile; each is read here off a raw socket,
several requests on one kept-alive connection, so a framing error shows in the next answer.
"""
from __future__ import annotations

import json
import socket

import pytest

from artwork.store import Store
from tests.api.conftest import LiveServer
from tests.reliability.conftest import seed_catalog


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    """A real server over a title with live artworks, and the artworks' image bytes."""
    data_dir = tmp_path_factory.mktemp("wire") / "data"
    ids = seed_catalog(data_dir)
    store = Store.open(data_dir)
    try:
        images = {i: store.image_path(store.get_artwork(i)).read_bytes() for i in ids}
    finally:
        store.close_all()
    live = LiveServer(data_dir, env={"learn": "false"})
    yield live, images
    live.stop()


class Connection:
    """One kept-alive HTTP/1.1 connection, read a response at a time."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.reader = self.sock.makefile("rb")

    def send(self, *requests: str) -> None:
        self.sock.sendall("".join(requests).encode())

    def response(self, has_body: bool = True) -> tuple[int, dict[str, str], bytes]:
        status = self.reader.readline()
        assert status.startswith(b"HTTP/1.1 "), status
        headers = {}
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.reader.read(int(headers["content-length"])) if has_body else b""
        return int(status.split()[1]), headers, body

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def _get(path: str, method: str = "GET", extra: str = "") -> str:
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n"


def test_decisions_pings_files_and_errors_in_turn_on_one_connection(wired):
    server, images = wired
    conn = Connection(server.port)
    try:
        for i in range(3):
            conn.send(_get(f"/artwork?user=w{i}&title=t1"))
            status, headers, body = conn.response()
            assert status == 200 and headers["content-type"] == "application/json"
            choice = json.loads(body)
            assert choice["title_id"] == "t1" and choice["artwork_id"] in images
            assert headers["x-content-type-options"] == "nosniff"  # the security headers too

            conn.send(_get(choice["image_url"]))  # a file, sent with sendfile
            status, headers, body = conn.response()
            assert status == 200 and body == images[choice["artwork_id"]]

            conn.send(_get(choice["image_url"], extra=f'If-None-Match: "{choice["artwork_id"]}"\r\n'))
            status, headers, body = conn.response(has_body=False)  # 304: a head alone
            assert status == 304

            conn.send(_get("/artwork?user=w&title=nope"))
            status, headers, body = conn.response()
            assert status == 404 and json.loads(body)["status"] == 404

            conn.send(_get("/ping", method="HEAD"))
            status, headers, _ = conn.response(has_body=False)
            assert status == 200 and int(headers["content-length"]) > 0
    finally:
        conn.close()


def test_pipelined_requests_are_answered_in_order(wired):
    server, _ = wired
    conn = Connection(server.port)
    try:
        conn.send(_get("/artwork?user=p&title=t1"), _get("/ping"), _get("/healthz"),
                  _get("/artwork?user=p2&title=t1"))
        assert json.loads(conn.response()[2])["user"] == "p"
        assert conn.response()[0] == 200
        assert conn.response()[0] == 200
        assert json.loads(conn.response()[2])["user"] == "p2"
    finally:
        conn.close()
