"""The HTTP surface: webhooks in, health out. Coordinates; the logic lives in bridge.accept."""
from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from bridge.telemetry import metrics
from bridge.accept import STORE_RETRY_AFTER, Rejection
from bridge.signatures import SignedRequest
from bridge.reasons import Rejected

blueprint = Blueprint("webhooks", __name__)


def _bridge():
    return current_app.extensions["bridge"]


@blueprint.post("/webhooks/<source>")
def receive_webhook(source: str):
    """Verify, map and store one webhook; answer as soon as it is durable."""
    body = request.get_data(cache=False)  # raw bytes: signatures cover exactly these
    signed = SignedRequest(request.method, request.url, request.headers, body)  # type: ignore[arg-type]
    try:
        status, reply = _bridge().pipeline.receive(source, signed, request.mimetype)
    except Rejection as exc:
        return rejection_response(exc)
    return jsonify(reply), status


def _count_rejection(reason: str) -> None:
    source = (request.view_args or {}).get("source")
    known = source in current_app.extensions["bridge"].pipeline.sources
    metrics.REJECTED.labels(source if known else "unknown", reason).inc()  # bounded label values


def rejection_response(exc: Rejection):
    """`{"status": "rejected", "reason": …, "detail": …}` with Retry-After where it applies."""
    _count_rejection(exc.reason)
    response = jsonify({"status": "rejected", "reason": exc.reason, "detail": exc.detail})
    response.status_code = exc.http_status
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def bearer_matches(header: str, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@blueprint.get("/metrics")
def prometheus_metrics():
    """Prometheus text format: counters from every worker process, queue depth from the store.

    With BRIDGE_METRICS_TOKEN set, only a scraper sending `Authorization: Bearer <token>` gets them.
    """
    token = _bridge().settings.metrics_token
    if token and not bearer_matches(request.headers.get("Authorization", ""), token):
        response = jsonify({"status": "rejected", "reason": Rejected.UNAUTHORIZED,
                            "detail": "send Authorization: Bearer <BRIDGE_METRICS_TOKEN>"})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.render(_bridge().store, _bridge().worker.gate.snapshot)
    return body, 200, {"Content-Type": content_type}


@blueprint.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz():
    """Ready when the store answers, mappings are loaded and deliveries are not paused or stopped by the breaker.

    `?scope=ingest` leaves out the delivery check: a load balancer should keep sending
    webhooks while deliveries are paused, since they are stored and delivered later.
    """
    bridge = _bridge()
    checks = {"store": "ok", "mappings": "ok" if bridge.pipeline.sources else "none loaded"}
    try:
        bridge.store.ping()
    except Exception as exc:  # any failure to answer means not ready
        checks["store"] = f"unavailable: {type(exc).__name__}"
    if request.args.get("scope") != "ingest":
        checks["delivery"] = _delivery_check(bridge.worker)
    ready = all(v == "ok" for v in checks.values())
    retry = {} if checks["store"] == "ok" else {"Retry-After": str(STORE_RETRY_AFTER)}  # an outage passes
    return jsonify({"status": "ready" if ready else "not_ready", "checks": checks}), 200 if ready else 503, retry


def _delivery_check(worker) -> str:
    if worker.paused:
        return "paused: Reevo refused the API key (401/403); probing"
    try:
        breaker = worker.gate.snapshot()["breaker"]
    except Exception as exc:  # the store check above reports the outage itself
        return f"unknown: {type(exc).__name__}"
    if breaker != "closed":
        return (f"stopped: the circuit breaker toward Reevo is {breaker.replace('_', '-')}; one probe every "
                f"{worker.gate.config.breaker_probe_seconds:g}s")
    return "ok"


_REASONS = {400: Rejected.BAD_REQUEST, 404: Rejected.NOT_FOUND, 405: Rejected.METHOD_NOT_ALLOWED,
            413: Rejected.BODY_TOO_LARGE, 415: Rejected.UNSUPPORTED_MEDIA_TYPE}


def http_error(exc: HTTPException):
    """Every error answer is JSON with a stable status and a short reason."""
    code = exc.code or 500
    reason = _REASONS.get(code, Rejected.HTTP_ERROR)
    if request.endpoint == "webhooks.receive_webhook" or request.path.startswith("/webhooks/"):
        _count_rejection(reason)
    response = jsonify({"status": "rejected", "reason": reason, "detail": exc.description})
    response.status_code = code
    for name, value in exc.get_headers():  # e.g. the Allow of a 405, as HTTP requires
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
