"""Retarget through the admin API: a dead delivery (its opportunity does not exist) sent to another one."""
from bridge.store import DEAD, DELIVERED
from helpers import INITECH_OPP
from sandbox.known import MISSING_OPPORTUNITY_ID

TOKEN = "retarget-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EVENT = {"id": "evt_wrong_target", "type": "customer.subscription.updated", "created": 1_700_000_000,
         "data": {"object": {"id": "sub_x", "status": "canceled",
                             "metadata": {"reevo_opportunity_id": MISSING_OPPORTUNITY_ID}}}}


def test_a_dead_delivery_is_sent_to_another_opportunity_and_its_history_says_so(make_bridge, reevo):
    bridge = make_bridge(BRIDGE_ADMIN_TOKEN=TOKEN)
    assert bridge.post("stripe", EVENT).status_code == 202
    bridge.deliver()
    (record,) = bridge.deliveries("stripe", EVENT["id"])
    assert record.status == DEAD and record.last_error["code"] == "record_not_found"
    path = f"/admin/deliveries/{record.id}/replay"

    dry = bridge.client.post(path, headers=AUTH, json={"to_opportunity": INITECH_OPP, "dry_run": True})
    assert dry.status_code == 200 and dry.json["status"] == "dry_run"
    assert bridge.store.get_delivery(record.id).status == DEAD
    bad = bridge.client.post(path, headers=AUTH, json={"to_opportunity": "nope"})
    assert (bad.status_code, bad.json["reason"]) == (400, "invalid_target")

    done = bridge.client.post(path, headers=AUTH, json={"to_opportunity": INITECH_OPP})
    assert done.status_code == 200 and done.json["status"] == "retargeted"
    assert done.json["data"]["target"] == {"id": INITECH_OPP}
    assert done.json["data"]["history"][-1]["retargeted_from"] == {"id": MISSING_OPPORTUNITY_ID}
    bridge.deliver()
    assert bridge.store.get_delivery(record.id).status == DELIVERED
    assert reevo.opportunity(INITECH_OPP)["stage"]["value"]["api_name"] == "closed_lost"
    again = bridge.client.post(path, headers=AUTH, json={"to_opportunity": INITECH_OPP})
    assert (again.status_code, again.json["reason"]) == (409, "not_dead")
    missing = bridge.client.post("/admin/deliveries/99999/replay", headers=AUTH, json={"to_opportunity": INITECH_OPP})
    assert missing.status_code == 404
