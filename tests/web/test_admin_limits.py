"""Issue 12.6: the admin API answers 4xx, never 5xx, to ids, cursors, filters and bodies out of bounds."""
import base64
import json

import pytest

from admin_client import AUTH, EVENT_ID, SUBSCRIPTION, TOKEN, get, post

HUGE = 10 ** 30


def cursor_for(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", [f"/admin/deliveries/{HUGE}", f"/admin/deliveries/{2 ** 63}",
                                  f"/admin/deliveries/{'9' * 5000}"])
def test_a_huge_delivery_id_in_the_path_is_not_found(admin, path):
    answer = get(admin, path)
    assert (answer.status_code, answer.json["reason"]) == (404, "not_found")
    answer = post(admin, path + "/replay")
    assert (answer.status_code, answer.json["reason"]) == (404, "not_found")


@pytest.mark.parametrize("query", [f"cursor={cursor_for(f'd1:{HUGE}')}", f"cursor={cursor_for('d1:-5')}",
                                   f"cursor={cursor_for('d1:' + '9' * 5000)}", "cursor=%FF%FE",
                                   "received_from=nan", "received_to=1e999", "received_from=-inf",
                                   f"limit={'9' * 5000}", "status=nope"])
def test_list_parameters_out_of_bounds_are_a_bad_query(admin, query):
    answer = get(admin, f"/admin/deliveries?{query}")
    assert (answer.status_code, answer.json["reason"]) == (400, "bad_query"), answer.json


REPLAY_BODIES = [
    {"ids": [HUGE]}, {"ids": [2 ** 63]}, {"ids": [0]}, {"ids": [True]}, {"ids": [1.5]}, {"ids": list(range(1, 10_002))},
    {"filter": {"status": 5}}, {"filter": {"status": [{"a": 1}]}}, {"filter": {"status": []}},
    {"filter": {"source": ["stripe"]}}, {"filter": {"route": {"a": 1}}}, {"filter": {"event_id": 7}},
    {"filter": {"received_from": "yesterday"}}, {"filter": {"received_to": True}},
    {"filter": {"received_from": [1]}}, {"filter": "dead"}, {"filter": {"status": "dead"}, "dry_run": "yes"},
    {"ids": [1], "filter": {}}, {"ids": [1], "extra": 1}, [1, 2], "ids",
]


@pytest.mark.parametrize("body", REPLAY_BODIES, ids=[json.dumps(b)[:40] for b in REPLAY_BODIES])
def test_replay_bodies_of_the_wrong_shape_are_refused(admin, body):
    answer = post(admin, "/admin/replay", json=body)
    assert answer.status_code == 400 and answer.json["reason"] in ("bad_request", "bad_query"), answer.json


@pytest.mark.parametrize("raw", [b"[" * 5000 + b"]" * 5000, b'{"filter": {"status": NaN}}', b"{'ids': [1]}",
                                 b'{"ids": [1e400]}'])
def test_replay_bodies_that_are_not_bounded_json_are_refused(admin, raw):
    answer = admin.client.post("/admin/replay", data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert (answer.status_code, answer.json["reason"]) == (400, "bad_request")


@pytest.mark.parametrize("raw", [b"dry_run", b"{'dry_run': true}", b'{"dry_run": "true"}', b'{"dry_run": 1}',
                                 b"[" * 5000 + b"]" * 5000, b'{"dry_run": true, "x": 1}', b"[]"])
def test_a_rebuild_whose_body_is_not_the_json_it_takes_refuses_instead_of_running(admin, raw):
    admin.post("stripe", SUBSCRIPTION)
    path = f"/admin/events/stripe/{EVENT_ID}/rebuild"
    before = get(admin, f"/admin/events/stripe/{EVENT_ID}").json
    answer = admin.client.post(path, data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert (answer.status_code, answer.json["reason"]) == (400, "bad_request")
    assert get(admin, f"/admin/events/stripe/{EVENT_ID}").json == before


def test_a_rebuild_without_a_body_or_with_dry_run_still_works(admin):
    admin.post("stripe", SUBSCRIPTION)
    path = f"/admin/events/stripe/{EVENT_ID}/rebuild"
    assert post(admin, path, json={"dry_run": True}).json["status"] == "dry_run"
    assert post(admin, path).json["status"] == "rebuilt"


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/webhooks/stripe", {"POST"}), ("PUT", "/admin/replay", {"POST"}),
    ("DELETE", "/admin/deliveries", {"GET", "HEAD", "OPTIONS"}), ("POST", "/healthz", {"GET", "HEAD", "OPTIONS"})])
def test_a_405_says_which_methods_are_allowed(admin, method, path, allowed):
    answer = admin.client.open(path, method=method, headers=AUTH)
    assert (answer.status_code, answer.json["reason"]) == (405, "method_not_allowed")
    assert {m.strip() for m in answer.headers["Allow"].split(",")} >= allowed


def test_non_finite_numbers_never_leave_in_an_answer(admin):
    """Data stored before the bounds existed may hold NaN: it is answered as null, still JSON."""
    admin.post("stripe", SUBSCRIPTION)
    event = admin.store.get_event("stripe", EVENT_ID)
    from bridge.web.json_provider import BoundedJSONProvider
    text = BoundedJSONProvider(admin.app).dumps({"a": float("nan"), "b": [float("inf")], "c": (1.5,), "d": event})
    decoded = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in an answer"))
    assert decoded["a"] is None and decoded["b"] == [None] and decoded["c"] == [1.5]


def test_the_admin_token_is_stripped_of_surrounding_spaces(make_bridge):
    bridge = make_bridge(BRIDGE_ADMIN_TOKEN=f"  {TOKEN}\n")
    assert bridge.client.get("/admin/deliveries", headers=AUTH).status_code == 200


def test_the_openapi_document_declares_what_the_api_accepts(admin):
    from bridge.store import STATUSES
    from bridge.store.query import MAX_ID
    from bridge.web.openapi import MAX_IDS
    document = get(admin, "/admin/openapi.json").json
    schemas = document["components"]["schemas"]
    [status] = [p for p in document["paths"]["/admin/deliveries"]["get"]["parameters"] if p["name"] == "status"]
    assert status["schema"]["items"]["enum"] == list(STATUSES)
    request = schemas["ReplayRequest"]
    assert request["additionalProperties"] is False
    assert request["properties"]["filter"]["additionalProperties"] is False
    assert [branch["required"] for branch in request["oneOf"]] == [["ids"], ["filter"]]
    ids = request["properties"]["ids"]
    assert (ids["maxItems"], ids["items"]["minimum"], ids["items"]["maximum"]) == (MAX_IDS, 1, MAX_ID)
    path_id = document["paths"]["/admin/deliveries/{delivery_id}"]["get"]["parameters"][0]["schema"]
    assert path_id["maximum"] == MAX_ID
    # Every value the document allows is accepted: each status, alone and as a list, in both places.
    for name in STATUSES:
        assert get(admin, f"/admin/deliveries?status={name}").status_code == 200
        for value in (name, [name]):
            answer = post(admin, "/admin/replay", json={"filter": {"status": value}, "dry_run": True})
            assert answer.status_code == 200, answer.json
    assert post(admin, "/admin/replay", json={"ids": [MAX_ID], "dry_run": True}).status_code == 200
    assert get(admin, f"/admin/deliveries/{MAX_ID}").status_code == 404  # a well-formed id, none stored
