"""Server lifecycle, `serve`, seed/clock injection, and the sandbox's independence."""

import ast
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest
import requests

from sandbox import SandboxServer, known
from sandbox.errors import CHOICES
from sandbox.store import DEFAULT_SEED_PATH

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sandbox"
OPP = known.DEMO_OPPORTUNITY_ID


def test_sandbox_server_binds_a_free_port_and_stops():
    server = SandboxServer().start()
    try:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        assert requests.get(f"{server.url}/api/v2/health", timeout=5).status_code == 200
    finally:
        server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{server.url}/api/v2/health", timeout=2)


def test_two_servers_are_independent():
    with SandboxServer() as one, SandboxServer() as two:
        assert one.port != two.port
        headers = {"Authorization": "Bearer sandbox-key"}
        body = {"attributes": {"display_name": "only on one"}}
        assert requests.patch(f"{one.url}/api/v2/opportunity/{OPP}", json=body, headers=headers,
                              timeout=5).status_code == 200
        two_name = requests.get(f"{two.url}/api/v2/opportunity/{OPP}", headers=headers, timeout=5)
        assert two_name.json()["data"]["attributes"]["display_name"]["value"] != "only on one"


def test_custom_keys_and_seed_path(tmp_path):
    seed = json.loads(DEFAULT_SEED_PATH.read_text())
    seed["opportunities"] = seed["opportunities"][:1]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    with SandboxServer(seed_path=path, api_keys=("k-one",), read_only_keys=()) as server:
        url = f"{server.url}/api/v2/opportunity/_query"
        assert requests.post(url, json={}, headers={"X-Api-Key": "sandbox-key"}, timeout=5).status_code == 401
        response = requests.post(url, json={}, headers={"X-Api-Key": "k-one"}, timeout=5)
        assert [r["id"] for r in response.json()["data"]] == [OPP]


def test_bad_seed_fails_loudly(tmp_path):
    seed = json.loads(DEFAULT_SEED_PATH.read_text())
    seed["opportunities"][0]["attributes"]["stage"] = "no_such_stage"
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    with pytest.raises(ValueError, match="no_such_stage"):
        SandboxServer(seed_path=path)


class StepClock:
    """An injected clock the test moves by hand."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


def test_injected_clock_drives_timestamps_and_updated_at_never_goes_back():
    clock = StepClock(datetime(2030, 1, 1, 12, 0, 0, 500000, tzinfo=UTC))
    with SandboxServer(clock=clock) as server:
        headers = {"Authorization": "Bearer sandbox-key"}
        url = f"{server.url}/api/v2/opportunity/{OPP}"

        def patch(attributes):
            response = requests.patch(url, json={"attributes": attributes}, headers=headers, timeout=5)
            assert response.status_code == 200
            return response.json()["data"]

        first = patch({"stage": "closed_won"})
        assert first["updated_at"] == "2030-01-01T12:00:00Z"
        assert first["attributes"]["closed_at"]["value"] == "2030-01-01T12:00:00Z"
        assert first["attributes"]["stage_last_shifted_at"]["value"] == "2030-01-01T12:00:00Z"
        clock.now += timedelta(minutes=5)
        assert patch({"display_name": "later"})["updated_at"] == "2030-01-01T12:05:00Z"
        clock.now -= timedelta(days=1)  # a clock that steps back never moves updated_at back
        assert patch({"display_name": "earlier"})["updated_at"] == "2030-01-01T12:05:00Z"
        log = requests.get(f"{server.url}/_sandbox/requests", timeout=5).json()["data"]
        assert log[-1]["timestamp"] == "2029-12-31T12:05:00Z"


def test_serve_prints_its_address_and_serves(tmp_path):
    root = ROOT
    code = "from sandbox.server import serve; serve(port=0)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"Reevo sandbox listening on (http://127\.0\.0\.1:(\d+)) \(API key: sandbox-key\)", line)
        assert match, line
        base = match.group(1)
        assert requests.get(f"{base}/api/v2/health", timeout=5).json() == {"data": {"status": "healthy"}}
        response = requests.get(f"{base}/api/v2/opportunity/{OPP}", headers={"Authorization": "Bearer sandbox-key"},
                                timeout=5)
        assert response.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_sandbox_imports_nothing_from_the_bridge():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 10, PACKAGE  # the package is where this test looks
    for path in modules:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 1 or not (node.module or "").startswith("bridge"), (path.name, node.module)
                assert node.level <= 1, (path.name, node.module)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("bridge") for a in node.names), path.name


def test_the_docs_list_every_sandbox_choice():
    text = (ROOT / "docs" / "sandbox.md").read_text()
    for number, choice in enumerate(CHOICES, 1):
        assert f"{number}. {choice}\n" in text, choice


def test_create_app_works_in_process_with_the_flask_test_client():
    from sandbox import create_app

    client = create_app(api_keys=("in-proc",)).test_client()
    headers = {"Authorization": "Bearer in-proc"}
    assert client.get(f"/api/v2/opportunity/{OPP}", headers=headers).status_code == 200
    assert client.post("/_sandbox/faults", json={"mode": "drop"}).status_code == 201
    dropped = client.get(f"/api/v2/opportunity/{OPP}", headers=headers)
    assert dropped.status_code == 599 and dropped.json["error"]["code"] == "connection_dropped"
