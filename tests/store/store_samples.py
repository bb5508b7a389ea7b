"""Sample events and deliveries shared by the store tests."""
from bridge.store import ACCEPTED, EventRecord, NewDelivery, open_store

OPP_A = "11111111-1111-4111-8111-111111111111"
OPP_B = "22222222-2222-4222-8222-222222222222"
T0 = 1_700_000_000.0
DAY = 86400.0


def event(event_id="evt_1", body_hash="h1", source="stripe", outcome=ACCEPTED, data=None):
    return EventRecord(source, event_id, "t", "2024-01-01T00:00:00.000000Z", body_hash, outcome=outcome,
                       data={"id": event_id} if data is None else data)


def delivery(opp=OPP_A, route="r"):
    return NewDelivery(route, {"id": opp}, {"stage": "closed_won"})


def store_for_a_process(kind: str, request, tmp_path, prefix: str = "cli"):
    """(store, env): a `kind` store ("sqlite" or "redis") this test fills, which a CLI or worker
    process opens through the BRIDGE_STORE_URL (and BRIDGE_REDIS_PREFIX) in `env`."""
    if kind == "sqlite":
        env = {"BRIDGE_STORE_URL": f"sqlite:///{tmp_path}/cli.db"}
    else:
        server = request.getfixturevalue("redis_server")
        env = {"BRIDGE_STORE_URL": server.url, "BRIDGE_REDIS_PREFIX": f"{prefix}-{tmp_path.name}:"}
    return open_store(env["BRIDGE_STORE_URL"], redis_prefix=env.get("BRIDGE_REDIS_PREFIX", "bridge:")), env
