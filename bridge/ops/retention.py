"""Retention: the bridge purges its own finished records, so no backend grows without bound.

Delivered and superseded deliveries, and events left with no delivery, are deleted once
older than BRIDGE_RETENTION_DAYS (default 30: senders retry for up to 3 days, and a
manual redelivery may come later). Dead deliveries stay until replayed or purged with
`python -m bridge purge --dead`. One small thread per process that runs delivery
workers checks every minute and purges at most once an hour (by the injected clock).
"""
from __future__ import annotations

import logging
import threading

from bridge.store.interface import Store
from bridge.telemetry.logs import log_state
from bridge.store import StoreUnavailable

log = logging.getLogger("bridge.ops.retention")
DAY = 86400.0


class Retention:
    """Decides when to purge and what is old enough."""

    def __init__(self, store: Store, days: float, clock, interval: float = 3600.0):
        self.store = store
        self.days = days
        self.clock = clock
        self.interval = interval
        self.last_run: float | None = None

    def cutoff(self, now: float) -> float:
        """Records finished before this time are purged."""
        return now - self.days * DAY

    def run_due(self) -> int | None:
        """Purge if the last purge is an interval old (or none ran yet); how many records went, or None."""
        now = self.clock()
        if self.last_run is not None and now - self.last_run < self.interval:
            return None
        removed = self.store.purge(now, finished_before=self.cutoff(now))
        self.last_run = now
        if removed:
            log_state(log, "purged finished records", removed=removed, retention_days=self.days)
        return removed


class RetentionThread:
    """Runs `Retention.run_due` every `check_every` seconds until stopped."""

    def __init__(self, retention: Retention, check_every: float = 60.0):
        self.retention = retention
        self.check_every = check_every
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bridge-retention", daemon=True)

    def start(self) -> RetentionThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current purge batch, if one is running."""
        self.stop_event.set()
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.retention.run_due()
            except StoreUnavailable as exc:
                log_state(log, "store unavailable; purge waits", logging.WARNING, reason=str(exc))
            except Exception:  # a bug must not end retention silently
                log.exception("retention purge failed")
            self.stop_event.wait(self.check_every)


def start_retention(store: Store, days: float, clock, check_every: float = 60.0) -> RetentionThread:
    """Start the purge thread for a process that runs delivery workers."""
    return RetentionThread(Retention(store, days, clock), check_every).start()
