"""Idle and slow clients never starve `GET /artwork`."""
from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.reliability.conftest import LiveServer, latencies, seed_catalog

# Every probe of /artwork (each on a new connection) must answer within this while the
# attack goes on.
PROBE_LIMIT_SECONDS = 0.1
PROBES = 15


def _connect(port: int, send: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if send:
        sock.sendall(send)
    return sock


def _slowest_probe(url: str, held: list[socket.socket]) -> float:
    """Seconds the slowest /artwork probe took (new connections, then one kept alive) while
    `held` are open; they are closed after."""
    try:
        slowest = max(latencies(url, PROBES, timeout=1.0))
        with requests.Session() as session:
            return max(slowest, *latencies(url, PROBES, session, timeout=1.0))
    finally:
        for sock in held:
            sock.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Two workers, as in the attack that took /artwork offline with two idle sockets."""
    data_dir = tmp_path_factory.mktemp("slow") / "data"
    seed_catalog(data_dir)
    live = LiveServer(data_dir, workers=2, env={"learn": "false"})
    yield live
    live.stop()


@pytest.mark.parametrize("count", [2, 200])
def test_idle_and_half_sent_connections_do_not_starve_artwork(server, count):
    latencies(server.url, 3)  # warm
    # Half send nothing at all, half stop in the middle of their headers.
    partial = b"GET /artwork?user=slow&title=t1 HTTP/1.1\r\nHost: x\r\n"
    slowest = _slowest_probe(server.url, [_connect(server.port, partial if i % 2 else b"")
                                          for i in range(count)])
    assert slowest < PROBE_LIMIT_SECONDS, f"/artwork took {slowest * 1000:.0f} ms"


def test_a_request_that_never_completes_gets_a_408_and_is_closed(server):
    sock = _connect(server.port, b"POST /feedback HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n")
    sock.settimeout(15)
    started = time.monotonic()
    answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408") and b'"status": 408' in answer, answer
    assert sock.recv(4096) == b""  # closed
    assert time.monotonic() - started < 10
    sock.close()


@pytest.mark.parametrize("path, declared", [
    ("/feedback", 200 << 20),                 # a few KiB allowed here
    ("/artwork?user=u&title=t1", 200 << 20),  # no body at all
    ("/titles/t1/artworks", 200 << 20),       # over the stills' upload limit
])
def test_a_declared_huge_body_that_never_comes_is_refused_at_once(server, path, declared):
    method = "GET" if path.startswith("/artwork") else "POST"
    sock = _connect(server.port, f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                 f"application/json\r\nContent-Length: {declared}\r\n\r\n".encode())
    sock.settimeout(5)
    started = time.monotonic()
    answer = sock.recv(4096)
    took = time.monotonic() - started
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert took < 1.0
    assert max(latencies(server.url, 5)) < PROBE_LIMIT_SECONDS


def test_a_stalled_upload_holds_one_thread_not_the_service(server):
    # Within the video route's limit: read by a thread, which waits at most its read timeout.
    sock = _connect(server.port, b"POST /titles/t1/videos HTTP/1.1\r\nHost: x\r\n"
                                 b"Authorization: Bearer test-token\r\n"
                                 b"Content-Type: multipart/form-data; boundary=b\r\n"
                                 b"Content-Length: 100000000\r\n\r\n--b\r\n")
    try:
        assert max(latencies(server.url, PROBES)) < PROBE_LIMIT_SECONDS
    finally:
        sock.close()


def _stalled_uploads(port: int, count: int = 16, behind: bytes = b"") -> list[socket.socket]:
    """Signed-in uploads whose bodies stop after their first bytes (each pipelined `behind` a
    request when one is given). Sixteen over two workers take every thread that may read a
    body and leave the rest waiting for one (all but certainly: each worker draws several)."""
    held = [_connect(port, behind + b"POST /titles/t1/videos HTTP/1.1\r\nHost: x\r\n"
                           b"Authorization: Bearer test-token\r\n"
                           b"Content-Type: multipart/form-data; boundary=b\r\n"
                           b"Content-Length: 100000000\r\n\r\n--b\r\n")
            for _ in range(count)]
    time.sleep(0.2)  # every one accepted
    return held


def test_artwork_is_answered_while_stalled_uploads_hold_threads(server):
    slowest = _slowest_probe(server.url, _stalled_uploads(server.port))
    assert slowest < PROBE_LIMIT_SECONDS, f"/artwork took {slowest * 1000:.0f} ms"


def _slowest_feedback(url: str) -> float:
    """Seconds the slowest of PROBES feedback posts took, each on a new connection."""
    slowest = 0.0
    for i in range(PROBES):
        started = time.perf_counter()
        r = requests.post(f"{url}/feedback", timeout=1.0,
                          json={"event_id": f"{i:032x}", "kind": "impression"})
        slowest = max(slowest, time.perf_counter() - started)
        assert r.status_code < 500, r.text
    return slowest


def test_uploads_pipelined_behind_a_decision_wait_their_turn_like_any_other(server):
    held = _stalled_uploads(server.port, behind=b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        slowest = _slowest_feedback(server.url)
    finally:
        for sock in held:
            sock.close()
    assert slowest < PROBE_LIMIT_SECONDS, f"/feedback took {slowest * 1000:.0f} ms"


@pytest.mark.slow
def test_stalled_uploads_leave_feedback_a_thread_and_the_waiting_ones_get_a_503(server):
    from api.web.worker import PARK_SECONDS

    held = _stalled_uploads(server.port)
    try:
        slowest = _slowest_feedback(server.url)
        assert slowest < PROBE_LIMIT_SECONDS, f"/feedback took {slowest * 1000:.0f} ms"
        time.sleep(PARK_SECONDS + 2)
        answers = []
        for sock in held:
            sock.settimeout(0.5)
            try:
                answers.append(sock.recv(4096))
            except TimeoutError:
                answers.append(b"")  # still being read by a thread
    finally:
        for sock in held:
            sock.close()
    busy = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
    # One upload a worker is read; a reader whose read timed out let another one in.
    assert len(busy) >= len(held) // 2, answers
    assert all(b"Retry-After: 5" in a and b'"status": 503' in a for a in busy)


def test_a_decision_request_with_a_trickled_body_holds_no_event_loop(server):
    # Decisions are answered in the workers' event loops, but only when the whole request is
    # there: one whose chunked body never ends goes to a thread like an upload.
    held = [_connect(server.port, b"GET /artwork?user=slow&title=t1 HTTP/1.1\r\nHost: x\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n5\r\nab")
            for _ in range(4)]
    time.sleep(0.2)
    slowest = _slowest_probe(server.url, held)
    assert slowest < PROBE_LIMIT_SECONDS, f"/artwork took {slowest * 1000:.0f} ms"


def test_feedback_bodies_are_limited_to_a_few_kib(server):
    events = [{"event_id": "e" * 32, "kind": "impression"}] * 300
    r = requests.post(f"{server.url}/feedback", json=events, timeout=5)
    assert r.status_code == 413 and r.json()["status"] == 413


def test_a_kept_alive_connection_is_closed_after_its_share_of_requests(server):
    # So that a client's busy connections do not stay on the worker that first accepted them.
    from api.web.worker import KEEPALIVE_REQUESTS

    sock = _connect(server.port)
    reader = sock.makefile("rb")
    try:
        for n in range(1, KEEPALIVE_REQUESTS + 1):
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            reader.read(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200"), status
            assert (headers.get("connection") == "close") == (n == KEEPALIVE_REQUESTS), n
        assert reader.read(1) == b""  # the server closed it
    finally:
        reader.close()
        sock.close()
    assert max(latencies(server.url, 5)) < PROBE_LIMIT_SECONDS
