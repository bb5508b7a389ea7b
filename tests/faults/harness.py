"""Real processes for fault tests: the sandbox and a gunicorn bridge, killed for real.

Intervals are shortened through the environment (poll 50 ms, backoff base 50 ms,
lease 4 s, hold 3 s) so every scenario ends in seconds. Waiting is polling with a deadline.
"""
from __future__ import annotations

import json
from collections import defaultdict
import os
import signal
import subprocess
import sys
import time

import requests
import stripe

from helpers import ROOT, SANDBOX_KEY, STRIPE_SECRET, free_port, wait_for

FAST = {
    "BRIDGE_POLL_INTERVAL": "0.05",
    "BRIDGE_RETRY_BASE": "0.05",
    "BRIDGE_RETRY_CAP": "0.3",
    # A claimed delivery is sent only while a whole request (1.5 s) still fits in its lease.
    "BRIDGE_LEASE_SECONDS": "4",
    "BRIDGE_PAUSE_PROBE_SECONDS": "0.3",
    "BRIDGE_READ_TIMEOUT": "1",
    "BRIDGE_CONNECT_TIMEOUT": "0.5",
    # A request that timed out may still be applied up to 3 s after we gave up on it (the sandbox's
    # delays before applying are at most 1.5 s, plus what a loaded machine adds).
    "BRIDGE_AMBIGUOUS_HOLD_SECONDS": "3",
    "BRIDGE_BREAKER_PROBE_SECONDS": "0.5",
    "BRIDGE_GRACEFUL_TIMEOUT": "5",
}


def base_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REEVO_", "BRIDGE_", "STRIPE_", "SENTRY_"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


class SandboxProcess:
    """`python -m bridge sandbox` as a child process."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "bridge", "sandbox", "--port", str(self.port)],
                                        cwd=ROOT, env=base_env(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_for(lambda: _answers(f"{self.url}/api/v2/health"), what="the sandbox to start")

    def fault(self, **spec) -> None:
        requests.post(f"{self.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()

    def log(self, method: str = "PATCH") -> list[dict]:
        entries = requests.get(f"{self.url}/_sandbox/requests", timeout=5).json()["data"]
        return [e for e in entries if e["method"] == method]

    def applied(self) -> list[dict]:
        return [e for e in self.log("PATCH") if e["applied"]]

    def opportunity(self, opp_id: str) -> dict:
        response = requests.get(f"{self.url}/api/v2/opportunity/{opp_id}",
                                headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=5)
        return response.json()["data"]["attributes"]

    def create_opportunity(self, attributes: dict) -> str:
        response = requests.post(f"{self.url}/api/v2/opportunity", json={"attributes": attributes},
                                 headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=5)
        assert response.status_code == 201, response.text
        return response.json()["data"]["id"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class BridgeProcess:
    """gunicorn serving the bridge; `kill9()` is a real SIGKILL of the master and its workers."""

    def __init__(self, store_url: str, reevo_url: str, log_path, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = base_env(**{"REEVO_API_URL": reevo_url, "REEVO_API_KEY": SANDBOX_KEY,
                               "BRIDGE_STORE_URL": store_url, "BRIDGE_BIND": f"127.0.0.1:{self.port}",
                               "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET, "BRIDGE_MAPPINGS_DIR": str(ROOT / "mappings"),
                               **FAST, **env})
        self.process = None

    def start(self) -> BridgeProcess:
        with open(self.log_path, "a") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: _answers(f"{self.url}/healthz"), what="the bridge to start")
        return self

    def kill9(self) -> None:
        """SIGKILL the whole process group: master and workers die mid-work, no clean-up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def post_stripe(self, payload: dict):
        body = json.dumps(payload)
        header = stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET, int(time.time()))
        return requests.post(f"{self.url}/webhooks/stripe", data=body, timeout=10,
                             headers={"Content-Type": "application/json", "Stripe-Signature": header})


def subscription_event(number: int, opportunity: str, status: str = "active", created: int | None = None) -> dict:
    """A customer.subscription.updated event whose fields are unique to `number`."""
    return {
        "id": f"evt_fault_{number:04d}", "type": "customer.subscription.updated", "object": "event",
        "created": created if created is not None else 1_700_000_000 + number,
        "data": {"object": {"id": f"sub_{number:04d}", "status": status,
                            "metadata": {"reevo_opportunity_id": opportunity},
                            "items": {"data": [{"price": {"unit_amount": 100 * number}}]}}},
    }


def events_finished(store_url: str, numbers) -> bool:
    """Every numbered fault event's deliveries ended delivered or superseded (a fresh store handle)."""
    from bridge.store import DELIVERED, SUPERSEDED, open_store
    store = open_store(store_url)
    try:
        return all([d.status for d in store.deliveries_for_event("stripe", f"evt_fault_{n:04d}")]
                   in ([DELIVERED], [SUPERSEDED]) for n in numbers)
    finally:
        store.close()


def assert_applied_at_most_once_in_effect(applied: list[dict]):
    """A PATCH applied twice (same Idempotency-Key) must have nothing else applied to that record in between."""
    by_path = defaultdict(list)
    for entry in applied:
        by_path[entry["path"]].append(entry)
    for path, entries in by_path.items():
        keys = [e["headers"]["Idempotency-Key"] for e in entries]
        for i, key in enumerate(keys):
            if key in keys[i + 1:]:
                j = keys.index(key, i + 1)
                assert set(keys[i:j + 1]) == {key}, f"{path}: a repeat of {key} came after other changes"
