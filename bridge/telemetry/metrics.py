"""Prometheus metrics (prometheus-client), safe under several gunicorn worker processes.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets it before forking), every
process writes its counters there and `/metrics` merges them. Queue depth and the
oldest queued age are read from the store when scraped, so every process reports the
same truth about the shared queue.
"""
from __future__ import annotations

import os
import time

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from bridge.store.interface import Store
from bridge.store import StoreUnavailable

WEBHOOKS = Counter("bridge_webhooks_received_total", "Webhook requests received", ["source"])
EVENTS = Counter("bridge_events_total", "Events by what the bridge did with them",
                 ["source", "outcome"])  # accepted, duplicate, conflict, ignored
REJECTED = Counter("bridge_webhooks_rejected_total", "Webhook requests refused", ["source", "reason"])
DELIVERIES = Counter("bridge_deliveries_total", "Delivery attempts by result",
                     ["source", "route", "result"])  # delivered, retried, dead, superseded, paused
REEVO_RESPONSES = Counter("bridge_reevo_responses_total", "Reevo API responses by HTTP status",
                          ["operation", "status"])
REEVO_LATENCY = Histogram("bridge_reevo_request_seconds", "Reevo API request time", ["operation"],
                          buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DELIVERY_LATENCY = Histogram("bridge_delivery_latency_seconds", "From webhook received to PATCH delivered",
                             ["source"], buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600, 21600, 86400))
PAUSED = Gauge("bridge_deliveries_paused", "1 while Reevo refuses the API key (401/403)",
               multiprocess_mode="max")
BREAKER_OPENINGS = Counter("bridge_reevo_breaker_openings_total", "Times the circuit breaker toward Reevo opened")
BREAKER_STATES = ("closed", "open", "half_open")


class QueueCollector:
    """Queue depth by status and the oldest waiting delivery's age, read from the store at scrape time."""

    def __init__(self, store: Store, clock=time.time):
        self.store = store
        self.clock = clock

    def collect(self):
        depth = GaugeMetricFamily("bridge_queue_depth", "Deliveries by status", labels=["status"])
        oldest = GaugeMetricFamily("bridge_queue_oldest_age_seconds", "Age of the oldest waiting delivery")
        try:
            counts = self.store.counts()
            oldest_at = self.store.oldest_queued_at()
        except StoreUnavailable:  # a scrape must not fail because the store is down; /readyz says that
            return
        for status, count in sorted(counts.items()):
            depth.add_metric([status], count)
        oldest.add_metric([], max(0.0, self.clock() - oldest_at) if oldest_at else 0.0)
        yield depth
        yield oldest


class PaceCollector:
    """The shared pace toward Reevo, read from the store at scrape time (the same for every process)."""

    def __init__(self, snapshot):
        self.snapshot = snapshot  # Gate.snapshot: breaker, rate, in_flight, hold_s

    def collect(self):
        try:
            now = self.snapshot()
        except StoreUnavailable:
            return
        breaker = GaugeMetricFamily("bridge_reevo_breaker_state", "1 for the breaker's current state",
                                    labels=["state"])
        for state in BREAKER_STATES:
            breaker.add_metric([state], 1.0 if now["breaker"] == state else 0.0)
        yield breaker
        yield GaugeMetricFamily("bridge_reevo_rate", "Requests per second allowed toward Reevo now (0: no limit)",
                                value=now["rate"])
        yield GaugeMetricFamily("bridge_reevo_in_flight", "Requests to Reevo in flight, every process",
                                value=now["in_flight"])
        yield GaugeMetricFamily("bridge_reevo_hold_seconds", "Seconds left of a Retry-After that holds every "
                                "delivery", value=now["hold_s"])


def render(store: Store, pace_snapshot=None) -> tuple[bytes, str]:
    """The `/metrics` body and content type (with the shared pace when `pace_snapshot` is given)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    queue = CollectorRegistry()
    queue.register(QueueCollector(store))
    if pace_snapshot is not None:
        queue.register(PaceCollector(pace_snapshot))
    return generate_latest(counters) + generate_latest(queue), CONTENT_TYPE_LATEST
