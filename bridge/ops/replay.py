"""Replay, whatever a delivery died of: one entry point for the CLI and the admin API.

A delivery that had a target (delivered, superseded, retrying, or dead from Reevo's answer)
is queued again as it is (`store.replay`). A delivery that died before it had a target —
the mapping could not build its PATCH — has nothing to send again: it is rebuilt from its
stored event with the mappings in use now (`bridge.rebuild`). The operator does not have to
know which is which; the answer counts both.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bridge.store.interface import Store
from bridge.ops.rebuild import Rebuild, RebuildError, is_unresolved, prepare, rebuild_event
from bridge.store import REPLAYABLE, DeliveryRecord, target_key
from bridge.store.query import check_filter, matches
from bridge.reasons import Refused


@dataclass
class ReplayPlan:
    """The deliveries a replay takes, split by how they go back to work."""

    replay: list[DeliveryRecord] = field(default_factory=list)  # had a target: queued again as they are
    rebuild: list[DeliveryRecord] = field(default_factory=list)  # died before a target: rendered again

    def events(self) -> dict[tuple[str, str], list[str]]:
        """(source, event id) → the routes of that event to rebuild."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for record in self.rebuild:
            grouped.setdefault((record.source, record.event_id), []).append(record.route)
        return grouped


def plan(store: Store, ids: list[int] | None, filter: dict | None) -> ReplayPlan:
    """What a replay of these ids (or of everything matching `filter`) would take; reads only.

    Only replayable statuses are taken (dead, delivered, superseded, retrying); with ids,
    the filter still applies. Raises InvalidQuery for a filter the store cannot use.
    """
    checked = check_filter(filter)
    checked["status"] = tuple(s for s in checked.get("status", REPLAYABLE) if s in REPLAYABLE)
    if not checked["status"]:
        return ReplayPlan()
    if ids is not None:
        records = [r for r in map(store.get_delivery, ids) if r is not None]
    else:
        records = _all(store, checked)
    chosen = [r for r in records if matches(r, target_key(r.target), checked)]
    return ReplayPlan(replay=[r for r in chosen if not is_unresolved(r)],
                      rebuild=[r for r in chosen if is_unresolved(r)])


def check_sources(replay_plan: ReplayPlan, sources: dict) -> None:
    """Raise RebuildError (unknown_source) naming every source with deliveries to rebuild but no mapping."""
    unknown = sorted({r.source for r in replay_plan.rebuild if r.source not in sources})
    if unknown:
        count = sum(1 for r in replay_plan.rebuild if r.source in unknown)
        names = ", ".join(f"{s}.yaml" for s in unknown)
        raise RebuildError(Refused.UNKNOWN_SOURCE,
                           f"{count} dead delivery(ies) must be rebuilt from their event with the current mapping, "
                           f"but no mapping file {names} is loaded; restore it (and reload), or leave those "
                           "deliveries out of the replay (e.g. filter by another source)")


def preview(replay_plan: ReplayPlan, sources: dict, store: Store) -> list[Rebuild]:
    """Each event's new rendering, restricted to the routes to rebuild; writes nothing."""
    check_sources(replay_plan, sources)
    found = []
    for (source, event_id), routes in replay_plan.events().items():
        try:
            found.append(prepare(sources, store, source, event_id, routes))
        except RebuildError:
            continue  # the event is gone (purged) or has no data: counted as not rebuilt
    return found


def counts(replay_plan: ReplayPlan, rebuilds: list[Rebuild], replayed: int, applied: bool) -> dict:
    """The answer's numbers: replayed, rebuilt, still dead, and dead ones the current mapping did not rebuild."""
    rebuilt = sum(r.rebuilt if applied else len(r.changing) for r in rebuilds)
    return {"replayed": replayed, "rebuilt": rebuilt, "still_dead": sum(r.still_dead for r in rebuilds),
            "not_rebuilt": max(0, len(replay_plan.rebuild) - rebuilt)}


def run(replay_plan: ReplayPlan, sources: dict, store: Store, filter: dict | None, now: float) -> dict:
    """Replay what had a target, rebuild what did not (each event atomically); the counts.

    Sources are checked first: an unknown one raises RebuildError and nothing changes.
    """
    check_sources(replay_plan, sources)
    replayed = 0
    if replay_plan.replay:
        replayed = store.replay(ids=[r.id for r in replay_plan.replay], filter=filter, now=now)
    rebuilds = []
    for (source, event_id), routes in replay_plan.events().items():
        try:
            rebuilds.append(rebuild_event(sources, store, source, event_id, now, routes))
        except RebuildError:
            continue  # purged since it was planned, or stored without data: counted as not rebuilt
    return counts(replay_plan, rebuilds, replayed, applied=True)


def _all(store: Store, filter: dict) -> list[DeliveryRecord]:
    found, cursor = [], None
    while True:
        page, cursor = store.list_deliveries(filter, 500, cursor)
        found += page
        if cursor is None:
            return found
