"""The store: at once the idempotency keys, the delivery queue and the event log.

Each accepted event becomes one record per delivery, keyed (source, event id, route).
Backends are chosen by URL: `memory://` and `sqlite:///path` (more to come).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Delivery statuses. A delivery moves queued → delivering → delivered | retrying | dead | superseded.
QUEUED, DELIVERING, DELIVERED, RETRYING, DEAD = "queued", "delivering", "delivered", "retrying", "dead"
SUPERSEDED = "superseded"
PENDING = (QUEUED, RETRYING, DELIVERING)

# What accept() reports for an event.
ACCEPTED, DUPLICATE, CONFLICT = "accepted", "duplicate", "conflict"


class StoreUnavailable(Exception):
    """The store cannot take or give work right now (disk, lock, connection); retry later."""


class StoreConfigError(ValueError):
    """BRIDGE_STORE_URL cannot be used; the message never contains a password."""


@dataclass
class EventRecord:
    """What accept() stores about one event."""

    source: str
    event_id: str
    type: str | None
    occurred_at: str | None
    body_hash: str
    outcome: str = ACCEPTED  # or "ignored"
    reason: str | None = None
    data: object = None  # the event as received, kept so a fixed mapping can replay it


@dataclass
class NewDelivery:
    """A delivery to store with its event: queued, or dead from the start with an error."""

    route: str
    target: dict
    attributes: dict
    status: str = QUEUED
    error: dict | None = None


@dataclass
class DeliveryRecord:
    """A stored delivery as the workers and the admin API see it."""

    id: int
    source: str
    event_id: str
    route: str
    target: dict
    attributes: dict
    status: str
    attempts: int
    next_attempt_at: float
    received_at: float
    occurred_at: str | None
    lease_token: str | None = None
    last_error: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and restarts: the same delivery always sends the same key."""
        name = json.dumps([self.source, self.event_id, self.route])
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "reevo-bridge:" + name))


def target_key(target: dict) -> str:
    """The opportunity a delivery is for; at most one delivery per key is in flight."""
    if "id" in target:
        return "id:" + str(target["id"])
    if "match" in target:
        return "match:" + json.dumps([target["match"]["field"], target["match"]["value"]])
    return "unresolved"  # a delivery that died before its target was known


def open_store(url: str):
    """Open the backend named by BRIDGE_STORE_URL."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        from bridge.store.memory import MemoryStore
        return MemoryStore()
    if parts.scheme == "sqlite":
        path = url[len("sqlite://"):]
        if not path.startswith("/") or path == "/":
            raise StoreConfigError(
                f"BRIDGE_STORE_URL={url!r}: a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
        from bridge.store.sqlite import SQLiteStore
        return SQLiteStore(path[1:])
    shown = parts._replace(netloc=parts.hostname or "").geturl() if parts.password else url
    raise StoreConfigError(f"BRIDGE_STORE_URL={shown!r}: unknown scheme; use memory:// or sqlite:///path")
