"""Shared fixtures: the Reevo sandbox on a real HTTP server, and a bridge wired to it.

The bridge is built but never started (no delivery threads) and has an injected clock;
tests drive the delivery worker step by step, so retry timing is asserted without waiting.
"""
import pytest
import requests

from bridge import create_app
from sandbox.server import SandboxServer
from helpers import ROOT, SANDBOX_KEY, SOURCE_SECRETS, STRIPE_SECRET, Bridge, Clock, Reevo


@pytest.fixture(scope="session")
def sandbox_server():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def reevo(sandbox_server) -> Reevo:
    requests.post(f"{sandbox_server.url}/_sandbox/reset", timeout=5).raise_for_status()
    return Reevo(sandbox_server.url)


@pytest.fixture
def make_bridge(tmp_path, reevo):
    """Build a bridge delivering to the sandbox; keyword arguments override environment values."""
    built = []

    def factory(**overrides) -> Bridge:
        env = {
            "REEVO_API_URL": reevo.url,
            "REEVO_API_KEY": SANDBOX_KEY,
            "BRIDGE_STORE_URL": f"sqlite:///{tmp_path}/bridge-{len(built)}.db",
            "BRIDGE_MAPPINGS_DIR": str(ROOT / "mappings"),
            "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
            **SOURCE_SECRETS,
            "BRIDGE_READ_TIMEOUT": "2",
            # The clock stands still unless a test moves it: no pace (a rate would send one request per
            # instant), and a short hold after unknown outcomes that tests step over.
            "BRIDGE_REEVO_RATE": "0",
            "BRIDGE_AMBIGUOUS_HOLD_SECONDS": "2",
        }
        env.update({k: str(v) for k, v in overrides.items()})
        clock = Clock()
        bridge = Bridge(create_app({k: v for k, v in env.items() if v != "None"}, clock=clock), clock)
        built.append(bridge)
        return bridge

    yield factory
    for bridge in built:
        bridge.worker.client.close()
        bridge.store.close()


@pytest.fixture
def bridge(make_bridge) -> Bridge:
    return make_bridge()
