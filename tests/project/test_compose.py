"""compose.yaml and the Dockerfile give what docs/docker.md promises (parsed; scripts/compose-check runs them)."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def default(text: str) -> str:
    """`${NAME:-8080}` → `8080` (compose interpolation with a default); other text as is."""
    return text[text.index(":-") + 2:-1] if text.startswith("${") else text


def bridges(services: dict) -> dict:
    return {name: service for name, service in services.items() if name.startswith("bridge-")}


def test_compose_runs_several_replicas_on_one_durable_redis():
    services = compose()["services"]
    replicas = bridges(services)
    assert set(services) == {"redis", "sandbox", *replicas} and len(replicas) >= 2
    command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command
    for bridge in replicas.values():
        assert bridge["environment"]["BRIDGE_STORE_URL"] == "redis://redis:6379/0"
        assert bridge["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert "deploy" not in bridge, "a replica count with a port range runs differently in podman-compose"
        assert bridge["restart"] == "unless-stopped", "a replica that started before Redis comes back"
    assert len({str(b["environment"]) for b in replicas.values()}) == 1, "every replica is configured alike"


def test_each_replica_has_its_own_host_port_on_loopback():
    published = []
    for bridge in bridges(compose()["services"]).values():
        (port,) = bridge["ports"]
        host, outside, inside = re.fullmatch(r"([\d.]+):(\$\{\w+:-\d+\}|\d+):(\d+)", port).groups()
        assert host == "127.0.0.1" and inside == "8080"
        published.append(int(default(outside)))
    assert sorted(published) == list(range(8080, 8080 + len(published))), published


def test_no_secret_or_token_has_a_value_in_the_file():
    """A token with a default in compose.yaml would be the same known token on every install."""
    for bridge in bridges(compose()["services"]).values():
        assert bridge["environment"]["BRIDGE_ADMIN_TOKEN"] is None  # passed through from the caller, or unset
    lines = [line.split("#", 1)[0] for line in (ROOT / "compose.yaml").read_text().splitlines()]
    valued = [line.strip() for line in lines if re.search(r"(TOKEN|SECRET|API_KEY)\w*:\s*\S", line)]
    assert not valued, f"give secrets as NAME_FILE or from the environment, never in the file: {valued}"


def test_compose_shares_one_sandbox_reachable_from_the_host():
    services = compose()["services"]
    bridge, sandbox = services["bridge-1"], services["sandbox"]
    assert bridge["environment"]["BRIDGE_SANDBOX"] == "1"
    assert bridge["environment"]["REEVO_API_URL"] == "http://sandbox:8090", "no replica starts its own stand-in"
    assert sandbox["command"][-4:] == ["--host", "0.0.0.0", "--port", "8090"]
    assert sandbox["ports"] == ["127.0.0.1:${SANDBOX_PORT:-8090}:8090"]
    assert "8090" in " ".join(sandbox["healthcheck"]["test"]), "the image's own check looks at 8080"
    assert bridge["image"] == sandbox["image"]


def test_one_service_builds_the_image_and_the_others_never_pull_it():
    """Docker Compose builds in parallel, and several builds of one tag at once fail."""
    services = compose()["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == "reevo-bridge"}
    builders = [name for name, s in ours.items() if "build" in s]
    assert builders == ["bridge-1"] and services["bridge-1"]["build"] == "."
    assert services["bridge-1"]["pull_policy"] == "build"
    assert all(s["pull_policy"] == "never" for name, s in ours.items() if name != "bridge-1")


def test_the_image_carries_the_sandbox_and_lets_the_host_reach_it():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY sandbox ./sandbox" in dockerfile
    assert "BRIDGE_SANDBOX_HOST=0.0.0.0" in dockerfile and "EXPOSE 8080 8090" in dockerfile
