"""compose.yaml and the Dockerfile give what docs/docker.md promises (parsed; scripts/compose-check runs them)."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def default(text: str) -> str:
    """`${NAME:-8080-8082}` → `8080-8082` (compose interpolation with a default); other text as is."""
    return text[text.index(":-") + 2:-1] if text.startswith("${") else text


def test_compose_runs_several_replicas_on_one_durable_redis():
    services = compose()["services"]
    assert set(services) == {"redis", "sandbox", "bridge"}
    command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command
    bridge = services["bridge"]
    assert bridge["deploy"]["replicas"] >= 2
    assert bridge["environment"]["BRIDGE_STORE_URL"] == "redis://redis:6379/0"
    assert bridge["depends_on"]["redis"] == {"condition": "service_healthy"}
    host, published, inside = re.fullmatch(r"([\d.]+):(\$\{\w+:-[\d-]+\}|[\d-]+):(\d+)", bridge["ports"][0]).groups()
    first, last = map(int, default(published).split("-"))
    assert host == "127.0.0.1" and inside == "8080"
    assert last - first + 1 == bridge["deploy"]["replicas"], "one host port per replica"


def test_compose_shares_one_sandbox_reachable_from_the_host():
    services = compose()["services"]
    bridge, sandbox = services["bridge"], services["sandbox"]
    assert bridge["environment"]["BRIDGE_SANDBOX"] == "1"
    assert bridge["environment"]["REEVO_API_URL"] == "http://sandbox:8090", "no replica starts its own stand-in"
    assert sandbox["command"][-4:] == ["--host", "0.0.0.0", "--port", "8090"]
    assert sandbox["ports"] == ["127.0.0.1:${SANDBOX_PORT:-8090}:8090"]
    assert "8090" in " ".join(sandbox["healthcheck"]["test"]), "the image's own check looks at 8080"
    assert bridge["image"] == sandbox["image"] and bridge["build"] == sandbox["build"] == "."


def test_the_image_carries_the_sandbox_and_lets_the_host_reach_it():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY sandbox ./sandbox" in dockerfile
    assert "BRIDGE_SANDBOX_HOST=0.0.0.0" in dockerfile and "EXPOSE 8080 8090" in dockerfile
