"""Retarget: a dead delivery's PATCH sent to another opportunity — the store contract on memory, SQLite
and Redis, the operations layer, `replay ID --to-opportunity` as a real process, and the admin API."""
import time

import pytest

from bridge.ops.retarget import RetargetError, retarget
from bridge.store import DEAD, DELIVERED, QUEUED, NewDelivery
from store_samples import OPP_A, T0, delivery, event
from helpers import python_m as run

NEW_OPP = "7555083e-80fd-5795-b931-7b665298abd4"
ERROR = {"code": "record_not_found", "status": 404}


def dead_delivery(store, now=T0, name="e1"):
    store.accept(event(name), [delivery(OPP_A), NewDelivery("bad", {}, {}, status=DEAD, error={"code": "m"})], now)
    (record,) = store.claim(1, 30, now)
    assert store.dead(record.id, record.lease_token, ERROR, now)
    return record.id, store.deliveries_for_event("stripe", name)[1].id


def test_retarget_queues_the_same_patch_for_another_opportunity_and_records_it(store):
    dead_id, _ = dead_delivery(store)
    before = store.get_delivery(dead_id)
    assert store.retarget(dead_id, {"id": NEW_OPP}, T0 + 50) is True
    after = store.get_delivery(dead_id)
    assert (after.status, after.attempts, after.next_attempt_at, after.last_error) == (QUEUED, 0, T0 + 50, None)
    assert after.target == {"id": NEW_OPP} and after.attributes == before.attributes
    assert after.idempotency_key == before.idempotency_key
    assert after.extra["history"] == [{"replayed_at": T0 + 50, "status": DEAD, "attempts": 1, "last_error": ERROR,
                                       "retargeted_from": {"id": OPP_A}, "retargeted_to": {"id": NEW_OPP}}]
    assert store.list_deliveries({"opportunity": NEW_OPP}, 10)[0][0].id == dead_id
    assert store.list_deliveries({"opportunity": OPP_A}, 10)[0] == []
    (claimed,) = store.claim(5, 30, T0 + 50)
    assert claimed.id == dead_id and claimed.target == {"id": NEW_OPP}
    assert store.complete(claimed.id, claimed.lease_token, T0 + 51)
    assert store.get_delivery(dead_id).status == DELIVERED


def test_only_a_dead_delivery_with_a_target_is_retargeted(store):
    dead_id, unresolved_id = dead_delivery(store)
    store.accept(event("e2"), [delivery(NEW_OPP)], T0)
    queued = store.deliveries_for_event("stripe", "e2")[0]
    assert store.retarget(unresolved_id, {"id": NEW_OPP}, T0) is False, "a mapping failure has no PATCH"
    assert store.retarget(queued.id, {"id": OPP_A}, T0) is False
    assert store.retarget(424242, {"id": NEW_OPP}, T0) is False
    assert store.get_delivery(queued.id).target == {"id": NEW_OPP}
    assert store.get_delivery(unresolved_id).status == DEAD and store.get_delivery(dead_id).status == DEAD


def test_retarget_twice_keeps_both_changes_in_the_history(store):
    dead_id, _ = dead_delivery(store)
    assert store.retarget(dead_id, {"id": NEW_OPP}, T0 + 1)
    (claimed,) = store.claim(1, 30, T0 + 1)
    assert store.dead(claimed.id, claimed.lease_token, ERROR, T0 + 2)
    assert store.retarget(dead_id, {"id": OPP_A}, T0 + 3)
    history = store.get_delivery(dead_id).extra["history"]
    assert [(h["retargeted_from"], h["retargeted_to"]) for h in history] == [
        ({"id": OPP_A}, {"id": NEW_OPP}), ({"id": NEW_OPP}, {"id": OPP_A})]


@pytest.mark.parametrize("opportunity,reason", [("not-a-uuid", "invalid_target"), (NEW_OPP, "not_dead")])
def test_the_operation_explains_a_refusal(store, opportunity, reason):
    store.accept(event("e2"), [delivery(OPP_A)], T0)
    queued = store.deliveries_for_event("stripe", "e2")[0]
    with pytest.raises(RetargetError) as refused:
        retarget(store, queued.id, opportunity, T0)
    assert refused.value.reason == reason
    with pytest.raises(RetargetError, match="no delivery 999"):
        retarget(store, 999, NEW_OPP, T0)


def test_replay_to_opportunity_from_the_command_line(shared):  # noqa: F811
    store, env = shared
    dead_id, unresolved_id = dead_delivery(store, time.time())
    dry = run("bridge", "replay", str(dead_id), "--to-opportunity", NEW_OPP, "--dry-run", env=env)
    assert dry.returncode == 0 and "would send its PATCH to opportunity " + NEW_OPP in dry.stdout, dry.stderr
    assert store.get_delivery(dead_id).status == DEAD
    done = run("bridge", "replay", str(dead_id), "--to-opportunity", NEW_OPP, env=env)
    assert done.returncode == 0 and "queued its PATCH" in done.stdout, done.stderr
    record = store.get_delivery(dead_id)
    assert record.status == QUEUED and record.target == {"id": NEW_OPP}
    refused = run("bridge", "replay", str(unresolved_id), "--to-opportunity", NEW_OPP, env=env)
    assert refused.returncode == 1 and "has no PATCH" in refused.stderr
    mixed = run("bridge", "replay", str(dead_id), "--source", "stripe", "--to-opportunity", NEW_OPP, env=env)
    assert mixed.returncode == 2 and "exactly one delivery id" in mixed.stderr
