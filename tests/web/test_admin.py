"""The admin API: token, filters and pages, event detail, replay, mappings, reload, OpenAPI."""
import re

import pytest

from bridge.store import DEAD, DELIVERED, QUEUED
from admin_client import AUTH, EVENT_ID, SUBSCRIPTION, TOKEN, get, post

def test_off_without_a_token(bridge):
    response = bridge.client.get("/admin/deliveries", headers=AUTH)
    assert (response.status_code, response.json["reason"]) == (404, "not_found")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_every_endpoint_needs_the_token(admin, headers):
    for path in ("/admin/deliveries", "/admin/mappings", "/admin/openapi.json", f"/admin/events/stripe/{EVENT_ID}"):
        response = admin.client.get(path, headers=headers)
        assert (response.status_code, response.json["reason"]) == (401, "unauthorized"), path
    assert admin.client.post("/admin/reload", headers=headers).status_code == 401


def test_list_filters_and_pages(admin, reevo):
    admin.post("stripe", SUBSCRIPTION)
    admin.post("stripe", "stripe/invoice-paid/payload.json")
    admin.deliver()
    everything = get(admin, "/admin/deliveries").json
    assert [d["event_id"] for d in everything["data"]] == [EVENT_ID, "evt_1SVC8JHOQNg4XnOM2WgGoBj8"]
    assert everything["next_cursor"] is None
    first = get(admin, "/admin/deliveries?limit=1").json
    assert len(first["data"]) == 1 and first["next_cursor"]
    second = get(admin, f"/admin/deliveries?limit=1&cursor={first['next_cursor']}").json
    assert [d["route"] for d in second["data"]] == ["invoice-paid"] and second["next_cursor"] is None
    assert [d["route"] for d in get(admin, "/admin/deliveries?route=invoice-paid").json["data"]] == ["invoice-paid"]
    assert get(admin, "/admin/deliveries?status=dead").json["data"] == []
    opp = everything["data"][0]["target"]["id"]
    assert len(get(admin, f"/admin/deliveries?opportunity={opp}").json["data"]) == 1
    later = admin.clock() + 1
    assert get(admin, f"/admin/deliveries?received_from={later}").json["data"] == []
    assert get(admin, "/admin/deliveries?received_from=yesterday").status_code == 400


def test_event_detail_shows_attempts_errors_and_the_patch(admin, reevo):
    reevo.fault(count=1, status=422, method="PATCH", body={"error": {"code": "unknown_field", "message": "m"}})
    admin.post("stripe", SUBSCRIPTION)
    admin.deliver()
    event = get(admin, f"/admin/events/stripe/{EVENT_ID}").json["data"]
    assert event["type"] == "customer.subscription.updated" and event["outcome"] == "accepted"
    (delivery,) = event["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == (DEAD, 1)
    assert delivery["last_error"]["code"] == "unknown_field"
    assert delivery["patch"]["attributes"]["stage"] == "closed_won"
    assert "lease_token" not in delivery
    one = get(admin, f"/admin/deliveries/{delivery['id']}").json["data"]
    assert one["id"] == delivery["id"]
    assert get(admin, "/admin/events/stripe/nope").status_code == 404
    assert get(admin, "/admin/deliveries/999999").status_code == 404


def test_replay_one_and_many(admin, reevo):
    reevo.fault(count=2, status=422, method="PATCH", body={"error": {"code": "unknown_field", "message": "m"}})
    admin.post("stripe", SUBSCRIPTION)
    admin.post("stripe", "stripe/invoice-paid/payload.json")
    admin.deliver()
    dead = get(admin, "/admin/deliveries?status=dead").json["data"]
    assert len(dead) == 2
    assert post(admin, "/admin/replay", json={"filter": {"status": "dead"}, "dry_run": True}).json == \
        {"status": "dry_run", "would_replay": 2, "would_rebuild": 0, "still_dead": 0, "not_rebuilt": 0}
    assert post(admin, f"/admin/deliveries/{dead[0]['id']}/replay").json == {
        "status": "replayed", "replayed": 1, "rebuilt": 0, "still_dead": 0, "not_rebuilt": 0}
    assert get(admin, f"/admin/deliveries/{dead[0]['id']}").json["data"]["status"] == QUEUED
    assert post(admin, "/admin/replay", json={"filter": {"status": "dead"}}).json["replayed"] == 1
    admin.deliver()
    assert {d["status"] for d in get(admin, "/admin/deliveries").json["data"]} == {DELIVERED}
    for bad in ({}, {"ids": "1"}, {"ids": [1], "filter": {}}, {"filter": {"colour": "red"}}):
        assert post(admin, "/admin/replay", json=bad).status_code == 400


def test_mappings_report_sources_and_secrets(admin):
    data = get(admin, "/admin/mappings").json["data"]
    stripe = data["sources"]["stripe"]
    assert stripe["scheme"] == "stripe" and "subscription-status" in stripe["routes"]
    assert stripe["secrets"]["STRIPE_WEBHOOK_SECRET"] is True and stripe["enabled"] is True
    assert data["last_reload"] == {"status": "loaded"}


def test_reload_switches_to_good_files_and_keeps_the_old_ones_on_a_bad_file(admin, reevo):
    (admin.mappings / "extra.yaml").write_text(
        "verify: {scheme: none}\nroutes:\n  - {name: r, opportunity: {id: o}, set: {stage: s}}\n")
    reloaded = post(admin, "/admin/reload")
    assert reloaded.status_code == 200 and reloaded.json["status"] == "reloaded"
    assert "extra" in reloaded.json["sources"]
    assert admin.post("extra", {"o": "3b1f6a52-6a8e-4a43-9a39-6c1f4f0b7e11", "s": "closed_won"},
                      sign=False).status_code == 202
    (admin.mappings / "extra.yaml").write_text("verify: {scheme: none}\nroutes: [\n")
    rejected = post(admin, "/admin/reload")
    assert rejected.status_code == 422 and rejected.json["status"] == "rejected"
    assert any("extra.yaml: line" in p for p in rejected.json["problems"])
    assert admin.post("extra", {"o": "3b1f6a52-6a8e-4a43-9a39-6c1f4f0b7e11", "s": "x", "n": 1},
                      sign=False).status_code == 202, "the old mappings stay in use"
    assert get(admin, "/admin/mappings").json["data"]["last_reload"]["status"] == "rejected"


def test_openapi_documents_every_admin_route(admin):
    document = get(admin, "/admin/openapi.json").json
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    for rule in admin.app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in documented, (path, method)
