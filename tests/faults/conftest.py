"""Fixtures for fault tests: a sandbox process per test and bridges on a chosen store."""
import pytest

from harness import BridgeProcess, SandboxProcess


@pytest.fixture
def sandbox():
    process = SandboxProcess()
    yield process
    process.stop()


@pytest.fixture
def make_bridge(tmp_path, sandbox):
    """Start gunicorn bridges delivering to the sandbox; all are stopped at the end."""
    started = []

    def factory(store_url: str | None = None, **env) -> BridgeProcess:
        url = store_url or f"sqlite:///{tmp_path}/bridge.db"
        bridge = BridgeProcess(url, sandbox.url, tmp_path / "bridge.log", **env).start()
        started.append(bridge)
        return bridge

    yield factory
    for bridge in started:
        bridge.stop()
