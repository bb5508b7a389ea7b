"""Backtest: the current mappings run over a source's last N stored events, compared with what was built then.

Read-only. For each event the stored data is rendered again (as a rebuild would, see
`bridge.ops.rebuild.stored_event`) and each route's new delivery is set beside the stored
one: a route that matches now but did not, one that no longer matches, and for the others
a different target, a different status (a PATCH now, a failure then, or the reverse) or
different fields. Only events with a difference are listed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bridge.store.interface import Store
from bridge.accept import new_delivery
from bridge.ops.rebuild import stored_event
from bridge.store import DEAD, DeliveryRecord, NewDelivery

MAX_EVENTS = 500
ADDED, REMOVED, CHANGED = "matches now", "no longer matches", "changed"


@dataclass
class RouteChange:
    """How one route's delivery differs: then (stored) and now (rendered by the current mapping)."""

    route: str
    kind: str  # ADDED, REMOVED or CHANGED
    then: str = ""  # "PATCH" or "dead: <reason>"; "" for an added route
    now: str = ""
    target_then: dict | None = None
    target_now: dict | None = None
    fields: list[tuple[str, object, object]] = field(default_factory=list)  # (name, then, now); absent: None


@dataclass
class EventChange:
    """One event whose rendering differs now."""

    event_id: str
    type: str | None
    received_at: float
    routes: list[RouteChange]


@dataclass
class Backtest:
    """The outcome over the events examined."""

    source: str
    examined: int = 0
    unchanged: int = 0
    skipped: int = 0  # stored without data: nothing to render
    changed: list[EventChange] = field(default_factory=list)


def run_backtest(sources: dict, store: Store, source: str, count: int) -> Backtest:
    """Compare the current mapping of `source` with the stored deliveries of its last `count` events."""
    mapping = sources[source].mapping
    result = Backtest(source)
    for row in _last_events(store, source, max(1, min(count, MAX_EVENTS))):
        stored = store.get_event(source, row["event_id"])
        if stored is None or stored.get("data") is None:
            result.skipped += 1
            continue
        result.examined += 1
        rendered = [new_delivery(r) for r in mapping.render(stored_event(mapping, stored))]
        routes = compare(store.deliveries_for_event(source, row["event_id"]), rendered)
        if routes:
            result.changed.append(EventChange(stored["event_id"], stored.get("type"), stored["received_at"], routes))
        else:
            result.unchanged += 1
    return result


def _last_events(store: Store, source: str, count: int) -> list[dict]:
    """The newest `count` events of the source (list_events pages newest first)."""
    found: list[dict] = []
    cursor = None
    while len(found) < count:
        page, cursor = store.list_events({"source": source}, min(200, count - len(found)), cursor)
        found += page
        if cursor is None:
            break
    return found[:count]


def _state(status: str, error: dict | None) -> str:
    return f"dead: {(error or {}).get('code') or 'unknown'}" if status == DEAD else "PATCH"


def _built_then(record: DeliveryRecord) -> str:
    """What the mapping built then: a PATCH (whatever Reevo later said), or a failure with no target."""
    return "PATCH" if record.target else _state(DEAD, record.last_error)


def compare(stored: list[DeliveryRecord], rendered: list[NewDelivery]) -> list[RouteChange]:
    """Route by route, what differs between the stored deliveries and a new rendering (pure)."""
    then = {record.route: record for record in stored}
    now = {delivery.route: delivery for delivery in rendered}
    changes = []
    for route in list(then) + [r for r in now if r not in then]:
        old, new = then.get(route), now.get(route)
        if old is None and new is not None:
            changes.append(RouteChange(route, ADDED, now=_state(new.status, new.error), target_now=new.target,
                                       fields=[(k, None, v) for k, v in new.attributes.items()]))
        elif old is not None and new is None:
            changes.append(RouteChange(route, REMOVED, then=_built_then(old),
                                       target_then=old.target))
        elif old is not None and new is not None:
            change = _changed(old, new)
            if change:
                changes.append(change)
    return changes


def _changed(old: DeliveryRecord, new: NewDelivery) -> RouteChange | None:
    state_then = _built_then(old)
    state_now = _state(new.status, new.error)
    names = list(old.attributes) + [k for k in new.attributes if k not in old.attributes]
    fields = [(k, old.attributes.get(k), new.attributes.get(k)) for k in names
              if old.attributes.get(k) != new.attributes.get(k)]
    if state_then == state_now and old.target == new.target and not fields:
        return None
    return RouteChange(old.route, CHANGED, state_then, state_now, old.target, new.target, fields)
