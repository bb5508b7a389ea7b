"""A whole run's logs, grepped for every secret, signature and Authorization value."""
import json
import time

import requests
import stripe

from sandbox.known import OPPORTUNITY_IDS
from harness import subscription_event
from helpers import SANDBOX_KEY, STRIPE_SECRET, wait_for

ADMIN_TOKEN = "admin-token-for-the-log-test"


def test_no_secret_reaches_the_logs(sandbox, make_bridge):
    sandbox.fault(count=1, status=401, method="PATCH")
    sandbox.fault(count=1, status=422, method="PATCH", body={"error": {"code": "unknown_field", "message": "x"}})
    bridge = make_bridge(BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN, BRIDGE_LOG_FORMAT="json")
    sent_signatures = []
    for number in range(3):
        body = json.dumps(subscription_event(number, OPPORTUNITY_IDS[number]))
        header = stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET, int(time.time()))
        sent_signatures.append(header.split("v1=")[1])
        requests.post(f"{bridge.url}/webhooks/stripe", data=body, timeout=5,
                      headers={"Content-Type": "application/json", "Stripe-Signature": header})
    forged = stripe.WebhookSignature.generate_signature_header("{}", "whsec_forged_secret", int(time.time()))
    requests.post(f"{bridge.url}/webhooks/stripe", data="{}", timeout=5,
                  headers={"Content-Type": "application/json", "Stripe-Signature": forged,
                           "Authorization": f"Bearer {ADMIN_TOKEN}"})
    wait_for(lambda: len(sandbox.log("PATCH")) >= 4, what="deliveries, a pause and a dead one")
    bridge.stop()
    logs = bridge.log_path.read_text()
    assert "delivered" in logs and "rejected" in logs and "paused" in logs and "dead" in logs
    for needle in [STRIPE_SECRET, SANDBOX_KEY, ADMIN_TOKEN, "whsec_forged_secret", forged.split("v1=")[1],
                   *sent_signatures]:
        assert needle not in logs, f"{needle[:12]}… appears in the logs"
