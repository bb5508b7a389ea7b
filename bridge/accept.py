"""From one verified webhook to stored deliveries: the acknowledge-first half of the bridge.

verify on raw bytes → parse → split into events → render each matching route →
store atomically (dedupe on source + event id). The sender's answer depends only
on whether the event is now safely stored, never on Reevo.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bridge.store.interface import Store
from bridge import signatures, untrusted_json
from bridge.config import ConfigError, read_secret
from bridge.mapping.expressions import expression_budget
from bridge.telemetry import alerts, metrics
from bridge.mapping.model import Delivery, EventsError, Failure, Mapping, trusted_time
from bridge.telemetry.logs import log_state
from bridge.store import (ACCEPTED, CONFLICT, DEAD, DUPLICATE, IGNORED, AcceptResult, EventOutcome, EventRecord,
                          NewDelivery, StoreUnavailable)
from bridge.reasons import Ignored, MappingFailure, Rejected
from bridge.signatures import SignatureReason

log = logging.getLogger("bridge.accept")
STORE_RETRY_AFTER = 5  # seconds a client is asked to wait while the store is unavailable


class Rejection(Exception):
    """The webhook is refused; nothing was stored. `reason` is a short stable code."""

    def __init__(self, http_status: int, reason: Rejected | SignatureReason | MappingFailure, detail: str,
                 retry_after: int | None = None):
        super().__init__(detail)
        self.http_status, self.reason, self.detail, self.retry_after = http_status, reason, detail, retry_after


@dataclass
class Source:
    """A mapping ready to serve: its compiled file plus the secret values it verifies with."""

    mapping: Mapping
    secrets: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # secret variables that are not set
    demo: bool = False  # sandbox mode: verifying with the public demo secret
    secret_set: dict[str, bool] = field(default_factory=dict)  # variable → has a value (from NAME or NAME_FILE)
    secret_problems: list[str] = field(default_factory=list)  # a NAME_FILE that cannot be read, …


def build_sources(mappings: dict[str, Mapping], env: dict, demo_secret: str | None = None) -> dict[str, Source]:
    """Pair each mapping with its secrets from the environment (values never logged).

    Each secret variable may be given as NAME or NAME_FILE (read now: building sources again
    is how a reload rotates a secret). `demo_secret` (sandbox mode only) stands in for a
    source with none of its variables set.
    """
    sources = {}
    for name, mapping in mappings.items():
        found, problems = {}, []
        for variable in mapping.secret_names:
            try:
                found[variable] = read_secret(env, variable)
            except ConfigError as exc:
                found[variable] = ""
                problems.append(str(exc))
        values = [value for value in found.values() if value]
        missing = [] if values else list(mapping.secret_names)
        demo = bool(missing and demo_secret)
        if demo_secret and missing:
            values, missing = [demo_secret], []
        sources[name] = Source(mapping, values, missing, demo, {n: bool(v) for n, v in found.items()}, problems)
    return sources


class AcceptPipeline:
    """Handles `POST /webhooks/<source>` once Flask has read the raw body."""

    def __init__(self, sources: dict[str, Source], store: Store, clock):
        self.sources = sources
        self.store = store
        self.clock = clock

    def receive(self, source_name: str, request: signatures.SignedRequest, content_type: str) -> tuple[int, dict]:
        """(HTTP status, JSON body) for one webhook, or raise Rejection."""
        source = self._source(source_name)
        metrics.WEBHOOKS.labels(source_name).inc()
        self._verify(source, request)
        body = _parse(request.body, content_type)
        now = self.clock()
        with expression_budget():  # one budget for all of this webhook's expressions
            try:
                events = source.mapping.read_events(body, request.headers)
            except EventsError as exc:
                raise Rejection(422, exc.reason, exc.detail) from None
            results = [self._accept(source.mapping, event, now) for event in events]
        return _reply(results)

    def _source(self, name: str) -> Source:
        source = self.sources.get(name)
        if source is None:
            raise Rejection(404, Rejected.UNKNOWN_SOURCE, f"no mapping file named {name}.yaml")
        if source.missing:
            # 503, not 4xx: the sender retries while the operator sets the secret; nothing is lost.
            raise Rejection(503, Rejected.SOURCE_NOT_CONFIGURED,
                            f"secret variable {', '.join(source.missing)} (or its _FILE) is not set",
                            retry_after=60)
        return source

    def _verify(self, source: Source, request: signatures.SignedRequest) -> None:
        verifier = signatures.SCHEMES[source.mapping.scheme]
        try:
            verifier(request, source.secrets, self.clock(), source.mapping.verify_options)
        except signatures.SignatureError as exc:
            log_state(log, "rejected", logging.WARNING, source=source.mapping.source,
                      status="rejected", reason=exc.reason, detail=exc.detail)
            detail = exc.detail
            if source.demo:
                detail += (f" (sandbox mode: {', '.join(source.mapping.secret_names)} not set, so this source "
                           "verifies with the public demo secret; set one, or its _FILE, and reload)")
            raise Rejection(401, exc.reason, detail) from None

    def _accept(self, mapping: Mapping, event, now: float) -> dict:
        _report_unread(mapping.source, event)
        rendered = mapping.render(event)
        # The stale guard orders by occurred_at: no event may claim a time after it arrived.
        event.occurred_at = trusted_time(event.occurred_at, now)
        record = EventRecord(mapping.source, event.id, event.type, event.occurred_at, event.fingerprint,
                             data=event.data, data_json=event.data_json)
        if not rendered:
            record.outcome, record.reason = IGNORED, Ignored.NO_ROUTE_MATCHED
        deliveries = [new_delivery(r) for r in rendered]
        try:
            stored = self.store.accept(record, deliveries, now)
        except StoreUnavailable as exc:
            log_state(log, "store unavailable", logging.ERROR, source=mapping.source, event_id=event.id,
                      reason=Rejected.STORE_UNAVAILABLE, detail=str(exc))
            raise Rejection(503, Rejected.STORE_UNAVAILABLE, "the event store is unavailable; retry later",
                            retry_after=STORE_RETRY_AFTER) from None
        status: AcceptResult | EventOutcome = IGNORED if stored == ACCEPTED and not rendered else stored
        metrics.EVENTS.labels(mapping.source, status).inc()
        if status == ACCEPTED:
            _report_dead(mapping.source, event.id, deliveries)
        dead = sum(1 for d in deliveries if d.status == DEAD)
        counts: dict[str, Any] = dict(deliveries=len(deliveries), dead=dead or None) if status == ACCEPTED else {}
        # A conflict (same id, another body) is not applied: a sender reusing ids, or a forged resend.
        level = logging.WARNING if status == CONFLICT else logging.INFO
        log_state(log, status, level, source=mapping.source, event_id=event.id, type=event.type, status=status,
                  reason=record.reason if status == IGNORED else None, **counts)
        result = {"id": event.id, "type": event.type, "status": status}
        if status == ACCEPTED:
            result.update(deliveries=len(deliveries), dead=dead)
        if status == IGNORED:
            result["reason"] = record.reason
        return result


def _report_unread(source: str, event) -> None:
    """An id or type the mapping reads but the event lacked: never silent (a typo weakens dedupe)."""
    for field_name, how in event.unread:
        metrics.EVENT_FIELDS_UNREAD.labels(source, field_name).inc()
        message = ("event id not found; stored under its content hash" if field_name == "id"
                   else "event type not found; routes with on: will not match")
        log_state(log, message, logging.WARNING, source=source, event_id=event.id, field=f"event.{field_name}",
                  reads=how)


def _report_dead(source: str, event_id: str, deliveries: list[NewDelivery]) -> None:
    """A route that could not make a valid PATCH is dead from the start: count and alert it."""
    for delivery in deliveries:
        if delivery.status == DEAD:
            error = delivery.error or {}
            metrics.DELIVERIES.labels(source, delivery.route, "dead").inc()
            log_state(log, "dead", logging.ERROR, source=source, event_id=event_id, route=delivery.route,
                      status="dead", reason=error.get("code"), field=error.get("field"))
            alerts.report("delivery dead", source=source, route=delivery.route, event_id=event_id,
                          reason=error.get("code"))


def new_delivery(rendered: Delivery | Failure) -> NewDelivery:
    """What the store keeps for one rendered route: a queued PATCH, or a dead delivery with the failure."""
    if isinstance(rendered, Delivery):
        return NewDelivery(rendered.route, rendered.target, rendered.attributes)
    error = {"code": rendered.reason, "message": rendered.message, "field": rendered.field}
    return NewDelivery(rendered.route, {}, {}, status=DEAD, error=error)


def _parse(body: bytes, content_type: str):
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Rejection(415, Rejected.UNSUPPORTED_MEDIA_TYPE,
                        f"expected application/json, got {content_type or 'none'}")
    try:
        return untrusted_json.loads(body)
    except untrusted_json.UntrustedJSONError as exc:
        raise Rejection(400, exc.reason, exc.detail) from None


def _reply(results: list[dict]) -> tuple[int, dict]:
    statuses = {r["status"] for r in results}
    if ACCEPTED in statuses:
        return 202, {"status": ACCEPTED, "events": results}
    if not results:
        return 202, {"status": IGNORED, "reason": Ignored.NO_EVENTS, "events": []}
    if statuses == {IGNORED}:
        return 202, {"status": IGNORED, "reason": Ignored.NO_ROUTE_MATCHED, "events": results}
    if IGNORED in statuses:
        return 202, {"status": IGNORED, "reason": Ignored.NO_NEW_EVENT_MATCHED, "events": results}
    return 200, {"status": DUPLICATE, "events": results}
