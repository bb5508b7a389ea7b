"""Slow clients against the HTTP edge: the edge worker next to the alternatives it replaced.

For each gunicorn worker set-up — stock gthread (the old default), gthread with 8x the
threads (the "just add threads" answer), and the bridge's edge worker — on the same
bridge (ingest only, SQLite), in one run:
  - ingest requests/s with wrk (no slow clients), as a ratio to stock gthread, the three
    servers up at once and measured in alternating rounds;
  - with 60 and then 300 slow connections held (trickling headers, bodies, or a second
    request on a kept-alive connection, a byte every 0.5 s), how many of 4 signed
    webhooks and 2 /healthz probes were answered within 5 s, and their median latency.

    .venv/bin/python bench/bench_edge.py [--duration 12] [--rounds 4] [--slow 60,300]
"""
from __future__ import annotations

import argparse
import http.client
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from bench_http import BENCH, Server, bench_env, call, free_port, run_wrk, start_gunicorn, wait_until, write_bodies

VARIANTS = {  # label: (short name, GUNICORN_CMD_ARGS: command-line settings override gunicorn.conf.py)
    "gthread (stock, 4 threads)": ("stock", "--worker-class gthread"),
    "gthread, 32 threads": ("threads32", "--worker-class gthread --threads 32"),
    "edge worker (4 threads)": ("edge", ""),
}
ANSWER_WITHIN = 5.0
HEAD = b"POST /webhooks/stripe HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"


class Trickler(threading.Thread):
    """`count` connections sending a byte every 0.5 s; any the server ends is opened again."""

    def __init__(self, port: int, count: int):
        super().__init__(daemon=True)
        self.port, self.stop = port, threading.Event()
        self.socks = [self._open(i) for i in range(count)]

    def _open(self, index: int):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        kind = index % 3
        if kind == 1:
            sock.send(HEAD + b"Content-Length: 100000\r\n\r\n")
        elif kind == 2:
            sock.send(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")  # then trickles a second request
        if kind != 1:
            sock.send(HEAD[:10])
        sock.setblocking(False)
        return sock

    def run(self):
        while not self.stop.wait(0.5):
            for index, sock in enumerate(self.socks):
                try:
                    if select.select([sock], [], [], 0)[0] and not sock.recv(65536):
                        raise OSError("closed")
                    sock.send(b"a")
                except OSError:
                    sock.close()
                    try:
                        self.socks[index] = self._open(index)
                    except OSError:
                        pass

    def finish(self):
        self.stop.set()
        self.join(timeout=10)
        for sock in self.socks:
            sock.close()


def legit_answers(port: int, bodies: list[str]) -> tuple[int, int, float | None]:
    """(answered, asked, median seconds) for signed webhooks and /healthz, each allowed ANSWER_WITHIN."""
    latencies = []
    asked = 0
    for index, line in enumerate(bodies):
        signature, body = line.split("\t", 1)
        for method, path, payload, headers in (
                ("POST", "/webhooks/stripe", body, {"Content-Type": "application/json", "Stripe-Signature": signature}),
                ("GET", "/healthz", None, {})):
            if method == "GET" and index % 2:
                continue
            asked += 1
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_WITHIN)
            try:
                conn.request(method, path, body=payload, headers=headers)
                if conn.getresponse().status in (200, 202):
                    latencies.append(time.monotonic() - started)
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
    return len(latencies), asked, statistics.median(latencies) if latencies else None


def slow_client_probes(port: int, name: str, folder: Path, counts: list[int]) -> dict:
    """For each count of slow connections held: (answered, asked, median seconds) of the legitimate probes."""
    result = {}
    for count in counts:
        legit = folder / f"legit-{name}-{count}.txt"
        write_bodies(legit, 4, f"legit{name}{count}")
        trickler = Trickler(port, count)
        trickler.start()
        try:
            time.sleep(2)  # real-time: let the slow connections take what they can
            result[count] = legit_answers(port, legit.read_text().splitlines())
        finally:
            trickler.finish()
    return result


def run(args) -> dict:
    """All variants up at once; ingest measured in alternating rounds, then the slow-client probes."""
    results: dict = {label: {"rps_runs": []} for label in VARIANTS}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bridge-bench-edge-")))
        upstream_port = free_port()
        upstream = stack.enter_context(Server("upstream", [sys.executable, str(BENCH / "upstream.py"),
                                                           "--port", str(upstream_port)], {}, folder))
        wait_until(lambda: upstream.check_alive() or call(upstream_port, "GET", "/api/v2/health")[0] == 200,
                   15, "the bench upstream")
        env = bench_env(folder, upstream_port, args)
        servers = {}
        for label, (name, extra) in VARIANTS.items():
            variant_env = dict(env, GUNICORN_CMD_ARGS=extra, BRIDGE_DELIVERY_THREADS="0",
                               BRIDGE_STORE_URL=f"sqlite:///{folder}/{name}.db")
            servers[label] = stack.enter_context(start_gunicorn(name, "app:app", variant_env, free_port(), folder,
                                                                args.workers))
        for round_ in range(args.rounds):
            for label, (name, _) in VARIANTS.items():
                bodies = folder / f"{name}-{round_}.txt"
                write_bodies(bodies, 60_000, f"edge{name}{round_}")
                if round_ == 0:
                    run_wrk(servers[label].port, bodies, 2, args.connections, 1)  # warm-up
                load = run_wrk(servers[label].port, bodies, args.duration / args.rounds, args.connections, 1)
                results[label]["rps_runs"].append(load["rps"])
        for label, (name, _) in VARIANTS.items():
            results[label].update(slow_client_probes(servers[label].port, name, folder, args.slow))
    for r in results.values():
        r["rps"] = statistics.mean(r["rps_runs"])
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=12, help="seconds of wrk per variant, over all rounds")
    parser.add_argument("--rounds", type=int, default=4, help="turns the variants take, so load changes fall on all")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slow", type=lambda s: [int(x) for x in s.split(",")], default=[60, 300])
    args = parser.parse_args(argv or [])
    args.threads, args.poll_interval = 4, 0.1
    results = run(args)
    stock = results[next(iter(VARIANTS))]["rps"]
    for name, r in results.items():
        slow = "; ".join(f"{count} slow: {r[count][0]}/{r[count][1]} answered"
                         + (f", median {r[count][2] * 1000:.0f} ms" if r[count][2] is not None else "")
                         for count in args.slow)
        runs = ", ".join(f"{x:.0f}" for x in r["rps_runs"])
        print(f"{name:28s} ingest {r['rps']:5.0f} req/s (x{r['rps'] / stock:.2f} of stock; rounds {runs}); {slow}")
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main(sys.argv[1:])
