"""Control endpoints under ``/_sandbox/`` (no auth): faults, request log, reset."""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request

from .errors import ApiError
from .faults import parse_fault
from .state import get_state

bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


@bp.post("/faults")
def add_faults():
    """Queue one fault (object) or several (list); 201 with the queued entries."""
    body = _json()
    specs = body if isinstance(body, list) else [body]
    faults = [parse_fault(spec) for spec in specs]
    queue = get_state().faults
    return jsonify({"data": [queue.add(f) for f in faults]}), 201


@bp.get("/faults")
def list_faults():
    """Pending faults, in the order they will be consumed."""
    return jsonify({"data": get_state().faults.pending()})


@bp.delete("/faults")
def clear_faults():
    """Forget every pending fault."""
    return jsonify({"data": {"cleared": get_state().faults.clear()}})


@bp.get("/requests")
def list_requests():
    """The API request log, oldest first."""
    return jsonify({"data": get_state().log.entries()})


@bp.delete("/requests")
def clear_requests():
    """Forget the request log."""
    return jsonify({"data": {"cleared": get_state().log.clear()}})


@bp.post("/reset")
def reset():
    """Reload the seed and clear faults and the request log."""
    get_state().reset()
    return jsonify({"data": {"status": "reset"}})


def _json():
    try:
        return json.loads(request.get_data() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError("invalid_json", "body is not valid JSON") from None
