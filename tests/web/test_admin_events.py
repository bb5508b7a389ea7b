"""The console's admin API — events, event detail, issues, opportunity history, replay dry runs — on every backend."""
import json
import shutil
import uuid
from datetime import datetime, UTC

import pytest

from bridge.store import DEAD, DELIVERED, QUEUED, SUPERSEDED
from helpers import FIXTURES, ROOT
from redis_server import RedisServer
from sandbox.known import DEMO_OPPORTUNITY_ID, STRIPE_OPPORTUNITY_ID

TOKEN = "admin-token-for-events"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SUBSCRIPTION = json.loads((FIXTURES / "stripe/subscription-active/payload.json").read_text())
IGNORED_EVENT = "stripe/unrelated-event-type/payload.json"
PLAIN = """verify: {scheme: none}
routes:
  - name: stage
    when: "s != null"
    opportunity: {id: o}
    set: {stage: s}
  - name: never
    when: "never == 'yes'"
    opportunity: {id: o}
    set: {stage: s}
"""


def subscription(event_id: str, created: int, status: str = "active") -> dict:
    event = json.loads(json.dumps(SUBSCRIPTION))
    event.update(id=event_id, created=created)
    event["data"]["object"].update(status=status, id=f"sub_{event_id}")
    return event


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis-admin-events")).start()
    yield server.url
    server.stop()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def console(request, make_bridge, tmp_path):
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", folder)
    (folder / "plain.yaml").write_text(PLAIN)
    store = {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path}/events.db"}.get(request.param)
    if store is None:
        store = request.getfixturevalue("redis_url")
    return make_bridge(BRIDGE_ADMIN_TOKEN=TOKEN, BRIDGE_MAPPINGS_DIR=folder, BRIDGE_STORE_URL=store,
                       BRIDGE_REDIS_PREFIX=f"events-{uuid.uuid4().hex[:8]}:", BRIDGE_RETRY_CAP=1)


def get(bridge, path, **kwargs):
    response = bridge.client.get(path, headers=AUTH, **kwargs)
    assert response.status_code == 200, response.json
    return response.json


def post(bridge, path, body=None):
    return bridge.client.post(path, headers=AUTH, json=body or {})


def plain(bridge, **body):
    response = bridge.post("plain", body, sign=False)
    assert response.status_code == 202, response.json
    return response.json["events"][0]["id"]


def events(bridge, query=""):
    return get(bridge, f"/admin/events{query}")


def test_every_event_newest_first_with_its_deliveries(console):
    console.post("stripe", subscription("evt_sub", 1_000))
    console.clock.advance(1)
    console.post("stripe", json.loads((FIXTURES / IGNORED_EVENT).read_text()))
    console.clock.advance(1)
    hashed = plain(console, o=DEMO_OPPORTUNITY_ID, s="closed_won")
    console.deliver()
    page = events(console)
    assert page["next_cursor"] is None
    assert [(r["source"], r["event_id"], r["status"]) for r in page["data"]] == [
        ("plain", hashed, "accepted"), ("stripe", "evt_1NCustomerCreated000001", "ignored"),
        ("stripe", "evt_sub", "accepted")]
    newest, ignored, sub = page["data"]
    assert len(hashed) == 71 and newest["id_source"] == "content_hash" and sub["id_source"] == "sender"
    assert newest["opportunities"] == [DEMO_OPPORTUNITY_ID] and newest["deliveries"]["delivered"] == 1
    assert ignored["reason"] == "no_route_matched" and ignored["deliveries"]["total"] == 0
    assert sub["type"] == "customer.subscription.updated" and sub["received_at"] < newest["received_at"]


def test_filters_and_pages(console):
    console.post("stripe", subscription("evt_a", 1_000))
    console.clock.advance(10)
    middle = console.clock()
    console.post("stripe", json.loads((FIXTURES / IGNORED_EVENT).read_text()))
    console.clock.advance(10)
    plain(console, o=STRIPE_OPPORTUNITY_ID, s="closed_won", note="Needle in the <body>")
    console.post("stripe", subscription("evt_a", 1_000))  # a duplicate
    console.deliver()

    def ids(query):
        return [r["event_id"] for r in events(console, query)["data"]]

    assert ids("?source=stripe&status=ignored") == ["evt_1NCustomerCreated000001"]
    assert ids("?status=accepted&source=stripe") == ["evt_a"]
    assert events(console, "?source=stripe&status=accepted")["data"][0]["duplicates"] == 1
    assert ids("?type=customer.created") == ["evt_1NCustomerCreated000001"]
    assert len(ids("?q=needle+IN+the")) == 1 and ids("?q=evt_a") == ["evt_a"]
    assert ids(f"?opportunity={DEMO_OPPORTUNITY_ID}") == ["evt_a"]  # the subscription's opportunity
    assert ids("?delivery_status=delivered&source=stripe") == ["evt_a"]
    assert ids("?delivery_status=dead,retrying") == []
    assert ids(f"?received_from={middle}&received_to={middle + 1}") == ["evt_1NCustomerCreated000001"]
    iso = datetime.fromtimestamp(middle - 5, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"?received_to={iso}") == ["evt_a"]
    first = events(console, "?limit=2")
    second = events(console, f"?limit=2&cursor={first['next_cursor']}")
    assert len(first["data"]) == 2 and [r["event_id"] for r in second["data"]] == ["evt_a"]
    assert second["next_cursor"] is None
    for bad in ("?status=lost", "?delivery_status=gone", "?limit=0", "?limit=x", "?cursor=nope",
                "?received_from=yesterday"):
        response = console.client.get(f"/admin/events{bad}", headers=AUTH)
        assert (response.status_code, response.json["reason"]) == (400, "bad_query"), bad
    assert console.client.get("/admin/events").status_code == 401


def test_event_detail_shows_routes_the_patch_and_each_attempt(console, reevo):
    reevo.fault(count=1, status=503, method="PATCH")
    event_id = plain(console, o=DEMO_OPPORTUNITY_ID, s="closed_won")
    console.deliver()
    console.clock.advance(5)
    console.deliver()
    detail = get(console, f"/admin/events/plain/{event_id}")["data"]
    assert detail["data"] == {"o": DEMO_OPPORTUNITY_ID, "s": "closed_won"} and detail["id_source"] == "content_hash"
    assert [(r["route"], r["matched"], r["matches_now"]) for r in detail["routes"]] == [
        ("stage", True, True), ("never", False, False)]
    (delivery,) = detail["deliveries"]
    assert delivery["status"] == DELIVERED and delivery["next_attempt"] is None
    assert delivery["request"]["method"] == "PATCH"
    assert delivery["request"]["path"] == f"/api/v2/opportunity/{DEMO_OPPORTUNITY_ID}"
    assert delivery["request"]["body"] == {"attributes": {"stage": "closed_won"}}
    assert [(a["outcome"], a["http_status"]) for a in delivery["attempt_log"]] == [("retrying", 503),
                                                                                   ("delivered", 200)]
    assert get(console, f"/admin/deliveries/{delivery['id']}")["data"]["attempt_log"] == delivery["attempt_log"]


def test_issues_group_dead_deliveries_and_replay_a_group_after_a_dry_run(console, reevo):
    reevo.fault(count=2, status=422, method="PATCH")
    for n in range(2):
        console.post("stripe", subscription(f"evt_dead_{n}", 1_000 + n))
        console.deliver()
    plain(console, s="closed_won")  # no opportunity id: the mapping cannot build it, dead at once
    groups = get(console, "/admin/issues")["data"]
    by_reason = {(g["source"], g["reason"]): g for g in groups}
    stripe_group = next(g for (source, _), g in by_reason.items() if source == "stripe")
    assert stripe_group["count"] == 2 and stripe_group["statuses"] == {"dead": 2, "retrying": 0}
    assert stripe_group["sample"]["event_id"] == "evt_dead_1"
    assert stripe_group["first_seen"] <= stripe_group["last_seen"]
    assert any(source == "plain" for source, _ in by_reason)
    group = {k: stripe_group[k] for k in ("source", "route", "reason")}
    dry = post(console, "/admin/issues/replay", {**group, "dry_run": True}).json
    assert (dry["status"], dry["would_replay"], dry["would_rebuild"], dry["group_size"]) == ("dry_run", 2, 0, 2)
    assert [r["status"] for r in get(console, "/admin/deliveries?source=stripe")["data"]] == [DEAD, DEAD]
    done = post(console, "/admin/issues/replay", group).json
    assert (done["status"], done["replayed"]) == ("replayed", 2)
    console.deliver()
    assert [r["status"] for r in get(console, "/admin/deliveries?source=stripe")["data"]] == [DELIVERED] * 2
    assert [g for g in get(console, "/admin/issues")["data"] if g["source"] == "stripe"] == []
    assert post(console, "/admin/issues/replay", {"source": "stripe"}).status_code == 400


def test_replay_dry_runs_for_one_delivery_and_one_event(console, reevo):
    reevo.fault(count=1, status=422, method="PATCH")
    event_id = plain(console, o=DEMO_OPPORTUNITY_ID, s="closed_won")
    console.deliver()
    (delivery,) = get(console, f"/admin/events/plain/{event_id}")["data"]["deliveries"]
    dry = post(console, f"/admin/deliveries/{delivery['id']}/replay", {"dry_run": True}).json
    assert (dry["status"], dry["would_replay"]) == ("dry_run", 1)
    dry = post(console, f"/admin/events/plain/{event_id}/replay", {"dry_run": True}).json
    assert (dry["status"], dry["would_replay"]) == ("dry_run", 1)
    assert get(console, f"/admin/deliveries/{delivery['id']}")["data"]["status"] == DEAD
    assert post(console, f"/admin/events/plain/{event_id}/replay").json["replayed"] == 1
    assert get(console, f"/admin/deliveries/{delivery['id']}")["data"]["status"] == QUEUED
    assert post(console, "/admin/events/plain/nope/replay").status_code == 404


def test_opportunity_history_shows_what_each_event_set_and_what_won(console):
    console.post("stripe", subscription("evt_new", 2_000, status="past_due"))
    console.deliver()
    console.post("stripe", subscription("evt_old", 1_000, status="active"))  # older, arrives later
    console.deliver()
    history = get(console, f"/admin/opportunities/{DEMO_OPPORTUNITY_ID}/history")["data"]
    newer, older = history["deliveries"]
    assert (newer["event_id"], newer["status"], older["event_id"], older["status"]) == (
        "evt_new", DELIVERED, "evt_old", SUPERSEDED)
    assert newer["applied"] == newer["fields"] and older["applied"] == {}
    assert older["superseded"]["reason"] == "superseded" and sorted(older["superseded"]["newer"]) == older["skipped"]
    assert history["fields"]["stage"]["event_id"] == "evt_new"
    assert history["fields"]["stage"]["value"] == newer["fields"]["stage"]
    assert get(console, "/admin/opportunities/nobody/history")["data"]["deliveries"] == []


def conforms(value, schema: dict, schemas: dict, where: str = "") -> list[str]:
    """What in `value` breaks the documented schema: required keys, enums, types (the subset openapi.py uses)."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    python = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
              "boolean": bool, "null": type(None)}
    if kinds and not any(isinstance(value, python[k]) for k in kinds):
        problems.append(f"{where}: {value!r} is not {kinds}")
    if isinstance(value, dict):
        problems += [f"{where}: no {key}" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            if key in schema.get("properties", {}):
                problems += conforms(item, schema["properties"][key], schemas, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for number, item in enumerate(value):
            problems += conforms(item, schema["items"], schemas, f"{where}[{number}]")
    return problems


def test_answers_match_the_openapi_document(console, reevo):
    reevo.fault(count=1, status=422, method="PATCH")
    console.post("stripe", subscription("evt_doc", 1_000))
    console.post("stripe", json.loads((FIXTURES / IGNORED_EVENT).read_text()))
    console.deliver()
    schemas = get(console, "/admin/openapi.json")["components"]["schemas"]
    answers = {"EventPage": events(console), "IssuePage": get(console, "/admin/issues"),
               "EventOne": get(console, "/admin/events/stripe/evt_doc"),
               "OpportunityHistory": get(console, f"/admin/opportunities/{DEMO_OPPORTUNITY_ID}/history")}
    assert len(answers["EventPage"]["data"]) == 2 and answers["IssuePage"]["data"]
    for name, answer in answers.items():
        assert conforms(answer, schemas[name], schemas, name) == [], name
