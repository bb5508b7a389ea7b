"""Rebuild: a stored event rendered again with the mappings in use now.

A route that could not build a PATCH (opportunity id missing, a value not in a lookup, an
invalid value …) is stored as a dead delivery with no target, and an event no route
matched is stored as `ignored`; both keep the event's data. Once the mapping is fixed,
rebuilding the event renders that data again and hands the result to `store.rebuild`,
which inserts the routes the event has no delivery for and replaces the deliveries that
died before they had a target, leaving every other delivery alone (those are replayed,
never rebuilt).

Request headers are not stored: a mapping that reads the event's id, type or time from a
header gets the stored ones instead. The stored event id always wins.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bridge.store.interface import Store
from bridge.accept import new_delivery
from bridge.mapping.expressions import expression_budget
from bridge.mapping.model import Event, Mapping
from bridge.telemetry.logs import log_state
from bridge.store import DEAD, UNRESOLVED, DeliveryRecord, NewDelivery, target_key
from bridge.reasons import Refused

log = logging.getLogger("bridge.ops.rebuild")
INSERT, REPLACE, KEEP = "insert", "replace", "keep"


class RebuildError(Exception):
    """The event cannot be rebuilt. `reason`: unknown_source, not_found or no_data."""

    def __init__(self, reason: Refused, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass
class Rebuild:
    """One event's new rendering and what it does (or, before the store call, would do) to its deliveries."""

    source: str
    event_id: str
    deliveries: list[NewDelivery]  # the rendering handed to the store
    actions: dict[str, str]  # route → insert | replace | keep, as the deliveries stood when read
    missing: list[str] = field(default_factory=list)  # routes asked for that the mapping makes nothing for now
    rebuilt: int = 0  # deliveries the store inserted or replaced (0 until applied)

    @property
    def changing(self) -> list[NewDelivery]:
        """The rendered deliveries that insert or replace one."""
        return [d for d in self.deliveries if self.actions.get(d.route) in (INSERT, REPLACE)]

    @property
    def still_dead(self) -> int:
        """How many of those still cannot build a PATCH (dead with the new reason)."""
        return sum(1 for d in self.changing if d.status == DEAD)


def is_unresolved(record: DeliveryRecord) -> bool:
    """Dead before it had a target: a mapping failure, rebuilt rather than replayed."""
    return record.status == DEAD and target_key(record.target) == UNRESOLVED


def stored_event(mapping: Mapping, stored: dict) -> Event:
    """The Event the current mapping reads from stored data: the stored id; type and time read anew, else stored."""
    event = mapping.make_event(stored["data"], {})
    event.id = stored["event_id"]
    event.type = event.type or stored.get("type")
    event.occurred_at = event.occurred_at or stored.get("occurred_at")
    return event


def actions_for(existing: list[DeliveryRecord], rendered: list[NewDelivery]) -> dict[str, str]:
    """What store.rebuild does with each rendered route, given the event's deliveries (pure)."""
    current = {record.route: record for record in existing}
    actions = {}
    for delivery in rendered:
        record = current.get(delivery.route)
        if delivery.route in actions:
            continue
        if record is None:
            actions[delivery.route] = INSERT
        elif is_unresolved(record):
            actions[delivery.route] = REPLACE
        else:
            actions[delivery.route] = KEEP
    return actions


def prepare(sources: dict, store: Store, source: str, event_id: str, routes: list[str] | None = None) -> Rebuild:
    """Read the stored event and render it with the current mapping; writes nothing.

    `sources` maps a source name to an object with a `.mapping` (runtime.pipeline.sources).
    With `routes`, only those routes' deliveries are kept. Raises RebuildError.
    """
    if source not in sources:
        raise RebuildError(Refused.UNKNOWN_SOURCE,
                           f"no mapping file {source}.yaml is loaded, so events from {source!r} "
                           "cannot be rendered; restore the mapping (and reload) first")
    stored = store.get_event(source, event_id)
    if stored is None:
        raise RebuildError(Refused.NOT_FOUND, f"no event {event_id} from {source} is stored")
    if stored.get("data") is None:
        raise RebuildError(Refused.NO_DATA, f"event {event_id} from {source} was stored without its data")
    mapping = sources[source].mapping
    with expression_budget():
        rendered = [new_delivery(r) for r in mapping.render(stored_event(mapping, stored))]
    missing = []
    if routes is not None:
        rendered = [d for d in rendered if d.route in routes]
        missing = sorted(set(routes) - {d.route for d in rendered})
    existing = store.deliveries_for_event(source, event_id)
    return Rebuild(source, event_id, rendered, actions_for(existing, rendered), missing)


def apply(store: Store, rebuild: Rebuild, now: float) -> Rebuild:
    """Hand a prepared rendering to `store.rebuild` (one atomic step) and log what it did."""
    if rebuild.deliveries:
        rebuild.rebuilt = store.rebuild(rebuild.source, rebuild.event_id, rebuild.deliveries, now)
    log_state(log, "rebuilt", source=rebuild.source, event_id=rebuild.event_id, status="rebuilt",
              rebuilt=rebuild.rebuilt, dead=rebuild.still_dead or None,
              routes=",".join(d.route for d in rebuild.changing) or None)
    return rebuild


def rebuild_event(sources: dict, store: Store, source: str, event_id: str, now: float,
                  routes: list[str] | None = None) -> Rebuild:
    """Render a stored event with the current mapping and apply it; see `prepare` and `apply`."""
    return apply(store, prepare(sources, store, source, event_id, routes), now)
