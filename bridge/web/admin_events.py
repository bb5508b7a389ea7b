"""Admin API for the operator console: every event, the issues, an opportunity's history, replay dry runs.

Same access as the rest of /admin/ (BRIDGE_ADMIN_TOKEN, Bearer). The data comes from the
store's console queries and `bridge.ops` (event_detail, issues, opportunity_history); the
console pages show the same through their own routes.
"""
from __future__ import annotations

import math
from datetime import datetime, UTC

from flask import Blueprint, jsonify, request

from bridge.ops.issues import DEFAULT_RETRYING_FOR, issues, replay_group
from bridge.ops.opportunity_history import opportunity_history
from bridge.ops.rebuild import RebuildError
from bridge.store import InvalidQuery
from bridge.store.events_query import MAX_EVENT_LIMIT
from bridge.web.admin import _error, _runtime, dry_run_asked, replay_response, require_token
from bridge.reasons import Refused

blueprint = Blueprint("admin_events", __name__, url_prefix="/admin")
blueprint.before_request(require_token)
_LISTS = ("status", "delivery_status")
_TEXT = ("source", "type", "opportunity", "q")
_TIMES = ("received_from", "received_to")


def parse_time(text: str) -> float:
    """Epoch seconds from `1714557600` or an ISO 8601 time (`2024-05-01`, `2024-05-01T10:00:00Z`; UTC if no zone)."""
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise InvalidQuery(f"{text[:40]!r} is not a time: use epoch seconds or ISO 8601")
        return seconds
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery(f"{text!r} is not a time: use epoch seconds or ISO 8601 (2024-05-01T10:00:00Z)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def event_filter(args) -> dict:
    """The store's event filter from query arguments (repeat status/delivery_status, or comma-separate them)."""
    found: dict = {}
    for key in _LISTS:
        values = [v.strip() for raw in args.getlist(key) for v in raw.split(",") if v.strip()]
        if values:
            found[key] = values
    for key in _TEXT:
        if args.get(key):
            found[key] = args[key]
    for key in _TIMES:
        if args.get(key):
            found[key] = parse_time(args[key])
    return found


def _limit(args, default: int = 50) -> int:
    try:
        limit = int(args.get("limit", default))
    except ValueError:
        raise InvalidQuery("limit must be an integer") from None
    if not 1 <= limit <= MAX_EVENT_LIMIT:
        raise InvalidQuery(f"limit must be from 1 to {MAX_EVENT_LIMIT}")
    return limit


@blueprint.get("/events")
def list_events():
    """Every stored event, newest first, filtered, one page at a time."""
    try:
        rows, cursor = _runtime().store.list_events(event_filter(request.args), _limit(request.args),
                                                    request.args.get("cursor"))
    except InvalidQuery as exc:
        return _error(400, Refused.BAD_QUERY, str(exc))
    return jsonify({"data": rows, "next_cursor": cursor})


@blueprint.post("/events/<source>/<path:event_id>/replay")
def replay_event(source: str, event_id: str):
    """Replay every replayable delivery of one event (rebuilding mapping failures); `dry_run` only counts."""
    store = _runtime().store
    if store.get_event(source, event_id) is None:
        return _error(404, Refused.NOT_FOUND, f"no event {event_id} from {source}")
    ids = [r.id for r in store.deliveries_for_event(source, event_id)]
    return replay_response(_runtime(), ids, None, dry_run=dry_run_asked())


def _retrying_for(args) -> float:
    try:
        seconds = float(args.get("retrying_for", DEFAULT_RETRYING_FOR))
    except (TypeError, ValueError):  # a JSON body may give any type
        raise InvalidQuery("retrying_for must be seconds") from None
    if not 0 <= seconds < math.inf:  # nan fails this too
        raise InvalidQuery("retrying_for must be 0 or more seconds")
    return seconds


@blueprint.get("/issues")
def list_issues():
    """Dead and long-retrying deliveries grouped by (source, route, reason), largest group first."""
    runtime = _runtime()
    try:
        retrying_for = _retrying_for(request.args)
    except InvalidQuery as exc:
        return _error(400, Refused.BAD_QUERY, str(exc))
    return jsonify({"data": issues(runtime.store, runtime.clock(), retrying_for), "retrying_for": retrying_for})


@blueprint.post("/issues/replay")
def replay_issue_group():
    """Replay every delivery of one group `{"source", "route", "reason"}`; `"dry_run": true` only counts."""
    runtime = _runtime()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("source", "route", "reason")):
        return _error(400, Refused.BAD_REQUEST,
                      'send {"source": …, "route": …, "reason": …} (one group of GET /admin/issues)')
    try:
        retrying_for = _retrying_for(body)
        result = replay_group(runtime.store, runtime.pipeline.sources, runtime.clock(), body, bool(body.get("dry_run")),
                              retrying_for)
    except InvalidQuery as exc:
        return _error(400, Refused.BAD_QUERY, str(exc))
    except RebuildError as exc:  # a source without a mapping: nothing changed
        return _error(409, exc.reason, exc.detail)
    return jsonify(result)


@blueprint.get("/opportunities/<path:opportunity>/history")
def get_opportunity_history(opportunity: str):
    """Every delivery that targeted one opportunity, what each set, and the newest applied value of each field."""
    return jsonify({"data": opportunity_history(_runtime().store, opportunity)})
