"""The store contract, run unchanged against every backend."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from bridge.store import (ACCEPTED, CONFLICT, DEAD, DELIVERED, DELIVERING, DUPLICATE, QUEUED, RETRYING,
                          EventRecord, NewDelivery, StoreConfigError, StoreUnavailable, open_store)

OPP_A = "11111111-1111-4111-8111-111111111111"
OPP_B = "22222222-2222-4222-8222-222222222222"
T0 = 1_700_000_000.0


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/store.db"
    store = open_store(url)
    yield store
    store.close()


def event(event_id="evt_1", body_hash="h1"):
    return EventRecord("stripe", event_id, "t", "2024-01-01T00:00:00.000000Z", body_hash, data={"id": event_id})


def delivery(opp=OPP_A, route="r"):
    return NewDelivery(route, {"id": opp}, {"stage": "closed_won"})


def test_accept_then_duplicate_then_conflict(store):
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    assert store.accept(event(), [delivery()], T0) == DUPLICATE
    assert store.accept(event(body_hash="other"), [delivery()], T0) == CONFLICT
    assert store.get_event("stripe", "evt_1")["conflicts"] == 1
    assert store.counts() == {QUEUED: 1}


def test_twenty_concurrent_accepts_give_one_record(store):
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: store.accept(event(), [delivery()], T0), range(20)))
    assert results.count(ACCEPTED) == 1
    assert results.count(DUPLICATE) == 19
    assert store.counts() == {QUEUED: 1}


def test_claim_leases_and_expired_lease_is_claimed_again(store):
    store.accept(event(), [delivery()], T0)
    first = store.claim(10, lease_seconds=30, now=T0)
    assert [r.status for r in first] == [DELIVERING] and first[0].attempts == 1
    assert store.claim(10, 30, T0 + 29) == []
    again = store.claim(10, 30, T0 + 31)
    assert len(again) == 1 and again[0].attempts == 2
    assert not store.complete(first[0].id, first[0].lease_token, T0 + 32), "a lost lease cannot complete"
    assert store.complete(again[0].id, again[0].lease_token, T0 + 32)
    assert store.get_delivery(again[0].id).status == DELIVERED


def test_never_two_deliveries_for_one_opportunity_at_once(store):
    store.accept(event("e1"), [delivery(OPP_A)], T0)
    store.accept(event("e2"), [delivery(OPP_A)], T0)
    store.accept(event("e3"), [delivery(OPP_B)], T0)
    claimed = store.claim(10, 30, T0)
    assert sorted(r.target["id"] for r in claimed) == [OPP_A, OPP_B]
    assert store.claim(10, 30, T0) == []
    a = next(r for r in claimed if r.target["id"] == OPP_A)
    store.complete(a.id, a.lease_token, T0)
    assert [r.event_id for r in store.claim(10, 30, T0)] == ["e2"]


def test_retry_at_waits_until_due_and_pause_gives_the_attempt_back(store):
    store.accept(event(), [delivery()], T0)
    (record,) = store.claim(1, 30, T0)
    assert store.retry_at(record.id, record.lease_token, T0 + 10, {"status": 503}, T0)
    stored = store.get_delivery(record.id)
    assert (stored.status, stored.last_error) == (RETRYING, {"status": 503})
    assert store.claim(1, 30, T0 + 9) == []
    (record,) = store.claim(1, 30, T0 + 10)
    assert record.attempts == 2
    store.retry_at(record.id, record.lease_token, T0 + 20, {"status": 401}, T0 + 10, count_attempt=False)
    assert store.get_delivery(record.id).attempts == 1


def test_dead_keeps_the_error_and_is_never_claimed(store):
    store.accept(event(), [delivery(), NewDelivery("bad", {}, {}, status=DEAD, error={"code": "x"})], T0)
    (record,) = store.claim(10, 30, T0)
    assert store.dead(record.id, record.lease_token, {"status": 422, "code": "unknown_field"}, T0)
    assert store.claim(10, 30, T0 + 1000) == []
    assert store.counts() == {DEAD: 2}
    assert [d.last_error["code"] for d in store.deliveries_for_event("stripe", "evt_1")] == ["unknown_field", "x"]


def test_sqlite_survives_reopen(tmp_path):
    url = f"sqlite:///{tmp_path}/durable.db"
    first = open_store(url)
    first.accept(event(), [delivery()], T0)
    first.close()
    second = open_store(url)
    assert second.accept(event(), [delivery()], T0) == DUPLICATE
    assert len(second.claim(5, 30, T0)) == 1


def test_unwritable_sqlite_is_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        open_store(f"sqlite:///{blocker}/sub/store.db")


@pytest.mark.parametrize("url", ["postgres://u:hunter2@db/x", "sqlite://", "nonsense"])
def test_bad_store_url_is_a_clear_error_without_password(url):
    with pytest.raises(StoreConfigError) as error:
        open_store(url)
    assert "BRIDGE_STORE_URL" in str(error.value)
    assert "hunter2" not in str(error.value)
