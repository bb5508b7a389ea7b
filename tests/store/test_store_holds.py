"""Holds after unknown outcomes and the shared pace state: the same contract on memory, SQLite and Redis."""
from concurrent.futures import ThreadPoolExecutor

from bridge.store import DEAD, RETRYING
from store_samples import OPP_A, OPP_B, T0, delivery, event

HOLD = 20.0


def two_for_a_and_one_for_b(store):
    store.accept(event("a1"), [delivery(OPP_A)], T0)
    store.accept(event("a2"), [delivery(OPP_A)], T0)
    store.accept(event("b1"), [delivery(OPP_B)], T0)


def test_after_an_unknown_outcome_nothing_for_that_opportunity_is_claimed_until_the_hold_ends(store):
    two_for_a_and_one_for_b(store)
    claimed = {r.event_id: r for r in store.claim(10, 30, T0, hold_seconds=HOLD)}
    a1, b1 = claimed["a1"], claimed["b1"]
    assert store.retry_at(a1.id, a1.lease_token, T0 + 1, {"code": "timeout"}, T0 + 1, hold_until=T0 + 1 + HOLD)
    assert store.complete(b1.id, b1.lease_token, T0 + 1)
    assert store.claim(10, 30, T0 + 1 + HOLD - 0.01, hold_seconds=HOLD) == []  # a2 is due, but a1's hold lasts
    assert [r.event_id for r in store.claim(10, 30, T0 + 1 + HOLD, hold_seconds=HOLD)] == ["a2"]  # due first


def test_a_dead_delivery_holds_its_opportunity_too(store):
    two_for_a_and_one_for_b(store)
    a1 = next(r for r in store.claim(10, 30, T0, hold_seconds=HOLD) if r.event_id == "a1")
    assert store.dead(a1.id, a1.lease_token, {"code": "http_501"}, T0 + 1, hold_until=T0 + 5)
    assert store.get_delivery(a1.id).status == DEAD
    assert store.claim(10, 30, T0 + 4.9, hold_seconds=HOLD) == []
    assert [r.event_id for r in store.claim(10, 30, T0 + 5, hold_seconds=HOLD)] == ["a2"]


def test_a_hold_is_never_shortened(store):
    store.accept(event("a1"), [delivery(OPP_A)], T0)
    (a1,) = store.claim(10, 30, T0)
    store.retry_at(a1.id, a1.lease_token, T0, {}, T0, hold_until=T0 + 50)
    (again,) = store.claim(10, 30, T0 + 50)
    store.retry_at(again.id, again.lease_token, T0 + 50, {}, T0 + 50, hold_until=T0 + 51)
    assert store.claim(10, 30, T0 + 50.5) == []
    assert store.get_delivery(a1.id).status == RETRYING


def test_a_lease_that_ran_out_holds_its_opportunity_for_the_hold_after_it(store):
    """The worker may have died mid-request: its request can still land until the hold after the lease."""
    two_for_a_and_one_for_b(store)
    store.claim(10, 30, T0, hold_seconds=HOLD)
    assert store.claim(10, 30, T0 + 30 + HOLD - 0.01, hold_seconds=HOLD) == []
    # a2 was due before a1's lease ended, so it goes first; the stale guard then judges a1
    assert sorted(r.event_id for r in store.claim(10, 30, T0 + 30 + HOLD, hold_seconds=HOLD)) == ["a2", "b1"]


def test_a_finish_with_a_lost_lease_sets_no_hold(store):
    store.accept(event("a1"), [delivery(OPP_A)], T0)
    (stale,) = store.claim(10, 30, T0)
    (fresh,) = store.claim(10, 30, T0 + 31)
    assert not store.retry_at(stale.id, stale.lease_token, T0 + 32, {}, T0 + 32, hold_until=T0 + 500)
    assert store.complete(fresh.id, fresh.lease_token, T0 + 32)
    store.accept(event("a2"), [delivery(OPP_A)], T0 + 33)
    assert [r.event_id for r in store.claim(10, 30, T0 + 33)] == ["a2"]


def test_purge_forgets_holds_that_ended(store):
    two_for_a_and_one_for_b(store)
    a1 = next(r for r in store.claim(10, 30, T0) if r.event_id == "a1")
    store.retry_at(a1.id, a1.lease_token, T0, {}, T0, hold_until=T0 + 10)
    store.purge(T0 + 11)
    assert [r.event_id for r in store.claim(10, 30, T0 + 11)] == ["a1"]


def add(state, amount):
    state = dict(state or {"n": 0})
    state["n"] += amount
    return state, state["n"]


def test_pace_updates_are_atomic_across_threads(backend):
    first = backend.open()  # three clients, as three processes would be (the memory store is one process's)
    stores = [first] + [first if backend.name == "memory" else backend.open() for _ in range(2)]
    assert first.read_pace() is None
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda n: stores[n % 3].update_pace(lambda s: add(s, 1)), range(300)))
    assert sorted(results) == list(range(1, 301)), "every update saw the one before it"
    assert stores[1].read_pace() == {"n": 300}
