"""Replay and rebuild from the console: a dry run first (GET, changes nothing), then the action (POST).

The dry run is a page of its own that shows what would happen and carries the form that
does it, so nothing changes without the operator having seen the preview. The work itself
is `bridge.ops` — the same functions the admin API and the CLI call.
"""
from __future__ import annotations

from flask import request

from bridge.ops import rebuild
from bridge.ops.issues import replay_group, replay_ids
from bridge.store import REPLAYABLE, InvalidQuery, StoreUnavailable
from bridge.web.console.blueprint import admin_only, blueprint, page, refuse, runtime
from bridge.reasons import Refused


def _event_ids(source: str, event_id: str) -> list[int] | None:
    """The replayable deliveries of one event (or just the one asked for); None when the event is unknown."""
    store = runtime().store
    if store.get_event(source, event_id) is None:
        return None
    chosen = request.values.get("delivery", type=int)
    return [r.id for r in store.deliveries_for_event(source, event_id)
            if r.status in REPLAYABLE and (chosen is None or r.id == chosen)]


def _replay(ids: list[int], dry_run: bool) -> dict:
    bridge = runtime()
    return replay_ids(bridge.store, bridge.pipeline.sources, ids, None, bridge.clock(), dry_run)


@blueprint.route("/events/<source>/<path:event_id>/replay", methods=["GET", "POST"])
def replay_event(source: str, event_id: str):
    """GET: what a replay of this event's deliveries would do. POST: do it."""
    try:
        ids = _event_ids(source, event_id)
        if ids is None:
            return refuse(404, Refused.NOT_FOUND, f"no event {event_id!r} from {source!r} is stored")
        if request.method == "POST":
            return _replay_applied(source, event_id, ids)
        counts = _replay(ids, dry_run=True)
    except (InvalidQuery, StoreUnavailable, rebuild.RebuildError) as exc:
        return _failed(exc)
    return page("confirm_replay.html", what=f"{len(ids)} delivery(ies) of event {event_id}", counts=counts,
                source=source, event_id=event_id, ids=ids, delivery=request.args.get("delivery", type=int),
                group=None)


@admin_only
def _replay_applied(source: str, event_id: str, ids: list[int]):
    counts = _replay(ids, dry_run=False)
    return page("done.html", action="Replay", counts=counts, source=source, event_id=event_id)


@blueprint.route("/events/<source>/<path:event_id>/rebuild", methods=["GET", "POST"])
def rebuild_event(source: str, event_id: str):
    """GET: this event rendered with the mappings in use now, and what that would change. POST: apply it."""
    bridge = runtime()
    try:
        item = rebuild.prepare(bridge.pipeline.sources, bridge.store, source, event_id)
        if request.method == "POST":
            return _rebuild_applied(item)
    except rebuild.RebuildError as exc:
        return refuse(404 if exc.reason == Refused.NOT_FOUND else 409, exc.reason, exc.detail)
    except StoreUnavailable as exc:
        return _failed(exc)
    return page("confirm_rebuild.html", item=item, source=source, event_id=event_id)


@admin_only
def _rebuild_applied(item: rebuild.Rebuild):
    rebuild.apply(runtime().store, item, runtime().clock())
    counts = {"rebuilt": item.rebuilt, "still_dead": item.still_dead}
    return page("done.html", action="Rebuild", counts=counts, source=item.source, event_id=item.event_id)


def _group() -> dict:
    return {key: request.values.get(key, "") for key in ("source", "route", "reason")}


@blueprint.route("/issues/replay", methods=["GET", "POST"])
def replay_issue_group():
    """GET: how many deliveries of one issue group a replay would take, and how. POST: replay them all."""
    group = _group()
    if not all(group.values()):
        return refuse(400, Refused.BAD_REQUEST, "name the group: source, route and reason")
    try:
        if request.method == "POST":
            return _group_applied(group)
        counts = _group_replay(group, dry_run=True)
    except (InvalidQuery, StoreUnavailable, rebuild.RebuildError) as exc:
        return _failed(exc)
    what = f"the {counts['group_size']} delivery(ies) of {group['source']} / {group['route']} / {group['reason']}"
    return page("confirm_replay.html", what=what, counts=counts, group=group, source=None, event_id=None,
                ids=None, delivery=None)


def _group_replay(group: dict, dry_run: bool) -> dict:
    bridge = runtime()
    return replay_group(bridge.store, bridge.pipeline.sources, bridge.clock(), group, dry_run)


@admin_only
def _group_applied(group: dict):
    counts = _group_replay(group, dry_run=False)
    return page("done.html", action="Replay", counts=counts, group=group, source=None, event_id=None)


def _failed(exc: Exception):
    if isinstance(exc, rebuild.RebuildError):
        return refuse(409, exc.reason, exc.detail)
    if isinstance(exc, StoreUnavailable):
        return refuse(503, Refused.STORE_UNAVAILABLE, f"the store did not answer: {exc}")
    return refuse(400, Refused.BAD_QUERY, str(exc))
