"""Mapping failures and ignored events delivered once the mapping is fixed: replay rebuilds them.

Through the admin API of an in-process bridge delivering to the sandbox over real HTTP.
"""
import pytest

from bridge.store import ACCEPTED, DEAD, DELIVERED, IGNORED, QUEUED
from helpers import INITECH_OPP, OPP
from rebuild_samples import deal_event, write_acme

TOKEN = "admin-token-for-rebuild-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def acme(make_bridge, tmp_path):
    """A bridge serving only acme.yaml (lookup without `lost`), admin API on."""
    folder = tmp_path / "mappings"
    write_acme(folder)
    bridge = make_bridge(BRIDGE_ADMIN_TOKEN=TOKEN, BRIDGE_MAPPINGS_DIR=folder)
    bridge.mappings = folder
    return bridge


def post(bridge, path, **kwargs):
    return bridge.client.post(path, headers=AUTH, **kwargs)


def get(bridge, path):
    return bridge.client.get(path, headers=AUTH)


def change_mapping(bridge, **options):
    write_acme(bridge.mappings, **options)
    answer = post(bridge, "/admin/reload")
    assert answer.status_code == 200 and answer.json["status"] == "reloaded", answer.json


def dead_delivery(bridge, event_id="deal-evt-1", **event):
    response = bridge.post("acme", deal_event(event_id, **event), sign=False)
    assert response.status_code == 202 and response.json["status"] == ACCEPTED, response.json
    (record,) = bridge.deliveries("acme", event_id)
    assert (record.status, record.target, record.last_error["code"]) == (DEAD, {}, "no_lookup_match")
    return record


def test_a_lookup_fixed_after_the_fact_is_delivered_by_replay(acme, reevo):
    record = dead_delivery(acme)
    acme.deliver()
    assert reevo.patches() == [], "a mapping failure sends nothing"
    change_mapping(acme, lookup={"won": "closed_won", "lost": "closed_lost"})
    acme.clock.advance(60)
    answer = post(acme, f"/admin/deliveries/{record.id}/replay")
    assert answer.json == {"status": "replayed", "replayed": 0, "rebuilt": 1, "still_dead": 0, "not_rebuilt": 0}
    rebuilt = acme.store.get_delivery(record.id)
    assert (rebuilt.status, rebuilt.target, rebuilt.attempts) == (QUEUED, {"id": OPP}, 0)
    assert rebuilt.extra["history"] == [{"replayed_at": acme.clock(), "status": DEAD, "attempts": 0,
                                         "last_error": record.last_error, "rebuilt": True}]
    assert acme.deliver() == 1
    (patch,) = reevo.patches()
    assert patch["path"] == f"/api/v2/opportunity/{OPP}"
    assert patch["json"] == {"attributes": {"stage": "closed_lost", "next_step_details": "Deal D-1 is lost"}}
    assert patch["headers"]["Idempotency-Key"] == record.idempotency_key, "the same delivery, the same key"
    assert reevo.opportunity()["stage"]["value"]["api_name"] == "closed_lost"
    assert acme.store.get_delivery(record.id).status == DELIVERED


def test_replay_before_the_fix_keeps_it_dead_with_the_reason_and_history(acme, reevo):
    record = dead_delivery(acme)
    answer = post(acme, "/admin/replay", json={"ids": [record.id]})
    assert answer.json == {"status": "replayed", "replayed": 0, "rebuilt": 1, "still_dead": 1, "not_rebuilt": 0}
    again = acme.store.get_delivery(record.id)
    assert (again.status, again.last_error["code"], len(again.extra["history"])) == (DEAD, "no_lookup_match", 1)
    acme.deliver()
    assert reevo.patches() == []


def test_a_filter_replays_what_had_a_target_and_rebuilds_what_did_not(acme, reevo):
    broken = dead_delivery(acme, "deal-evt-1")
    reevo.fault(count=1, status=422, method="PATCH", body={"error": {"code": "unknown_field", "message": "m"}})
    acme.post("acme", deal_event("deal-evt-2", status="won", opportunity=INITECH_OPP), sign=False)
    acme.deliver()
    (refused,) = acme.deliveries("acme", "deal-evt-2")
    assert (refused.status, refused.target) == (DEAD, {"id": INITECH_OPP})
    change_mapping(acme, lookup={"won": "closed_won", "lost": "closed_lost"})

    dry = post(acme, "/admin/replay", json={"filter": {"status": "dead"}, "dry_run": True})
    assert dry.json == {"status": "dry_run", "would_replay": 1, "would_rebuild": 1, "still_dead": 0,
                        "not_rebuilt": 0}
    assert acme.store.counts() == {DEAD: 2}, "a dry run changes nothing"
    answer = post(acme, "/admin/replay", json={"filter": {"status": "dead", "source": "acme"}})
    assert answer.json == {"status": "replayed", "replayed": 1, "rebuilt": 1, "still_dead": 0, "not_rebuilt": 0}
    assert acme.deliver() == 2
    assert {p["path"].rsplit("/", 1)[1] for p in reevo.patches()} == {OPP, INITECH_OPP}
    assert [acme.store.get_delivery(i).status for i in (broken.id, refused.id)] == [DELIVERED, DELIVERED]


def test_replaying_a_delivered_delivery_resends_its_patch_it_is_not_rebuilt(acme, reevo):
    acme.post("acme", deal_event(status="won"), sign=False)
    acme.deliver()
    (record,) = acme.deliveries("acme", "deal-evt-1")
    assert record.status == DELIVERED
    change_mapping(acme, lookup={"won": "negotiation", "lost": "closed_lost"})
    answer = post(acme, f"/admin/deliveries/{record.id}/replay")
    assert answer.json == {"status": "replayed", "replayed": 1, "rebuilt": 0, "still_dead": 0, "not_rebuilt": 0}
    acme.deliver()
    first, second = reevo.patches()
    assert first["json"] == second["json"] == {"attributes": {"stage": "closed_won",
                                                               "next_step_details": "Deal D-1 is won"}}
    assert "rebuilt" not in acme.store.get_delivery(record.id).extra["history"][0]


def test_an_ignored_event_is_delivered_once_a_route_for_it_is_added(acme, reevo):
    response = acme.post("acme", deal_event("deal-evt-9", type="deal.created"), sign=False)
    assert response.json["status"] == IGNORED
    event_path = "/admin/events/acme/deal-evt-9"
    assert get(acme, event_path).json["data"]["data"] == deal_event("deal-evt-9", type="deal.created")
    assert post(acme, f"{event_path}/rebuild").json["rebuilt"] == 0, "still no route for it"
    change_mapping(acme, created_route=True)

    dry = post(acme, f"{event_path}/rebuild", json={"dry_run": True}).json
    assert dry == {"status": "dry_run", "rebuilt": 1, "still_dead": 0, "routes": [
        {"route": "deal-created", "action": "insert", "status": QUEUED, "target": {"id": OPP}, "error": None}]}
    assert get(acme, event_path).json["data"]["outcome"] == IGNORED
    answer = post(acme, f"{event_path}/rebuild").json
    assert (answer["status"], answer["rebuilt"]) == ("rebuilt", 1)
    event = get(acme, event_path).json["data"]
    assert (event["outcome"], event["reason"]) == (ACCEPTED, None)
    assert [d["route"] for d in event["deliveries"]] == ["deal-created"]
    assert acme.deliver() == 1
    (patch,) = reevo.patches()
    assert patch["json"] == {"attributes": {"next_step_details": "Deal D-1 was created"}}
    again = post(acme, f"{event_path}/rebuild").json
    assert again["rebuilt"] == 0 and again["routes"][0]["action"] == "keep", "delivered: left alone"
    acme.deliver()
    assert len(reevo.patches()) == 1


def test_a_dead_delivery_whose_route_no_longer_matches_is_not_rebuilt(acme, reevo):
    record = dead_delivery(acme)
    (acme.mappings / "acme.yaml").write_text(
        (acme.mappings / "acme.yaml").read_text().replace("type == 'deal.updated'", "type == 'deal.won'"))
    assert post(acme, "/admin/reload").json["status"] == "reloaded"
    answer = post(acme, f"/admin/deliveries/{record.id}/replay").json
    assert answer == {"status": "replayed", "replayed": 0, "rebuilt": 0, "still_dead": 0, "not_rebuilt": 1}
    assert acme.store.get_delivery(record.id) == record


def test_a_source_without_a_mapping_is_a_clear_error_and_changes_nothing(acme, reevo):
    record = dead_delivery(acme)
    (acme.mappings / "acme.yaml").unlink()
    (acme.mappings / "other.yaml").write_text(
        "verify: {scheme: none}\nroutes:\n  - {name: r, opportunity: {id: o}, set: {stage: s}}\n")
    assert post(acme, "/admin/reload").json["status"] == "reloaded"
    for answer in (post(acme, f"/admin/deliveries/{record.id}/replay"),
                   post(acme, "/admin/replay", json={"filter": {"status": "dead"}}),
                   post(acme, "/admin/replay", json={"filter": {"status": "dead"}, "dry_run": True}),
                   post(acme, "/admin/events/acme/deal-evt-1/rebuild")):
        assert (answer.status_code, answer.json["reason"]) == (409, "unknown_source")
        assert "acme.yaml" in answer.json["detail"]
    assert acme.store.get_delivery(record.id) == record
    missing = post(acme, "/admin/events/other/nope/rebuild")
    assert (missing.status_code, missing.json["reason"]) == (404, "not_found")


def test_the_stored_event_id_wins_over_headers_that_are_not_stored(make_bridge, tmp_path, reevo):
    """An id read from a header and several events in one body: the rebuild renders the stored item."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    mapping = """verify: {scheme: none}
events: "items"
event: {id: {header: X-Delivery-Id}, type: kind}
routes:
  - name: stage
    when: "kind == 'won'"
    opportunity: {id: opportunity}
    set:
      stage: {from: stage, lookup: {LOST: closed_lost}}
"""
    (folder / "multi.yaml").write_text(mapping)
    bridge = make_bridge(BRIDGE_ADMIN_TOKEN=TOKEN, BRIDGE_MAPPINGS_DIR=folder)
    body = {"items": [{"kind": "won", "opportunity": OPP, "stage": "WON"}]}
    response = bridge.post("multi", body, sign=False, headers={"X-Delivery-Id": "hdr-1"})
    assert response.json["events"][0]["id"] == "hdr-1"
    (record,) = bridge.deliveries("multi", "hdr-1")
    assert record.last_error["code"] == "no_lookup_match"
    (folder / "multi.yaml").write_text(mapping.replace("{LOST: closed_lost}", "{WON: closed_won}"))
    assert post(bridge, "/admin/reload").json["status"] == "reloaded"
    assert post(bridge, "/admin/replay", json={"filter": {"source": "multi"}}).json["rebuilt"] == 1
    assert bridge.deliver() == 1
    (patch,) = reevo.patches()
    assert patch["json"] == {"attributes": {"stage": "closed_won"}}
    assert [r.event_id for r in bridge.deliveries("multi", "hdr-1")] == ["hdr-1"]
    assert bridge.store.get_event("multi", "hdr-1")["type"] == "won"


def test_the_stored_event_is_read_with_the_current_mapping_falling_back_to_what_was_stored(tmp_path):
    from bridge.mapping.loader import load_mapping
    from bridge.ops.rebuild import stored_event
    mapping, problems = load_mapping(write_acme(tmp_path))
    assert problems == []
    stored = {"event_id": "kept-id", "type": "old-type", "occurred_at": "2020-01-01T00:00:00.000000Z",
              "data": deal_event("other-id")}
    event = stored_event(mapping, stored)
    assert (event.id, event.type, event.occurred_at) == ("kept-id", "deal.updated", "2024-05-01T10:00:00.000000Z")
    event = stored_event(mapping, {**stored, "data": {"opportunity": OPP}})
    assert (event.id, event.type, event.occurred_at) == ("kept-id", "old-type", "2020-01-01T00:00:00.000000Z")
