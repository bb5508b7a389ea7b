"""Delivery workers: claim stored deliveries, PATCH Reevo, record what happened.

The clock and the random source are injected so the retry policy is testable
without waiting. Workers run as threads in the web process (BRIDGE_DELIVERY_THREADS)
or alone under `python -m bridge worker`.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field

from bridge.delivery import reevo_client
from bridge.telemetry import alerts, metrics
from bridge.telemetry.logs import log_state
from bridge.store import Completion, DeliveryRecord, StoreUnavailable
from bridge.delivery.targets import TargetResolver

log = logging.getLogger("bridge.delivery")
_MESSAGE_KEPT = 300  # characters of Reevo's error message kept in the attempt log


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; a server's Retry-After wins (up to a cap)."""

    base: float = 1.0
    cap: float = 1800.0
    max_attempts: int = 100
    max_age: float = 3 * 24 * 3600.0
    retry_after_cap: float = 3600.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt, after `attempts` attempts so far."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** max(attempts - 1, 0)))

    def gives_up(self, record: DeliveryRecord, now: float) -> str | None:
        """Why a failing delivery should stop being retried, or None."""
        if record.attempts >= self.max_attempts:
            return "too_many_attempts"
        if now - record.received_at >= self.max_age:
            return "too_old"
        return None


class DeliveryWorker:
    """Moves deliveries from the store to Reevo. One instance is shared by a process's threads."""

    def __init__(self, store, client: reevo_client.ReevoClient, policy: RetryPolicy | None = None,
                 clock=time.time, lease_seconds: float = 60.0, batch: int = 10,
                 pause_probe: float = 30.0, resolver: TargetResolver | None = None):
        self.store = store
        self.client = client
        self.policy = policy or RetryPolicy()
        self.resolver = resolver or TargetResolver(client)
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.pause_probe = pause_probe
        self.paused_until = 0.0  # 0: not paused; else: no claims before this time, then one probe

    @property
    def paused(self) -> bool:
        """True while Reevo refuses our credentials (until a probe succeeds)."""
        return self.paused_until > 0

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Claim and deliver one batch; returns how many deliveries were handled."""
        now = self.clock()
        if self.paused_until > now:
            return 0
        records = self.store.claim(1 if self.paused else self.batch, self.lease_seconds, now)
        accepted: list[tuple] = []  # what Reevo accepted, recorded as delivered together
        try:
            for index, record in enumerate(records):
                if stop is not None and stop.is_set():
                    self._release(records[index:])
                    break
                if accepted and self.clock() - now > self.lease_seconds / 3:
                    self._complete(accepted)  # record these before their leases could run out
                self.deliver(record, accepted)
        finally:
            self._complete(accepted)
        return len(records)

    def _complete(self, accepted: list[tuple]) -> None:
        """Mark what Reevo accepted as delivered, in one store write (one fsync for the batch).

        Until then the deliveries stay leased, so no other worker sends to their
        opportunities; if this process dies first, they are sent again after the
        lease, with the same Idempotency-Key.
        """
        if not accepted:
            return
        now = self.clock()
        self.store.complete_many([Completion(r.id, r.lease_token, opp, applied, attempt)
                                  for r, opp, applied, _, attempt in accepted], now)
        for record, _, _, fields, _ in accepted:
            metrics.DELIVERIES.labels(record.source, record.route, "delivered").inc()
            metrics.DELIVERY_LATENCY.labels(record.source).observe(max(0.0, now - record.received_at))
            log_state(log, "delivered", status="delivered", latency_s=round(now - record.received_at, 3), **fields)
        accepted.clear()

    def _release(self, records: list[DeliveryRecord]) -> None:
        """Give unstarted deliveries back at once, so another worker takes them without a lease wait."""
        now = self.clock()
        for record in records:
            self.store.retry_at(record.id, record.lease_token, now, record.last_error, now, count_attempt=False)

    def deliver(self, record: DeliveryRecord, accepted: list) -> None:
        """Deliver one claimed record and store the outcome; a success goes to `accepted` (see `_complete`)."""
        now = self.clock()
        started = time.perf_counter()  # latency is measured, never decided on: the real clock is right here
        opportunity_id, outcome = self.resolver.resolve(record, now)
        sent: dict = {}
        newer: dict = {}
        if opportunity_id is not None:
            sent, newer = self._fresh_fields(record, opportunity_id)
            if not sent:
                return self._supersede(record, opportunity_id, newer, now)
            outcome = self.client.patch_opportunity(opportunity_id, sent, record.idempotency_key, now)
            if outcome.kind == reevo_client.DEAD and outcome.code == "record_not_found":
                self.resolver.forget(record)
        assert outcome is not None, "resolve() gives an opportunity id or an outcome"
        attempt = attempt_entry(record, now, outcome, opportunity_id, sent, time.perf_counter() - started)
        self._settle(record, outcome, opportunity_id, sent, accepted, attempt)

    def _fresh_fields(self, record: DeliveryRecord, opportunity_id: str) -> tuple[dict, dict]:
        """The stale guard: the fields no newer event has set on this opportunity, and when the others were."""
        if record.occurred_at is None:
            return dict(record.attributes), {}
        applied = self.store.field_times(opportunity_id, list(record.attributes))
        fresh = {name: value for name, value in record.attributes.items()
                 if applied.get(name) is None or applied[name] <= record.occurred_at}
        return fresh, {name: applied[name] for name in record.attributes if name not in fresh}

    def _supersede(self, record: DeliveryRecord, opportunity_id: str, newer: dict, started: float) -> None:
        reason = {"code": "superseded", "message": "newer events already set every field of this delivery",
                  "newer": newer}
        attempt = {"at": started, "attempt": record.attempts, "outcome": "superseded", "http_status": None,
                   "code": "superseded", "message": reason["message"], "latency_ms": None,
                   "opportunity_id": opportunity_id, "sent": [], "skipped": sorted(record.attributes)}
        self.store.supersede(record.id, record.lease_token, self.clock(), reason, attempt=attempt)
        metrics.DELIVERIES.labels(record.source, record.route, "superseded").inc()
        log_state(log, "superseded", status="superseded", **self._fields(record, opportunity_id))

    @staticmethod
    def _fields(record: DeliveryRecord, opportunity_id, outcome: reevo_client.Outcome | None = None) -> dict:
        fields = dict(source=record.source, event_id=record.event_id, route=record.route,
                      opportunity=opportunity_id, attempt=record.attempts)
        if outcome is not None:
            fields.update(http_status=outcome.status, reason=outcome.code)
        return fields

    def _settle(self, record: DeliveryRecord, outcome: reevo_client.Outcome, opportunity_id, sent: dict,
                accepted: list, attempt: dict) -> None:
        now = self.clock()
        fields = self._fields(record, opportunity_id, outcome)
        if outcome.kind in (reevo_client.DELIVERED, reevo_client.DEAD) and outcome.status is not None:
            self._resume()  # Reevo judged the request itself, so it accepted our key
        if outcome.kind == reevo_client.DELIVERED:
            applied = {name: record.occurred_at for name in sent} if record.occurred_at else None
            accepted.append((record, opportunity_id, applied, fields, {**attempt, "outcome": "delivered"}))
        elif outcome.kind == reevo_client.PAUSED:
            self._pause(record, outcome, now, fields, {**attempt, "outcome": "paused"})
        elif outcome.kind == reevo_client.RETRY and not self.policy.gives_up(record, now):
            when = now + self.policy.delay(record.attempts, outcome.retry_after)
            self.store.retry_at(record.id, record.lease_token, when, outcome.error(), now,
                                attempt={**attempt, "outcome": "retrying", "next_attempt_at": when})
            metrics.DELIVERIES.labels(record.source, record.route, "retried").inc()
            log_state(log, "retrying", logging.WARNING, status="retrying", retry_in_s=round(when - now, 3), **fields)
        else:
            error = outcome.error()
            if outcome.kind == reevo_client.RETRY:
                error["gave_up"] = self.policy.gives_up(record, now)
            self.store.dead(record.id, record.lease_token, error, now, attempt={**attempt, "outcome": "dead"})
            metrics.DELIVERIES.labels(record.source, record.route, "dead").inc()
            alerts.report("delivery dead", source=record.source, route=record.route, event_id=record.event_id,
                          reason=error.get("gave_up") or error.get("code"), http_status=outcome.status)
            log_state(log, "dead", logging.ERROR, status="dead", **fields)

    def _pause(self, record: DeliveryRecord, outcome: reevo_client.Outcome, now: float, fields: dict,
               attempt: dict) -> None:
        """401/403: stop all deliveries, keep this one queued (attempt not counted), probe later."""
        first = not self.paused
        self.paused_until = now + self.pause_probe
        metrics.PAUSED.set(1)
        metrics.DELIVERIES.labels(record.source, record.route, "paused").inc()
        self.store.retry_at(record.id, record.lease_token, self.paused_until, outcome.error(), now,
                            count_attempt=False, attempt=attempt)
        if first:
            alerts.report("deliveries paused: Reevo refused the API key", source=record.source,
                          route=record.route, reason="paused", http_status=outcome.status)
            log_state(log, "paused: Reevo refused the API key; deliveries wait and a probe runs every "
                      f"{self.pause_probe:g}s", logging.ERROR, status="paused", **fields)

    def _resume(self) -> None:
        if self.paused:
            self.paused_until = 0.0
            metrics.PAUSED.set(0)
            log_state(log, "resumed: Reevo accepts the API key again", status="resumed")

    def run(self, stop: threading.Event, poll_interval: float = 1.0) -> None:
        """Work until `stop` is set; idle waits are `stop.wait`, so stopping is immediate."""
        while not stop.is_set():
            try:
                handled = self.run_once(stop)
            except StoreUnavailable as exc:
                log_state(log, "store unavailable; delivery waits", logging.WARNING, reason=str(exc))
                handled = 0
            except Exception:  # a bug must not kill the worker thread silently
                log.exception("delivery worker error")
                handled = 0
            if not handled:
                stop.wait(poll_interval)


def attempt_entry(record: DeliveryRecord, at: float, outcome: reevo_client.Outcome, opportunity_id: str | None,
                  sent: dict, latency: float) -> dict:
    """One line of the delivery's attempt log (its "outcome" is set once the result is decided)."""
    return {"at": at, "attempt": record.attempts, "http_status": outcome.status, "code": outcome.code,
            "message": (outcome.message or "")[:_MESSAGE_KEPT] or None, "latency_ms": round(latency * 1000, 1),
            "opportunity_id": opportunity_id, "sent": sorted(sent),
            "skipped": sorted(set(record.attributes) - set(sent)) if opportunity_id else []}


class WorkerPool:
    """N delivery threads sharing one worker (one store, one Reevo client, one pause state)."""

    def __init__(self, worker: DeliveryWorker, threads: int, poll_interval: float):
        self.worker = worker
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=worker.run, args=(self.stop_event, poll_interval),
                                         name=f"bridge-delivery-{i}", daemon=True) for i in range(threads)]

    def start(self) -> WorkerPool:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop claiming, let in-flight deliveries finish for up to `timeout`; True if all did.

        A delivery still running after that keeps its lease, which expires, so another
        worker takes it again: nothing is lost, at worst it is sent twice (same
        Idempotency-Key, absolute values).
        """
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)
