"""Reevo Public API v2 client: one pooled session, explicit timeouts, and classify().

classify() turns a response (or a transport error) into what the delivery worker
does next: delivered, retry (after the delay the server asked for, if any), dead
(with HTTP status, Reevo error code and message), or paused (credentials).
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from enum import StrEnum

import requests
from requests.adapters import HTTPAdapter
from requests.hooks import default_hooks
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from bridge import __version__
from bridge.telemetry import metrics


class OutcomeKind(StrEnum):
    """What a Reevo answer means for the delivery: done, try again later, give up, or stop all (credentials)."""

    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"
    PAUSED = "paused"


DELIVERED, RETRY, DEAD, PAUSED = OutcomeKind.DELIVERED, OutcomeKind.RETRY, OutcomeKind.DEAD, OutcomeKind.PAUSED
TRANSPORT_CODES = frozenset({"timeout", "connection_error"})  # no HTTP answer at all
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
PAUSE_STATUSES = frozenset({401, 403})


class ReevoError(Exception):
    """A call made outside delivery (e.g. `check --live`) failed; the message is safe to print."""


@dataclass
class Outcome:
    """What happened to one request, and what to do next."""

    kind: OutcomeKind
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait
    data: dict | None = None
    ambiguous: bool = False  # the request may have been applied, or may still be (timeout, reset, 5xx)
    limit_remaining: int | None = None  # X-RateLimit-Remaining, when Reevo sends it
    limit_reset: float | None = None    # X-RateLimit-Reset, as seconds from now

    def error(self) -> dict:
        """The part kept in the store as the delivery's last error."""
        return {"status": self.status, "code": self.code, "message": self.message}


class ReevoClient:
    """Talks to one Reevo workspace with one API key."""

    def __init__(self, base_url: str, api_key: str, connect_timeout: float, read_timeout: float,
                 pool_size: int = 10):
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.trust_env = False  # a proxy from the environment must not see our key by surprise
        self.adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)
        self.session.headers.update({
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"reevo-webhook-bridge/{__version__}",
            "Accept": "application/json",
        })

    def patch_opportunity(self, opportunity_id: str, attributes: dict, idempotency_key: str,
                          now: float) -> Outcome:
        """PATCH one opportunity; never raises for HTTP or network trouble."""
        request = self._prepared("PATCH", f"/api/v2/opportunity/{opportunity_id}", {"attributes": attributes},
                                 {"Idempotency-Key": idempotency_key})
        with _measured("patch") as seen:
            seen.response = self.adapter.send(request, timeout=self.timeout)
        if seen.error is not None:
            return classify_error(seen.error)
        return classify(seen.response, now)

    def _prepared(self, method: str, path: str, body: dict, headers: dict) -> requests.PreparedRequest:
        """The request as the session would send it, built directly for the adapter.

        A PATCH is the hot path of delivery, and none of the session's per-call work
        (merging settings, cookie jars, hooks, redirect handling, URL re-parsing) applies
        here: no cookies, no redirects, no proxies. What skipping it saves is measured by
        `bench/bench_tricks.py reevo` (docs/performance.md).
        """
        data = json.dumps(body, separators=(",", ":")).encode()
        request = requests.PreparedRequest()
        request.method, request.url, request.body, request.hooks = method, self.base_url + path, data, default_hooks()
        request.headers = CaseInsensitiveDict({**self.session.headers, **headers, "Content-Type": "application/json",
                                               "Content-Length": str(len(data))})
        return request

    def find_opportunities(self, field: str, value, now: float, limit: int = 2) -> tuple[Outcome, list]:
        """`_query` for opportunities whose `field` equals `value`; (outcome, records)."""
        body = {"filters": [{"field": field, "operator": "eq", "value": value}], "limit": limit}
        with _measured("query") as seen:
            seen.response = self.session.post(f"{self.base_url}/api/v2/opportunity/_query", json=body,
                                              timeout=self.timeout, allow_redirects=False)
        if seen.error is not None:
            return classify_error(seen.error), []
        outcome = classify(seen.response, now)
        records = (outcome.data or {}).get("data") if outcome.kind == DELIVERED else None
        return outcome, records if isinstance(records, list) else []

    def get_schema(self, record_type: str = "opportunity") -> dict:
        """`GET /api/v2/_schema/{record_type}`; raises ReevoError with status and code on failure."""
        try:
            response = self.session.get(f"{self.base_url}/api/v2/_schema/{record_type}", timeout=self.timeout)
        except requests.RequestException as exc:
            raise ReevoError(f"cannot reach Reevo at {self.base_url}: {type(exc).__name__}") from None
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            code, message = error_code(body)
            raise ReevoError(f"HTTP {response.status_code} {code or ''} {message or ''}".strip())
        return body

    def close(self) -> None:
        self.session.close()


class _Seen:
    response: requests.Response | None = None
    error: Exception | None = None


@contextmanager
def _measured(operation: str):
    """Time one Reevo request and count its status (or `error`); transport errors are caught."""
    seen, started = _Seen(), time.monotonic()
    try:
        yield seen
    except requests.RequestException as exc:
        seen.error = exc
    metrics.REEVO_LATENCY.labels(operation).observe(time.monotonic() - started)
    status = str(seen.response.status_code) if seen.response is not None else "error"
    metrics.REEVO_RESPONSES.labels(operation, status).inc()


def classify_error(exc: Exception) -> Outcome:
    """Connection errors and timeouts are always worth another try.

    Its result is unknown (`ambiguous`) unless the request surely never left: the
    connection could not be opened (refused, unreachable, connect timeout).
    """
    kind = "timeout" if isinstance(exc, requests.Timeout) else "connection_error"
    return Outcome(RETRY, code=kind, message=type(exc).__name__, ambiguous=not _never_sent(exc))


def _never_sent(exc: BaseException) -> bool:
    """True when the error happened while connecting, before any byte of the request was written."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (NewConnectionError, ConnectTimeoutError)):
            return True
        reason = getattr(current, "reason", None)
        inner = next((a for a in getattr(current, "args", ()) if isinstance(a, BaseException)), None)
        current = reason if isinstance(reason, BaseException) else inner or current.__cause__ or current.__context__
    return False


def classify(response: requests.Response, now: float) -> Outcome:
    """Decide what a Reevo response means for the delivery that caused it."""
    status = response.status_code
    body = _json(response)
    limits = rate_limit(response.headers, now)
    if 200 <= status < 300:
        return Outcome(DELIVERED, status=status, data=body, limit_remaining=limits[0], limit_reset=limits[1])
    code, message = error_code(body)
    if status in PAUSE_STATUSES:
        return Outcome(PAUSED, status, code, message)
    ambiguous = status >= 500  # Reevo may have applied it before failing
    if status in RETRYABLE_STATUSES:
        return Outcome(RETRY, status, code, message, parse_retry_after(response.headers.get("Retry-After"), now),
                       ambiguous=ambiguous, limit_remaining=limits[0], limit_reset=limits[1])
    return Outcome(DEAD, status, code or f"http_{status}", message, ambiguous=ambiguous)


def rate_limit(headers, now: float) -> tuple[int | None, float | None]:
    """X-RateLimit-Remaining and X-RateLimit-Reset (seconds, or an epoch time) → (remaining, seconds from now).

    Either missing or malformed: (None, None). Both are bounded, so a strange value slows
    deliveries for an hour at most (the Retry-After cap applies on top).
    """
    remaining, reset = headers.get("X-RateLimit-Remaining", ""), headers.get("X-RateLimit-Reset", "")
    if not remaining.strip().isdigit() or len(remaining) > 12:
        return None, None
    try:
        seconds = float(reset)
    except ValueError:
        return None, None
    if seconds != seconds or not 0 <= seconds < 1e11:
        return None, None
    if seconds > 1e9:  # an epoch time, as GitHub sends it
        seconds -= now
    return int(remaining), min(max(0.0, seconds), 3600.0)


def error_code(body) -> tuple[str | None, str | None]:
    """Find Reevo's error code and message defensively: the error body shape is not documented."""
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):
        return _text(error.get("code")), _text(error.get("message"))
    if isinstance(error, str):
        return error, _text(body.get("message"))
    detail = body.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return _text(detail[0].get("type")), _text(detail[0].get("msg"))
    return _text(body.get("code")), _text(body.get("message") or detail)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds or an HTTP date → seconds from `now` (never negative)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _json(response):
    try:
        return json.loads(response.content)  # bytes: json detects UTF-8/16/32 itself
    except ValueError:
        return None


def _text(value) -> str | None:
    return None if value is None else str(value)[:500]


__all__ = ["ReevoClient", "Outcome", "OutcomeKind", "classify", "classify_error", "parse_retry_after",
           "DELIVERED", "RETRY", "DEAD", "PAUSED"]
