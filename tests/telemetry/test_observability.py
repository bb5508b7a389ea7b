"""Logs without secrets, Prometheus metrics after a scripted run, Sentry events scrubbed."""
import gzip
import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.telemetry import alerts
from bridge.telemetry.logs import REDACTED, Scrubber, configure_logging, log_state
from helpers import STRIPE_SECRET

SCRUB_CASES = [
    ("Authorization: Bearer abc.def-123", "Authorization: " + REDACTED),
    ("headers={'Authorization': 'Bearer xyz'}", "headers={'Authorization': '" + REDACTED + "'}"),
    ("X-Api-Key: key-1234567", "X-Api-Key: " + REDACTED),
    ("Stripe-Signature: t=1,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
     "Stripe-Signature: " + REDACTED + ",v1=" + REDACTED),
    ("secret whsec_abcDEF123/+= leaked", "secret whsec_" + REDACTED + " leaked"),
    ("sha256=0123456789abcdef0123", "sha256=" + REDACTED),
    ("the value my-configured-secret-value here", f"the value {REDACTED} here"),
    ("reason=signature_missing detail=missing Stripe-Signature header",
     "reason=signature_missing detail=missing Stripe-Signature header"),
]


@pytest.mark.parametrize("text,expected", SCRUB_CASES)
def test_scrubber_text(text, expected):
    assert Scrubber(["my-configured-secret-value"]).text(text) == expected


def test_scrubber_data_replaces_sensitive_keys_and_nested_values():
    data = {"headers": {"Authorization": "Bearer x", "X-Hub-Signature-256": "sha256=ab", "Accept": "json"},
            "note": ["ok", "token my-configured-secret-value"], "lease_token": "abc"}
    clean = Scrubber(["my-configured-secret-value"]).data(data)
    assert clean["headers"] == {"Authorization": REDACTED, "X-Hub-Signature-256": REDACTED, "Accept": "json"}
    assert clean["note"] == ["ok", f"token {REDACTED}"]


@pytest.mark.parametrize("log_format,check", [
    ("json", lambda line: json.loads(line)["event_id"] == "evt_1"),
    ("text", lambda line: "INFO    delivered event_id=evt_1" in line),
])
def test_log_formats(log_format, check):
    stream = io.StringIO()
    configure_logging(log_format, stream=stream)
    try:
        log_state(logging.getLogger("bridge.test"), "delivered", event_id="evt_1",
                  detail="Authorization: Bearer leaked-value")
        line = stream.getvalue().strip()
        assert check(line) and "leaked-value" not in line
    finally:
        configure_logging("json")


SIGNATURE_FAILURES = [  # (Stripe-Signature header or None, the reason it must be refused with)
    (None, "signature_missing"),
    ("garbage", "signature_malformed"),
    ("t=1,v1=00", "signature_expired"),
]


def test_each_signature_failure_has_its_own_reason_in_logs_and_metrics(bridge):
    before = metric_values(bridge.client.get("/metrics").get_data(as_text=True))
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        for header, _ in SIGNATURE_FAILURES:
            bridge.post("stripe", b"{}", sign=False, headers={} if header is None else {"Stripe-Signature": header})
        bridge.post("stripe", b"{}", secret="whsec_wrong")
    finally:
        configure_logging("json")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    expected = [reason for _, reason in SIGNATURE_FAILURES] + ["signature_mismatch"]
    assert [line["reason"] for line in lines if line.get("status") == "rejected"] == expected
    after = metric_values(bridge.client.get("/metrics").get_data(as_text=True))
    for reason in expected:
        key = ("bridge_webhooks_rejected_total", (("reason", reason), ("source", "stripe")))
        assert after.get(key, 0) - before.get(key, 0) == 1, reason


def metric_values(text: str) -> dict:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_metrics_after_a_scripted_run(bridge, reevo):
    before = metric_values(bridge.client.get("/metrics").get_data(as_text=True))
    bridge.post("stripe", "stripe/subscription-active/payload.json")
    bridge.post("stripe", "stripe/subscription-active/payload.json")
    bridge.post("stripe", "stripe/subscription-active/payload.json", secret="whsec_wrong")
    bridge.post("nowhere", b"{}")
    reevo.fault(count=1, status=503, method="PATCH")
    bridge.deliver()
    queued = metric_values(bridge.client.get("/metrics").get_data(as_text=True))
    assert queued[("bridge_queue_depth", (("status", "retrying"),))] == 1
    bridge.clock.advance(3600)
    bridge.deliver()
    response = bridge.client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain")
    after = metric_values(response.get_data(as_text=True))

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)
    assert delta("bridge_webhooks_received_total", source="stripe") == 3
    assert delta("bridge_events_total", source="stripe", outcome="accepted") == 1
    assert delta("bridge_events_total", source="stripe", outcome="duplicate") == 1
    assert delta("bridge_webhooks_rejected_total", source="stripe", reason="signature_mismatch") == 1
    assert delta("bridge_webhooks_rejected_total", source="unknown", reason="unknown_source") == 1
    route = dict(source="stripe", route="subscription-status")
    assert delta("bridge_deliveries_total", result="retried", **route) == 1
    assert delta("bridge_deliveries_total", result="delivered", **route) == 1
    assert delta("bridge_reevo_responses_total", operation="patch", status="503") == 1
    assert delta("bridge_reevo_responses_total", operation="patch", status="200") == 1
    assert delta("bridge_reevo_request_seconds_count", operation="patch") == 2
    assert delta("bridge_delivery_latency_seconds_count", source="stripe") == 1
    assert after[("bridge_queue_depth", (("status", "delivered"),))] == 1
    assert after[("bridge_queue_oldest_age_seconds", ())] == 0
    assert after[("bridge_deliveries_paused", ())] == 0


class SentryStandIn:
    """A local HTTP endpoint posing as the Sentry DSN; keeps every envelope it receives."""

    def __init__(self):
        self.envelopes: list[list[dict]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                stand_in.envelopes.append([json.loads(line) for line in body.splitlines() if line.strip()])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.dsn = f"http://publickey@127.0.0.1:{self.server.server_port}/42"

    def events(self) -> list[dict]:
        return [item for envelope in self.envelopes for item in envelope
                if isinstance(item, dict) and "event_id" in item and "level" in item]


def test_sentry_gets_dead_deliveries_and_pauses_with_tags_and_nothing_secret(make_bridge, reevo):
    sentry = SentryStandIn()
    try:
        bridge = make_bridge(SENTRY_DSN=sentry.dsn, BRIDGE_ENVIRONMENT="test-env", BRIDGE_DELIVERY_THREADS=0)
        bridge.runtime.start()  # Sentry is process-wide set-up: starting does it, building does not
        reevo.fault(count=1, status=401, method="PATCH")
        reevo.fault(count=1, status=422, method="PATCH",
                    body={"error": {"code": "unknown_field", "message": "no", "field": "x"}})
        bridge.post("stripe", "stripe/subscription-active/payload.json")
        bridge.deliver()
        bridge.clock.advance(60)
        bridge.deliver()
        alerts.flush()
    finally:
        sentry.server.shutdown()
        import sentry_sdk
        sentry_sdk.init(dsn=None)
        alerts._enabled = False
    events = sentry.events()
    by_message = {e.get("message") or e.get("logentry", {}).get("message"): e for e in events}
    dead = by_message["delivery dead"]
    assert dead["tags"]["source"] == "stripe" and dead["tags"]["route"] == "subscription-status"
    assert dead["tags"]["reason"] == "unknown_field"
    assert dead["environment"] == "test-env" and dead["release"].startswith("reevo-bridge@")
    assert by_message["deliveries paused: Reevo refused the API key"]["tags"]["reason"] == "paused"
    everything = json.dumps(sentry.envelopes)
    for secret in (STRIPE_SECRET, "sandbox-key", "Bearer "):
        assert secret not in everything


def test_before_send_drops_payloads_and_scrubs():
    event = {"request": {"data": {"card": "4242"}, "cookies": "a=b", "query_string": "signature=abc",
                         "headers": {"Authorization": "Bearer t0ken-value", "Stripe-Signature": "t=1,v1=ff"}},
             "message": "failed with whsec_abc123secret"}
    clean = alerts.scrub_event(event)
    assert clean["request"] == {"headers": {"Authorization": REDACTED, "Stripe-Signature": REDACTED}}
    assert "whsec_abc123secret" not in clean["message"]
