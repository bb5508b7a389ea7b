"""A signed Stripe webhook in, a Reevo opportunity PATCH out — over real HTTP to the sandbox."""
import json

import pytest

from sandbox.server import SandboxServer
from bridge.store import DEAD, DELIVERED, RETRYING
from helpers import FIXTURES, INITECH_OPP, OPP, Reevo, free_port

SUBSCRIPTION = "stripe/subscription-active/payload.json"
SUBSCRIPTION_EVENT = "evt_1MqqbKLt4dXK03v5qaIbiNCC"


def test_signed_event_becomes_the_mapped_change(bridge, reevo):
    before = reevo.opportunity()
    assert before["stage"]["value"]["api_name"] == "proposal"
    response = bridge.post("stripe", SUBSCRIPTION)
    assert response.status_code == 202
    assert response.json == {"status": "accepted", "events": [
        {"id": SUBSCRIPTION_EVENT, "type": "customer.subscription.updated", "status": "accepted",
         "deliveries": 1, "dead": 0}]}
    assert reevo.patches() == [], "nothing is sent before the worker runs: acknowledge first"
    assert bridge.deliver() == 1
    after = reevo.opportunity()
    assert after["stage"]["value"]["api_name"] == "closed_won"
    assert after["amount"]["value"] == {"amount": "10.00"}
    assert after["next_step_details"]["value"] == "Stripe subscription sub_1MowQVLkdIwHu7ixeRlqHVzs is active"
    (patch,) = reevo.patches()
    assert patch["path"] == f"/api/v2/opportunity/{OPP}"
    assert patch["json"] == {"attributes": {"stage": "closed_won", "amount": 10,
                                            "next_step_details": after["next_step_details"]["value"]}}
    assert patch["headers"]["User-Agent"].startswith("reevo-webhook-bridge/")
    assert len(patch["headers"]["Idempotency-Key"]) == 36
    assert patch["auth_scheme"] == "bearer"
    (record,) = bridge.deliveries("stripe", SUBSCRIPTION_EVENT)
    assert (record.status, record.attempts) == (DELIVERED, 1)


def test_the_same_event_twice_makes_one_patch(bridge, reevo):
    assert bridge.post("stripe", SUBSCRIPTION).status_code == 202
    again = bridge.post("stripe", SUBSCRIPTION)
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    bridge.deliver()
    assert bridge.post("stripe", SUBSCRIPTION).json["status"] == "duplicate"
    bridge.deliver()
    assert len(reevo.patches()) == 1


def test_invoice_paid_finds_the_opportunity_by_custom_field(bridge, reevo):
    assert bridge.post("stripe", "stripe/invoice-paid/payload.json").status_code == 202
    bridge.deliver()
    query = reevo.requests("POST")[-1]
    assert query["path"] == "/api/v2/opportunity/_query"
    assert query["json"]["filters"] == [{"field": "stripe_customer_id", "operator": "eq",
                                         "value": "cus_TS6KX04w045BN9"}]
    opportunity = reevo.opportunity(INITECH_OPP)
    assert opportunity["stage"]["value"]["api_name"] == "closed_won"
    assert opportunity["closed_won_custom_detail"]["value"] == "Invoice M8V0KX57-0001 paid"


@pytest.mark.parametrize("headers,reason,detail", [
    ({"Stripe-Signature": None}, "signature_missing", "missing Stripe-Signature header"),
    ({"Stripe-Signature": "t=1,v1=00"}, "signature_expired", "too old"),
    ({"Stripe-Signature": "garbage"}, "signature_malformed", "malformed"),
])
def test_bad_signature_stores_nothing_and_sends_nothing(bridge, reevo, headers, reason, detail):
    sent = {k: v for k, v in headers.items() if v is not None}
    response = bridge.post("stripe", SUBSCRIPTION, sign=False, headers=sent)
    assert response.status_code == 401
    assert response.json["status"] == "rejected" and response.json["reason"] == reason
    assert detail in response.json["detail"]
    assert bridge.store.counts() == {}
    assert bridge.store.get_event("stripe", SUBSCRIPTION_EVENT) is None
    bridge.deliver()
    assert reevo.requests() == []


def test_signature_with_the_wrong_secret_is_rejected(bridge, reevo):
    response = bridge.post("stripe", SUBSCRIPTION, secret="whsec_someone_else")
    assert (response.status_code, response.json["reason"]) == (401, "signature_mismatch")
    assert bridge.store.counts() == {}


def test_other_bad_input_gets_a_status_and_a_reason(make_bridge):
    bridge = make_bridge(BRIDGE_MAX_BODY_BYTES=8000)
    cases = [
        (bridge.post("stripe", b"{not json"), 400, "malformed_body"),
        (bridge.post("nosuchsource", SUBSCRIPTION), 404, "unknown_source"),
        (bridge.post("stripe", SUBSCRIPTION, content_type="text/plain"), 415, "unsupported_media_type"),
        (bridge.post("stripe", b"{" + b" " * 9000 + b"}"), 413, "body_too_large"),
        (bridge.client.get("/webhooks/stripe"), 405, "method_not_allowed"),
    ]
    for response, status, reason in cases:
        assert (response.status_code, response.json["status"], response.json["reason"]) == \
            (status, "rejected", reason)
    assert bridge.store.counts() == {}


def test_unrelated_event_type_is_ignored_and_recorded(bridge, reevo):
    payload = json.loads((FIXTURES / SUBSCRIPTION).read_text())
    payload.update(id="evt_other", type="customer.created")
    response = bridge.post("stripe", payload)
    assert response.status_code == 202
    assert response.json["status"] == "ignored" and response.json["reason"] == "no_route_matched"
    assert bridge.store.get_event("stripe", "evt_other")["outcome"] == "ignored"
    assert bridge.post("stripe", payload).json["status"] == "duplicate"
    bridge.deliver()
    assert reevo.requests() == []


def test_event_without_opportunity_id_is_dead_with_reason_but_acknowledged(bridge, reevo):
    payload = json.loads((FIXTURES / SUBSCRIPTION).read_text())
    payload["id"] = "evt_no_target"
    payload["data"]["object"]["metadata"] = {}
    response = bridge.post("stripe", payload)
    assert response.status_code == 202 and response.json["events"][0]["dead"] == 1
    (record,) = bridge.deliveries("stripe", "evt_no_target")
    assert record.status == DEAD
    assert record.last_error == {"code": "missing_target", "field": "opportunity",
                                 "message": "the opportunity id is missing from the event"}
    bridge.deliver()
    assert reevo.requests() == []


def test_reevo_down_then_up_delivers_and_loses_nothing(make_bridge):
    port = free_port()
    bridge = make_bridge(REEVO_API_URL=f"http://127.0.0.1:{port}", BRIDGE_RETRY_CAP=10)
    assert bridge.post("stripe", SUBSCRIPTION).status_code == 202
    assert bridge.deliver() == 1
    (record,) = bridge.deliveries("stripe", SUBSCRIPTION_EVENT)
    assert record.status == RETRYING and record.last_error["code"] == "connection_error"
    assert record.next_attempt_at <= bridge.clock() + 10
    with SandboxServer(port=port) as server:
        bridge.clock.advance(10)
        assert bridge.deliver() == 1
        (record,) = bridge.deliveries("stripe", SUBSCRIPTION_EVENT)
        assert (record.status, record.attempts) == (DELIVERED, 2)
        assert Reevo(server.url).opportunity()["stage"]["value"]["api_name"] == "closed_won"


def test_retry_after_is_honoured_and_applied_once(bridge, reevo):
    reevo.fault(count=2, status=503, headers={"Retry-After": "7"}, method="PATCH")
    bridge.post("stripe", SUBSCRIPTION)
    for _ in range(2):
        assert bridge.deliver() == 1
        (record,) = bridge.deliveries("stripe", SUBSCRIPTION_EVENT)
        assert record.status == RETRYING and record.next_attempt_at == pytest.approx(bridge.clock() + 7)
        bridge.clock.advance(6.9)
        assert bridge.deliver() == 0, "no attempt before Retry-After has passed"
        bridge.clock.advance(0.1)
    assert bridge.deliver() == 1
    assert bridge.deliveries("stripe", SUBSCRIPTION_EVENT)[0].status == DELIVERED
    assert len(reevo.patches()) == 1


def test_permanent_rejection_is_dead_with_reevo_code(bridge, reevo):
    reevo.fault(count=1, status=422, method="PATCH",
                body={"error": {"code": "field_value_invalid", "message": "stage is not valid", "field": "stage"}})
    bridge.post("stripe", SUBSCRIPTION)
    bridge.deliver()
    (record,) = bridge.deliveries("stripe", SUBSCRIPTION_EVENT)
    assert record.status == DEAD
    assert record.last_error == {"status": 422, "code": "field_value_invalid", "message": "stage is not valid"}


def test_unauthorized_pauses_instead_of_failing(make_bridge, reevo):
    bridge = make_bridge(BRIDGE_PAUSE_PROBE_SECONDS=30)
    reevo.fault(count=2, status=401, method="PATCH")
    bridge.post("stripe", SUBSCRIPTION)
    bridge.deliver()
    (record,) = bridge.deliveries("stripe", SUBSCRIPTION_EVENT)
    assert (record.status, record.attempts, bridge.worker.paused) == (RETRYING, 0, True)
    ready = bridge.client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["delivery"].startswith("paused")
    assert bridge.client.get("/readyz?scope=ingest").status_code == 200
    bridge.clock.advance(29)
    assert bridge.deliver() == 0
    bridge.clock.advance(1)
    bridge.deliver()
    assert bridge.deliveries("stripe", SUBSCRIPTION_EVENT)[0].status == RETRYING
    bridge.clock.advance(30)
    bridge.deliver()
    assert bridge.deliveries("stripe", SUBSCRIPTION_EVENT)[0].status == DELIVERED
    assert not bridge.worker.paused
    assert bridge.client.get("/readyz").status_code == 200


def test_readiness_and_health(bridge):
    assert bridge.client.get("/healthz").json == {"status": "ok"}
    ready = bridge.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"] == {"store": "ok", "mappings": "ok", "delivery": "ok"}


def test_readiness_says_when_no_mapping_is_loaded(make_bridge, tmp_path):
    empty = tmp_path / "no-mappings"
    empty.mkdir()
    ready = make_bridge(BRIDGE_MAPPINGS_DIR=empty).client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["mappings"] == "none loaded"
