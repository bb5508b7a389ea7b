"""The store's `rebuild` (a stored event rendered again), run unchanged against memory, sqlite and redis."""
from concurrent.futures import ThreadPoolExecutor

from bridge.store import ACCEPTED, DEAD, DELIVERED, DELIVERING, IGNORED, QUEUED, NewDelivery
from store_samples import OPP_A, OPP_B, T0, delivery, event

OCCURRED = "2024-01-01T00:00:00.000000Z"
NO_LOOKUP = {"code": "no_lookup_match", "message": "'trialing' is not in the lookup", "field": "stage"}


def unresolved(route="r", error=None):
    """What the accept pipeline stores for a route that could not build a PATCH."""
    return NewDelivery(route, {}, {}, status=DEAD, error=error or NO_LOOKUP)


def by_route(store, event_id="evt_1"):
    return {d.route: d for d in store.deliveries_for_event("stripe", event_id)}


def test_an_ignored_event_gets_its_new_route_and_becomes_accepted(store):
    store.accept(event(outcome=IGNORED), [], T0)
    assert store.rebuild("stripe", "evt_1", [delivery(OPP_A, "new-route")], T0 + 50) == 1
    stored = store.get_event("stripe", "evt_1")
    assert (stored["outcome"], stored["reason"]) == (ACCEPTED, None)
    (record,) = store.deliveries_for_event("stripe", "evt_1")
    assert (record.route, record.target, record.attributes, record.status, record.attempts) == (
        "new-route", {"id": OPP_A}, {"stage": "closed_won"}, QUEUED, 0)
    assert (record.received_at, record.next_attempt_at, record.occurred_at, record.last_error) == (
        T0, T0 + 50, OCCURRED, None), "received and occurred when the event was; due now"
    assert record.extra["history"] == []
    assert store.counts() == {QUEUED: 1}
    assert [r.id for r in store.claim(5, 30, T0 + 50)] == [record.id]


def test_an_ignored_event_rebuilt_with_nothing_stays_ignored(store):
    store.accept(event(outcome=IGNORED), [], T0)
    assert store.rebuild("stripe", "evt_1", [], T0 + 1) == 0
    assert store.get_event("stripe", "evt_1")["outcome"] == IGNORED


def test_an_unresolved_dead_delivery_is_replaced_with_history(store):
    store.accept(event(), [unresolved("r")], T0)
    (before,) = store.deliveries_for_event("stripe", "evt_1")
    assert store.rebuild("stripe", "evt_1", [delivery(OPP_B, "r")], T0 + 100) == 1
    after = store.get_delivery(before.id)
    assert (after.target, after.attributes, after.status, after.attempts, after.last_error) == (
        {"id": OPP_B}, {"stage": "closed_won"}, QUEUED, 0, None)
    assert (after.next_attempt_at, after.received_at) == (T0 + 100, T0)
    assert after.extra["history"] == [{"replayed_at": T0 + 100, "status": DEAD, "attempts": 0,
                                       "last_error": NO_LOOKUP, "rebuilt": True}]
    assert store.counts() == {QUEUED: 1}
    assert [r.id for r in store.list_deliveries({"status": QUEUED}, 10)[0]] == [before.id]
    assert store.list_deliveries({"status": DEAD}, 10)[0] == []
    assert store.list_deliveries({"opportunity": OPP_B}, 10)[0][0].id == before.id
    (claimed,) = store.claim(5, 30, T0 + 100)
    assert (claimed.id, claimed.target) == (before.id, {"id": OPP_B})
    assert store.complete(claimed.id, claimed.lease_token, T0 + 101)
    assert store.purge(T0 + 102, dead=True) == 2, "the rebuilt delivery and its event go like any delivered one"


def test_a_rendering_that_still_fails_stays_dead_with_the_new_reason(store):
    store.accept(event(), [unresolved("r")], T0)
    (before,) = store.deliveries_for_event("stripe", "evt_1")
    invalid = {"code": "invalid_value", "message": "amount is not a number", "field": "amount"}
    assert store.rebuild("stripe", "evt_1", [unresolved("r", invalid)], T0 + 10) == 1
    again = store.get_delivery(before.id)
    assert (again.status, again.target, again.last_error, again.attempts) == (DEAD, {}, invalid, 0)
    assert store.claim(5, 30, T0 + 1000) == [], "dead is never claimed"
    assert store.purge(T0 + 5, dead=True) == 0, "it died again at T0 + 10, after the cut"
    assert store.rebuild("stripe", "evt_1", [delivery(OPP_A, "r")], T0 + 20) == 1
    fixed = store.get_delivery(before.id)
    assert fixed.status == QUEUED
    assert [(h["replayed_at"], h["last_error"]["code"]) for h in fixed.extra["history"]] == [
        (T0 + 10, "no_lookup_match"), (T0 + 20, "invalid_value")]


def test_resolved_pending_and_finished_deliveries_are_left_alone(store):
    store.accept(event(), [delivery(OPP_A, "done"), delivery(OPP_B, "failed")], T0)
    store.accept(event("evt_2"), [delivery("33333333-3333-4333-8333-333333333333", "waiting")], T0)
    first, second = store.claim(2, 30, T0)
    done, failed = (first, second) if first.route == "done" else (second, first)
    assert store.complete(done.id, done.lease_token, T0)
    assert store.dead(failed.id, failed.lease_token, {"code": "unknown_field", "status": 422}, T0)
    before = by_route(store)
    other = NewDelivery("x", {"id": "44444444-4444-4444-8444-444444444444"}, {"stage": "other"})
    renderings = [NewDelivery(route, other.target, other.attributes) for route in ("done", "failed")]
    assert store.rebuild("stripe", "evt_1", renderings, T0 + 50) == 0
    assert by_route(store) == before, "a delivery that had a target is replayed, never rebuilt"
    (waiting,) = store.deliveries_for_event("stripe", "evt_2")
    assert store.rebuild("stripe", "evt_2", [NewDelivery("waiting", other.target, other.attributes)], T0 + 50) == 0
    assert store.get_delivery(waiting.id) == waiting
    leased = store.claim(1, 30, T0 + 50)[0]
    assert store.rebuild("stripe", "evt_2", [NewDelivery("waiting", other.target, other.attributes)], T0 + 50) == 0
    assert store.get_delivery(leased.id).status == DELIVERING


def test_one_rebuild_inserts_replaces_and_leaves_alone_together(store):
    store.accept(event(), [delivery(OPP_A, "kept"), unresolved("broken")], T0)
    renderings = [delivery(OPP_B, "kept"), delivery(OPP_B, "broken"), delivery(OPP_B, "added"),
                  delivery(OPP_A, "added")]
    assert store.rebuild("stripe", "evt_1", renderings, T0 + 5) == 2, "a route given twice counts once"
    routes = by_route(store)
    assert sorted(routes) == ["added", "broken", "kept"]
    assert routes["kept"].target == {"id": OPP_A}
    assert (routes["broken"].target, routes["added"].target) == ({"id": OPP_B}, {"id": OPP_B})
    assert store.counts() == {QUEUED: 3}
    assert routes["broken"].id < routes["added"].id
    assert store.rebuild("stripe", "evt_1", renderings, T0 + 6) == 0, "a second rebuild finds nothing to do"


def test_an_event_that_is_not_stored_gets_nothing(store):
    assert store.rebuild("stripe", "nope", [delivery()], T0) == 0
    assert store.counts() == {} and store.get_event("stripe", "nope") is None


def test_concurrent_rebuilds_of_one_event_apply_once(store):
    store.accept(event(outcome=IGNORED), [], T0)
    store.accept(event("evt_2"), [unresolved("a")], T0)
    renderings = [delivery(OPP_A, "a"), delivery(OPP_B, "b")]
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda i: store.rebuild("stripe", ("evt_1", "evt_2")[i % 2], renderings, T0 + i),
                                range(20)))
    assert sum(results[0::2]) == 2 and sum(results[1::2]) == 2
    for event_id in ("evt_1", "evt_2"):
        routes = by_route(store, event_id)
        assert sorted(routes) == ["a", "b"] and all(r.status == QUEUED for r in routes.values())
        assert all(len(r.extra["history"]) <= 1 for r in routes.values()), "replaced once, not once per call"
    assert store.counts() == {QUEUED: 4}


def test_get_event_returns_the_stored_data(store):
    payload = {"id": "evt_1", "data": {"object": {"status": "trialing", "n": [1, 2.5, None, True]}}}
    store.accept(event(data=payload), [], T0)
    assert store.get_event("stripe", "evt_1")["data"] == payload


def test_a_rebuilt_delivery_can_then_be_replayed(store):
    store.accept(event(), [unresolved("r")], T0)
    store.rebuild("stripe", "evt_1", [delivery(OPP_A, "r")], T0 + 1)
    (record,) = store.claim(1, 30, T0 + 1)
    assert store.complete(record.id, record.lease_token, T0 + 2)
    assert store.replay(ids=[record.id], now=T0 + 3) == 1
    history = store.get_delivery(record.id).extra["history"]
    assert [h.get("rebuilt", False) for h in history] == [True, False]
    assert history[1]["status"] == DELIVERED
