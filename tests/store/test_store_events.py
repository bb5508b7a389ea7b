"""The console's store queries, run unchanged on every backend: the event list, attempts, opportunities, problems."""
import pytest

from bridge.store import DEAD, IGNORED, Completion, EventRecord, InvalidQuery, NewDelivery
from bridge.store.events_query import ATTEMPT_LOG_SIZE, group_issues
from bridge.store import redis_console
from store_samples import OPP_A, OPP_B, T0, delivery, event

HASH_ID = "sha256:" + "ab" * 32


def ids(rows):
    return [row["event_id"] for row in rows]


def every_page(store, filter, limit):
    """All rows, following next_cursor to the end; also how many calls it took."""
    rows, cursor, calls = [], None, 0
    while True:
        page, cursor = store.list_events(filter, limit, cursor)
        rows += page
        calls += 1
        if cursor is None:
            return rows, calls


def seed(store):
    """e0..e5 from stripe one second apart (e3 for OPP_B, the others OPP_A), an ignored hubspot event last."""
    for n in range(6):
        kind = "invoice.paid" if n % 2 else "customer.updated"
        record = EventRecord("stripe", f"e{n}", kind, None, f"h{n}", data={"id": f"e{n}", "name": f"Acme {n}% off"})
        store.accept(record, [delivery(OPP_B if n == 3 else OPP_A)], T0 + n)
    store.accept(EventRecord("hubspot", HASH_ID, "deal", None, "hh", outcome=IGNORED, reason="no_route_matched",
                             data={"x": 1}), [], T0 + 10)


def test_events_newest_first_with_every_row_field(store):
    seed(store)
    rows, cursor = store.list_events({}, 50)
    assert cursor is None
    assert ids(rows) == [HASH_ID, "e5", "e4", "e3", "e2", "e1", "e0"]
    assert rows[0] == {"source": "hubspot", "event_id": HASH_ID, "type": "deal", "occurred_at": None,
                       "received_at": T0 + 10, "status": IGNORED, "reason": "no_route_matched",
                       "id_source": "content_hash", "duplicates": 0, "conflicts": 0,
                       "deliveries": {"total": 0, "queued": 0, "delivering": 0, "retrying": 0, "delivered": 0,
                                      "superseded": 0, "dead": 0},
                       "opportunities": []}
    assert rows[3]["id_source"] == "sender" and rows[3]["opportunities"] == [OPP_B]
    assert rows[3]["deliveries"]["queued"] == rows[3]["deliveries"]["total"] == 1


def test_pages_follow_the_cursor_and_stay_stable_while_events_arrive(store):
    seed(store)
    first, cursor = store.list_events({}, 3)
    assert ids(first) == [HASH_ID, "e5", "e4"]
    store.accept(event("late"), [delivery()], T0 + 20)  # newer than every page already read
    store.accept(event("tie", body_hash="t"), [delivery()], T0 + 4)  # same second as e4, stored after it
    second, cursor = store.list_events({}, 3, cursor)
    assert ids(second) == ["e3", "e2", "e1"]
    third, cursor = store.list_events({}, 3, cursor)
    assert ids(third) == ["e0"] and cursor is None
    assert ids(store.list_events({}, 4)[0]) == ["late", HASH_ID, "e5", "tie"]
    with pytest.raises(InvalidQuery):
        store.list_events({}, 3, "not-a-cursor")


def test_duplicates_and_conflicts_are_counted_on_the_event(store):
    seed(store)
    store.accept(EventRecord("stripe", "e2", "t", None, "h2"), [delivery()], T0 + 30)
    store.accept(EventRecord("stripe", "e2", "t", None, "h2"), [delivery()], T0 + 31)
    store.accept(EventRecord("stripe", "e2", "t", None, "other"), [delivery()], T0 + 32)
    (row,) = [r for r in store.list_events({"source": "stripe"}, 50)[0] if r["event_id"] == "e2"]
    assert (row["duplicates"], row["conflicts"]) == (2, 1)
    assert store.get_event("stripe", "e2")["duplicates"] == 2


@pytest.mark.parametrize("filter, expected", [
    ({"source": "hubspot"}, [HASH_ID]),
    ({"status": IGNORED}, [HASH_ID]),
    ({"status": ["accepted"], "source": "stripe"}, ["e5", "e4", "e3", "e2", "e1", "e0"]),
    ({"type": "invoice.paid"}, ["e5", "e3", "e1"]),
    ({"received_from": T0 + 2, "received_to": T0 + 4}, ["e3", "e2"]),
    ({"opportunity": OPP_B}, ["e3"]),
    ({"opportunity": "id:" + OPP_B}, ["e3"]),
    ({"q": "ACME 4"}, ["e4"]),
    ({"q": "% off"}, ["e5", "e4", "e3", "e2", "e1", "e0"]),
    ({"q": "4%"}, ["e4"]),
    ({"q": "_"}, []),  # a LIKE wildcard is searched for as itself
    ({"q": HASH_ID[:20]}, [HASH_ID]),
    ({"delivery_status": "queued", "type": "customer.updated"}, ["e4", "e2", "e0"]),
    ({"delivery_status": ["delivered", "superseded"]}, []),
])
def test_each_filter(store, filter, expected):
    seed(store)
    assert ids(every_page(store, filter, 2)[0]) == expected


def test_delivery_status_and_a_resolved_opportunity(store):
    store.accept(event("a1", body_hash="a"), [delivery(OPP_A)], T0)
    store.accept(event("b1", body_hash="b"), [delivery(OPP_B)], T0 + 1)
    store.accept(event("m1", body_hash="m"), [NewDelivery("r", {"match": {"field": "external_id", "value": "X"}},
                                                          {"stage": "won"})], T0 + 2)
    claimed = {r.event_id: r for r in store.claim(10, 30, T0 + 5)}
    assert store.complete(claimed["m1"].id, claimed["m1"].lease_token, T0 + 6, opportunity_id="resolved-opp")
    assert store.dead(claimed["b1"].id, claimed["b1"].lease_token, {"code": "validation_error"}, T0 + 7)
    assert ids(store.list_events({"opportunity": "resolved-opp"}, 10)[0]) == ["m1"]
    assert ids(store.list_events({"opportunity": 'match:["external_id", "X"]'}, 10)[0]) == ["m1"]
    assert ids(store.list_events({"delivery_status": DEAD}, 10)[0]) == ["b1"]
    assert ids(store.list_events({"delivery_status": "delivering"}, 10)[0]) == ["a1"]
    assert ids(store.list_events({"delivery_status": ["dead", "delivered"]}, 10)[0]) == ["m1", "b1"]
    (row,) = store.list_events({"delivery_status": "delivered"}, 10)[0]
    assert row["opportunities"] == ["resolved-opp"] and row["deliveries"]["delivered"] == 1
    assert [d.event_id for d in store.deliveries_for_opportunity("resolved-opp")] == ["m1"]
    store.accept(event("a2", body_hash="a2"), [delivery(OPP_A)], T0 + 8)
    assert [d.event_id for d in store.deliveries_for_opportunity(OPP_A)] == ["a1", "a2"]
    assert [d.event_id for d in store.deliveries_for_opportunity("id:" + OPP_A)] == ["a1", "a2"]


def test_a_scan_budget_bounds_each_call_and_the_cursor_goes_on(store):
    seed(store)
    store.scan_budget = 3
    page, cursor = store.list_events({"q": '"x"'}, 10)
    assert ids(page) == [HASH_ID] and cursor, "three events examined, more to go"
    page, cursor = store.list_events({"q": "nothing-has-this"}, 10)
    assert page == [] and cursor, "an empty page may still have a next one"
    rows, calls = every_page(store, {"q": "acme"}, 10)
    assert ids(rows) == ["e5", "e4", "e3", "e2", "e1", "e0"] and calls == 3
    for served in ({}, {"type": "invoice.paid"}, {"source": "stripe"}, {"status": "accepted"}):
        rows, calls = every_page(store, served, 10)  # filters an index serves are not budgeted
        assert calls == 1, served


@pytest.mark.parametrize("filter", [{"status": "lost"}, {"delivery_status": "gone"}, {"colour": "red"},
                                    {"received_from": "yesterday"}, {"q": "x" * 201}])
def test_bad_filters_are_refused(store, filter):
    with pytest.raises(InvalidQuery):
        store.list_events(filter, 10)
    with pytest.raises(InvalidQuery):
        store.list_events({}, 0)


def test_the_attempt_log_keeps_the_newest_attempts_once_each(store):
    store.accept(event(), [delivery()], T0)
    for n in range(ATTEMPT_LOG_SIZE + 3):
        (record,) = store.claim(1, 30, T0 + n)
        assert store.retry_at(record.id, record.lease_token, T0 + n, {"code": "busy"}, T0 + n,
                              attempt={"at": T0 + n, "n": n})
        assert store.retry_at(record.id, record.lease_token, T0 + n, {"code": "busy"}, T0 + n,
                              attempt={"at": T0 + n, "n": n}), "a retried finish succeeds…"
    log = store.attempt_log(record.id)
    assert [a["n"] for a in log] == list(range(3, ATTEMPT_LOG_SIZE + 3)), "…and is logged once"
    (record,) = store.claim(1, 30, T0 + 100)
    assert store.complete_many([Completion(record.id, record.lease_token, OPP_A, None, {"n": "done"})], T0 + 100)
    assert store.attempt_log(record.id)[-1] == {"n": "done"}
    assert store.attempt_log(999_999) == []


def test_problem_deliveries_are_dead_or_long_retrying_and_group_by_reason(store):
    for n in range(4):
        store.accept(event(f"p{n}", body_hash=f"p{n}"), [delivery(f"opp-{n}")], T0 + n)
    store.accept(event("broken", body_hash="b"), [NewDelivery("r", {}, {}, status=DEAD,
                                                              error={"code": "missing_field"})], T0 + 5)
    claimed = sorted(store.claim(10, 30, T0 + 10), key=lambda r: r.id)
    for record in claimed[:2]:
        store.dead(record.id, record.lease_token, {"status": 422, "code": "validation_error"}, T0 + 11)
    store.retry_at(claimed[2].id, claimed[2].lease_token, T0 + 99, {"status": 503}, T0 + 12)
    store.complete(claimed[3].id, claimed[3].lease_token, T0 + 13)
    rows = store.problem_deliveries(retrying_before=T0 + 3)
    assert sorted(r[6] for r in rows) == ["broken", "p0", "p1", "p2"]
    assert sorted(r[6] for r in store.problem_deliveries(retrying_before=T0)) == ["broken", "p0", "p1"]
    groups = group_issues(rows)
    assert store.issue_groups(retrying_before=T0 + 3) == groups, "the store groups as group_issues does"
    assert [(g["reason"], g["count"]) for g in groups] == [("validation_error", 2), ("http_503", 1),
                                                          ("missing_field", 1)]
    assert groups[0]["statuses"] == {"dead": 2, "retrying": 0} and groups[0]["first_seen"] == T0 + 11
    assert store.problem_deliveries(T0 + 3, source="hubspot") == []


def test_purge_and_rebuild_keep_the_list_in_step(store):
    seed(store)
    store.rebuild("hubspot", HASH_ID, [NewDelivery("deal", {"id": OPP_B}, {"stage": "won"})], T0 + 20)
    assert ids(store.list_events({"status": IGNORED}, 10)[0]) == []
    assert ids(store.list_events({"status": "accepted", "opportunity": OPP_B}, 10)[0]) == [HASH_ID, "e3"]
    while True:
        claimed = store.claim(10, 30, T0 + 30)
        if not claimed:
            break
        for record in claimed:
            store.complete(record.id, record.lease_token, T0 + 30)
    store.purge(T0 + 40, finished_before=T0 + 35)
    assert store.list_events({}, 10) == ([], None)
    assert store.list_events({"source": "stripe"}, 10) == ([], None)
    assert store.list_events({"type": "invoice.paid"}, 10) == ([], None)
    assert store.list_events({"status": "accepted"}, 10) == ([], None)
    assert store.deliveries_for_opportunity(OPP_A) == []


def test_issue_groups_merge_slices_the_same_way(store, monkeypatch):
    monkeypatch.setattr(redis_console, "_ISSUE_SLICE", 2)  # Redis groups 2 deliveries per script call
    for n in range(5):
        store.accept(event(f"q{n}", body_hash=f"q{n}"), [delivery(f"opp-{n}", route=f"r{n % 2}")], T0 + n)
    for record in sorted(store.claim(10, 30, T0 + 10), key=lambda r: r.id):
        store.dead(record.id, record.lease_token, {"status": 503, "code": "" if record.id % 2 else "busy"},
                   T0 + 20 - record.id)
    assert store.issue_groups(T0) == group_issues(store.problem_deliveries(T0))
    assert sum(g["count"] for g in store.issue_groups(T0)) == 5
