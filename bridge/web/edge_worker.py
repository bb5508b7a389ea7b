"""gunicorn's gthread worker, except that no thread waits on a client.

Stock gthread hands a connection to a request thread as soon as its first byte arrives;
a client that then trickles its headers or body (one byte every few seconds) holds that
thread for as long as it likes, and a handful of such clients stop all ingress. Here the
worker's event loop reads each request whole — headers and body, up to
BRIDGE_MAX_BODY_BYTES — without a thread, under one deadline per request
(BRIDGE_CLIENT_TIMEOUT), and only a complete request reaches the thread pool, from
memory. What the framing refuses (see `request_framing`) is answered here, before any
thread or application code: 408, 413, 431, or 400 with a reason.
"""
from __future__ import annotations

import json
import selectors
import socket
import time
from collections import deque
from functools import partial
from http import HTTPStatus

from gunicorn.workers.gthread import TConn, ThreadWorker
from prometheus_client import Counter

from bridge.web.request_framing import Refusal, RequestFraming
from bridge.reasons import Rejected

MAX_HEADER_BYTES = 64 * 1024  # request line, headers (and chunked trailers); webhooks send a few KiB
LINGER_SECONDS = 2.0  # after an answer with Connection: close, how long unread input is drained
BUDGET_IN_BODIES = 32  # unfinished requests one worker holds in memory, at most, in BRIDGE_MAX_BODY_BYTES
RETRY_AFTER_SECONDS = 5
TIMED_OUT = Refusal(408, Rejected.REQUEST_TIMEOUT, "the request did not arrive in time")
BUSY = Refusal(503, Rejected.EDGE_BUSY, "too many unfinished requests are arriving at once; retry later")
GONE = "gone"

EDGE_REFUSED = Counter("bridge_edge_refused_total",
                       "Requests answered by the HTTP edge before the application (timeouts, size, framing)",
                       ["reason"])


def edge_answer(refusal: Refusal) -> bytes:
    """The whole HTTP/1.1 answer for a refusal: the bridge's JSON error shape, then close."""
    body = json.dumps({"status": "rejected", "reason": refusal.reason, "detail": refusal.detail}).encode()
    retry = f"Retry-After: {RETRY_AFTER_SECONDS}\r\n" if refusal.status == 503 else ""
    head = (f"HTTP/1.1 {refusal.status} {HTTPStatus(refusal.status).phrase}\r\n{retry}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode("latin-1") + body


class EdgeWorker(ThreadWorker):
    """A ThreadWorker whose event loop reads every request whole before a thread takes it."""

    client_timeout: float  # both from Settings, in init_process
    max_body_bytes: int

    def init_process(self):
        if self.cfg.is_ssl or self.cfg.http2_cleartext != "off":
            raise RuntimeError("EdgeWorker reads plain HTTP/1.1; terminate TLS and HTTP/2 at a proxy")
        from bridge.web import server
        settings = server.master_settings()
        self.client_timeout = settings.client_timeout
        self.max_body_bytes = settings.max_body_bytes
        self.buffer_budget = BUDGET_IN_BODIES * max(settings.max_body_bytes, MAX_HEADER_BYTES)
        self.buffered = 0  # bytes of unfinished requests held by this worker
        self.reading: deque = deque()  # connections whose request is arriving, oldest deadline first
        self.closing: deque = deque()  # answered connections draining their input before close
        super().init_process()

    # ---- the event loop side ----------------------------------------------------------
    def accept(self, listener):
        """Accept a connection and start reading its first request without a thread."""
        try:
            client, address = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        self.nr_conns += 1
        self._read_request(TConn(self.cfg, client, address, listener.getsockname()), b"")

    def enqueue_req(self, conn):
        """A thread only for a request already in memory; anything else is read first."""
        if getattr(conn, "request_bytes", None) is not None:
            super().enqueue_req(conn)
            return
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        self._read_request(conn, leftover)

    def _read_request(self, conn, already: bytes):
        conn.framing = RequestFraming(MAX_HEADER_BYTES, self.max_body_bytes)
        conn.continued, conn.held = False, 0
        conn.deadline = time.monotonic() + self.client_timeout
        conn.sock.setblocking(False)
        verdict = conn.framing.feed(already) if already else RequestFraming.NEED_MORE
        if verdict == RequestFraming.NEED_MORE:
            verdict = self._receive(conn)  # usually the whole request is already here: no poller round
        if verdict == RequestFraming.NEED_MORE:
            self.reading.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_request_bytes, conn))
        else:
            self._finish_reading(conn, verdict)

    def _on_request_bytes(self, conn, _sock):
        verdict = self._receive(conn)
        if verdict != RequestFraming.NEED_MORE:
            self._stop_reading(conn)
            self._finish_reading(conn, verdict)

    def _receive(self, conn):
        """One non-blocking read: NEED_MORE, GONE, BUSY or the framing's verdict."""
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return RequestFraming.NEED_MORE
        except OSError:
            data = b""
        if not data:
            return GONE  # the client went away before its request was whole
        if self.buffered + len(data) > self.buffer_budget:
            return BUSY  # memory stays bounded however many clients send large bodies at once
        self.buffered += len(data)
        conn.held += len(data)
        verdict = conn.framing.feed(data)
        if verdict == RequestFraming.NEED_MORE and conn.framing.expects_continue and not conn.continued:
            conn.continued = True  # the client waits for this before it sends the body
            self._send_quietly(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
        return verdict

    def _stop_reading(self, conn):
        self.poller.unregister(conn.sock)
        self.reading.remove(conn)

    def _finish_reading(self, conn, verdict):
        self.buffered -= conn.held
        conn.held = 0
        if verdict is GONE:
            self._close(conn)
        else:
            self._settle(conn, verdict)

    def _settle(self, conn, verdict):
        if isinstance(verdict, Refusal):
            self._refuse(conn, verdict)
            return
        conn.request_bytes = bytes(conn.framing.buffer)
        conn.framing = None
        conn.data_ready = True  # the stock handle() must not wait for data again
        super().enqueue_req(conn)

    def _refuse(self, conn, refusal: Refusal):
        EDGE_REFUSED.labels(refusal.reason).inc()
        self.log.debug("edge refused a request: %s %s (%s)", refusal.status, refusal.reason, conn.client)
        self._send_quietly(conn, edge_answer(refusal))
        self._linger_close(conn)

    @staticmethod
    def _send_quietly(conn, data: bytes):
        """Best effort, never blocking: an answer of a few hundred bytes fits the socket buffer."""
        try:
            conn.sock.send(data)
        except OSError:
            pass

    def _linger_close(self, conn):
        """Close after the answer without blocking the loop: drain input until EOF or a short deadline."""
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_closing_bytes, conn))
        except (OSError, ValueError):
            self._close(conn)
            return
        conn.deadline = time.monotonic() + LINGER_SECONDS
        self.closing.append(conn)

    def _on_closing_bytes(self, conn, _sock):
        try:
            if conn.sock.recv(65536):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self.poller.unregister(conn.sock)
        self.closing.remove(conn)
        self._close(conn)

    def _close(self, conn):
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """Also end requests past their deadline (408 once any byte came) and finished lingers."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading and self.reading[0].deadline <= now:
            conn = self.reading[0]
            self._stop_reading(conn)
            self._finish_reading(conn, TIMED_OUT if conn.framing.buffer else GONE)
        while self.closing and self.closing[0].deadline <= now:
            conn = self.closing.popleft()
            self.poller.unregister(conn.sock)
            self._close(conn)

    def finish_request(self, conn, fs):
        """Keep-alive as stock; a connection to close lingers on the loop instead of blocking it."""
        try:
            keep_alive = not fs.cancelled() and fs.result()
        except Exception:
            keep_alive = False
        if keep_alive:
            super().finish_request(conn, fs)
        else:
            self._linger_close(conn)

    # ---- the thread side --------------------------------------------------------------
    def handle(self, conn):
        """Serve the request from memory: the parser never waits on the client for it."""
        request, conn.request_bytes = conn.request_bytes, None
        conn.sock.setblocking(True)
        conn.init()
        conn.parser.unreader.unread(request)
        return super().handle(conn)

    def handle_request(self, req, conn):
        """Bound every socket wait of the answer too: a client that stops reading cannot hold the thread."""
        conn.sock.settimeout(self.client_timeout)
        if conn.continued:
            req._expected_100_continue = False  # the loop already sent 100 Continue
        return super().handle_request(req, conn)
