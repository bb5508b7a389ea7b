"""Admin API under /admin/: what happened to every event, replays, mappings, reload.

Off unless BRIDGE_ADMIN_TOKEN is set (every /admin/ path is then 404). Each request
needs `Authorization: Bearer <token>`, compared in constant time.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request

from bridge.ops import rebuild
from bridge.ops.event_detail import delivery_view, event_detail
from bridge.ops.issues import replay_ids
from bridge.web.openapi import MAX_IDS, OPENAPI
from bridge.web.webhooks import bearer_matches
from bridge.ops.retarget import RetargetError, retarget
from bridge.store import InvalidQuery
from bridge.store.query import MAX_ID, check_filter, is_delivery_id
from bridge.reasons import Refused

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
_FILTERS = ("status", "source", "route", "opportunity", "event_id", "received_from", "received_to")
_NUMERIC = ("received_from", "received_to")


def _runtime():
    return current_app.extensions["bridge"]


def _error(status: int, reason: Refused, detail: str):
    return jsonify({"status": "rejected", "reason": reason, "detail": detail}), status


@blueprint.before_request
def require_token():
    """404 when the admin API is off; 401 without the right Bearer token."""
    token = _runtime().settings.admin_token
    if not token:
        return _error(404, Refused.NOT_FOUND, "the admin API is off; set BRIDGE_ADMIN_TOKEN to enable it")
    if not bearer_matches(request.headers.get("Authorization", ""), token):
        return _error(401, Refused.UNAUTHORIZED, "send Authorization: Bearer <BRIDGE_ADMIN_TOKEN>")
    return None


delivery_json = delivery_view  # a delivery as the admin API shows it (the lease token stays inside)


def dry_run_asked() -> bool:
    """Whether the body asks for `{"dry_run": true}`; no body is a real run.

    Any other body is refused (400) rather than guessed at: a dry run asked for in a form
    this does not read must not run for real.
    """
    if not request.get_data():
        return False
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) - {"dry_run"} or not isinstance(body.get("dry_run", False), bool):
        abort(400, description='send no body, or {"dry_run": true|false}')
    return body.get("dry_run", False)


def _filter_from(args) -> dict:
    found = {}
    for key in _FILTERS:
        values = args.getlist(key)
        if not values:
            continue
        if key in _NUMERIC:
            try:
                found[key] = float(values[0])
            except ValueError:
                raise InvalidQuery(f"{key} must be Unix seconds") from None
        else:
            found[key] = values if key == "status" and len(values) > 1 else values[0]
    return found


@blueprint.get("/deliveries")
def list_deliveries():
    """Deliveries matching the filters, oldest first, one page at a time."""
    try:
        limit = min(max(int(request.args.get("limit", 50)), 1), 500)
        records, cursor = _runtime().store.list_deliveries(_filter_from(request.args), limit,
                                                           request.args.get("cursor"))
    except (ValueError, InvalidQuery) as exc:
        return _error(400, Refused.BAD_QUERY, str(exc))
    return jsonify({"data": [delivery_json(r) for r in records], "next_cursor": cursor})


@blueprint.get(f"/deliveries/<int(max={MAX_ID}):delivery_id>")
def get_delivery(delivery_id: int):
    """One delivery with its PATCH and its attempt log."""
    store = _runtime().store
    record = store.get_delivery(delivery_id)
    if record is None:
        return _error(404, Refused.NOT_FOUND, f"no delivery {delivery_id}")
    return jsonify({"data": delivery_view(record, store.attempt_log(delivery_id))})


@blueprint.get("/events/<source>/<path:event_id>")
def get_event(source: str, event_id: str):
    """One event — its stored data, its routes (matched or not), its deliveries with their attempts."""
    runtime = _runtime()
    event = event_detail(runtime.store, runtime.pipeline.sources, source, event_id)
    if event is None:
        return _error(404, Refused.NOT_FOUND, f"no event {event_id} from {source}")
    return jsonify({"data": event})


@blueprint.post("/events/<source>/<path:event_id>/rebuild")
def rebuild_one_event(source: str, event_id: str):
    """Render a stored event again with the current mappings; `{"dry_run": true}` only shows what it would do."""
    runtime = _runtime()
    dry_run = dry_run_asked()
    try:
        item = rebuild.prepare(runtime.pipeline.sources, runtime.store, source, event_id)
    except rebuild.RebuildError as exc:
        return _error(404 if exc.reason == Refused.NOT_FOUND else 409, exc.reason, exc.detail)
    if not dry_run:
        rebuild.apply(runtime.store, item, runtime.clock())
    return jsonify(_rebuild_json(item, dry_run))


def _rebuild_json(item: rebuild.Rebuild, dry_run: bool) -> dict:
    """How many deliveries were (or would be) inserted or replaced, and what each rendered route does."""
    return {"status": "dry_run" if dry_run else "rebuilt",
            "rebuilt": len(item.changing) if dry_run else item.rebuilt,
            "still_dead": item.still_dead,
            "routes": [{"route": d.route, "action": item.actions[d.route], "status": d.status,
                        "target": d.target, "error": d.error} for d in item.deliveries]}


@blueprint.post(f"/deliveries/<int(max={MAX_ID}):delivery_id>/replay")
def replay_one(delivery_id: int):
    """Queue one delivery again; one the mapping could not build is rebuilt from its event instead.

    `{"dry_run": true}` only counts what it would do. `{"to_opportunity": "<uuid>"}` sends a dead
    delivery's PATCH to that opportunity instead (recorded in its history); with `"dry_run": true` it
    is only checked.
    """
    runtime = _runtime()
    if runtime.store.get_delivery(delivery_id) is None:
        return _error(404, Refused.NOT_FOUND, f"no delivery {delivery_id}")
    body = request.get_json(silent=True)
    if isinstance(body, dict) and "to_opportunity" in body:
        return _retarget(runtime, delivery_id, body["to_opportunity"], bool(body.get("dry_run")))
    return replay_response(runtime, [delivery_id], None, dry_run=dry_run_asked())


def _retarget(runtime, delivery_id: int, opportunity_id, dry_run: bool):
    if not isinstance(opportunity_id, str):
        return _error(400, Refused.BAD_REQUEST, "to_opportunity must be an opportunity id (a UUID)")
    try:
        record = retarget(runtime.store, delivery_id, opportunity_id.strip(), runtime.clock(), dry_run=dry_run)
    except RetargetError as exc:
        status = {Refused.NOT_FOUND: 404, Refused.INVALID_TARGET: 400}.get(exc.reason, 409)
        return _error(status, exc.reason, exc.detail)
    return jsonify({"status": "dry_run" if dry_run else "retargeted", "data": delivery_json(record)})


@blueprint.post("/replay")
def replay_many():
    """Replay `{"ids": [...]}` or `{"filter": {...}}`; `"dry_run": true` only counts."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or ("ids" in body) == ("filter" in body):
        return _error(400, Refused.BAD_REQUEST, 'send {"ids": [1, 2]} or {"filter": {"status": "dead", …}}')
    ids, filter_ = body.get("ids"), body.get("filter")
    if set(body) - {"ids", "filter", "dry_run"} or not isinstance(body.get("dry_run", False), bool):
        return _error(400, Refused.BAD_REQUEST, "keys are ids or filter, and dry_run (true or false)")
    if ids is not None and not (isinstance(ids, list) and len(ids) <= MAX_IDS and all(map(is_delivery_id, ids))):
        return _error(400, Refused.BAD_REQUEST, f"ids must be a list of at most {MAX_IDS} delivery ids (1 to {MAX_ID})")
    if filter_ is not None and (not isinstance(filter_, dict) or set(filter_) - set(_FILTERS)):
        return _error(400, Refused.BAD_REQUEST, f"filter keys are {', '.join(_FILTERS)}")
    try:
        check_filter(filter_)
    except InvalidQuery as exc:
        return _error(400, Refused.BAD_QUERY, str(exc))
    return replay_response(_runtime(), ids, filter_, dry_run=body.get("dry_run", False))


def replay_response(runtime, ids, filter_, dry_run: bool, extra: dict | None = None):
    """Replay what had a target, rebuild what the mapping could not build (or count both); the JSON answer."""
    try:
        result = replay_ids(runtime.store, runtime.pipeline.sources, ids, filter_, runtime.clock(), dry_run)
    except InvalidQuery as exc:
        return _error(400, Refused.BAD_QUERY, str(exc))
    except rebuild.RebuildError as exc:
        return _error(409, exc.reason, exc.detail)
    return jsonify({**result, **(extra or {})})


@blueprint.get("/mappings")
def mappings():
    """The mappings in use, their secrets (names and whether set), and the last reload's result."""
    runtime = _runtime()
    sources = {name: {"file": s.mapping.path, "scheme": s.mapping.scheme, "routes": [r.name for r in s.mapping.routes],
                      "secrets": dict(s.secret_set), "secret_problems": s.secret_problems,
                      "enabled": not s.missing, "demo_secret": s.demo}
               for name, s in sorted(runtime.pipeline.sources.items())}
    return jsonify({"data": {"sources": sources, "last_reload": runtime.reload_status}})


@blueprint.post("/reload")
def reload():
    """Check the mapping files and switch to them; a bad file keeps the old mappings (422)."""
    result = _runtime().reload()
    return jsonify(result), 200 if result["status"] in ("reloaded", "reloading") else 422


@blueprint.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)
