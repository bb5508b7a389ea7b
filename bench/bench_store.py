"""Store speed per backend: accept, and claim+complete, next to a bare write of the same size.

The baseline is the cheapest durable write the backend could do with the same payload:
a bare INSERT (sqlite3, same file system, same pragmas: WAL, synchronous=FULL, one
transaction each) for SQLite, the same INSERT on an in-memory database for memory://, and
a bare SET on the same redis-server (AOF on, appendfsync everysec) for Redis. Ratios are
op time / baseline time, measured in this process in this run, so they compare across
machines; the absolute numbers do not. Starts its own redis-server on a free port.
"""
from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from bridge.store import EventRecord, NewDelivery, open_store

ROOT = Path(__file__).resolve().parents[1]
BODY = json.loads((ROOT / "tests/fixtures/stripe/subscription-active/payload.json").read_text())
ATTRIBUTES = {"stage": "closed_won", "amount": 10, "next_step_details": "Stripe subscription sub_1 is active"}
PAYLOAD = json.dumps([BODY, ATTRIBUTES])  # what one accept writes, for the baseline
ROUNDS = {"memory": 3000, "sqlite": 1000, "redis": 3000}


def event(number: int) -> EventRecord:
    return EventRecord("stripe", f"evt_{number}", "t", "2024-01-01T00:00:00.000000Z", f"hash-{number}", data=BODY)


def rate(fn, rounds: int) -> float:
    """Calls per second of fn(i) over `rounds` calls."""
    start = time.perf_counter()
    for i in range(rounds):
        fn(i)
    return rounds / (time.perf_counter() - start)


def store_rates(store, rounds: int) -> tuple[float, float]:
    """(accepts/s, claim+completes/s) for one delivery per event, each for its own opportunity."""
    accept = rate(lambda i: store.accept(event(i), [NewDelivery("r", {"id": f"opp-{i}"}, ATTRIBUTES)], 1.0e9),
                  rounds)

    def claim_complete(i):
        (record,) = store.claim(1, 60, 1.0e9 + 1)
        store.complete(record.id, record.lease_token, 1.0e9 + 1, opportunity_id=f"opp-{i}",
                       applied={"stage": "2024-01-01T00:00:00.000000Z"})
    return accept, rate(claim_complete, rounds)


def bare_insert_rate(path: str, rounds: int) -> float:
    """Bare INSERTs/s of the same payload, with the store's pragmas, one transaction each."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE bare (id INTEGER PRIMARY KEY, k TEXT, v TEXT)")
    result = rate(lambda i: db.execute("INSERT INTO bare (k, v) VALUES (?, ?)", (f"k{i}", PAYLOAD)), rounds)
    db.close()
    return result


def bare_set_rate(client: redis.Redis, rounds: int) -> float:
    return rate(lambda i: client.set(f"bench-bare:{i}", PAYLOAD), rounds)


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """A private redis-server with AOF on (everysec), as docs/operating.md recommends."""
    binary = shutil.which("redis-server")
    if not binary:
        raise SystemExit("redis-server is not installed: scripts/ensure-packages redis-server=redis-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                "yes", "--appendfsync", "everysec", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            redis.Redis.from_url(url).ping()
            return process, url
        except redis.ConnectionError:
            time.sleep(0.05)  # real-time: waiting for the server we just started
    process.kill()
    raise SystemExit("redis-server did not start")


def measure(folder: Path) -> list[dict]:
    """One row per backend and operation."""
    rows = []

    def add(backend, store_url, baseline_name, baseline):
        store = open_store(store_url, redis_prefix="bench:")
        accept, claim = store_rates(store, ROUNDS[backend])
        store.close()
        for op, ops in (("accept", accept), ("claim+complete", claim)):
            rows.append({"backend": backend, "op": op, "ops_per_s": ops, "baseline": baseline_name,
                         "baseline_ops_per_s": baseline, "ratio": baseline / ops})

    add("memory", "memory://", "bare INSERT (:memory:)", bare_insert_rate(":memory:", ROUNDS["memory"]))
    add("sqlite", f"sqlite:///{folder}/bench.db", "bare INSERT (WAL, FULL)",
        bare_insert_rate(str(folder / "bare.db"), ROUNDS["sqlite"]))
    process, url = start_redis(folder)
    try:
        client = redis.Redis.from_url(url)
        add("redis", url, "bare SET (AOF everysec)", bare_set_rate(client, ROUNDS["redis"]))
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    return rows


def main() -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        rows = measure(Path(folder))
    print(f"payload: {len(PAYLOAD)} bytes per event; ratio = op time / baseline time (lower is better)")
    print(f"{'backend':8} {'operation':15} {'ops/s':>9}   {'baseline':26} {'ops/s':>9}   {'ratio':>6}")
    for r in rows:
        print(f"{r['backend']:8} {r['op']:15} {r['ops_per_s']:9.0f}   {r['baseline']:26} "
              f"{r['baseline_ops_per_s']:9.0f}   {r['ratio']:5.2f}x")
    return rows


if __name__ == "__main__":
    main()
