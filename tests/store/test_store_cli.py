"""`python -m bridge replay|purge` as real processes, retention run by the bridge itself, and start-up checks."""
import threading
import time

import pytest

from bridge.ops.retention import Retention, start_retention
from bridge.store import DEAD, DELIVERED, QUEUED, open_store
from helpers import Clock, free_port, python_m as run, wait_for
from store_samples import DAY, delivery, event


def fill(store, now):
    """Two dead stripe deliveries (one old), one dead hubspot, one delivered, one queued."""
    ids = {}
    for name, source, at in [("old", "stripe", now - 3 * DAY), ("new", "stripe", now - 600),
                             ("hub", "hubspot", now - 600), ("done", "stripe", now - 600)]:
        store.accept(event(name, source=source), [delivery(f"opp-{name}", route=f"route-{name}")], at)
        (record,) = store.claim(1, 30, at)
        if name == "done":
            store.complete(record.id, record.lease_token, at)
        else:
            store.dead(record.id, record.lease_token, {"code": "unknown_field", "status": 422}, at)
        ids[name] = record.id
    store.accept(event("waiting"), [delivery("opp-waiting")], now)
    return ids


def test_replay_by_id(shared):
    store, env = shared
    ids = fill(store, time.time())
    result = run("bridge", "replay", str(ids["old"]), str(ids["done"]), env=env)
    assert result.returncode == 0, result.stderr
    assert "replayed 2 delivery(ies)" in result.stdout
    assert store.get_delivery(ids["old"]).status == QUEUED
    assert store.get_delivery(ids["done"]).status == QUEUED, "by id, delivered ones can be sent again"
    assert store.get_delivery(ids["new"]).status == DEAD


def test_replay_by_filter_with_a_dry_run_first(shared):
    store, env = shared
    ids = fill(store, time.time())
    dry = run("bridge", "replay", "--source", "stripe", "--since", "1d", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[-1] == "would replay 1 delivery(ies) and rebuild 0"
    assert lines[0].startswith(f"{ids['new']}\tdead\tstripe\tnew\troute-new\topp-new\tattempts=1")
    assert lines[0].endswith("error=unknown_field")
    assert store.get_delivery(ids["new"]).status == DEAD, "a dry run changes nothing"

    result = run("bridge", "replay", "--source", "stripe", "--since", "1d", env=env)
    assert "replayed 1 delivery(ies)" in result.stdout
    assert [store.get_delivery(ids[n]).status for n in ("old", "new", "hub", "done")] == [
        DEAD, QUEUED, DEAD, DELIVERED]
    result = run("bridge", "replay", "--status", "dead,delivered", "--route", "route-done", env=env)
    assert "replayed 1 delivery(ies)" in result.stdout


def test_replay_refuses_what_it_cannot_do(shared):
    _, env = shared
    result = run("bridge", "replay", "--status", "queued", env=env)
    assert result.returncode == 2 and "only dead, delivered, superseded, retrying" in result.stderr
    result = run("bridge", "replay", "--since", "last tuesday", env=env)
    assert result.returncode == 2 and "is not a time" in result.stderr


def test_purge_keeps_dead_records_unless_asked(shared):
    store, env = shared
    now = time.time()
    ids = fill(store, now - 40 * DAY)  # everything finished 40+ days ago
    result = run("bridge", "purge", env=env)  # default: BRIDGE_RETENTION_DAYS, 30
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("purged 2 record(s)")  # the delivered delivery and its event
    assert store.get_delivery(ids["done"]) is None
    assert store.get_delivery(ids["old"]).status == DEAD
    result = run("bridge", "purge", "--dead", "--older-than", "35", env=env)
    assert result.stdout.startswith("purged 6 record(s)")
    assert store.counts() == {QUEUED: 1}, "pending work is never purged"


def test_an_unreachable_store_is_named_without_its_password():
    env = {"BRIDGE_STORE_URL": f"redis://:hunter2@127.0.0.1:{free_port()}/0"}
    result = run("bridge", "purge", env=env)
    assert result.returncode == 2
    assert "BRIDGE_STORE_URL" in result.stderr and "cannot reach Redis" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize("url,problem", [("redis://:hunter2@127.0.0.1:{port}/0", "cannot reach Redis"),
                                         ("mysql://root:hunter2@db/bridge", "unknown scheme")])
def test_gunicorn_refuses_to_start_on_a_store_it_cannot_use(url, problem):
    env = {"REEVO_API_KEY": "k", "BRIDGE_BIND": f"127.0.0.1:{free_port()}",
           "BRIDGE_STORE_URL": url.format(port=free_port())}
    result = run("gunicorn", "-c", "gunicorn.conf.py", "app:app", env=env)
    assert result.returncode != 0
    assert "BRIDGE_STORE_URL" in result.stderr and problem in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


# ---- retention run by the bridge ------------------------------------------------------------
def test_retention_purges_at_most_once_an_hour(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    clock = Clock(start=1_700_000_000.0)
    retention = Retention(store, days=30, clock=clock)
    assert retention.run_due() == 0
    store.accept(event(), [delivery()], clock() - 31 * DAY)
    (record,) = store.claim(1, 30, clock() - 31 * DAY)
    store.complete(record.id, record.lease_token, clock() - 31 * DAY)
    assert retention.run_due() is None, "checked less than an hour ago"
    clock.advance(3600)
    assert retention.run_due() == 2
    store.close()


def test_the_retention_thread_purges_by_itself(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    clock = Clock(start=1_700_000_000.0)
    store.accept(event(), [delivery()], clock() - 31 * DAY)
    (record,) = store.claim(1, 30, clock() - 31 * DAY)
    store.complete(record.id, record.lease_token, clock() - 31 * DAY)
    thread = start_retention(store, 30, clock, check_every=0.05)
    try:
        wait_for(lambda: store.get_delivery(record.id) is None, what="the purge")
    finally:
        thread.stop()
    assert not thread.thread.is_alive()
    store.close()


def test_a_started_bridge_runs_retention_and_a_built_one_does_not(make_bridge):
    before = sum(1 for t in threading.enumerate() if t.name == "bridge-retention")
    bridge = make_bridge(BRIDGE_DELIVERY_THREADS=1)
    assert sum(1 for t in threading.enumerate() if t.name == "bridge-retention") == before, "building starts nothing"
    bridge.runtime.start()
    try:
        assert sum(1 for t in threading.enumerate() if t.name == "bridge-retention") == before + 1
    finally:
        assert bridge.runtime.stop(timeout=10)
    assert sum(1 for t in threading.enumerate() if t.name == "bridge-retention") == before
