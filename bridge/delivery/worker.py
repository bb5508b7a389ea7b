"""Delivery workers: the shell that claims deliveries, PATCHes Reevo and stores what `decisions` decided.

Every choice (send or not, retry when, give up, pause, hold the opportunity) is made by
the pure functions in decisions.py; the shared pace and the breaker by pace.py through
the Gate. Here is only I/O. The clock is injected so tests step through time without
waiting. Workers run as threads in the web process (BRIDGE_DELIVERY_THREADS) or alone
under `python -m bridge worker`.
"""
from __future__ import annotations

import logging
import threading
import time

from bridge.delivery import reevo_client as reevo
from bridge.delivery.decisions import Act, Action, Policy, before_send, decide, fresh_fields, report_for
from bridge.delivery.gate import Gate
from bridge.delivery.pace import Grant, Report, Signal
from bridge.delivery.targets import TargetResolver
from bridge.store import Completion, DeliveryRecord, StoreUnavailable
from bridge.store.interface import Store
from bridge.telemetry import alerts, metrics
from bridge.telemetry.logs import log_state

log = logging.getLogger("bridge.delivery")
_MESSAGE_KEPT = 300  # characters of Reevo's error message kept in the attempt log
_OUTCOMES = {Act.COMPLETE: "delivered", Act.RETRY: "retrying", Act.DEAD: "dead", Act.PAUSE: "paused"}


class DeliveryWorker:
    """Moves deliveries from the store to Reevo. One instance is shared by a process's threads."""

    def __init__(self, store: Store, client: reevo.ReevoClient, policy: Policy, gate: Gate, resolver: TargetResolver,
                 clock, lease_seconds: float, batch: int):
        self.store = store
        self.client = client
        self.policy = policy
        self.gate = gate
        self.resolver = resolver
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.paused_until = 0.0  # 0: not paused; else: no claims before this time, then one probe
        self._wake = threading.local()

    @property
    def paused(self) -> bool:
        """True while Reevo refuses our credentials (until a probe succeeds)."""
        return self.paused_until > 0

    def wake_in(self, default: float) -> float:
        """How long this thread should wait before its next `run_once` when it handled nothing."""
        return min(default, getattr(self._wake, "seconds", default))

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Claim and deliver one batch; returns how many deliveries were handled.

        Each request is admitted by the shared pace right before it is sent (so the time
        between a permit and the wire is short); one that cannot be, while its lease still
        has room for a request, is given back with the rest of the batch.
        """
        self._wake.seconds = float("inf")
        now = self.clock()
        if self.paused_until > now:
            return 0
        records = self.store.claim(self._claim_size(), self.lease_seconds, now, hold_seconds=self.policy.hold_seconds)
        accepted: list[tuple] = []  # what Reevo accepted, recorded as delivered together
        try:
            for index, record in enumerate(records):
                if accepted and self.clock() - now > self.lease_seconds / 3:
                    self._complete(accepted)  # record these before their leases could run out
                if not self.deliver(record, accepted, stop):
                    self._release(records[index:])
                    break
        finally:
            self._complete(accepted)
            self.gate.flush()
        return len(records)

    def _claim_size(self) -> int:
        """One while paused or while the breaker lets only probes through; with a rate, about 0.1 s of it."""
        last = getattr(self._wake, "grant", None)
        if self.paused or (last is not None and not last.ok and last.wait >= 1.0):
            return 1
        if last is not None and last.rate:
            return max(1, min(self.batch, int(last.rate * 0.1)))
        return self.batch

    def _admit(self, record: DeliveryRecord, stop: threading.Event | None) -> Grant:
        """A permit for `record`'s next request: waits for it (in real time, with `stop`) while the lease
        leaves room for a whole request afterwards; refused once `stop` is set."""
        while True:
            if stop is not None and stop.is_set():
                return Grant(False)
            grant = self._wake.grant = self.gate.admit()
            if grant.ok or stop is None:
                break
            if record.next_attempt_at - self.clock() - grant.wait < self.policy.request_limit:
                break
            stop.wait(grant.wait)
        if not grant.ok:
            self._wake.seconds = grant.wait
        return grant

    def _complete(self, accepted: list[tuple]) -> None:
        """Mark what Reevo accepted as delivered, in one store write (one fsync for the batch).

        Until then the deliveries stay leased, so no other worker sends to their
        opportunities; if this process dies first, they are sent again after the
        lease and the hold, with the same Idempotency-Key.
        """
        if not accepted:
            return
        now = self.clock()
        self.store.complete_many([Completion(r.id, _lease(r), opp, applied, attempt)
                                  for r, opp, applied, _, attempt in accepted], now)
        for record, _, _, fields, _ in accepted:
            metrics.DELIVERIES.labels(record.source, record.route, "delivered").inc()
            metrics.DELIVERY_LATENCY.labels(record.source).observe(max(0.0, now - record.received_at))
            log_state(log, "delivered", status="delivered", latency_s=round(now - record.received_at, 3), **fields)
        accepted.clear()

    def _release(self, records: list[DeliveryRecord]) -> None:
        """Give unsent deliveries back at once, so another worker takes them without a lease wait."""
        now = self.clock()
        for record in records:
            self.store.retry_at(record.id, _lease(record), now, record.last_error, now, count_attempt=False)

    def deliver(self, record: DeliveryRecord, accepted: list, stop: threading.Event | None = None) -> bool:
        """Deliver one claimed record and store the outcome; a success goes to `accepted` (see `_complete`).

        False when the shared pace did not admit its request in time: the caller gives it back.
        """
        now = self.clock()
        started = time.perf_counter()  # latency is measured, never decided on: the real clock is right here
        held = before_send(record, self.policy, now)
        if held is not None:
            self._execute(record, held, None, {}, accepted, None, now)
            return True
        queried = self.resolver.known(record, now) is None
        if queried and not self._admit(record, stop).ok:  # the `_query` takes a permit of its own
            return False
        opportunity_id, outcome, queried = self.resolver.resolve(record, now)
        if queried:  # Reevo answered the `_query` unless it failed on the way
            report = report_for(outcome) if outcome else Report(Signal.SUCCESS)
            self.gate.done(report if report.signal != Signal.NONE else Report(Signal.SUCCESS))
        sent: dict = {}
        if opportunity_id is not None:
            applied = self.store.field_times(opportunity_id, list(record.attributes))
            sent = fresh_fields(record.attributes, record.occurred_at, applied)
            if not sent:
                self._supersede(record, opportunity_id, {n: applied[n] for n in record.attributes}, now)
                return True
            grant = self._admit(record, stop)
            if not grant.ok:
                return False
            outcome = self.client.patch_opportunity(opportunity_id, sent, record.idempotency_key, now)
            self.gate.done(report_for(outcome))
            if outcome.kind == reevo.DEAD and outcome.code == "record_not_found":
                self.resolver.forget(record)
        assert outcome is not None, "resolve() gives an opportunity id or an outcome"
        attempt = attempt_entry(record, now, outcome, opportunity_id, sent, time.perf_counter() - started)
        now = self.clock()
        counted = opportunity_id is None or not grant.probe
        self._execute(record, decide(record, outcome, self.policy, now, counted=counted), opportunity_id, sent,
                      accepted, outcome, now, attempt)
        return True

    def _execute(self, record: DeliveryRecord, action: Action, opportunity_id, sent: dict, accepted: list,
                 outcome: reevo.Outcome | None, now: float, attempt: dict | None = None) -> None:
        """Carry out one decision in the store, with its metric, log line, alert and attempt-log entry."""
        fields = _fields(record, opportunity_id, outcome)
        if attempt is not None:
            attempt = {**attempt, "outcome": _OUTCOMES.get(action.act, action.act.value)}
        if outcome is not None and outcome.kind in (reevo.DELIVERED, reevo.DEAD) and outcome.status is not None:
            self._resume()  # Reevo judged the request itself, so it accepted our key
        if action.act == Act.COMPLETE:
            applied = {name: record.occurred_at for name in sent} if record.occurred_at else None
            accepted.append((record, opportunity_id, applied, fields, attempt))
        elif action.act == Act.PAUSE:
            self._pause(record, action, outcome, now, fields, attempt)
        elif action.act == Act.RELEASE:
            when = now if action.when is None else action.when
            self.store.retry_at(record.id, _lease(record), when, action.error, now, count_attempt=False)
        elif action.act == Act.RETRY:
            when = now if action.when is None else action.when
            self.store.retry_at(record.id, _lease(record), when, action.error, now,
                                count_attempt=action.count_attempt, hold_until=action.hold_until,
                                attempt=attempt and {**attempt, "next_attempt_at": when})
            metrics.DELIVERIES.labels(record.source, record.route, "retried").inc()
            log_state(log, "retrying", logging.WARNING, status="retrying", retry_in_s=round(when - now, 3),
                      held=action.hold_until is not None, **fields)
        else:
            self._dead(record, action, outcome, now, fields, attempt)

    def _supersede(self, record: DeliveryRecord, opportunity_id: str, newer: dict, now: float) -> None:
        """Newer events already set every field: finish without a request, saying which events won."""
        reason = {"code": "superseded", "message": "newer events already set every field of this delivery",
                  "newer": newer}
        attempt = {"at": now, "attempt": record.attempts, "outcome": "superseded", "http_status": None,
                   "code": "superseded", "message": reason["message"], "latency_ms": None,
                   "opportunity_id": opportunity_id, "sent": [], "skipped": sorted(record.attributes)}
        self.store.supersede(record.id, _lease(record), now, reason, attempt=attempt)
        metrics.DELIVERIES.labels(record.source, record.route, "superseded").inc()
        log_state(log, "superseded", status="superseded", **_fields(record, opportunity_id))

    def _dead(self, record: DeliveryRecord, action: Action, outcome, now: float, fields: dict,
              attempt: dict | None) -> None:
        error = action.error or {}
        self.store.dead(record.id, _lease(record), error, now, hold_until=action.hold_until, attempt=attempt)
        metrics.DELIVERIES.labels(record.source, record.route, "dead").inc()
        alerts.report("delivery dead", source=record.source, route=record.route, event_id=record.event_id,
                      reason=error.get("gave_up") or error.get("code"), http_status=outcome and outcome.status)
        log_state(log, "dead", logging.ERROR, status="dead", **fields)

    def _pause(self, record: DeliveryRecord, action: Action, outcome, now: float, fields: dict,
               attempt: dict | None) -> None:
        """401/403: stop all deliveries, keep this one queued (attempt not counted), probe later."""
        first = not self.paused
        self.paused_until = now + self.policy.pause_probe if action.when is None else action.when
        metrics.PAUSED.set(1)
        metrics.DELIVERIES.labels(record.source, record.route, "paused").inc()
        self.store.retry_at(record.id, _lease(record), self.paused_until, action.error, now, count_attempt=False,
                            attempt=attempt)
        if first:
            alerts.report("deliveries paused: Reevo refused the API key", source=record.source,
                          route=record.route, reason="paused", http_status=outcome and outcome.status)
            log_state(log, "paused: Reevo refused the API key; deliveries wait and a probe runs every "
                      f"{self.policy.pause_probe:g}s", logging.ERROR, status="paused", **fields)

    def _resume(self) -> None:
        if self.paused:
            self.paused_until = 0.0
            metrics.PAUSED.set(0)
            log_state(log, "resumed: Reevo accepts the API key again", status="resumed")

    def run(self, stop: threading.Event, poll_interval: float) -> None:
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
                stop.wait(self.wake_in(poll_interval))


def _lease(record: DeliveryRecord) -> str:
    """The lease token of a record this worker claimed (`claim` always sets one)."""
    if record.lease_token is None:
        raise ValueError(f"delivery {record.id} was not claimed, so it has no lease")
    return record.lease_token


def _fields(record: DeliveryRecord, opportunity_id, outcome: reevo.Outcome | None = None) -> dict:
    fields = dict(source=record.source, event_id=record.event_id, route=record.route,
                  opportunity=opportunity_id, attempt=record.attempts)
    if outcome is not None:
        fields.update(http_status=outcome.status, reason=outcome.code)
    return fields


def attempt_entry(record: DeliveryRecord, at: float, outcome: reevo.Outcome, opportunity_id: str | None,
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
        worker takes it again after the hold: nothing is lost, at worst it is sent twice
        (same Idempotency-Key, absolute values).
        """
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)
