"""The store contract, run unchanged against every backend (memory, sqlite, a real redis-server)."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from bridge.store import (ACCEPTED, CONFLICT, DEAD, DELIVERED, DELIVERING, DUPLICATE, QUEUED, RETRYING, SUPERSEDED,
                          Completion, InvalidQuery, NewDelivery)
from store_samples import DAY, OPP_A, OPP_B, T0, delivery, event


def claim_one(store, now=T0):
    (record,) = store.claim(1, 30, now)
    return record


# ---- accept -----------------------------------------------------------------------------
def test_accept_then_duplicate_then_conflict(store):
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    assert store.accept(event(), [delivery()], T0) == DUPLICATE
    assert store.accept(event(body_hash="other"), [delivery()], T0) == CONFLICT
    assert store.accept(event(body_hash="third"), [delivery()], T0) == CONFLICT
    assert store.get_event("stripe", "evt_1")["conflicts"] == 2
    assert store.counts() == {QUEUED: 1}


def test_twenty_concurrent_accepts_give_one_record(store):
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: store.accept(event(), [delivery()], T0), range(20)))
    assert results.count(ACCEPTED) == 1
    assert results.count(DUPLICATE) == 19
    assert store.counts() == {QUEUED: 1}
    assert len(store.deliveries_for_event("stripe", "evt_1")) == 1


def test_accept_keeps_the_event_and_each_delivery(store):
    assert store.accept(event(), [delivery(OPP_A, "a"), delivery(OPP_B, "b")], T0) == ACCEPTED
    assert store.accept(event("evt_2", outcome="ignored"), [], T0 + 1) == ACCEPTED
    stored = store.get_event("stripe", "evt_1")
    assert stored == {"source": "stripe", "event_id": "evt_1", "type": "t",
                      "occurred_at": "2024-01-01T00:00:00.000000Z", "outcome": ACCEPTED, "reason": None,
                      "received_at": T0, "conflicts": 0, "duplicates": 0, "data": {"id": "evt_1"}}
    assert store.get_event("stripe", "evt_2")["outcome"] == "ignored"
    assert store.get_event("stripe", "nope") is None
    first, second = store.deliveries_for_event("stripe", "evt_1")
    assert isinstance(first.id, int) and first.id < second.id
    assert (first.route, first.target, first.attributes, first.status, first.attempts) == (
        "a", {"id": OPP_A}, {"stage": "closed_won"}, QUEUED, 0)
    assert (first.received_at, first.next_attempt_at, first.occurred_at) == (T0, T0, "2024-01-01T00:00:00.000000Z")
    assert store.get_delivery(second.id).route == "b"
    assert store.get_delivery(999_999) is None
    assert first.idempotency_key == store.get_delivery(first.id).idempotency_key


# ---- claim ------------------------------------------------------------------------------
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


def test_deliveries_for_one_opportunity_go_in_received_order(store):
    for number in range(12):  # ids 1..12: more than one digit, so order is numeric, not textual
        store.accept(event(f"e{number:02d}"), [delivery(OPP_A)], T0)
    seen = []
    for step in range(12):
        record = claim_one(store, T0 + step)
        seen.append(record.event_id)
        assert store.complete(record.id, record.lease_token, T0 + step)
    assert seen == [f"e{number:02d}" for number in range(12)]


def test_a_busy_opportunity_does_not_hold_back_the_others(store):
    for number in range(40):
        store.accept(event(f"a{number}"), [delivery(OPP_A)], T0)
    store.accept(event("b"), [delivery(OPP_B)], T0 + 1)
    assert claim_one(store, T0 + 1).target == {"id": OPP_A}
    assert [r.target for r in store.claim(10, 30, T0 + 1)] == [{"id": OPP_B}]


def test_a_retried_claim_with_its_token_gets_the_same_deliveries(store):
    store.accept(event("e1"), [delivery(OPP_A)], T0)
    store.accept(event("e2"), [delivery(OPP_B)], T0)
    first = store.claim(10, 30, T0, token="tok-1")
    again = store.claim(10, 30, T0, token="tok-1")
    assert sorted(r.id for r in again) == sorted(r.id for r in first) and len(first) == 2
    assert all(r.lease_token == "tok-1" and r.attempts == 1 for r in again)
    assert store.claim(10, 30, T0, token="tok-2") == []


def test_a_repeated_finish_with_its_token_is_still_true(store):
    store.accept(event(), [delivery()], T0)
    record = claim_one(store)
    assert store.complete(record.id, record.lease_token, T0 + 1)
    assert store.complete(record.id, record.lease_token, T0 + 1), "a resent complete reports success"
    assert not store.dead(record.id, record.lease_token, {"code": "x"}, T0 + 1), "but not another outcome"
    assert not store.complete(record.id, "someone-else", T0 + 1)
    assert store.counts() == {DELIVERED: 1}


def test_retry_at_waits_until_due_and_pause_gives_the_attempt_back(store):
    store.accept(event(), [delivery()], T0)
    record = claim_one(store)
    assert store.retry_at(record.id, record.lease_token, T0 + 10, {"status": 503}, T0)
    stored = store.get_delivery(record.id)
    assert (stored.status, stored.last_error, stored.next_attempt_at) == (RETRYING, {"status": 503}, T0 + 10)
    assert store.claim(1, 30, T0 + 9) == []
    record = claim_one(store, T0 + 10)
    assert record.attempts == 2
    store.retry_at(record.id, record.lease_token, T0 + 20, {"status": 401}, T0 + 10, count_attempt=False)
    assert store.get_delivery(record.id).attempts == 1
    record = claim_one(store, T0 + 20)
    assert store.retry_at(record.id, record.lease_token, T0 + 20, None, T0 + 20, count_attempt=False)
    stored = store.get_delivery(record.id)
    assert (stored.status, stored.attempts, stored.last_error) == (RETRYING, 1, None), "given back, error cleared"


def test_dead_keeps_the_error_and_is_never_claimed(store):
    store.accept(event(), [delivery(), NewDelivery("bad", {}, {}, status=DEAD, error={"code": "x"})], T0)
    (record,) = store.claim(10, 30, T0)
    assert store.dead(record.id, record.lease_token, {"status": 422, "code": "unknown_field"}, T0)
    assert store.claim(10, 30, T0 + 1000) == []
    assert store.counts() == {DEAD: 2}
    assert [d.last_error["code"] for d in store.deliveries_for_event("stripe", "evt_1")] == ["unknown_field", "x"]


def test_supersede_is_a_finished_state(store):
    store.accept(event("e1"), [delivery(OPP_A)], T0)
    store.accept(event("e2"), [delivery(OPP_A)], T0)
    record = claim_one(store)
    assert store.supersede(record.id, record.lease_token, T0 + 1, {"code": "superseded"})
    stored = store.get_delivery(record.id)
    assert (stored.status, stored.last_error) == (SUPERSEDED, {"code": "superseded"})
    assert claim_one(store, T0 + 1).event_id == "e2", "the opportunity is free again"
    assert store.counts() == {SUPERSEDED: 1, DELIVERING: 1}


# ---- stale guard ----------------------------------------------------------------------------
def test_complete_records_the_latest_applied_time_per_field(store):
    late, early = "2024-05-01T10:00:00.000000Z", "2024-04-01T10:00:00.000000Z"
    for number in range(3):
        store.accept(event(f"e{number}"), [delivery(OPP_A)], T0)
    assert store.field_times(OPP_A, ["stage", "amount"]) == {}
    record = claim_one(store)
    assert store.complete(record.id, record.lease_token, T0, opportunity_id=OPP_A,
                          applied={"stage": late, "amount": early})
    record = claim_one(store)
    assert store.complete(record.id, record.lease_token, T0, opportunity_id=OPP_A,
                          applied={"stage": early, "amount": late})
    assert store.field_times(OPP_A, ["stage", "amount", "next_step_details"]) == {"stage": late, "amount": late}
    assert store.field_times(OPP_B, ["stage"]) == {}
    assert store.field_times(OPP_A, []) == {}
    record = claim_one(store)
    assert store.complete(record.id, record.lease_token, T0)  # the plain form still works
    assert store.get_delivery(record.id).status == DELIVERED


def test_a_lost_lease_records_no_field_time(store):
    store.accept(event(), [delivery(OPP_A)], T0)
    record = claim_one(store)
    again = claim_one(store, T0 + 31)
    assert not store.complete(record.id, record.lease_token, T0 + 32, opportunity_id=OPP_A,
                              applied={"stage": "2024-05-01T10:00:00.000000Z"})
    assert store.field_times(OPP_A, ["stage"]) == {}
    assert store.complete(again.id, again.lease_token, T0 + 32, opportunity_id=OPP_A, applied={"stage": "x"})
    assert store.field_times(OPP_A, ["stage"]) == {"stage": "x"}


# ---- replay -------------------------------------------------------------------------------
def finish_all(store, now, how="dead"):
    """Claim everything due and finish it one way; returns the records."""
    finished = []
    while True:
        records = store.claim(50, 30, now)
        if not records:
            return finished
        for r in records:
            if how == "dead":
                assert store.dead(r.id, r.lease_token, {"code": "unknown_field", "status": 422}, now)
            else:
                assert store.complete(r.id, r.lease_token, now)
        finished += records


def test_replay_by_id_queues_again_with_history(store):
    store.accept(event("e1"), [delivery(OPP_A), NewDelivery("bad", {}, {}, status=DEAD, error={"code": "m"})], T0)
    (dead,) = finish_all(store, T0)
    store.accept(event("e2"), [delivery(OPP_B)], T0)
    unresolved = store.deliveries_for_event("stripe", "e1")[1]
    queued = store.deliveries_for_event("stripe", "e2")[0]
    assert store.replay(ids=[queued.id], now=T0) == 0, "queued already"
    busy = claim_one(store)
    assert busy.id == queued.id and store.complete(busy.id, busy.lease_token, T0)
    assert store.replay(ids=[dead.id, unresolved.id, 424242], now=T0 + 100) == 1
    replayed = store.get_delivery(dead.id)
    assert (replayed.status, replayed.attempts, replayed.next_attempt_at, replayed.last_error) == (
        QUEUED, 0, T0 + 100, None)
    assert replayed.extra["history"] == [{"replayed_at": T0 + 100, "status": DEAD, "attempts": 1,
                                          "last_error": {"code": "unknown_field", "status": 422}}]
    assert store.get_delivery(unresolved.id).status == DEAD, "a mapping failure has nothing to replay"
    assert store.claim(10, 30, T0 + 99) == []
    record = claim_one(store, T0 + 100)
    assert (record.id, record.attempts) == (dead.id, 1)


def test_replay_never_touches_queued_or_in_flight_deliveries(store):
    store.accept(event("e1"), [delivery(OPP_A)], T0)
    store.accept(event("e2"), [delivery(OPP_B)], T0)
    leased = claim_one(store)
    assert store.replay(filter={"source": "stripe"}, now=T0) == 0
    assert store.replay(ids=[leased.id], filter={"status": [QUEUED, DELIVERING]}, now=T0) == 0
    assert store.complete(leased.id, leased.lease_token, T0)


def test_replay_by_filter(store):
    store.accept(event("s1"), [delivery(OPP_A, "r1")], T0)
    store.accept(event("s2"), [delivery(OPP_B, "r2")], T0 + DAY)
    store.accept(event("h1", source="hubspot"), [delivery("33333333-3333-4333-8333-333333333333", "r1")], T0)
    finish_all(store, T0 + DAY, "dead")
    assert store.replay(filter={"status": DEAD, "source": "stripe", "route": "r1"}, now=T0 + 2 * DAY) == 1
    assert store.get_delivery(store.deliveries_for_event("stripe", "s1")[0].id).status == QUEUED
    assert store.replay(filter={"received_from": T0 + DAY, "received_to": T0 + DAY + 1}, now=T0 + 2 * DAY) == 1
    assert store.get_delivery(store.deliveries_for_event("stripe", "s2")[0].id).status == QUEUED
    assert store.replay(filter={"status": DELIVERED}, now=T0 + 2 * DAY) == 0
    assert store.replay(filter={"opportunity": "33333333-3333-4333-8333-333333333333"}, now=T0 + 2 * DAY) == 1
    assert store.counts() == {QUEUED: 3}


def test_replay_of_delivered_and_superseded(store):
    store.accept(event("e1"), [delivery(OPP_A)], T0)
    store.accept(event("e2"), [delivery(OPP_B)], T0)
    a, b = store.claim(2, 30, T0)
    store.complete(a.id, a.lease_token, T0)
    store.supersede(b.id, b.lease_token, T0, {"code": "superseded"})
    assert store.replay(filter={"status": [DELIVERED, SUPERSEDED]}, now=T0 + 5) == 2
    assert {r.id for r in store.claim(5, 30, T0 + 5)} == {a.id, b.id}


def test_replay_needs_ids_or_a_filter(store):
    with pytest.raises(InvalidQuery):
        store.replay(now=T0)


# ---- listing --------------------------------------------------------------------------------
def test_list_pages_through_everything_in_received_order(store):
    for number in range(25):
        store.accept(event(f"e{number:02d}"), [delivery(f"opp-{number}")], T0 + number)
    pages, cursor = [], None
    while True:
        records, cursor = store.list_deliveries({}, 10, cursor)
        pages.append([r.event_id for r in records])
        if cursor is None:
            break
        if len(pages) == 1:  # a new delivery arriving mid-listing lands on a later page, never twice
            store.accept(event("late"), [delivery("opp-late")], T0 + 100)
    assert [len(p) for p in pages] == [10, 10, 6]
    assert sum(pages, []) == [f"e{n:02d}" for n in range(25)] + ["late"]


def test_list_filters(store):
    store.accept(event("s1"), [delivery(OPP_A, "r1"), delivery(OPP_B, "r2")], T0)
    store.accept(event("h1", source="hubspot"), [delivery(OPP_A, "r1")], T0 + DAY)
    store.accept(event("m1"), [NewDelivery("rm", {"match": {"field": "stripe_customer_id", "value": "cus_1"}},
                                            {"stage": "x"})], T0 + 2 * DAY)
    record = claim_one(store, T0)
    store.dead(record.id, record.lease_token, {"code": "x"}, T0)

    def events(**filter):
        records, cursor = store.list_deliveries(filter, 100)
        assert cursor is None
        return [(r.event_id, r.route) for r in records]

    assert events() == [("s1", "r1"), ("s1", "r2"), ("h1", "r1"), ("m1", "rm")]
    assert events(status=DEAD) == [("s1", "r1")]
    assert events(status=[QUEUED, DEAD], source="stripe") == [("s1", "r1"), ("s1", "r2"), ("m1", "rm")]
    assert events(source="hubspot") == [("h1", "r1")]
    assert events(route="r2") == [("s1", "r2")]
    assert events(event_id="s1") == [("s1", "r1"), ("s1", "r2")]
    assert events(opportunity=OPP_A) == [("s1", "r1"), ("h1", "r1")]
    assert events(opportunity=f"id:{OPP_B}") == [("s1", "r2")]
    assert events(opportunity='match:["stripe_customer_id", "cus_1"]') == [("m1", "rm")]
    assert events(received_from=T0 + DAY) == [("h1", "r1"), ("m1", "rm")]
    assert events(received_from=T0, received_to=T0 + DAY) == [("s1", "r1"), ("s1", "r2")]


def test_list_finds_a_match_target_by_the_opportunity_it_resolved_to(store):
    store.accept(event("m1"), [NewDelivery("rm", {"match": {"field": "f", "value": "v"}}, {"stage": "x"})], T0)
    record = claim_one(store)
    store.complete(record.id, record.lease_token, T0, opportunity_id=OPP_B, applied={"stage": "2024"})
    records, _ = store.list_deliveries({"opportunity": OPP_B}, 10)
    assert [r.id for r in records] == [record.id]
    assert records[0].extra["opportunity_id"] == OPP_B


@pytest.mark.parametrize("call", [
    lambda s: s.list_deliveries({"colour": "red"}, 10),
    lambda s: s.list_deliveries({"status": "lost"}, 10),
    lambda s: s.list_deliveries({}, 0),
    lambda s: s.list_deliveries({}, 10, "not-a-cursor"),
    lambda s: s.list_deliveries({"received_from": "yesterday"}, 10),
])
def test_list_refuses_what_it_cannot_use(store, call):
    with pytest.raises(InvalidQuery):
        call(store)


# ---- retention --------------------------------------------------------------------------------
def test_purge_removes_finished_records_after_the_cut(store):
    store.accept(event("old"), [delivery(OPP_A)], T0)
    store.accept(event("dead"), [delivery(OPP_B)], T0)
    store.accept(event("ignored", outcome="ignored"), [], T0)
    old, dead = store.claim(2, 30, T0)
    if old.event_id != "old":
        old, dead = dead, old
    store.complete(old.id, old.lease_token, T0, opportunity_id=OPP_A, applied={"stage": "2024"})
    store.dead(dead.id, dead.lease_token, {"code": "x"}, T0)
    store.accept(event("pending"), [delivery("33333333-3333-4333-8333-333333333333")], T0)
    store.accept(event("new"), [delivery("44444444-4444-4444-8444-444444444444")], T0 + 40 * DAY)
    (new,) = [r for r in store.claim(10, 30, T0 + 40 * DAY) if r.event_id == "new"]
    store.complete(new.id, new.lease_token, T0 + 40 * DAY)

    removed = store.purge(T0 + 40 * DAY, finished_before=T0 + 10 * DAY)
    assert removed == 3  # the old delivery, its event, the ignored event
    assert store.get_delivery(old.id) is None and store.get_event("stripe", "old") is None
    assert store.get_event("stripe", "ignored") is None
    assert store.get_delivery(dead.id).status == DEAD, "dead records wait for an explicit purge"
    assert store.get_event("stripe", "dead") is not None
    assert store.get_delivery(new.id).status == DELIVERED, "finished after the cut: kept"
    assert [d.status for d in store.deliveries_for_event("stripe", "pending")] == [DELIVERING], "pending work stays"
    assert store.field_times(OPP_A, ["stage"]) == {}
    assert store.accept(event("old"), [delivery(OPP_A)], T0 + 40 * DAY) == ACCEPTED, "the dedupe key is gone"

    assert store.purge(T0 + 40 * DAY, finished_before=T0 + 10 * DAY, dead=True) == 2
    assert store.get_delivery(dead.id) is None and store.get_event("stripe", "dead") is None
    assert store.purge(T0 + 40 * DAY, finished_before=T0 + 10 * DAY, dead=True) == 0


def test_purge_in_batches_leaves_nothing_behind(store):
    store.purge_batch = 4  # backends purge in short batches; 23 records make several of them
    for number in range(23):
        store.accept(event(f"e{number}"), [delivery(f"opp-{number}")], T0)
        store.accept(event(f"i{number}", outcome="ignored"), [], T0)
    (kept,) = store.claim(1, 30, T0)
    store.dead(kept.id, kept.lease_token, {"code": "x"}, T0)
    finish_all(store, T0, "delivered")
    assert store.purge(T0 + 1) == 22 * 2 + 23
    assert store.counts() == {DEAD: 1}
    assert store.get_event("stripe", kept.event_id) is not None
    assert store.purge(T0 + 1, dead=True) == 2
    assert store.counts() == {}
    assert store.list_deliveries({}, 10) == ([], None)


# ---- metrics ------------------------------------------------------------------------------------
def test_counts_and_oldest_queued(store):
    assert store.counts() == {} and store.oldest_queued_at() is None
    store.accept(event("e1"), [delivery(OPP_A)], T0)
    store.accept(event("e2"), [delivery(OPP_B)], T0 + 5)
    assert store.oldest_queued_at() == T0
    record = claim_one(store)
    assert store.oldest_queued_at() == T0, "in flight still counts as waiting"
    store.complete(record.id, record.lease_token, T0 + 6)
    assert store.oldest_queued_at() == T0 + 5
    assert store.counts() == {DELIVERED: 1, QUEUED: 1}
    store.ping()


def test_complete_many_finishes_each_on_its_own_lease(store):
    store.accept(event("e0"), [delivery(OPP_A)], T0)
    lost = claim_one(store, T0)  # leased until T0 + 30
    store.accept(event("e1"), [delivery(OPP_B)], T0)
    kept = claim_one(store, T0 + 20)  # leased until T0 + 50
    assert claim_one(store, T0 + 31).id == lost.id  # its lease expired: another worker holds it now
    results = store.complete_many([Completion(lost.id, lost.lease_token, OPP_A, {"stage": "t1"}),
                                   Completion(kept.id, kept.lease_token, OPP_B, {"stage": "t2"})], T0 + 32)
    assert results == [False, True]
    assert (store.get_delivery(lost.id).status, store.get_delivery(kept.id).status) == (DELIVERING, DELIVERED)
    assert store.field_times(OPP_A, ["stage"]) == {}
    assert store.field_times(OPP_B, ["stage"]) == {"stage": "t2"}
    assert store.complete_many([], T0 + 33) == []
