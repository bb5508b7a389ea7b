"""The store: at once the idempotency keys, the delivery queue and the event log.

Each accepted event becomes one record per delivery, keyed (source, event id, route).
Backends are chosen by BRIDGE_STORE_URL — `memory://`, `sqlite:///path`, `redis://…` —
and all of them keep the one contract described by `bridge.store.interface.Store`.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from bridge.config import StoreSettings

if TYPE_CHECKING:
    from bridge.store.interface import Store


class DeliveryStatus(StrEnum):
    """Where a delivery is: queued → delivering → delivered | retrying | dead | superseded.

    A StrEnum: the member is its text, so stored values, JSON and metric labels are the words.
    """

    QUEUED = "queued"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    DEAD = "dead"
    SUPERSEDED = "superseded"


class AcceptResult(StrEnum):
    """What `accept()` reports for an event."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"  # the same event id with another body: counted, not applied


class EventOutcome(StrEnum):
    """A stored event's outcome: accepted, or ignored when no route wanted it."""

    ACCEPTED = "accepted"
    IGNORED = "ignored"


QUEUED, DELIVERING, DELIVERED = DeliveryStatus.QUEUED, DeliveryStatus.DELIVERING, DeliveryStatus.DELIVERED
RETRYING, DEAD, SUPERSEDED = DeliveryStatus.RETRYING, DeliveryStatus.DEAD, DeliveryStatus.SUPERSEDED
PENDING = (QUEUED, RETRYING, DELIVERING)
STATUSES = (QUEUED, DELIVERING, RETRYING, DELIVERED, SUPERSEDED, DEAD)
FINISHED = (DELIVERED, SUPERSEDED)  # purged after the retention time; dead ones only on request
REPLAYABLE = (DEAD, DELIVERED, SUPERSEDED, RETRYING)

ACCEPTED, DUPLICATE, CONFLICT = AcceptResult.ACCEPTED, AcceptResult.DUPLICATE, AcceptResult.CONFLICT
IGNORED = EventOutcome.IGNORED
# The target key of a delivery that died before its target was known (a mapping failure).
UNRESOLVED = "unresolved"

ENV_NAME = "BRIDGE_STORE_URL"
# An event id the bridge made from the event's content because the mapping read none.
CONTENT_HASH_PREFIX = "sha256:"
ID_SENDER, ID_CONTENT_HASH = "sender", "content_hash"
_CONTENT_ID = re.compile("^" + re.escape(CONTENT_HASH_PREFIX) + "[0-9a-f]{64}$")


def id_source(event_id: str) -> str:
    """"content_hash" for an id made from the event's content (`sha256:` + 64 hex digits), else "sender"."""
    return ID_CONTENT_HASH if _CONTENT_ID.match(event_id) else ID_SENDER


class StoreUnavailable(Exception):
    """The store cannot take or give work right now (disk, lock, connection); retry later."""


class StoreConfigError(ValueError):
    """BRIDGE_STORE_URL cannot be used; the message never contains a password."""


class InvalidQuery(ValueError):
    """A list/replay filter, limit or cursor the store cannot use (an admin's mistake: HTTP 400)."""


@dataclass
class EventRecord:
    """What accept() stores about one event."""

    source: str
    event_id: str
    type: str | None
    occurred_at: str | None
    body_hash: str
    outcome: EventOutcome = EventOutcome.ACCEPTED
    reason: str | None = None
    data: object = None  # the event as received, kept so a fixed mapping can replay it
    data_json: str | None = None  # `data` already encoded as JSON, if the caller has it

    def data_text(self) -> str | None:
        """`data` as the JSON text to store."""
        if self.data_json is not None:
            return self.data_json
        return None if self.data is None else json.dumps(self.data)


@dataclass
class NewDelivery:
    """A delivery to store with its event: queued, or dead from the start with an error."""

    route: str
    target: dict
    attributes: dict
    status: DeliveryStatus = QUEUED
    error: dict | None = None


@dataclass
class Completion:
    """One `complete` of a `complete_many`: a delivery Reevo accepted, with its lease token."""

    delivery_id: int
    token: str
    opportunity_id: str | None = None
    applied: dict[str, str] | None = None
    attempt: dict | None = None  # what this attempt was, for the delivery's attempt log


@dataclass
class DeliveryRecord:
    """A stored delivery as the workers and the admin API see it."""

    id: int
    source: str
    event_id: str
    route: str
    target: dict
    attributes: dict
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float
    received_at: float
    occurred_at: str | None
    lease_token: str | None = None
    last_error: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def id_source(self) -> str:
        """Whether its event's id came from the sender or from the content hash."""
        return id_source(self.event_id)

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
    return UNRESOLVED  # a delivery that died before its target was known


def redact(url: str) -> str:
    """The URL with its password (in the user part or a `password=` option) replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.split(":", 1)[0] + ":<unparseable URL>"
    if password:
        userinfo = (parts.username or "") + ":***"
        parts = parts._replace(netloc=f"{userinfo}@{parts.netloc.rsplit('@', 1)[1]}")
    if "password=" in parts.query:
        query = "&".join("password=***" if item.startswith("password=") else item
                         for item in parts.query.split("&"))
        parts = parts._replace(query=query)
    # Not parts.geturl(): it drops the // of sqlite:///path (an empty host).
    return (f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")
            + (f"#{parts.fragment}" if parts.fragment else ""))


def _problem(url: str, text: str) -> str:
    return f"{ENV_NAME}={redact(url)!r}: {text}"


def _query(url: str, parts, allowed: dict) -> dict:
    """Options from the URL's query string, each converted by `allowed[name]`."""
    options = {}
    for name, raw in parse_qsl(parts.query, keep_blank_values=True):
        if name not in allowed:
            raise StoreConfigError(_problem(url, f"unknown option {name!r}; known: {', '.join(allowed)}"))
        try:
            options[name] = allowed[name](raw)
        except ValueError:
            raise StoreConfigError(_problem(url, f"option {name}={raw!r} is not a number")) from None
        if options[name] <= 0:
            raise StoreConfigError(_problem(url, f"option {name}={raw!r} must be positive"))
    return options


def open_store(url: str, *, redis_prefix: str = StoreSettings.redis_prefix, migrate: bool = True) -> Store:
    """Open the backend named by BRIDGE_STORE_URL; it answers (or this raises) before returning.

    Raises StoreConfigError for a URL that cannot be used and StoreUnavailable for a store
    that does not answer; both messages name BRIDGE_STORE_URL and never show a password.
    `migrate=False` leaves the SQLite schema as it is (gunicorn's master migrated it once).
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise StoreConfigError(_problem(url, f"cannot be parsed ({exc})")) from None
    try:
        return _open(url, parts, redis_prefix, migrate)
    except StoreUnavailable as exc:
        raise StoreUnavailable(_problem(url, str(exc))) from None
    except StoreConfigError as exc:
        if str(exc).startswith(ENV_NAME):
            raise
        raise StoreConfigError(_problem(url, str(exc))) from None


def _open(url: str, parts, redis_prefix: str, migrate: bool = True) -> Store:
    if parts.scheme == "memory":
        from bridge.store.memory import MemoryStore
        return MemoryStore(**_query(url, parts, {"max_events": int}))
    if parts.scheme == "sqlite":
        path = parts.path
        if parts.netloc or not path.startswith("/") or path == "/":
            raise StoreConfigError(_problem(
                url, "a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path"))
        from bridge.store.sqlite import SQLiteStore
        return SQLiteStore(path[1:], run_migrations=migrate, **_query(url, parts, {"timeout": float}))
    if parts.scheme in ("redis", "rediss"):
        from bridge.store.redis import RedisStore
        return RedisStore(url, prefix=redis_prefix, shown=redact(url))
    raise StoreConfigError(_problem(url, "unknown scheme; use memory://, sqlite:///path, redis:// or rediss://"))
