"""Opportunity history: every delivery that targeted one opportunity, what each set, and what is applied now.

The audit trail "which event changed this field, and when". A delivered delivery applied
the fields its last delivered attempt sent (the stale guard may have left some out because
a newer event had set them: "skipped"); a superseded one applied none, and its reason says
which newer field times won. The newest applied value of each field is the one from the
delivered delivery with the latest occurred_at (the order the stale guard keeps).
"""
from __future__ import annotations

from bridge.store.interface import Store
from bridge.store import DELIVERED, SUPERSEDED, DeliveryRecord

MAX_DELIVERIES = 2000  # deliveries shown, the oldest first; "truncated" says when there are more


def opportunity_history(store: Store, opportunity: str, limit: int = MAX_DELIVERIES) -> dict:
    """{"opportunity", "deliveries": [...oldest first], "fields": {field: newest applied value}, "truncated"}."""
    records = store.deliveries_for_opportunity(opportunity, limit=limit + 1)
    truncated = len(records) > limit
    records = records[:limit]
    entries = [_entry(r, store.attempt_log(r.id) if r.status in (DELIVERED, SUPERSEDED) else []) for r in records]
    return {"opportunity": opportunity, "deliveries": entries, "fields": newest_values(entries),
            "truncated": truncated}


def _entry(record: DeliveryRecord, attempt_log: list[dict]) -> dict:
    """One delivery: its event, its fields, which it applied and which it skipped, and why."""
    last = next((a for a in reversed(attempt_log) if a.get("outcome") in ("delivered", "superseded")), None)
    if record.status == DELIVERED:
        sent = last["sent"] if last and "sent" in last else sorted(record.attributes)  # logged before attempts were
    else:
        sent = []
    applied = {name: record.attributes[name] for name in sent if name in record.attributes}
    skipped = sorted(set(record.attributes) - set(applied)) if record.status in (DELIVERED, SUPERSEDED) else []
    return {"delivery_id": record.id, "source": record.source, "event_id": record.event_id, "route": record.route,
            "status": record.status, "occurred_at": record.occurred_at, "received_at": record.received_at,
            "finished_at": record.extra.get("updated_at") if record.status in (DELIVERED, SUPERSEDED) else None,
            "target": record.target, "opportunity_id": record.extra.get("opportunity_id") or record.target.get("id"),
            "fields": record.attributes, "applied": applied, "skipped": skipped,
            "superseded": _why(record) if record.status == SUPERSEDED or skipped else None}


def _why(record: DeliveryRecord) -> dict:
    """Why fields were not applied: a newer event had already set them (when the guard recorded when)."""
    error = record.last_error or {}
    if record.status == SUPERSEDED:
        return {"reason": "superseded", "message": error.get("message"), "newer": error.get("newer")}
    return {"reason": "newer_event_set_them", "message": "a newer event had already set these fields"}


def newest_values(entries: list[dict]) -> dict:
    """Per field: the value, delivery and event of the newest (by occurred_at) delivered delivery that applied it."""
    current: dict[str, dict] = {}
    for entry in entries:
        if entry["status"] != DELIVERED:
            continue
        for name, value in entry["applied"].items():
            known = current.get(name)
            if known is None or (entry["occurred_at"] or "", entry["delivery_id"]) >= (
                    known["occurred_at"] or "", known["delivery_id"]):
                current[name] = {"value": value, "delivery_id": entry["delivery_id"], "source": entry["source"],
                                 "event_id": entry["event_id"], "occurred_at": entry["occurred_at"],
                                 "applied_at": entry["finished_at"]}
    return current
