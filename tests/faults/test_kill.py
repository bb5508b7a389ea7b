"""kill -9 the bridge with 100 events acknowledged; a restart on the same store finishes them all."""
import pytest

from sandbox.known import OPPORTUNITY_IDS
from bridge.store import DEAD, DELIVERED, DELIVERING, QUEUED, RETRYING, SUPERSEDED, open_store
from harness import assert_applied_at_most_once_in_effect, subscription_event
from helpers import wait_for
from redis_server import RedisServer

EVENTS = 100
FINISHED = {DELIVERED, SUPERSEDED, DEAD}


def store_counts(url: str) -> dict:
    store = open_store(url)
    try:
        return store.counts()
    finally:
        store.close()


def all_deliveries(url: str) -> dict:
    store = open_store(url)
    try:
        return {n: store.deliveries_for_event("stripe", f"evt_fault_{n:04d}") for n in range(EVENTS)}
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/killed.db"
        return
    # fsync on every write: what Redis acknowledged survives even its own crash
    server = RedisServer(tmp_path / "redis", "--appendfsync", "always").start()
    yield server.url
    server.stop()


def test_kill_9_with_100_acknowledged_events_loses_nothing(sandbox, make_bridge, store_url):
    sandbox.fault(count=8, status=503, headers={"Retry-After": "3"}, method="PATCH")  # waiting to retry
    # In flight at the kill, and longer than the read timeout (1 s) on a loaded machine: their results
    # are unknown, so each opportunity is held (3 s after the timeout, or after the killed lease) before
    # anything newer goes to it (see docs/delivery.md).
    sandbox.fault(count=20, delay=0.8, method="PATCH")
    bridge = make_bridge(store_url, BRIDGE_DELIVERY_THREADS=2)
    for number in range(EVENTS):
        event = subscription_event(number, OPPORTUNITY_IDS[number % len(OPPORTUNITY_IDS)])
        assert bridge.post_stripe(event).status_code == 202
    wait_for(lambda: store_counts(store_url).get(RETRYING) and store_counts(store_url).get(DELIVERING),
             what="some deliveries waiting to retry and some in flight")
    bridge.kill9()

    at_kill = store_counts(store_url)
    assert at_kill.get(QUEUED) and at_kill.get(RETRYING) and at_kill.get(DELIVERING), at_kill
    assert sum(at_kill.values()) == EVENTS

    make_bridge(store_url, BRIDGE_DELIVERY_THREADS=2)
    wait_for(lambda: set(store_counts(store_url)) <= FINISHED, timeout=60, what="every delivery to finish")

    records = all_deliveries(store_url)
    assert all(len(found) == 1 for found in records.values()), "every acknowledged event is in the store"
    assert {d.status for found in records.values() for d in found} <= {DELIVERED, SUPERSEDED}
    applied = sandbox.applied()
    assert_applied_at_most_once_in_effect(applied)
    for index, opportunity in enumerate(OPPORTUNITY_IDS):
        newest = max(n for n in range(EVENTS) if n % len(OPPORTUNITY_IDS) == index)
        state = sandbox.opportunity(opportunity)
        assert state["next_step_details"]["value"] == f"Stripe subscription sub_{newest:04d} is active"
        assert state["amount"]["value"] == {"amount": f"{newest:.2f}"}
