"""The Reevo Public API v2 routes the sandbox serves (opportunity only)."""

from __future__ import annotations

import json
import uuid

from flask import Blueprint, Response, jsonify, request

from .catalog import normalize_uuid
from .errors import CREATE_SUCCESS_STATUS, DELETE_SUCCESS_STATUS, PATCH_SUCCESS_STATUS, ApiError
from .fields import schema_document
from .hooks import mark_applied
from .query import run_query
from .records import apply_changes, archive, check_unique, new_record
from .render import render_record
from .state import get_state
from .validate import validate_create, validate_patch

bp = Blueprint("reevo_api", __name__, url_prefix="/api/v2")
RECORD_TYPE = "opportunity"


@bp.get("/health")
def health():
    """Liveness, no auth."""
    return jsonify({"data": {"status": "healthy"}})


@bp.get("/_schema/<record_type>")
def schema(record_type: str):
    """The bare schema object of the opportunity type."""
    if record_type != RECORD_TYPE:
        raise ApiError("not_found", f"record type {record_type!r} is not served by the sandbox")
    store = get_state().store
    with store.lock:
        return jsonify(schema_document(store.table))


@bp.get("/opportunity/<record_id>")
def read_one(record_id: str):
    """Read one opportunity."""
    store = get_state().store
    with store.lock:
        record = store.snapshot(_existing(record_id))
    return jsonify({"data": _render(record)})


@bp.patch("/opportunity/<record_id>")
def patch_one(record_id: str):
    """Validate every attribute, then apply all of them or none."""
    attributes = _attributes(json_body())
    state = get_state()
    store = state.store
    with store.lock:
        record = _existing(record_id)
        changes = validate_patch(attributes, store.table, store.catalog)
        check_unique(store.live_records(), store.table, record["id"], changes)
        apply_changes(record, changes, store.catalog, state.now(), store.catalog.api_user_id)
        mark_applied()
        record = store.snapshot(record)
    return jsonify({"data": _render(record)}), PATCH_SUCCESS_STATUS


@bp.post("/opportunity")
def create_one():
    """Create an opportunity (display_name, stage and account_id required)."""
    attributes = _attributes(json_body())
    state = get_state()
    store = state.store
    with store.lock:
        changes = validate_create(attributes, store.table, store.catalog)
        check_unique(store.live_records(), store.table, None, changes)
        record = new_record(str(uuid.uuid4()), changes, store.table, store.catalog, state.now(),
                            store.catalog.api_user_id)
        store.insert(record)
        mark_applied()
        record = store.snapshot(record)
    return jsonify({"data": _render(record)}), CREATE_SUCCESS_STATUS


@bp.delete("/opportunity/<record_id>")
def archive_one(record_id: str):
    """Archive an opportunity; it then reads as 404 and leaves _query results."""
    state = get_state()
    store = state.store
    with store.lock:
        archive(_existing(record_id), state.now(), store.catalog.api_user_id)
        mark_applied()
    return Response(status=DELETE_SUCCESS_STATUS)


@bp.post("/opportunity/_query")
def query():
    """Filter, sort and page opportunities."""
    body = json_body()
    state = get_state()
    store = state.store
    with store.lock:
        page, next_cursor = run_query(body, store.live_records(), store.table, store.catalog, state.codec)
        page = [store.snapshot(r) for r in page]
    return jsonify({"data": [_render(r) for r in page], "next_cursor": next_cursor})


def json_body():
    """The request's JSON body (400/415 if it is not JSON)."""
    if request.mimetype != "application/json":
        raise ApiError("unsupported_media_type", "send the body as Content-Type: application/json")
    try:
        return json.loads(request.get_data(cache=True), parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("invalid_json", f"body is not valid JSON: {exc}") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _attributes(body: object) -> object:
    if not isinstance(body, dict):
        raise ApiError("invalid_request", "the body must be a JSON object")
    if "attributes" not in body:
        raise ApiError("invalid_request", "'attributes' is required")
    if set(body) != {"attributes"}:
        raise ApiError("invalid_request", f"unexpected body keys {sorted(set(body) - {'attributes'})}")
    if not isinstance(body["attributes"], dict):
        raise ApiError("invalid_request", "'attributes' must be a JSON object")
    return body["attributes"]


def _existing(record_id: str) -> dict:
    store = get_state().store
    record = store.get(normalize_uuid(record_id) or "")
    if record is None:
        raise ApiError("record_not_found", f"no opportunity with id {record_id!r}")
    return record


def _render(record: dict) -> dict:
    store = get_state().store
    return render_record(record, store.table, store.catalog)
