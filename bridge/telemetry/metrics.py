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


def render(store: Store) -> tuple[bytes, str]:
    """The `/metrics` body and content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    queue = CollectorRegistry()
    queue.register(QueueCollector(store))
    return generate_latest(counters) + generate_latest(queue), CONTENT_TYPE_LATEST
