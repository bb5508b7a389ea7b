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

from bridge import reevo
from bridge.observability import log_state
from bridge.store import DeliveryRecord, StoreUnavailable

log = logging.getLogger("bridge.delivery")


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; a server's Retry-After wins (up to a cap)."""

    base: float = 1.0
    cap: float = 300.0
    max_attempts: int = 12
    retry_after_cap: float = 3600.0
    target_wait: float = 3600.0  # how long a `match` target may be missing before dead
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt, after `attempts` attempts so far."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** max(attempts - 1, 0)))


class DeliveryWorker:
    """Moves deliveries from the store to Reevo."""

    def __init__(self, store, client: reevo.ReevoClient, policy: RetryPolicy | None = None,
                 clock=time.time, lease_seconds: float = 60.0, batch: int = 10,
                 pause_probe: float = 30.0):
        self.store = store
        self.client = client
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.pause_probe = pause_probe
        self.paused_until = 0.0

    @property
    def paused(self) -> bool:
        return self.paused_until > self.clock()

    def run_once(self) -> int:
        """Claim and deliver one batch; returns how many deliveries were handled."""
        now = self.clock()
        limit = 1 if self.paused_until else self.batch  # while paused, one delivery is the probe
        if self.paused_until > now:
            return 0
        records = self.store.claim(limit, self.lease_seconds, now)
        for record in records:
            self.deliver(record)
        return len(records)

    def deliver(self, record: DeliveryRecord) -> None:
        """Deliver one claimed record and store the outcome."""
        now = self.clock()
        opportunity_id, outcome = self._resolve(record, now)
        if opportunity_id is not None:
            outcome = self.client.patch_opportunity(opportunity_id, record.attributes,
                                                    record.idempotency_key, now)
        self._settle(record, outcome, opportunity_id)

    def _resolve(self, record: DeliveryRecord, now: float):
        """(opportunity id, None) or (None, outcome explaining why there is no id yet)."""
        if "id" in record.target:
            return record.target["id"], None
        match = record.target["match"]
        outcome, found = self.client.find_opportunities(match["field"], match["value"], now)
        if outcome.kind != reevo.DELIVERED:
            return None, outcome
        if len(found) > 1:
            return None, reevo.Outcome(reevo.DEAD, code="ambiguous_match",
                                       message=f"several opportunities have {match['field']} = {match['value']!r}")
        if not found:
            if now - record.received_at > self.policy.target_wait:
                return None, reevo.Outcome(reevo.DEAD, code="target_not_found",
                                           message=f"no opportunity has {match['field']} = {match['value']!r}")
            return None, reevo.Outcome(reevo.RETRY, code="target_not_found",
                                       message="no matching opportunity yet; will look again")
        self.paused_until = 0.0
        return found[0].get("id"), None

    def _settle(self, record: DeliveryRecord, outcome: reevo.Outcome, opportunity_id) -> None:
        now = self.clock()
        fields = dict(source=record.source, event_id=record.event_id, route=record.route,
                      opportunity=opportunity_id, attempt=record.attempts, http_status=outcome.status,
                      reason=outcome.code)
        if outcome.kind == reevo.DELIVERED:
            self.paused_until = 0.0
            self.store.complete(record.id, record.lease_token, now)
            log_state(log, "delivered", status="delivered", **fields)
        elif outcome.kind == reevo.PAUSED:
            self.paused_until = now + self.pause_probe
            self.store.retry_at(record.id, record.lease_token, self.paused_until, outcome.error(), now,
                                count_attempt=False)
            log_state(log, "paused: Reevo refused the API key", logging.ERROR, status="paused", **fields)
        elif outcome.kind == reevo.RETRY and record.attempts < self.policy.max_attempts:
            when = now + self.policy.delay(record.attempts, outcome.retry_after)
            self.store.retry_at(record.id, record.lease_token, when, outcome.error(), now)
            log_state(log, "retrying", logging.WARNING, status="retrying", retry_at=when, **fields)
        else:
            error = outcome.error()
            if outcome.kind == reevo.RETRY:
                error["gave_up"] = "too_many_attempts"
            self.store.dead(record.id, record.lease_token, error, now)
            log_state(log, "dead", logging.ERROR, status="dead", **fields)

    def run(self, stop: threading.Event, poll_interval: float = 1.0) -> None:
        """Work until `stop` is set; idle waits are `stop.wait`, so stopping is immediate."""
        while not stop.is_set():
            try:
                handled = self.run_once()
            except StoreUnavailable as exc:
                log_state(log, "store unavailable; delivery waits", logging.WARNING, reason=str(exc))
                handled = 0
            except Exception:  # a bug must not kill the worker thread silently
                log.exception("delivery worker error")
                handled = 0
            if not handled:
                stop.wait(poll_interval)


class WorkerPool:
    """N delivery threads sharing one store and one client."""

    def __init__(self, worker: DeliveryWorker, threads: int, poll_interval: float):
        self.worker = worker
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=worker.run, args=(self.stop_event, poll_interval),
                                         name=f"bridge-delivery-{i}", daemon=True) for i in range(threads)]

    def start(self) -> "WorkerPool":
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every thread to stop and wait up to `timeout` for in-flight deliveries."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
