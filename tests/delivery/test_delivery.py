"""Delivery policy in process: stale guard, give-up rules, match targets — Reevo is the sandbox."""
import json
import socket
import textwrap
import threading

import pytest

from bridge.config import Settings
from sandbox.known import DUPLICATE_HUBSPOT_DEAL_ID, HUBSPOT_DEAL_ID
from bridge.store import DEAD, DELIVERED, RETRYING, SUPERSEDED
from helpers import FIXTURES, SANDBOX_KEY, free_port

SUBSCRIPTION = json.loads((FIXTURES / "stripe/subscription-active/payload.json").read_text())


def subscription(event_id: str, created: int, status: str = "active", cents: int = 1000) -> dict:
    event = json.loads(json.dumps(SUBSCRIPTION))
    event.update(id=event_id, created=created)
    event["data"]["object"].update(status=status, id=f"sub_{event_id}")
    event["data"]["object"]["items"]["data"][0]["price"]["unit_amount"] = cents
    return event


def test_an_older_event_never_overwrites_a_newer_one(bridge, reevo):
    bridge.post("stripe", subscription("newer", 2_000, status="past_due", cents=5000))
    bridge.deliver()
    bridge.post("stripe", subscription("older", 1_000, status="active", cents=1000))
    bridge.deliver()
    (older,) = bridge.deliveries("stripe", "older")
    assert older.status == SUPERSEDED and older.last_error["code"] == "superseded"
    state = reevo.opportunity()
    assert state["stage"]["value"]["api_name"] == "negotiation"
    assert state["amount"]["value"] == {"amount": "50.00"}
    assert len(reevo.patches()) == 1


def test_only_the_fields_a_newer_event_set_are_dropped(bridge, reevo):
    # "trialing" maps to no stage (default: skip), so the newer event sets amount and next step only.
    bridge.post("stripe", subscription("newer", 2_000, status="trialing", cents=5000))
    bridge.deliver()
    bridge.post("stripe", subscription("older", 1_000, status="active", cents=1000))
    bridge.deliver()
    assert [p["json"] for p in reevo.patches()][-1] == {"attributes": {"stage": "closed_won"}}
    assert bridge.deliveries("stripe", "older")[0].status == DELIVERED
    assert reevo.opportunity()["amount"]["value"] == {"amount": "50.00"}


@pytest.mark.parametrize("limit,wait,gave_up", [
    ({"BRIDGE_MAX_ATTEMPTS": 2}, 2, "too_many_attempts"),
    ({"BRIDGE_MAX_AGE_SECONDS": 60}, 61, "too_old"),
])
def test_gives_up_with_the_last_error(make_bridge, reevo, limit, wait, gave_up):
    bridge = make_bridge(BRIDGE_RETRY_CAP=1, **limit)
    reevo.fault(count=5, status=502, method="PATCH")
    bridge.post("stripe", subscription("e", 1_000))
    bridge.deliver()
    bridge.clock.advance(wait)
    bridge.deliver()
    (record,) = bridge.deliveries("stripe", "e")
    assert (record.status, record.attempts) == (DEAD, 2)
    assert record.last_error == {"status": 502, "code": "bad_gateway", "message": "sandbox fault: HTTP 502",
                                 "gave_up": gave_up}


HUBSPOT_MATCH = textwrap.dedent("""
    verify: {scheme: none}
    event: {id: id, occurred_at: at}
    custom_fields: {hubspot_deal_id: string}
    routes:
      - name: by-deal
        opportunity: {match: {field: hubspot_deal_id, equals: deal}}
        set: {next_step_details: note}
""")


def match_bridge(make_bridge, tmp_path, **env):
    (tmp_path / "deals.yaml").write_text(HUBSPOT_MATCH)
    return make_bridge(BRIDGE_MAPPINGS_DIR=tmp_path, **env)


def test_match_finds_the_opportunity_and_caches_it(make_bridge, reevo, tmp_path):
    bridge = match_bridge(make_bridge, tmp_path)
    for number in (1, 2):
        bridge.post("deals", {"id": f"d{number}", "at": number, "deal": HUBSPOT_DEAL_ID, "note": f"n{number}"},
                    sign=False)
        bridge.deliver()
    assert reevo.opportunity()["next_step_details"]["value"] == "n2"
    assert len([r for r in reevo.requests("POST") if r["path"].endswith("/_query")]) == 1


def test_ambiguous_match_is_dead(make_bridge, reevo, tmp_path):
    bridge = match_bridge(make_bridge, tmp_path)
    bridge.post("deals", {"id": "d1", "at": 1, "deal": DUPLICATE_HUBSPOT_DEAL_ID, "note": "x"}, sign=False)
    bridge.deliver()
    (record,) = bridge.deliveries("deals", "d1")
    assert (record.status, record.last_error["code"]) == (DEAD, "ambiguous_match")
    assert reevo.patches() == []


def test_missing_match_waits_then_dies(make_bridge, reevo, tmp_path):
    bridge = match_bridge(make_bridge, tmp_path, BRIDGE_TARGET_WAIT_SECONDS=100, BRIDGE_RETRY_CAP=5)
    bridge.post("deals", {"id": "d1", "at": 1, "deal": "nope", "note": "x"}, sign=False)
    bridge.deliver()
    assert bridge.deliveries("deals", "d1")[0].status == RETRYING
    bridge.clock.advance(100)
    bridge.deliver()
    (record,) = bridge.deliveries("deals", "d1")
    assert (record.status, record.last_error["code"]) == (DEAD, "target_not_found")


def test_a_redirect_from_reevo_is_not_followed(reevo):
    """A 307 would resend the PATCH (and our key) wherever Location points: it is a dead answer instead."""
    import http.server
    import threading

    from bridge.delivery.reevo_client import DEAD as OUTCOME_DEAD
    from bridge.delivery.reevo_client import ReevoClient
    from helpers import OPP, SANDBOX_KEY

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_PATCH(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(307)
            self.send_header("Location", f"{reevo.url}/api/v2/opportunity/{OPP}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = ReevoClient(f"http://127.0.0.1:{server.server_address[1]}", SANDBOX_KEY, Settings.connect_timeout,
                         Settings.read_timeout)
    try:
        outcome = client.patch_opportunity(OPP, {"amount": 1}, "key-1", 0)
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    assert (outcome.kind, outcome.status, outcome.code) == (OUTCOME_DEAD, 307, "http_307")
    assert reevo.requests("PATCH") == []


def batch_of_three(bridge) -> list:
    """Three events for three opportunities: one claim takes all of them."""
    from sandbox.known import DEMO_OPPORTUNITY_ID, INITECH_OPPORTUNITY_ID, STRIPE_OPPORTUNITY_ID
    for number, opp in enumerate((DEMO_OPPORTUNITY_ID, STRIPE_OPPORTUNITY_ID, INITECH_OPPORTUNITY_ID)):
        event = subscription(f"evt_batch_{number}", 1_000 + number)
        event["data"]["object"]["metadata"]["reevo_opportunity_id"] = opp
        assert bridge.post("stripe", event).status_code == 202
    assert bridge.worker.run_once() == 3
    return [bridge.deliveries("stripe", f"evt_batch_{n}")[0] for n in range(3)]


def test_a_claimed_batch_is_recorded_as_delivered_in_one_write(bridge, reevo):
    delivered = batch_of_three(bridge)
    assert [d.status for d in delivered] == [DELIVERED] * 3 and len(reevo.patches()) == 3
    assert len({bridge.store.get_delivery(d.id).extra["updated_at"] for d in delivered}) == 1


def test_a_slow_batch_records_what_went_out_before_its_leases_could_run_out(make_bridge, reevo):
    bridge = make_bridge(BRIDGE_LEASE_SECONDS=120)
    ticking = bridge.clock
    claimed_at = ticking.now

    class SlowClock:  # every reading is 11 s later: a third of the lease passes within two deliveries
        def __call__(self):
            ticking.advance(11)
            return ticking.now

    bridge.worker.clock = SlowClock()
    delivered = batch_of_three(bridge)
    assert [d.status for d in delivered] == [DELIVERED] * 3
    written = {bridge.store.get_delivery(d.id).extra["updated_at"] for d in delivered}
    assert len(written) == 2 and max(written) < claimed_at + 11 + 120  # two writes, each within the lease


def test_every_attempt_is_logged_with_status_code_and_latency(make_bridge, reevo):
    bridge = make_bridge(BRIDGE_RETRY_CAP=1)
    reevo.fault(count=1, status=502, method="PATCH")
    bridge.post("stripe", subscription("e", 1_000))
    bridge.deliver()
    bridge.clock.advance(2)
    bridge.deliver()
    (record,) = bridge.deliveries("stripe", "e")
    failed, delivered = bridge.store.attempt_log(record.id)
    assert (failed["outcome"], failed["http_status"], failed["code"], failed["attempt"]) == (
        "retrying", 502, "bad_gateway", 1)
    assert failed["next_attempt_at"] > failed["at"] and failed["message"] == "sandbox fault: HTTP 502"
    assert (delivered["outcome"], delivered["http_status"], delivered["attempt"]) == ("delivered", 200, 2)
    assert delivered["sent"] == sorted(record.attributes) and delivered["skipped"] == []
    assert delivered["opportunity_id"] == record.target["id"]
    assert all(isinstance(a["latency_ms"], float) and a["latency_ms"] >= 0 for a in (failed, delivered))


def test_a_superseded_delivery_logs_which_newer_fields_won(bridge, reevo):
    bridge.post("stripe", subscription("newer", 2_000, status="past_due", cents=5000))
    bridge.deliver()
    bridge.post("stripe", subscription("older", 1_000, status="active", cents=1000))
    bridge.deliver()
    (older,) = bridge.deliveries("stripe", "older")
    assert sorted(older.last_error["newer"]) == sorted(older.attributes)
    (attempt,) = bridge.store.attempt_log(older.id)
    assert attempt["outcome"] == "superseded" and attempt["skipped"] == sorted(older.attributes)


def unanswered_server(close_after_reading: bool):
    """A socket that takes a request and never answers it (or closes the connection once it has read it)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    if close_after_reading:
        def take_and_close():
            connection, _ = listener.accept()
            connection.recv(65536)
            connection.close()
        threading.Thread(target=take_and_close, daemon=True).start()
    return listener


@pytest.mark.parametrize("case,code,ambiguous", [
    ("refused", "connection_error", False),  # never reached Reevo: no hold
    ("no answer", "timeout", True),  # sent: Reevo may still apply it
    ("closed after reading", "connection_error", True),
])
def test_whether_a_failed_request_may_have_reached_reevo(case, code, ambiguous):
    from bridge.delivery.reevo_client import ReevoClient
    listener = None if case == "refused" else unanswered_server(case == "closed after reading")
    port = listener.getsockname()[1] if listener else free_port()
    client = ReevoClient(f"http://127.0.0.1:{port}", SANDBOX_KEY, 2.0, 0.5)
    try:
        outcome = client.patch_opportunity("opp", {"stage": "won"}, "key", 0.0)
    finally:
        client.close()
        if listener:
            listener.close()
    assert (outcome.code, outcome.ambiguous) == (code, ambiguous)
