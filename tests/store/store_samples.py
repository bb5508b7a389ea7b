"""Sample events and deliveries shared by the store tests."""
from bridge.store import ACCEPTED, EventRecord, NewDelivery

OPP_A = "11111111-1111-4111-8111-111111111111"
OPP_B = "22222222-2222-4222-8222-222222222222"
T0 = 1_700_000_000.0
DAY = 86400.0


def event(event_id="evt_1", body_hash="h1", source="stripe", outcome=ACCEPTED, data=None):
    return EventRecord(source, event_id, "t", "2024-01-01T00:00:00.000000Z", body_hash, outcome=outcome,
                       data={"id": event_id} if data is None else data)


def delivery(opp=OPP_A, route="r"):
    return NewDelivery(route, {"id": opp}, {"stage": "closed_won"})
