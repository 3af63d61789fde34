"""The gunicorn worker `artbandit serve` runs: threads, and no thread held by a slow or idle client.

gunicorn's threaded worker (`gthread`) hands a new connection to a thread at once, and that
thread waits for the request; a client that connects and sends nothing, or sends its headers
a byte at a time, holds the thread. Here the worker's event loop gathers each request's head
(and a small body) without blocking, and a thread gets the connection only once they are all
there; a connection that does not deliver them within REQUEST_TIMEOUT seconds is answered
408 and closed. Larger bodies (uploads) are read by the thread with a timeout on each read,
and connections are closed by lingering in the event loop, not in a thread.
"""
from __future__ import annotations

import errno
import re
import selectors
import socket
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

# Seconds a connection has to deliver its request head (and a body of at most
# GATHER_BODY_BYTES) from its first byte or from when it was accepted.
REQUEST_TIMEOUT = 5.0
# Bodies up to this size are gathered before a thread is given the request; larger ones
# (uploads) are read by the thread, each read waiting at most BODY_READ_TIMEOUT seconds.
GATHER_BODY_BYTES = 64 * 1024
BODY_READ_TIMEOUT = 10.0
# A head longer than this is handed on as it is: the parser refuses it with a 400.
MAX_HEAD_BYTES = 64 * 1024
# A kept-alive connection is closed after this many requests (nginx's `keepalive_requests`
# does the same): a client's connections are spread over the workers when they are opened,
# and one that reconnects lands on whichever worker is free to accept, so a worker that drew
# more of the busy connections does not stay the bottleneck.
KEEPALIVE_REQUESTS = 100
# After the last response on a connection, unread bytes are drained for at most this long.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)
_TIMEOUT_BODY = b'{"error": "the request did not arrive in time; send it again", "status": 408}'
TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))


def request_gathered(data: bytes) -> bool:
    """Whether `data` holds a whole request head, and its body when that is small."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) > MAX_HEAD_BYTES
    head = data[:end + 2]
    if _CHUNKED.search(head):
        return True
    length = _LENGTH.search(head)
    if length is None:
        return True
    wanted = int(length.group(1))
    return wanted > GATHER_BODY_BYTES or len(data) - end - 4 >= wanted


class GuardedThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, whose threads only ever get requests that have arrived."""

    def init_process(self) -> None:
        self.gathering: dict[TConn, tuple[float, bytearray]] = {}
        self.lingering: dict[socket.socket, list[float]] = {}  # deadline, bytes drained
        super().init_process()

    # -- connections in: gathered in the event loop -----------------------------------

    def accept(self, listener) -> None:
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self._gather(TConn(self.cfg, client, address, listener.getsockname()))

    def on_client_socket_readable(self, conn, client) -> None:
        # A kept-alive connection's next request starts: gathered like a new one.
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._gather(conn)

    def _gather(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        self.gathering[conn] = (time.monotonic() + REQUEST_TIMEOUT, bytearray())
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

    def _readable(self, conn: TConn, _sock=None) -> None:
        deadline, data = self.gathering[conn]
        try:
            chunk = conn.sock.recv(GATHER_BODY_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away
            self._forget(conn)
            self.nr_conns -= 1
            conn.close()
            return
        data += chunk
        if request_gathered(data):
            self._forget(conn)
            conn.init()  # the parser, on a blocking socket
            conn.parser.unreader.unread(bytes(data))
            conn.data_ready = True
            self.enqueue_req(conn)

    def _forget(self, conn: TConn) -> None:
        self.poller.unregister(conn.sock)
        del self.gathering[conn]

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn, (deadline, data) in list(self.gathering.items()):
            if deadline <= now:
                self._forget(conn)
                if data:  # it started a request: say why it ends
                    try:
                        conn.sock.send(TIMEOUT_RESPONSE)
                    except OSError:
                        pass
                self.nr_conns -= 1
                conn.close()
        for sock, (deadline, _) in list(self.lingering.items()):
            if deadline <= now:
                self._end_linger(sock)

    # -- requests: read with a timeout on each read -------------------------------------

    def handle_request(self, req, conn):
        conn.sock.settimeout(BODY_READ_TIMEOUT)
        if req.req_number >= KEEPALIVE_REQUESTS:
            req.must_close = True  # answered with `Connection: close`; the client reconnects
        return super().handle_request(req, conn)

    def _keepalive_after(self, conn, keepalive):
        # A large body the application refused unread (a 413) is not drained by the
        # thread: the connection closes, lingering in the event loop.
        reader = getattr(getattr(conn.parser.mesg, "body", None), "reader", None)
        if keepalive and getattr(reader, "length", 0) > GATHER_BODY_BYTES:
            return False
        return super()._keepalive_after(conn, keepalive)

    # -- connections out: closed by lingering in the event loop ------------------------

    def finish_request(self, conn, fs) -> None:
        try:
            keep = not fs.cancelled() and fs.result()
        except Exception:  # handle() answers its own errors; nothing to keep here
            keep = False
        if keep:
            super().finish_request(conn, fs)
            return
        self.nr_conns -= 1
        self._linger(conn.sock)

    def _linger(self, sock: socket.socket) -> None:
        """After the last response: send FIN, drain what the client still sends, then close."""
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
            self.poller.register(sock, selectors.EVENT_READ, partial(self._drain, sock))
        except (OSError, ValueError, KeyError):
            sock.close()
            return
        self.lingering[sock] = [time.monotonic() + LINGER_SECONDS, 0]

    def _drain(self, sock: socket.socket, _sock=None) -> None:
        try:
            chunk = sock.recv(LINGER_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        state = self.lingering[sock]
        state[1] += len(chunk)
        if not chunk or state[1] >= LINGER_BYTES:
            self._end_linger(sock)

    def _end_linger(self, sock: socket.socket) -> None:
        del self.lingering[sock]
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()
