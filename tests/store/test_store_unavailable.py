"""A store that cannot take work: StoreUnavailable, nothing half-written, senders get 503, and back by itself."""
import sqlite3

import pytest

from bridge.store import ACCEPTED, DUPLICATE, NewDelivery, StoreUnavailable, open_store
from store_samples import OPP_B, T0, delivery, event

SUBSCRIPTION = "stripe/subscription-active/payload.json"
INVOICE = "stripe/invoice-paid/payload.json"


class Locked:
    """Another process holds SQLite's write lock (as a long transaction or a stuck writer would)."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc):
        self.db.execute("ROLLBACK")
        self.db.close()


# ---- the store itself ----------------------------------------------------------------------
def test_locked_sqlite_is_unavailable_then_resumes(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/s.db?timeout=0.2")
    with Locked(tmp_path / "s.db"):
        with pytest.raises(StoreUnavailable, match="locked"):
            store.accept(event(), [delivery()], T0)
        with pytest.raises(StoreUnavailable):
            store.claim(1, 30, T0)
        assert store.get_event("stripe", "evt_1") is None, "readers still read (WAL)"
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    store.close()


def test_full_sqlite_is_unavailable_and_nothing_is_half_written(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    assert store.accept(event("small"), [delivery()], T0) == ACCEPTED
    with store._write_connection() as db:  # the disk is "full": the file may not grow by a page
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count={pages}")
    big = event("big", data={"blob": "x" * 200_000})
    with pytest.raises(StoreUnavailable, match="full"):
        store.accept(big, [delivery(), delivery(OPP_B, "second")], T0)
    assert store.get_event("stripe", "big") is None and store.deliveries_for_event("stripe", "big") == []
    with store._write_connection() as db:  # space again
        db.execute("PRAGMA max_page_count=1073741823")
    assert store.accept(big, [delivery(), delivery(OPP_B, "second")], T0) == ACCEPTED
    store.close()


def test_redis_down_is_unavailable_then_resumes(private_redis):
    # appendfsync always: with everysec a busy disk lets Redis postpone the AOF write(2) past
    # its answer, and the kill -9 below then loses an acknowledged write (seen under load).
    server = private_redis("--appendfsync", "always")
    store = open_store(server.url)
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    server.kill()
    for call in (lambda: store.accept(event("e2"), [delivery()], T0), lambda: store.claim(1, 30, T0),
                 store.ping, store.counts):
        with pytest.raises(StoreUnavailable):
            call()
    server.start()
    assert store.accept(event(), [delivery()], T0) == DUPLICATE
    assert store.accept(event("e2"), [delivery()], T0) == ACCEPTED
    store.close()


def test_redis_out_of_memory_is_unavailable_and_nothing_is_half_written(private_redis):
    server = private_redis()
    store = open_store(server.url)
    admin = server.client()
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory", used + 400_000)
    stored, refused = 0, None
    for number in range(50):
        try:
            store.accept(event(f"e{number}", data={"blob": "x" * 50_000}),
                         [delivery(f"o{number}"), NewDelivery("two", {"id": f"p{number}"}, {"stage": "s"})], T0)
            stored += 1
        except StoreUnavailable as exc:
            refused = (number, str(exc))
            break
    assert refused and "maxmemory" in refused[1], refused
    assert store.get_event("stripe", f"e{refused[0]}") is None
    assert store.counts() == {"queued": 2 * stored}, "every stored event has all its deliveries"
    admin.config_set("maxmemory", 0)
    assert store.accept(event(f"e{refused[0]}"), [delivery()], T0) == ACCEPTED
    store.close()


# ---- what the sender sees -------------------------------------------------------------------
def assert_retry_later(response):
    assert response.status_code == 503, response.json
    assert response.json["reason"] == "store_unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_sender_gets_503_while_redis_is_down_and_202_once_it_is_back(make_bridge, private_redis):
    server = private_redis("--appendfsync", "always")  # see test_redis_down_is_unavailable_then_resumes
    bridge = make_bridge(BRIDGE_STORE_URL=server.url, BRIDGE_REDIS_PREFIX="intake:")
    assert bridge.post("stripe", SUBSCRIPTION).status_code == 202
    server.kill()
    assert_retry_later(bridge.post("stripe", INVOICE))
    assert bridge.client.get("/readyz?scope=ingest").status_code == 503
    server.start()
    assert bridge.post("stripe", INVOICE).status_code == 202
    assert bridge.post("stripe", SUBSCRIPTION).status_code == 200, "what was acknowledged survived the restart"
    assert bridge.client.get("/readyz?scope=ingest").status_code == 200


def test_sender_gets_503_while_sqlite_is_locked_and_202_once_it_is_free(make_bridge, tmp_path):
    path = tmp_path / "locked.db"
    bridge = make_bridge(BRIDGE_STORE_URL=f"sqlite:///{path}?timeout=0.2")
    with Locked(path):
        assert_retry_later(bridge.post("stripe", SUBSCRIPTION))
    assert bridge.post("stripe", SUBSCRIPTION).status_code == 202
    assert bridge.deliver() == 1


def test_a_write_batch_held_by_another_process_times_out_as_unavailable(tmp_path):
    import fcntl
    import os
    store = open_store(f"sqlite:///{tmp_path}/s.db?timeout=0.2")
    fd = os.open(f"{tmp_path}/s.db-writer.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # what another bridge process holds during its batch
        with pytest.raises(StoreUnavailable, match="locked"):
            store.accept(event(), [delivery()], T0)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    store.close()
