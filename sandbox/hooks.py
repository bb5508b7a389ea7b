"""Per-request plumbing for API routes: request log, scripted faults, auth.

Runs before/after every ``/api/...`` request except the health check.
"""

from __future__ import annotations

import socket

from flask import Response, g, jsonify, request

from .auth import auth_scheme
from .errors import DROPPED_WITHOUT_SOCKET_STATUS, ApiError, error_body
from .faults import fault_response_body
from .state import get_state

HEALTH_PATH = "/api/v2/health"


def is_api_request(path: str) -> bool:
    """API paths that are logged, faulted and authenticated (health excluded)."""
    return path.startswith("/api/") and path.rstrip("/") != HEALTH_PATH


def before_api_request():
    """Log the request, consume a fault, then authenticate."""
    if not is_api_request(request.path):
        return None
    state = get_state()
    g.entry = state.log.begin(
        method=request.method, path=request.path, query=request.query_string.decode("latin-1"),
        raw_body=request.get_data(cache=True), headers=request.headers,
        auth_scheme=auth_scheme(request.headers), timestamp=state.now())
    g.fault = state.faults.take(request.method, request.path)
    if g.fault:
        state.log.update(g.entry, fault=_summary(g.fault))
    early = _fault_before(state, g.fault)
    if early is not None:
        return early
    _authenticate(state)
    return None


def after_api_request(response: Response) -> Response:
    """Finish a faulted request (delay or drop after applying) and complete its log entry."""
    entry = g.get("entry")
    if entry is None:
        return response
    state = get_state()
    fault = g.get("fault")
    if fault and not g.get("fault_answered"):
        response = _fault_after(state, fault, response)
    dropped = g.get("dropped", False)
    state.log.update(entry, status=None if dropped else response.status_code,
                     error_code=g.get("error_code"), dropped=dropped)
    return response


def mark_applied() -> None:
    """Record that the current request changed data."""
    entry = g.get("entry")
    if entry is not None:
        get_state().log.update(entry, applied=True)


def _authenticate(state) -> None:
    try:
        permission = state.auth.check(request.headers, request.method, request.path)
    except ApiError as exc:
        state.log.update(g.entry, auth_result=exc.code)
        raise
    state.log.update(g.entry, auth_result=permission)


def _summary(fault: dict) -> dict:
    return {key: fault[key] for key in ("id", "mode", "status", "delay", "apply")}


def _fault_before(state, fault: dict | None):
    if fault is None:
        return None
    if fault["mode"] in ("respond", "down"):
        if fault["delay"]:
            state.sleep(fault["delay"])
        if fault["status"] is None:
            return None
        g.fault_answered = True
        return fault_response(fault)
    if fault["mode"] == "drop" and not fault["apply"]:
        g.fault_answered = True
        if fault["delay"]:
            state.sleep(fault["delay"])
        return drop_connection()
    return None


def _fault_after(state, fault: dict, response: Response) -> Response:
    if fault["mode"] not in ("apply_then_delay", "drop"):
        return response
    if fault["delay"]:
        state.sleep(fault["delay"])
    if fault["mode"] == "drop":
        return drop_connection()
    if fault["status"] is not None:
        return fault_response(fault)
    for name, value in fault["headers"].items():  # the real answer, with the fault's headers (e.g. rate limits)
        response.headers[name] = value
    return response


def fault_response(fault: dict) -> Response:
    """The scripted response of a fault (JSON body, or text for a string body)."""
    body = fault_response_body(fault)
    if isinstance(body, str):
        response = Response(body, status=fault["status"], content_type="text/plain; charset=utf-8")
    else:
        response = jsonify(body)
        response.status_code = fault["status"]
    for name, value in fault["headers"].items():
        response.headers[name] = value
    return response


def drop_connection() -> Response:
    """Shut the client's TCP connection so it gets no response at all.

    The werkzeug server then fails to write the returned response and treats it
    as a dropped connection. Without a real socket (Flask test client) the
    request is answered with status 599 instead.
    """
    g.dropped = True
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        response = jsonify(error_body("connection_dropped", "sandbox fault: connection dropped"))
        response.status_code = DROPPED_WITHOUT_SOCKET_STATUS
        return response
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return Response(b"", status=500)
