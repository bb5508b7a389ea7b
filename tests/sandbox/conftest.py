"""Fixtures for the Reevo sandbox contract tests: one real HTTP server per session,
reset through ``POST /_sandbox/reset`` before every test."""

import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not put the repo root on sys.path
    sys.path.insert(0, str(ROOT))

from sandbox.server import SandboxServer  # noqa: E402


class Api:
    """A thin `requests` client for the sandbox, authenticated with one key."""

    def __init__(self, base_url: str, key: str | None):
        self.base = base_url
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 5)
        return requests.request(method, self.base + path, headers=headers, **kwargs)

    def get(self, opp_id: str) -> requests.Response:
        return self.request("GET", f"/api/v2/opportunity/{opp_id}")

    def patch(self, opp_id: str, attributes, **kwargs) -> requests.Response:
        return self.request("PATCH", f"/api/v2/opportunity/{opp_id}", json={"attributes": attributes}, **kwargs)

    def create(self, attributes) -> requests.Response:
        return self.request("POST", "/api/v2/opportunity", json={"attributes": attributes})

    def query(self, body) -> requests.Response:
        return self.request("POST", "/api/v2/opportunity/_query", json=body)

    def attrs(self, opp_id: str) -> dict:
        response = self.get(opp_id)
        assert response.status_code == 200, response.text
        return response.json()["data"]["attributes"]

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.base}/_sandbox/{path}", timeout=5, **kwargs)

    @staticmethod
    def expect_error(response: requests.Response, status: int, code: str, field="__any__") -> dict:
        """Assert the sandbox error shape, status, code and (optionally) field."""
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert set(error) == {"code", "message", "field"}
        assert error["code"] == code, error
        assert isinstance(error["message"], str) and error["message"]
        if field != "__any__":
            assert error["field"] == field, error
        return error


@pytest.fixture(scope="session")
def sandbox_server():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    requests.post(f"{sandbox_server.url}/_sandbox/reset", timeout=5).raise_for_status()
    return sandbox_server


@pytest.fixture
def api(sandbox):
    return Api(sandbox.url, sandbox.api_key)


@pytest.fixture
def readonly_api(sandbox):
    return Api(sandbox.url, sandbox.read_only_key)

