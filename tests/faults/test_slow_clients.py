"""Slow clients cannot starve ingress (issue 12.2); the HTTP edge answers bad framing with a 4xx.

Real gunicorn, real sockets. Sixty connections trickle a byte every half second —
headers, bodies, and a second request on a kept-alive connection — while signed
webhooks and /healthz must still be answered. The deadline comes from the mechanism,
not from a speed measurement: no client holds a request thread, and any socket wait a
thread makes is bounded by BRIDGE_CLIENT_TIMEOUT, so an answer needs at most a few of
those on top of the work itself.
"""
from __future__ import annotations

import json
import select
import socket
import threading
import time

import requests
import stripe

from harness import subscription_event
from helpers import STRIPE_SECRET, wait_for
from sandbox.known import OPPORTUNITY_IDS

CLIENT_TIMEOUT = 4  # BRIDGE_CLIENT_TIMEOUT for these bridges, in seconds
ANSWER_DEADLINE = 5 * CLIENT_TIMEOUT
SLOW = 60
HEADERS = b"POST /webhooks/stripe HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n"


class SlowConnection:
    """One trickling client: `kind` is headers, body or keepalive (a quick request, then a slow one)."""

    def __init__(self, port: int, kind: str):
        self.kind, self.sent, self.answers = kind, 0, b""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setblocking(False)
        if kind == "body":
            self.sock.send(HEADERS + b"Content-Length: 100000\r\n\r\n")
        elif kind == "keepalive":
            self.sock.send(b"GET /healthz HTTP/1.1\r\nHost: bridge\r\n\r\n")
        self.trickling = kind != "keepalive"  # the kept-alive one trickles once its first answer came

    def tick(self) -> bool:
        """Read what the server said; send one more byte. False once the server closed the connection."""
        if select.select([self.sock], [], [], 0)[0]:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                return False
            self.answers += data
            if not self.trickling and b"\r\n\r\n" in self.answers:
                self.trickling = True
                self.sock.send(HEADERS[:1])
        if self.trickling:
            payload = HEADERS + b"X-Slow: " if self.kind != "body" else b""
            byte = payload[self.sent:self.sent + 1] or b"a"
            try:
                self.sock.send(byte)
            except OSError:
                return False
            self.sent += 1
        return True

    def close(self):
        self.sock.close()


class SlowClients(threading.Thread):
    """Keeps `count` slow connections open, reconnecting any the server ends, as an attacker would."""

    def __init__(self, port: int, count: int):
        super().__init__(daemon=True)
        self.port, self.stop = port, threading.Event()
        kinds = ("headers", "body", "keepalive")
        self.connections = [SlowConnection(port, kinds[i % 3]) for i in range(count)]
        self.ended: list[SlowConnection] = []

    def run(self):
        while not self.stop.wait(0.5):  # real-time: a trickle is a real-time pace
            for index, connection in enumerate(self.connections):
                if not connection.tick():
                    connection.close()
                    self.ended.append(connection)
                    self.connections[index] = SlowConnection(self.port, connection.kind)

    def finish(self):
        self.stop.set()
        self.join(timeout=10)
        for connection in self.connections:
            connection.close()


def signed_stripe(bridge, number: int):
    body = json.dumps(subscription_event(number, OPPORTUNITY_IDS[number % 5]))
    header = stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET, int(time.time()))
    return requests.post(f"{bridge.url}/webhooks/stripe", data=body, timeout=ANSWER_DEADLINE,
                         headers={"Content-Type": "application/json", "Stripe-Signature": header})


def test_sixty_slow_clients_do_not_starve_webhooks_or_health(make_bridge):
    bridge = make_bridge(BRIDGE_CLIENT_TIMEOUT=CLIENT_TIMEOUT, BRIDGE_WEB_WORKERS=2, BRIDGE_WEB_THREADS=4)
    slow = SlowClients(bridge.port, SLOW)
    slow.start()
    try:
        wait_for(lambda: all(c.sent >= 3 for c in slow.connections if c.kind != "keepalive"),
                 timeout=ANSWER_DEADLINE, what="the slow connections to be trickling")
        for number in range(10):
            assert signed_stripe(bridge, number).status_code == 202
            assert requests.get(f"{bridge.url}/healthz", timeout=ANSWER_DEADLINE).status_code == 200
        wait_for(lambda: all(c.sent for c in slow.connections), timeout=ANSWER_DEADLINE,
                 what="the kept-alive connections to have their first answer and trickle the next request")
        wait_for(lambda: any(c.answers.startswith(b"HTTP/1.1 408") for c in slow.ended),
                 timeout=ANSWER_DEADLINE, what="a slow request to run out of time")
    finally:
        slow.finish()
    timed_out = [c for c in slow.ended if c.answers.startswith(b"HTTP/1.1 408")]
    assert json.loads(timed_out[0].answers.split(b"\r\n\r\n", 1)[1])["reason"] == "request_timeout"
    metrics = requests.get(f"{bridge.url}/metrics", timeout=ANSWER_DEADLINE).text
    assert 'bridge_edge_refused_total{reason="request_timeout"}' in metrics


def exchange(port: int, data: bytes, *, expect_continue: bool = False) -> tuple[int, dict, bytes]:
    """Send raw bytes, read the whole answer (the edge closes after an error): status, JSON body, raw."""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_DEADLINE) as sock:
        head, _, body = data.partition(b"\r\n\r\n")
        sock.sendall(head + b"\r\n\r\n")
        raw = b""
        if expect_continue:
            while b"\r\n\r\n" not in raw:
                raw += sock.recv(65536)
        sock.sendall(body)
        while True:
            status_end = raw.rfind(b"HTTP/1.1 ")
            head_end = raw.find(b"\r\n\r\n", status_end)
            if status_end >= 0 and head_end >= 0 and not raw[status_end:].startswith(b"HTTP/1.1 100"):
                length = int(raw[status_end:head_end].lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                if len(raw) >= head_end + 4 + length:
                    break
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    last = raw[raw.rfind(b"HTTP/1.1 "):]
    answer_head, _, answer_body = last.partition(b"\r\n\r\n")
    return int(answer_head.split()[1]), json.loads(answer_body or b"{}"), raw


def chunked_request(body: bytes, chunk: int = 500, signature: str = "t=1,v1=00") -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + chunk]), body[i:i + chunk])
                      for i in range(0, len(body), chunk))
    return (HEADERS + f"Stripe-Signature: {signature}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + chunks + b"0\r\n\r\n")


def test_the_edge_answers_bad_framing_with_a_4xx_and_keeps_chunked_and_100_continue_working(make_bridge):
    bridge = make_bridge(BRIDGE_MAX_BODY_BYTES=2000, BRIDGE_CLIENT_TIMEOUT=CLIENT_TIMEOUT)
    status, answer, _ = exchange(bridge.port, HEADERS + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
    assert (status, answer["reason"]) == (400, "invalid_chunked_body"), answer
    status, answer, _ = exchange(bridge.port, chunked_request(b"x" * 3000))
    assert (status, answer["reason"]) == (413, "body_too_large"), "never truncated and answered 401"
    status, answer, _ = exchange(bridge.port, HEADERS + b"Content-Length: 2001\r\n\r\n" + b"x" * 2001)
    assert (status, answer["reason"]) == (413, "body_too_large")

    body = json.dumps(subscription_event(1, OPPORTUNITY_IDS[0])).encode()
    signature = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET, int(time.time()))
    status, answer, _ = exchange(bridge.port, chunked_request(body, chunk=100, signature=signature))
    assert (status, answer["status"]) == (202, "accepted"), "a signed chunked webhook is taken whole"
    body = json.dumps(subscription_event(2, OPPORTUNITY_IDS[0])).encode()
    signature = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET, int(time.time()))
    request = (HEADERS + f"Stripe-Signature: {signature}\r\nExpect: 100-continue\r\n"
               f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    status, answer, raw = exchange(bridge.port, request, expect_continue=True)
    assert status == 202 and raw.count(b"HTTP/1.1 100 Continue") == 1, raw[:200]


def test_memory_for_unfinished_requests_is_bounded_and_given_back(make_bridge):
    """Clients holding large unfinished requests get 503 + Retry-After past a worker's budget
    (32 x max(BRIDGE_MAX_BODY_BYTES, 64 KiB of headers)), never unbounded memory; closing frees it."""
    bridge = make_bridge(BRIDGE_MAX_BODY_BYTES=2000, BRIDGE_CLIENT_TIMEOUT=60, BRIDGE_WEB_WORKERS=1)
    held = []
    try:
        for _ in range(40):  # 40 x 60 KB of headers without their end: over one worker's 2 MiB budget
            sock = socket.create_connection(("127.0.0.1", bridge.port), timeout=ANSWER_DEADLINE)
            sock.sendall(HEADERS + b"X-Big: " + b"a" * 60_000)
            held.append(sock)

        def refused():
            answers = []
            for sock in held:
                if select.select([sock], [], [], 0)[0]:
                    answers.append(sock.recv(65536))
            return [a for a in answers if a.startswith(b"HTTP/1.1 503")]
        busy = wait_for(refused, timeout=ANSWER_DEADLINE, what="a 503 once the budget is spent")
        assert b"Retry-After: 5" in busy[0] and b'"reason": "edge_busy"' in busy[0]
    finally:
        for sock in held:
            sock.close()
    wait_for(lambda: signed_stripe(bridge, 99).status_code == 202, timeout=ANSWER_DEADLINE,
             what="the budget to be given back")
