"""Delivery under Reevo faults, with a real gunicorn bridge and the sandbox as processes."""
import math
import os
import subprocess
import sys
import time
from email.utils import formatdate
from itertools import pairwise

from sandbox.known import ACCOUNT_IDS, OPPORTUNITY_IDS
from bridge.store import DEAD, DELIVERED, RETRYING, SUPERSEDED, open_store
from harness import subscription_event
from helpers import ROOT, wait_for

OPP_A, OPP_B, OPP_C = OPPORTUNITY_IDS[:3]
UNPROCESSABLE = {"error": {"code": "field_value_invalid", "message": "stage is not valid", "field": "stage"}}


def deliveries(bridge, number: int):
    store = open_store(bridge.env["BRIDGE_STORE_URL"])
    try:
        return store.deliveries_for_event("stripe", f"evt_fault_{number:04d}")
    finally:
        store.close()


def status_of(bridge, number: int):
    return [d.status for d in deliveries(bridge, number)]


def test_503_three_times_with_retry_after_then_one_application(sandbox, make_bridge):
    sandbox.fault(count=3, status=503, headers={"Retry-After": "1"}, method="PATCH")
    bridge = make_bridge()
    assert bridge.post_stripe(subscription_event(1, OPP_A)).status_code == 202
    wait_for(lambda: sandbox.applied(), what="the PATCH to be applied")
    attempts = sandbox.log("PATCH")
    assert [e["status"] for e in attempts] == [503, 503, 503, 200]
    gaps = [later["received_at"] - earlier["received_at"] for earlier, later in pairwise(attempts)]
    assert all(gap >= 1.0 for gap in gaps), gaps
    assert len({e["headers"]["Idempotency-Key"] for e in attempts}) == 1
    wait_for(lambda: status_of(bridge, 1) == [DELIVERED], what="delivered in the store")


def test_429_with_http_date_retry_after_waits_for_that_instant(sandbox, make_bridge):
    not_before = math.ceil(time.time()) + 3
    sandbox.fault(count=1, status=429, headers={"Retry-After": formatdate(not_before, usegmt=True)})
    bridge = make_bridge()
    bridge.post_stripe(subscription_event(1, OPP_A))
    wait_for(lambda: sandbox.applied(), what="the retried PATCH")
    first, second = sandbox.log("PATCH")
    assert first["status"] == 429
    assert second["received_at"] >= not_before


def test_permanent_422_is_dead_at_once_and_others_keep_flowing(sandbox, make_bridge):
    sandbox.fault(count=1, status=422, body=UNPROCESSABLE, path=f"/api/v2/opportunity/{OPP_A}")
    bridge = make_bridge()
    for number, opp in ((1, OPP_A), (2, OPP_B), (3, OPP_C)):
        assert bridge.post_stripe(subscription_event(number, opp)).status_code == 202
    wait_for(lambda: status_of(bridge, 1) == [DEAD] and status_of(bridge, 2) == status_of(bridge, 3) == [DELIVERED],
             what="one dead, two delivered")
    (dead,) = deliveries(bridge, 1)
    assert dead.attempts == 1
    assert dead.last_error == {"status": 422, "code": "field_value_invalid", "message": "stage is not valid"}
    assert {e["path"] for e in sandbox.applied()} == {f"/api/v2/opportunity/{OPP_B}", f"/api/v2/opportunity/{OPP_C}"}


def test_401_pauses_everything_and_nothing_goes_dead(sandbox, make_bridge):
    sandbox.fault(count=4, status=401, method="PATCH")
    bridge = make_bridge(BRIDGE_WEB_WORKERS=1)
    for number, opp in ((1, OPP_A), (2, OPP_B), (3, OPP_C)):
        bridge.post_stripe(subscription_event(number, opp))
    wait_for(lambda: all(status_of(bridge, n) == [DELIVERED] for n in (1, 2, 3)), what="all delivered")
    statuses = [e["status"] for e in sandbox.log("PATCH")]
    assert statuses.count(401) == 4 and statuses.count(200) == 3
    assert "paused: Reevo refused the API key" in bridge.log_path.read_text()
    assert "resumed" in bridge.log_path.read_text()


def test_apply_then_timeout_applies_once_in_effect_and_never_reverts_newer_state(sandbox, make_bridge):
    # The answer comes 2.5 s after the change is applied: well past the 1 s read timeout, which still
    # leaves a loaded machine's ordinary answers a whole second.
    sandbox.fault(count=1, mode="apply_then_delay", delay=2.5, method="PATCH")
    bridge = make_bridge()
    older, newer = subscription_event(1, OPP_A, created=1_700_000_000), \
        subscription_event(2, OPP_A, status="past_due", created=1_700_000_100)
    bridge.post_stripe(older)
    wait_for(lambda: sandbox.log("PATCH"), what="the first PATCH to arrive")
    bridge.post_stripe(newer)
    finished = (DELIVERED, SUPERSEDED)
    wait_for(lambda: status_of(bridge, 1)[0] in finished and status_of(bridge, 2) == [DELIVERED],
             timeout=20, what="both events finished")
    final = sandbox.opportunity(OPP_A)
    assert final["next_step_details"]["value"] == "Stripe subscription sub_0002 is past_due"
    assert final["stage"]["value"]["api_name"] == "negotiation"
    older_attempts = [e for e in sandbox.log("PATCH") if "sub_0001" in str(e["json"])]
    assert len({e["headers"]["Idempotency-Key"] for e in older_attempts}) == 1
    assert older_attempts[0]["applied"], "the first attempt took effect although its answer was lost"


def test_match_target_created_after_the_event_is_delivered_once_it_exists(sandbox, make_bridge):
    bridge = make_bridge(BRIDGE_TARGET_WAIT_SECONDS=60)
    invoice = {"id": "evt_fault_0001", "type": "invoice.paid", "created": 1_700_000_000,
               "data": {"object": {"id": "in_1", "number": "LATE-1", "customer": "cus_appears_later"}}}
    assert bridge.post_stripe(invoice).status_code == 202
    wait_for(lambda: any(d.last_error and d.last_error.get("code") == "target_not_found"
                         for d in deliveries(bridge, 1)), what="a lookup that finds nothing yet")
    assert status_of(bridge, 1) in ([RETRYING], ["delivering"])
    created = sandbox.create_opportunity({"display_name": "Late deal", "stage": "discovery",
                                          "account_id": ACCOUNT_IDS["acme.com"],
                                          "stripe_customer_id": "cus_appears_later"})
    wait_for(lambda: status_of(bridge, 1) == [DELIVERED], what="delivery once the opportunity exists")
    assert sandbox.opportunity(created)["stage"]["value"]["api_name"] == "closed_won"


def test_newest_first_then_a_replay_of_the_older_keeps_the_newest_state(sandbox, make_bridge):
    bridge = make_bridge()
    bridge.post_stripe(subscription_event(2, OPP_A, status="past_due", created=1_700_000_200))
    wait_for(lambda: status_of(bridge, 2) == [DELIVERED], what="the newer event")
    bridge.post_stripe(subscription_event(1, OPP_A, status="active", created=1_700_000_100))
    wait_for(lambda: status_of(bridge, 1) == [SUPERSEDED], what="the older event to be superseded")
    (older,) = deliveries(bridge, 1)
    env = {**os.environ, "BRIDGE_STORE_URL": bridge.env["BRIDGE_STORE_URL"]}
    replay = subprocess.run([sys.executable, "-m", "bridge", "replay", str(older.id)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    wait_for(lambda: status_of(bridge, 1) == [SUPERSEDED] and deliveries(bridge, 1)[0].extra.get("history"),
             what="the replayed older event to be superseded again")
    final = sandbox.opportunity(OPP_A)
    assert final["stage"]["value"]["api_name"] == "negotiation"
    assert final["next_step_details"]["value"] == "Stripe subscription sub_0002 is past_due"
    assert len(sandbox.applied()) == 1
