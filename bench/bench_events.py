"""The console's queries on a store holding 200,000 events, next to a baseline query of the same store.

Seeds SQLite and Redis with BENCH_EVENTS events (default 200,000: 5 sources, 10 % ignored, one
delivery each for the others over 20,000 opportunities — 90 % delivered, 4 % dead, 2 % retrying,
4 % queued), through a bulk path used only here: the store's own INSERT statements in large
transactions for SQLite, its own accept script pipelined for Redis (so the Lua-kept indexes are
built exactly as in production). Then times each query of the event list, the issues, an
opportunity's history and one event's detail (median of several runs) and reports it as a
ratio to the baseline: fetching one event by its key (SQLite: primary key SELECT; Redis: HGETALL)
on the same store in the same run. Starts its own redis-server on a free port.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run alone: `make bench-events`

from bench_store import start_redis  # noqa: E402

from bridge.ops.event_detail import event_detail  # noqa: E402
from bridge.ops.issues import issues  # noqa: E402
from bridge.ops.opportunity_history import opportunity_history  # noqa: E402
from bridge.store import DEAD, DELIVERED, IGNORED, QUEUED, RETRYING, EventRecord, NewDelivery, open_store  # noqa: E402
from bridge.store.events_query import encode_event_cursor  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", 200_000))
SOURCES = ("stripe", "hubspot", "pipedrive", "shopify", "calendly")
TYPES = ("invoice.paid", "customer.subscription.updated", "deal.updated", "order.created", "invitee.created")
OPPORTUNITIES = 20_000
T0 = 1_700_000_000.0
STEP = 0.01  # seconds between two events' arrival
BATCH = 5000
RUNS = 7
NEEDLE = "needle-in-a-haystack"


def seeded_events(count: int):
    """(EventRecord, [NewDelivery], received_at) for `count` events, the same every run (seeded random)."""
    rng = random.Random(16)
    for n in range(count):
        source = SOURCES[n % len(SOURCES)]
        kind = TYPES[rng.randrange(len(TYPES))] if n % 997 else "rare.type"
        data = {"id": f"evt_{n:07d}", "type": kind, "customer": f"Customer {rng.randrange(5000)}",
                "amount": rng.randrange(100_000), "note": NEEDLE if n % 50_000 == 7 else "routine update"}
        if rng.random() < 0.10:
            yield EventRecord(source, data["id"], kind, None, f"h{n}", outcome=IGNORED, reason="no_route_matched",
                              data=data), [], T0 + n * STEP
            continue
        roll = rng.random()
        status, error = DELIVERED, None
        if roll < 0.04:
            status, error = DEAD, {"status": 422, "code": rng.choice(("validation_error", "unknown_field"))}
        elif roll < 0.06:
            status, error = RETRYING, {"status": 503, "code": "service_unavailable"}
        elif roll < 0.10:
            status = QUEUED
        target = {"id": f"opp-{rng.randrange(OPPORTUNITIES):05d}"}
        delivery = NewDelivery(f"{source}-route", target, {"amount": data["amount"]}, status=status, error=error)
        yield EventRecord(source, data["id"], kind, None, f"h{n}", data=data), [delivery], T0 + n * STEP


def seed_sqlite(store, count: int) -> None:
    """The SQLite store's own INSERTs, BATCH events per transaction."""
    from bridge.store.sqlite import _INSERT_DELIVERY, _INSERT_EVENT
    batch: list = []

    def flush():
        with store._transaction() as db:
            db.executemany(_INSERT_EVENT, [row for row, _ in batch])
            db.executemany(_INSERT_DELIVERY, [d for _, rows in batch for d in rows])
        batch.clear()

    for event, deliveries, at in seeded_events(count):
        batch.append(store._accept_rows(event, deliveries, at))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()


def seed_redis(store, count: int) -> None:
    """The Redis store's own accept script, pipelined BATCH calls per round trip."""
    script = store._scripts["accept"]
    pipe = store.client.pipeline(transaction=False)
    for n, (event, deliveries, at) in enumerate(seeded_events(count), 1):
        keys, args = store._accept_call(event, deliveries, at)
        script(keys=keys, args=[store.prefix, *args], client=pipe)
        if n % BATCH == 0:
            pipe.execute()
    pipe.execute()


def timed(fn) -> float:
    """Median seconds of one call over RUNS calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def queries(store) -> dict:
    """The console's main queries on the seeded store."""
    middle = encode_event_cursor(T0 + EVENTS // 2 * STEP, 10 ** 12)
    opportunity = "opp-00042"
    newest = store.list_events({}, 1)[0][0]
    now = T0 + EVENTS * STEP
    return {
        "events: first page (50)": lambda: store.list_events({}, 50),
        "events: a page halfway down": lambda: store.list_events({}, 50, middle),
        "events: one source": lambda: store.list_events({"source": "hubspot"}, 50),
        "events: ignored": lambda: store.list_events({"status": IGNORED}, 50),
        "events: one opportunity": lambda: store.list_events({"opportunity": opportunity}, 50),
        "events: with a dead delivery": lambda: store.list_events({"delivery_status": DEAD}, 50),
        "events: delivered (scan)": lambda: store.list_events({"delivery_status": DELIVERED}, 50),
        "events: a rare type (scan)": lambda: store.list_events({"type": "rare.type"}, 50),
        "events: text search (scan)": lambda: store.list_events({"q": NEEDLE}, 50),
        "issues (grouped)": lambda: issues(store, now),
        "opportunity history": lambda: opportunity_history(store, opportunity),
        "event detail": lambda: event_detail(store, {}, newest["source"], newest["event_id"]),
    }


def measure(name: str, store, baseline_name: str, baseline) -> list[dict]:
    base = timed(baseline)
    rows = []
    for label, fn in queries(store).items():
        took = timed(fn)
        rows.append({"backend": name, "query": label, "ms": took * 1000, "baseline": baseline_name,
                     "baseline_ms": base * 1000, "ratio": took / base})
    return rows


def run(folder: Path) -> tuple[list[dict], dict]:
    rows, seeding = [], {}
    sqlite = open_store(f"sqlite:///{folder}/events.db")
    start = time.perf_counter()
    seed_sqlite(sqlite, EVENTS)
    seeding["sqlite"] = time.perf_counter() - start

    def sqlite_baseline():
        with sqlite._reading() as db:
            db.execute("SELECT * FROM events WHERE source=? AND event_id=?", ("stripe", "evt_0100000")).fetchall()
    rows += measure("sqlite", sqlite, "SELECT one event by key", sqlite_baseline)
    sqlite.close()
    process, url = start_redis(folder)
    try:
        store = open_store(url, redis_prefix="bench-events:")
        start = time.perf_counter()
        seed_redis(store, EVENTS)
        seeding["redis"] = time.perf_counter() - start
        key = store._key("e", store._event_member("stripe", "evt_0100000"))
        rows += measure("redis", store, "HGETALL one event", lambda: store.client.hgetall(key))
        store.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    return rows, seeding


def main() -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        rows, seeding = run(Path(folder))
    print(f"{EVENTS} events per store; seeded in " + ", ".join(f"{k} {v:.1f}s" for k, v in seeding.items())
          + "; ratio = query time / baseline time (median of 7)")
    print(f"{'backend':7} {'query':32} {'ms':>8}   {'baseline':26} {'ms':>7}   {'ratio':>7}")
    for r in rows:
        print(f"{r['backend']:7} {r['query']:32} {r['ms']:8.2f}   {r['baseline']:26} {r['baseline_ms']:7.3f}   "
              f"{r['ratio']:6.0f}x")
    return rows


if __name__ == "__main__":
    main()
