"""Secrets given as NAME_FILE are re-read by a reload of a running gunicorn: added and rotated, no restart."""
import json
import shutil
import time

import requests
import stripe

from bridge.signatures import sign_request
from helpers import ROOT, wait_for
from sandbox.known import DEMO_OPPORTUNITY_ID

TOKEN = "secret-files-admin-token"
ACME = """verify: {scheme: hmac, secrets: [ACME_SECRET], header: X-Acme-Signature, algorithm: sha256, encoding: hex}
routes:
  - {name: stage, opportunity: {id: opportunity}, set: {stage: stage}}
"""


def post_stripe(bridge, secret: str, number: int):
    body = json.dumps({"id": f"evt_file_{number}", "type": "customer.subscription.updated", "created": 1_700_000_000,
                       "data": {"object": {"id": "sub_file", "status": "active",
                                           "metadata": {"reevo_opportunity_id": DEMO_OPPORTUNITY_ID}}}})
    header = stripe.WebhookSignature.generate_signature_header(body, secret, int(time.time()))
    return requests.post(f"{bridge.url}/webhooks/stripe", data=body, timeout=10,
                         headers={"Content-Type": "application/json", "Stripe-Signature": header})


def post_acme(bridge, secret: str, number: int):
    body = json.dumps({"n": number, "opportunity": DEMO_OPPORTUNITY_ID, "stage": "proposal"}).encode()
    signed = sign_request("hmac", body, secret, int(time.time()), url=f"{bridge.url}/webhooks/acme",
                          headers={"Content-Type": "application/json"},
                          options={"header": "X-Acme-Signature", "algorithm": "sha256", "encoding": "hex"})
    return requests.post(signed.url, data=body, headers=dict(signed.headers), timeout=10)


def reload(bridge) -> dict:
    answer = requests.post(f"{bridge.url}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_secret_files_are_added_and_rotated_by_a_reload_without_a_restart(make_bridge, tmp_path):
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", folder)
    (folder / "acme.yaml").write_text(ACME)
    stripe_file, acme_file = tmp_path / "stripe-secret", tmp_path / "acme-secret"
    stripe_file.write_text("whsec_first_value\n")  # as `echo` or an editor writes it: the newline is dropped
    bridge = make_bridge(BRIDGE_MAPPINGS_DIR=folder, BRIDGE_WEB_WORKERS=2, BRIDGE_ADMIN_TOKEN=TOKEN,
                         STRIPE_WEBHOOK_SECRET="", STRIPE_WEBHOOK_SECRET_FILE=stripe_file,
                         ACME_SECRET_FILE=acme_file)  # not mounted yet
    master = bridge.process.pid
    assert post_stripe(bridge, "whsec_first_value", 1).status_code == 202
    assert post_acme(bridge, "acme-key", 1).status_code == 503, "no secret yet: the sender keeps its webhook"
    log = bridge.log_path.read_text()
    assert "ACME_SECRET_FILE=" in log and "cannot be read" in log
    assert "whsec_first_value" not in log

    stripe_file.write_text("whsec_second_value\n")
    acme_file.write_text("acme-key\n")
    answer = reload(bridge)
    assert answer["status"] == "reloading"
    assert "acme" not in answer["lacking_secret"] and "stripe" not in answer["lacking_secret"]
    assert "hubspot" in answer["lacking_secret"], "a reload names the sources still without a secret"
    assert answer["secret_problems"] == []

    wait_for(lambda: post_stripe(bridge, "whsec_second_value", 2).status_code == 202,
             timeout=60, what="the rotated Stripe secret to be used")
    wait_for(lambda: post_acme(bridge, "acme-key", 2).status_code == 202, timeout=60,
             what="the added secret to be used")
    # Once every worker is a new one, the old value is refused everywhere.
    wait_for(lambda: all(post_stripe(bridge, "whsec_first_value", 3 + i).status_code == 401 for i in range(6)),
             timeout=60, what="the old workers to be gone")
    assert bridge.process.pid == master and bridge.process.poll() is None, "the same master: no restart"
    assert "whsec_second_value" not in bridge.log_path.read_text() and "acme-key" not in bridge.log_path.read_text()
