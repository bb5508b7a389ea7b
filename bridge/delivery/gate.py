"""The shared pace as the workers use it: one atomic store update per request, alerts on the breaker.

Each worker thread holds one permit id. Before a request it asks `admit()`; after it, it
hands how it ended to `done()`, which is recorded with the thread's next `admit()` (or by
`flush()` when the thread runs out of work), so a request costs one store update.
"""
from __future__ import annotations

import logging
import os
import threading
import uuid

from bridge.store.interface import Store
from bridge.delivery import pace
from bridge.telemetry import alerts, metrics
from bridge.telemetry.logs import log_state

log = logging.getLogger("bridge.delivery")


class Gate:
    """Admits requests toward Reevo at the pace every process shares through the store."""

    def __init__(self, store: Store, config: pace.PaceConfig, clock):
        self.store = store
        self.config = config
        self.clock = clock
        self._local = threading.local()

    def _permit(self) -> str:
        permit = getattr(self._local, "permit", None)
        if permit is None:
            permit = self._local.permit = f"{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}"
        return permit

    def admit(self) -> pace.Grant:
        """Record the thread's last request (if any) and ask to send the next one."""
        return self._step(want=True)

    def done(self, report: pace.Report) -> None:
        """Keep how this thread's request ended; it is recorded with the next `admit` or `flush`."""
        self._local.report = report

    def flush(self) -> None:
        """Record the thread's last request now and give its permit back (the thread has no more to send)."""
        if getattr(self._local, "report", None) is not None or getattr(self._local, "holding", False):
            self._step(want=False)

    def _step(self, want: bool) -> pace.Grant:
        report, self._local.report = getattr(self._local, "report", None), None
        permit = self._permit()
        # The clock is read inside the update (under SQLite's lock, or right before Redis's compare-and-set),
        # never before waiting for it: a stale `now` would let two permits through at once.
        grant = self.store.update_pace(
            lambda state: pace.step(state, permit, self.clock(), self.config, report, want))
        self._local.holding = grant.ok
        if grant.opened:
            self._opened()
        if grant.closed:
            log_state(log, "breaker closed: Reevo answers again; the backlog drains at the shared pace",
                      status="breaker_closed")
        return grant

    def _opened(self) -> None:
        metrics.BREAKER_OPENINGS.inc()
        alerts.report("deliveries stopped: Reevo keeps failing (circuit breaker open)", reason="breaker_open")
        log_state(log, f"breaker open: {self.config.breaker_failures} requests to Reevo failed in a row; "
                  f"every worker stops and one probe is sent every {self.config.breaker_probe_seconds:g}s",
                  logging.ERROR, status="breaker_open")

    def snapshot(self) -> dict:
        """breaker state, current rate (0: no limit), requests in flight, seconds of shared hold left."""
        now = self.clock()
        state = pace.load(self.store.read_pace())
        return {"breaker": pace.breaker_state(state, now), "rate": pace.current_rate(state, self.config, now),
                "in_flight": pace.in_flight(state, now), "hold_s": max(0.0, state["hold_until"] - now)}
