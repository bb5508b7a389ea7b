"""One stored event as an operator sees it: its body, which routes matched, each delivery and its attempts.

Shared by `GET /admin/events/<source>/<id>`, `python -m bridge show` and the console. The
routes are read from the mapping in use now: a route is "matched" when the event has a
delivery for it (what happened at accept time); `matches_now` says whether the current
mapping's condition holds for the stored body (after a mapping change the two can differ,
and a rebuild would act on the difference).
"""
from __future__ import annotations

from dataclasses import asdict

from bridge.store.interface import Store
from bridge.mapping.selectors import ConditionError
from bridge.ops.rebuild import stored_event
from bridge.store import FINISHED, DEAD, ID_CONTENT_HASH, DeliveryRecord

REEVO_PATCH_PATH = "/api/v2/opportunity/{id}"


def delivery_view(record: DeliveryRecord, attempt_log: list[dict] | None = None) -> dict:
    """A delivery as the admin API shows it: the record (lease token kept inside), its PATCH, its attempts."""
    data = asdict(record)
    data.pop("lease_token", None)
    data.update(data.pop("extra", {}) or {})
    data["patch"] = {"attributes": data.pop("attributes")}
    data["id_source"] = record.id_source
    data["request"] = patch_request(record)
    # When it is tried next; None once finished or dead (nothing more happens unless an operator replays it).
    data["next_attempt"] = None if record.status in FINISHED or record.status == DEAD else record.next_attempt_at
    if attempt_log is not None:
        data["attempt_log"] = attempt_log
    return data


def patch_request(record: DeliveryRecord) -> dict:
    """The exact request the delivery sends Reevo (the stale guard may leave fields out: see the attempt log)."""
    opportunity = record.target.get("id") or record.extra.get("opportunity_id")
    return {"method": "PATCH",
            "path": REEVO_PATCH_PATH.format(id=opportunity) if opportunity else None,
            "target": record.target,
            "headers": {"Content-Type": "application/json", "Idempotency-Key": record.idempotency_key},
            "body": {"attributes": record.attributes}}


def event_detail(store: Store, sources: dict, source: str, event_id: str) -> dict | None:
    """The stored event, its routes (matched or not) and its deliveries with their attempts; None if not stored."""
    event = store.get_event(source, event_id)
    if event is None:
        return None
    records = store.deliveries_for_event(source, event_id)
    event["status"] = event["outcome"]
    # The mapping reads an id, yet the event is stored under its content hash (get_event's id_source).
    loaded = sources.get(source)
    event["id_fallback"] = bool(event["id_source"] == ID_CONTENT_HASH and loaded is not None
                                and loaded.mapping.event_fields.get("id"))
    event["routes"] = route_table(sources.get(source), event, records)
    event["deliveries"] = [delivery_view(r, store.attempt_log(r.id)) for r in records]
    return event


def route_table(loaded, event: dict, records: list[DeliveryRecord]) -> list[dict]:
    """Each route of the current mapping (and each route with a delivery): matched then, matches now, its condition."""
    by_route = {r.route: r for r in records}
    rows = []
    routes = loaded.mapping.routes if loaded is not None else []
    parsed = _parsed(loaded, event) if routes else None
    for route in routes:
        record = by_route.pop(route.name, None)
        rows.append({"route": route.name, "matched": record is not None,
                     "matches_now": _matches(route, parsed), "when": route.condition.describe(),
                     "delivery_id": record.id if record else None, "in_mapping": True})
    for name, record in by_route.items():  # routes the mapping no longer has
        rows.append({"route": name, "matched": True, "matches_now": None, "when": None,
                     "delivery_id": record.id, "in_mapping": False})
    return rows


def _parsed(loaded, event: dict):
    """The stored event as the current mapping reads it, or None when it cannot be (no data, unreadable)."""
    if event.get("data") is None:
        return None
    try:
        return stored_event(loaded.mapping, event)
    except Exception:  # noqa: BLE001 - a body the mapping cannot read any more: "unknown", not an error page
        return None


def _matches(route, event) -> bool | None:
    if event is None:
        return None
    try:
        return route.condition.holds(event)
    except ConditionError:
        return False
