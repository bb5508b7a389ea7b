"""`python -m bridge replay` rebuilds mapping failures, as a real process against a SQLite file and a real Redis.

A bridge (in this process) takes the webhooks and later delivers to the sandbox; the CLI process
only shares its store (BRIDGE_STORE_URL) and reads the mapping files (BRIDGE_MAPPINGS_DIR).
"""
import time

import pytest

from bridge.store import ACCEPTED, DEAD, DELIVERED, IGNORED, QUEUED
from helpers import OPP
from rebuild_samples import deal_event, write_acme
from helpers import python_m as run

FIXED = {"won": "closed_won", "lost": "closed_lost"}


@pytest.fixture(params=["sqlite", "redis"])
def setup(request, tmp_path, make_bridge):
    """(bridge, env for the CLI): both on one store; the mappings folder starts with the broken lookup."""
    folder = tmp_path / "mappings"
    write_acme(folder)
    if request.param == "sqlite":
        env = {"BRIDGE_STORE_URL": f"sqlite:///{tmp_path}/shared.db"}
    else:
        server = request.getfixturevalue("redis_server")
        env = {"BRIDGE_STORE_URL": server.url, "BRIDGE_REDIS_PREFIX": f"rebuild-{tmp_path.name}:"}
    env["BRIDGE_MAPPINGS_DIR"] = str(folder)
    bridge = make_bridge(BRIDGE_MAPPINGS_DIR=folder, **{k: v for k, v in env.items() if k != "BRIDGE_MAPPINGS_DIR"})
    bridge.mappings = folder
    return bridge, env


def dead_delivery(bridge, event_id="deal-evt-1"):
    assert bridge.post("acme", deal_event(event_id), sign=False).json["status"] == ACCEPTED
    (record,) = bridge.deliveries("acme", event_id)
    assert (record.status, record.last_error["code"]) == (DEAD, "no_lookup_match")
    return record


def test_replay_rebuilds_a_mapping_failure_once_the_file_is_fixed(setup, reevo):
    bridge, env = setup
    record = dead_delivery(bridge)
    write_acme(bridge.mappings, lookup=FIXED)
    dry = run("bridge", "replay", "--source", "acme", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    line, summary = dry.stdout.splitlines()
    assert line.startswith(f"{record.id}\tdead\tacme\tdeal-evt-1\tdeal-status\tNone\tattempts=0")
    assert line.endswith(f"error=no_lookup_match\trebuild → queued for {OPP}")
    assert summary == "would replay 0 delivery(ies) and rebuild 1 from their stored events with the current mappings"
    assert bridge.store.get_delivery(record.id) == record, "a dry run changes nothing"

    result = run("bridge", "replay", "--source", "acme", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("replayed 0 delivery(ies): queued again, due now; rebuilt 1 from their "
                                     "stored events with the current mappings")
    rebuilt = bridge.store.get_delivery(record.id)
    assert (rebuilt.status, rebuilt.target) == (QUEUED, {"id": OPP})
    bridge.clock.now = time.time() + 1  # the CLI queued it at its wall-clock time: due for the bridge now
    assert bridge.deliver() == 1
    (patch,) = reevo.patches()
    assert patch["json"] == {"attributes": {"stage": "closed_lost", "next_step_details": "Deal D-1 is lost"}}
    assert bridge.store.get_delivery(record.id).status == DELIVERED


def test_rebuild_event_delivers_an_ignored_event_after_a_route_is_added(setup, reevo):
    bridge, env = setup
    assert bridge.post("acme", deal_event("deal-evt-9", type="deal.created"), sign=False).json["status"] == IGNORED
    write_acme(bridge.mappings, created_route=True)
    dry = run("bridge", "replay", "--rebuild-event", "acme:deal-evt-9", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        f"acme:deal-evt-9\tdeal-created\tadded\tqueued for {OPP}",
        "would rebuild 1 delivery(ies) of acme:deal-evt-9 with the current mappings"]
    assert bridge.store.get_event("acme", "deal-evt-9")["outcome"] == IGNORED

    result = run("bridge", "replay", "--rebuild-event", "acme:deal-evt-9", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "rebuilt 1 delivery(ies) of acme:deal-evt-9 with the current mappings"
    assert bridge.store.get_event("acme", "deal-evt-9")["outcome"] == ACCEPTED
    bridge.clock.now = time.time() + 1
    assert bridge.deliver() == 1
    (patch,) = reevo.patches()
    assert patch["json"] == {"attributes": {"next_step_details": "Deal D-1 was created"}}
    again = run("bridge", "replay", "--rebuild-event", "acme:deal-evt-9", env=env).stdout.splitlines()
    assert again[0].startswith("acme:deal-evt-9\tdeal-created\tleft alone")
    assert again[1] == "rebuilt 0 delivery(ies) of acme:deal-evt-9 with the current mappings"


def test_mapping_problems_stop_the_replay_before_anything_changes(setup):
    bridge, env = setup
    record = dead_delivery(bridge)
    (bridge.mappings / "broken.yaml").write_text("verify: {scheme: none}\nroutes: [\n")
    for args in (["replay", str(record.id)], ["replay", "--rebuild-event", "acme:deal-evt-1"]):
        result = run("bridge", *args, env=env)
        assert result.returncode == 1
        assert "the mapping files have problems; nothing was changed" in result.stderr
        assert "broken.yaml: line" in result.stderr
    assert bridge.store.get_delivery(record.id) == record


def test_a_source_without_a_mapping_file_is_named(setup, tmp_path):
    bridge, env = setup
    record = dead_delivery(bridge)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**env, "BRIDGE_MAPPINGS_DIR": str(empty)}
    result = run("bridge", "replay", "--status", "dead", env=env)
    assert result.returncode == 1
    assert "no mapping file acme.yaml is loaded" in result.stderr and "nothing was changed" in result.stderr
    result = run("bridge", "replay", "--rebuild-event", "acme:deal-evt-1", env=env)
    assert result.returncode == 1 and "no mapping file acme.yaml" in result.stderr
    assert bridge.store.get_delivery(record.id) == record


def test_a_plain_replay_needs_no_mapping_files(setup, reevo, tmp_path):
    bridge, env = setup
    reevo.fault(count=1, status=422, method="PATCH", body={"error": {"code": "unknown_field", "message": "m"}})
    bridge.post("acme", deal_event(status="won"), sign=False)
    bridge.deliver()
    (record,) = bridge.deliveries("acme", "deal-evt-1")
    assert (record.status, record.target) == (DEAD, {"id": OPP})
    result = run("bridge", "replay", str(record.id), env={**env, "BRIDGE_MAPPINGS_DIR": str(tmp_path / "nowhere")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "replayed 1 delivery(ies): queued again, due now; rebuilt 0"


def test_rebuild_event_refuses_what_it_cannot_do(setup):
    _, env = setup
    result = run("bridge", "replay", "--rebuild-event", "acme-without-id", env=env)
    assert result.returncode == 2 and "give SOURCE:EVENT_ID" in result.stderr
    result = run("bridge", "replay", "--rebuild-event", "acme:x", "--source", "acme", env=env)
    assert result.returncode == 2 and "without delivery ids or filters" in result.stderr
    result = run("bridge", "replay", "--rebuild-event", "acme:not-stored", env=env)
    assert result.returncode == 1 and "no event not-stored from acme is stored" in result.stderr
