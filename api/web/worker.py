"""The gunicorn worker `artbandit serve` runs: threads, and no thread held by a slow or idle client.

gunicorn's threaded worker (`gthread`) hands a new connection to a thread at once, and that
thread waits for the request; a client that connects and sends nothing, or sends its headers
a byte at a time, holds the thread. Here the worker's event loop gathers each request's head
(and a small body) without blocking, and a thread gets the connection only once they are all
there; a connection that does not deliver them within REQUEST_TIMEOUT seconds is answered
408 and closed. Larger bodies (uploads) are read by the thread with a timeout on each read,
by all of a worker's threads but one at most (the others wait their turn, for a while), and
connections are closed by lingering in the event loop, not in a thread.

The serving hot path (`GET /artwork`, and `GET /ping` beside it) is answered in the event
loop itself once its request has arrived: its work is short and waits on nothing, and a
hand-off to a thread and back costs two thread wake-ups and GIL switches, which in a burst
of requests is a large part of each one's latency. Every response's head leaves in the same
write as its body's first bytes.
"""
from __future__ import annotations

import errno
import gc
import re
import selectors
import socket
import time
from collections import deque
from concurrent import futures
from datetime import datetime
from functools import partial

from gunicorn import util
from gunicorn.http import wsgi
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
# A request whose body is still to come (an upload) is read by a thread, and at most all
# threads but one of a worker read bodies at once: the last is kept for requests that have
# arrived whole, so uploads stalled by their clients cannot hold up /feedback. A request
# waiting for a reader waits at most PARK_SECONDS (its client held back by TCP meanwhile),
# then is answered 503.
PARK_SECONDS = 10.0
# Requests answered in the event loop (see above): how their request line starts.
INLINE_REQUESTS = (b"GET /artwork?", b"GET /ping ", b"GET /ping?")
# gunicorn restarts a worker that has not reported for its timeout; reporting touches a
# file, so the event loop does it at most this often instead of on every turn.
NOTIFY_SECONDS = 1.0
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)


def _closing_response(status: bytes, error: bytes, extra_headers: bytes = b"") -> bytes:
    """A whole JSON error response, sent by the event loop before it closes the connection."""
    body = b'{"error": "%s", "status": %s}' % (error, status.split(b" ")[0])
    return (b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n%sConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (status, extra_headers, len(body), body))


TIMEOUT_RESPONSE = _closing_response(b"408 Request Timeout", b"the request did not arrive in time; send it again")
BUSY_RESPONSE = _closing_response(b"503 Service Unavailable",
                                  b"too many uploads are in progress here; send it again shortly",
                                  b"Retry-After: 5\r\n")


# What the event loop has of a request (see `gathered`).
WHOLE, BODY_TO_COME = "whole", "body to come"


def gathered(data: bytes) -> str | None:
    """What `data` holds of a request: None while its head (or a small body) is still coming;
    WHOLE when all of it is here; BODY_TO_COME when a thread is to read the rest (a large or
    chunked body, or a head too long to wait for, which the parser then refuses)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return BODY_TO_COME if len(data) > MAX_HEAD_BYTES else None
    if _CHUNKED.search(data, 0, end + 2):
        return BODY_TO_COME
    length = _LENGTH.search(data, 0, end + 2)
    if length is None:
        return WHOLE
    wanted = int(length.group(1))
    if len(data) - end - 4 >= wanted:
        return WHOLE
    return BODY_TO_COME if wanted > GATHER_BODY_BYTES else None


class CoalescedResponse(wsgi.Response):
    """gunicorn's response, whose head is held until it can leave with the body's first bytes."""

    _head = b""

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        tosend = self.default_headers()
        tosend.extend("%s: %s\r\n" % (k, v) for k, v in self.headers)
        self._head = util.to_bytestring("%s\r\n" % "".join(tosend), "latin-1")
        self.headers_sent = True

    @property
    def head_held(self) -> bool:
        """Whether the head is still held here (nothing of the response has been written)."""
        return bool(self._head)

    def _flush_head(self) -> None:
        if self._head:
            head, self._head = self._head, b""
            util.write(self.sock, head)

    def _emit_body(self, data: bytes) -> None:
        if self._head and not self.chunked:
            data, self._head = self._head + data, b""
        self._flush_head()
        super()._emit_body(data)

    def sendfile(self, respiter) -> bool:
        self.send_headers()
        self._flush_head()
        return super().sendfile(respiter)

    def close(self) -> None:
        self.send_headers()
        self._flush_head()
        super().close()


class GuardedThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, whose threads only ever get requests that have arrived."""

    def init_process(self) -> None:
        self.gathering: dict[TConn, tuple[float, bytearray]] = {}
        self.lingering: dict[socket.socket, list[float]] = {}  # deadline, bytes drained
        self._notify_after = 0.0
        self.reading: set[TConn] = set()  # connections whose body a thread reads
        self.waiting: deque[tuple[float, TConn]] = deque()  # (deadline, connection)
        self.max_readers = max(1, self.cfg.threads - 1)
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        # What the app holds once loaded (modules, the catalog, models, caches) lives as long
        # as the worker. Moved out of the collector's reach, a full collection walks only what
        # requests leave behind: about 1 ms instead of 40 to 100, a pause that every request
        # arriving meanwhile waits through.
        gc.collect()
        gc.freeze()

    def notify(self) -> None:
        now = time.monotonic()
        if now >= self._notify_after:
            self._notify_after = now + NOTIFY_SECONDS
            super().notify()

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
        self._gather(conn, readable=True)

    def _gather(self, conn: TConn, readable: bool = False, data: bytes = b"") -> None:
        conn.sock.setblocking(False)
        self.gathering[conn] = (time.monotonic() + REQUEST_TIMEOUT, bytearray(data))
        if readable:  # read at once: a kept-alive client's request is usually all there
            self._readable(conn, registered=False)
        else:
            self._register(conn)

    def _register(self, conn: TConn) -> None:
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

    def _readable(self, conn: TConn, _sock=None, registered: bool = True) -> None:
        deadline, data = self.gathering[conn]
        try:
            chunk = conn.sock.recv(GATHER_BODY_BYTES)
        except (BlockingIOError, InterruptedError):
            chunk = None
        except OSError:
            chunk = b""
        if chunk:
            data += chunk
        state = gathered(data)
        if state is None and chunk == b"":  # the client went away
            del self.gathering[conn]
            if registered:
                self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()
        elif state is None:
            if not registered:
                self._register(conn)
        else:
            del self.gathering[conn]
            if registered:
                self.poller.unregister(conn.sock)
            self._dispatch(conn, data, state)

    def _dispatch(self, conn: TConn, data: bytes, state: str) -> None:
        """Answer a gathered request here, or hand it to a thread (or to a queue for one)."""
        conn.init()  # the parser
        conn.parser.unreader.unread(bytes(data))
        conn.data_ready = True
        if state == WHOLE:
            # Answered here only when wholly here: answering it reads nothing more.
            if data.startswith(INLINE_REQUESTS) and self.alive:
                done: futures.Future = futures.Future()
                done.set_result(self.handle(conn))  # handle() answers its own errors
                self.finish_request(conn, done)
                return
        elif len(self.reading) >= self.max_readers:
            self.waiting.append((time.monotonic() + PARK_SECONDS, conn))
            return
        else:
            self.reading.add(conn)
        self.enqueue_req(conn)

    def _next_readers(self) -> None:
        while self.waiting and len(self.reading) < self.max_readers:
            _, conn = self.waiting.popleft()
            self.reading.add(conn)
            self.enqueue_req(conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn, (deadline, data) in list(self.gathering.items()):
            if deadline <= now:
                self.poller.unregister(conn.sock)
                del self.gathering[conn]
                if data:  # it started a request: say why it ends
                    try:
                        conn.sock.send(TIMEOUT_RESPONSE)
                    except OSError:
                        pass
                self.nr_conns -= 1
                conn.close()
        while self.waiting and self.waiting[0][0] <= now:
            _, conn = self.waiting.popleft()
            try:
                conn.sock.send(BUSY_RESPONSE)
            except OSError:
                pass
            self.nr_conns -= 1
            self._linger(conn.sock)
        for sock, (deadline, _) in list(self.lingering.items()):
            if deadline <= now:
                self._end_linger(sock)

    # -- requests: read with a timeout on each read -------------------------------------

    def handle_request(self, req, conn):
        conn.sock.settimeout(BODY_READ_TIMEOUT)
        if req.req_number >= KEEPALIVE_REQUESTS:
            req.must_close = True  # answered with `Connection: close`; the client reconnects
        return self._respond(req, conn)

    def _respond(self, req, conn) -> bool:
        """gunicorn's `handle_request` (HTTP/1), with a CoalescedResponse: whether to keep alive."""
        environ, resp = {}, None
        try:
            self.cfg.pre_request(self, req)
            request_start = datetime.now()
            resp, environ = wsgi.create(req, conn.sock, conn.client, conn.server, self.cfg,
                                        response_class=CoalescedResponse)
            environ["wsgi.multithread"] = True
            self.nr += 1
            if self.nr >= self.max_requests:
                if self.alive:
                    self.log.info("Autorestarting worker after current request.")
                    self.alive = False
                resp.force_close()
            if (not self.alive or not self.cfg.keepalive
                    or len(self.keepalived_conns) >= self.max_keepalived):
                resp.force_close()
            respiter = self.wsgi(environ, resp.start_response)
            try:
                if isinstance(respiter, environ["wsgi.file_wrapper"]):
                    resp.write_file(respiter)
                else:
                    for item in respiter:
                        resp.write(item)
                resp.close()
            finally:
                self.log.access(resp, req, environ, datetime.now() - request_start)
                if hasattr(respiter, "close"):
                    respiter.close()
            if resp.should_close():
                return False
        except OSError:
            raise  # the socket's: handle() deals with it
        except (Exception, SystemExit):
            if resp is not None and resp.headers_sent and not resp.head_held:
                # The head is on the wire: a 500 after it would corrupt the response.
                self.log.exception("Error handling request")
                util.close_graceful(conn.sock)
                raise StopIteration() from None
            raise
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")
        return True

    def _keepalive_after(self, conn, keepalive):
        # A large body the application refused unread (a 413) is not drained by the
        # thread: the connection closes, lingering in the event loop.
        reader = getattr(getattr(conn.parser.mesg, "body", None), "reader", None)
        if keepalive and getattr(reader, "length", 0) > GATHER_BODY_BYTES:
            return False
        return super()._keepalive_after(conn, keepalive)

    # -- connections out: closed by lingering in the event loop ------------------------

    def finish_request(self, conn, fs) -> None:
        if conn in self.reading:
            self.reading.discard(conn)
            self._next_readers()
        try:
            keep = not fs.cancelled() and fs.result()
        except Exception:  # handle() answers its own errors; nothing to keep here
            keep = False
        if keep:
            unreader = getattr(conn.parser, "unreader", None)  # HTTP/1's parser has one
            pending = unreader.take_buffered() if unreader is not None else b""
            if pending and self.alive:
                # A request sent behind this one, gathered like any other on a later turn
                # of the loop (not from inside this one: a client may pipeline many).
                self.method_queue.defer(self._gather, conn, True, pending)
                return
            if pending:
                unreader.unread(pending)
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
