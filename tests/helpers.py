"""Test helpers: the sandbox seen from a test, a bridge harness, a hand-moved clock.

The bridge is built, never started (no delivery threads), with an injected clock; tests drive the
delivery worker step by step, so retry timing is asserted without waiting.
"""
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import stripe


ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
OPP = "3b1f6a52-6a8e-4a43-9a39-6c1f4f0b7e11"  # seeded "Acme Corp - Platform expansion"
INITECH_OPP = "7555083e-80fd-5795-b931-7b665298abd4"  # seeded with stripe_customer_id cus_TS6KX04w045BN9
STRIPE_SECRET = "whsec_tests_only_not_a_real_secret"
# One fixed test value per secret variable the shipped mappings name (none is real).
SOURCE_SECRETS = {
    "STANDARD_WEBHOOKS_SECRET": "whsec_dGVzdHMtb25seS1zdGFuZGFyZC13ZWJob29rcy1rZXk=",
    "GITHUB_WEBHOOK_SECRET": "tests-only-github-secret",
    "SHOPIFY_WEBHOOK_SECRET": "tests-only-shopify-secret",
    "HUBSPOT_CLIENT_SECRET": "tests-only-hubspot-client-secret",
    "PADDLE_WEBHOOK_SECRET": "pdl_ntfset_tests_only_not_a_real_secret",
    "CALENDLY_WEBHOOK_SIGNING_KEY": "tests-only-calendly-signing-key",
    "DOCUSIGN_CONNECT_HMAC_KEY": "tests-only-docusign-connect-key",
    "PANDADOC_WEBHOOK_KEY": "tests-only-pandadoc-shared-key",
    "PIPEDRIVE_WEBHOOK_AUTH": "bridge:tests-only-pipedrive-password",
    "CHARGEBEE_WEBHOOK_AUTH": "bridge:tests-only-chargebee-password",
}
SANDBOX_KEY = "sandbox-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)  # real-time: polling a real process with a deadline
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def as_bytes(body) -> bytes:
    """bytes as they are; a str names a file under tests/fixtures; anything else becomes JSON."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return (FIXTURES / body).read_bytes()
    return json.dumps(body).encode()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Reevo:
    """The sandbox seen from a test: records, request log, scripted faults."""

    def __init__(self, url: str):
        self.url = url

    def opportunity(self, opp_id: str = OPP) -> dict:
        response = requests.get(f"{self.url}/api/v2/opportunity/{opp_id}",
                                headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()["data"]["attributes"]

    def requests(self, method: str | None = None) -> list[dict]:
        log = requests.get(f"{self.url}/_sandbox/requests", timeout=5).json()
        entries = log["data"]
        return [e for e in entries if method is None or e["method"] == method]

    def patches(self) -> list[dict]:
        return [e for e in self.requests("PATCH") if e.get("applied")]

    def fault(self, **spec) -> None:
        requests.post(f"{self.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()


class Bridge:
    """A bridge app with its test client, store, worker and clock."""

    def __init__(self, app, clock: Clock):
        self.app = app
        self.clock = clock
        self.client = app.test_client()
        self.runtime = app.extensions["bridge"]
        self.store = self.runtime.store
        self.worker = self.runtime.worker

    def post(self, source: str, body, secret: str = STRIPE_SECRET, headers: dict | None = None,
             sign: bool = True, content_type: str = "application/json"):
        raw = as_bytes(body)
        sent = {"Content-Type": content_type}
        if sign:
            # Signed by Stripe's own library, not by the code under test.
            sent["Stripe-Signature"] = stripe.WebhookSignature.generate_signature_header(
                raw.decode(), secret, int(self.clock()))
        sent.update(headers or {})
        return self.client.post(f"/webhooks/{source}", data=raw, headers=sent)

    def deliver(self, rounds: int = 10) -> int:
        """Run the worker until nothing is due now; returns how many deliveries it handled."""
        total = 0
        for _ in range(rounds):
            handled = self.worker.run_once()
            total += handled
            if not handled:
                break
        return total

    def deliveries(self, source: str, event_id: str):
        return self.store.deliveries_for_event(source, event_id)


class capture_logs(logging.Handler):
    """`with capture_logs("bridge.accept") as records:` — the records a bridge logger emits (it does not propagate)."""

    def __init__(self, name: str):
        super().__init__(logging.DEBUG)
        self.logger, self.records = logging.getLogger(name), []

    def emit(self, record):
        self.records.append(record)

    def __enter__(self):
        self.logger.addHandler(self)
        return self.records

    def __exit__(self, *exc):
        self.logger.removeHandler(self)


def python_m(*args, env=None):
    """`python -m ARGS` in the repository, with none of the caller's REEVO_/BRIDGE_/STRIPE_ variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REEVO_", "BRIDGE_", "STRIPE_"))}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def bridge_cli(*args, env=None):
    """`python -m bridge ARGS`, as `python_m`."""
    return python_m("bridge", *args, env=env)
