"""Do the speed tricks that reach into library internals still earn their place?

Each trick is measured against the same code without it, in this process (or, for the
switch interval, on this machine), in alternating paired rounds, so a change in what
else the machine does falls on both alike. Each prints the ratio (with / without) of
every round and their median; a trick earns its place when every round's ratio is on
the same side of 1 and the median is beyond the rounds' spread (docs/performance.md).

  reevo    CPU per PATCH in the delivery process: `ReevoClient`'s hand-built
           PreparedRequest sent on the adapter, against `Session.request` with the same
           headers, body and timeouts (bench/upstream.py answers, in another process).
  logging  CPU per state-change log line: `logging._srcfile = None` (no stack walk for
           the caller's file and line) against logging's default, same JSON formatter.
  switch   ingest requests/s and worker CPU per request of the bridge under gunicorn
           (no delivery threads, SQLite): `sys.setswitchinterval(0.001)` in each worker
           against CPython's 5 ms (bench/gunicorn_5ms.conf.py), driven by wrk.

    .venv/bin/python bench/bench_tricks.py [reevo] [logging] [switch] [--rounds 5]
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_http  # noqa: E402
from bench_http import BENCH, Server, free_port, start_gunicorn, wait_until, worker_pids  # noqa: E402

from bridge.config import Settings  # noqa: E402
from bridge.delivery.reevo_client import ReevoClient, _measured, classify, classify_error  # noqa: E402
from bridge.telemetry.logs import configure_logging, log_state  # noqa: E402

LOGGING_SRCFILE = logging._srcfile  # logging's own value, before configure_logging clears it


def paired(label: str, rounds: int, with_trick, without_trick, unit: str, better: str = "lower") -> dict:
    """Alternate the two (the order flips every round); print and return the per-round ratios."""
    ratios, seen = [], {"with": [], "without": []}
    for round_ in range(rounds):
        order = [("with", with_trick), ("without", without_trick)]
        for name, measure in order if round_ % 2 == 0 else reversed(order):
            seen[name].append(measure())
        ratios.append(seen["with"][-1] / seen["without"][-1])
    median = statistics.median(ratios)
    print(f"{label}: with {statistics.median(seen['with']):.2f} {unit}, without "
          f"{statistics.median(seen['without']):.2f} {unit} (medians); ratio with/without per round "
          f"{' '.join(f'{r:.3f}' for r in ratios)}; median {median:.3f} ({better} is better)")
    return {"with": seen["with"], "without": seen["without"], "ratios": ratios, "median": median}


# ---- reevo: the hand-built PreparedRequest --------------------------------------------
class SessionClient(ReevoClient):
    """The same client sending its PATCH through `Session.request`, the way requests is meant to be used."""

    def patch_opportunity(self, opportunity_id, attributes, idempotency_key, now):
        with _measured("patch") as seen:  # the same metrics as the shipped client
            seen.response = self.session.request(
                "PATCH", f"{self.base_url}/api/v2/opportunity/{opportunity_id}",
                data=json.dumps({"attributes": attributes}, separators=(",", ":")).encode(),
                headers={"Idempotency-Key": idempotency_key, "Content-Type": "application/json"},
                timeout=self.timeout, allow_redirects=False)
        if seen.error is not None:
            return classify_error(seen.error)
        return classify(seen.response, now)


def bench_reevo(rounds: int, patches: int = 600) -> dict:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        port = free_port()
        upstream = stack.enter_context(Server("upstream", [sys.executable, str(BENCH / "upstream.py"), "--port",
                                                           str(port)], dict(bench_http.os.environ), Path(tmp), port))
        wait_until(lambda: bench_http.call(port, "GET", "/api/v2/health")[0] == 200, 10, "the upstream")
        url = f"http://127.0.0.1:{port}"
        clients = {kind: cls(url, "bench-key", Settings.connect_timeout, Settings.read_timeout)
                   for kind, cls in (("with", ReevoClient), ("without", SessionClient))}
        attributes = {"stage": "closed_won", "amount": "12.50", "next_step_details": "Subscription sub_1 is active"}

        def measure(client):
            def run() -> float:
                started = time.process_time()
                for i in range(patches):
                    outcome = client.patch_opportunity(f"opp-{i}", attributes, f"key-{i}", time.time())
                    assert outcome.kind == "delivered", outcome
                return (time.process_time() - started) * 1e6 / patches
            return run
        for client in clients.values():
            measure(client)()  # warm: connections open, code paths hot
        result = paired("reevo PATCH", rounds, measure(clients["with"]), measure(clients["without"]),
                        "µs CPU/PATCH")
        upstream.check_alive()
        return result


# ---- logging: logging._srcfile = None --------------------------------------------------
def bench_logging(rounds: int, lines: int = 20000) -> dict:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    logger = logging.getLogger("bridge.delivery")

    def measure(srcfile):
        def run() -> float:
            logging._srcfile, logging.logMultiprocessing = srcfile, srcfile is not None
            stream.seek(0)
            stream.truncate()
            started = time.process_time()
            for i in range(lines):
                log_state(logger, "delivered", source="stripe", event_id=f"evt_{i}", route="subscription-status",
                          status="delivered", latency_s=0.012)
            return (time.process_time() - started) * 1e6 / lines
        return run
    try:
        return paired("log line", rounds, measure(None), measure(LOGGING_SRCFILE), "µs CPU/line")
    finally:
        configure_logging("json")


# ---- switch: sys.setswitchinterval(0.001) in the gunicorn workers ----------------------
def bench_switch(rounds: int, seconds: float = 4.0, connections: int = 16, workers: int = 2) -> dict:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        settings = argparse.Namespace(workers=workers, threads=4, poll_interval=1.0)
        env = dict(bench_http.bench_env(folder, free_port(), settings), BRIDGE_DELIVERY_THREADS="0")
        env_of = {name: dict(env, BRIDGE_STORE_URL=f"sqlite:///{folder}/{name}.db",
                             PROMETHEUS_MULTIPROC_DIR=str(folder / f"metrics-{name}")) for name in ("with", "without")}
        servers = {
            "with": stack.enter_context(start_gunicorn("with", "app:app", env_of["with"], free_port(), folder,
                                                       workers)),
            "without": stack.enter_context(start_5ms_gunicorn(env_of["without"], free_port(), folder, workers)),
        }
        pids = {name: worker_pids(server.pid) for name, server in servers.items()}
        counter = iter(range(10_000))

        def measure(name):
            def run() -> float:
                bodies = folder / f"{name}-{next(counter)}.txt"
                bench_http.write_bodies(bodies, int(3000 * seconds), bodies.stem)
                load = bench_http.loaded(servers[name].port, bodies, argparse.Namespace(
                    connections=connections, wrk_threads=2), pids[name], seconds)
                bench_http.check_accepted(name, load, servers[name])
                return load["rps"]
            return run
        for name in servers:
            measure(name)()  # warm-up
        return paired("ingest", rounds, measure("with"), measure("without"), "requests/s", better="higher")


def start_5ms_gunicorn(env: dict, port: int, folder: Path, workers: int) -> Server:
    """The bridge under bench/gunicorn_5ms.conf.py: gunicorn.conf.py with CPython's default interval."""
    env = dict(env, BRIDGE_BIND=f"127.0.0.1:{port}")
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(BENCH / "gunicorn_5ms.conf.py"), "app:app"]
    server = Server("without", cmd, env, folder, port)
    try:
        wait_until(lambda: server.check_alive() or (bench_http.call(port, "GET", "/healthz")[0] == 200
                                                    and len(worker_pids(server.pid)) == workers),
                   30, "the 5 ms bridge to answer /healthz")
    except BaseException:
        server.stop()
        raise
    return server


BENCHES = {"reevo": bench_reevo, "logging": bench_logging, "switch": bench_switch}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="*", help=f"any of {', '.join(BENCHES)} (default: all)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    for name in args.benches:
        if name not in BENCHES:
            parser.error(f"unknown bench {name!r}; choose from {', '.join(BENCHES)}")
    return {name: BENCHES[name](args.rounds) for name in (args.benches or BENCHES)}


if __name__ == "__main__":
    main()
