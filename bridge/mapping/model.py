"""The compiled mapping model: events, routes and targets, and rendering an event into deliveries (pure).

bridge.mapping.loader builds these objects from a mapping file; nothing here reads files.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jmespath.exceptions import JMESPathError

from bridge.mapping import reevo_fields
from bridge.mapping.expressions import failure_reason
from bridge.mapping.selectors import CONTENT_HASH_PREFIX, Condition, ConditionError
from bridge.mapping.transforms import TransformError, parse_iso8601
from bridge.mapping.valuespec import SKIP, FieldError, ValueSpec
from bridge.reasons import MappingFailure


class MappingError(Exception):
    """One or more problems in mapping files; `problems` lists them, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class EventsError(ValueError):
    """The `events:` expression cannot split this body; `reason` is a short code."""

    def __init__(self, reason: MappingFailure, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass
class Event:
    """One event read out of a webhook body."""

    source: str
    id: str
    type: str | None
    occurred_at: str | None  # UTC `YYYY-MM-DDTHH:MM:SSZ`-style text, or None if unknown
    data: Any
    fingerprint: str = ""  # hash of the content that identifies it (volatile fields left out)
    data_json: str | None = None  # `data` as JSON text, when hashing already produced it
    # (field, how it is read) for an id or type the mapping declares but this event lacked:
    # a missing id falls back to the content hash, which the bridge logs and counts.
    unread: tuple = ()
    id_source: str = "sender"  # or "content_hash": no id was read, the content hash is the id


@dataclass
class Delivery:
    """One PATCH to make: which opportunity, which attributes."""

    route: str
    target: dict  # {"id": uuid} or {"match": {"field": name, "value": value}}
    attributes: dict


@dataclass
class Failure:
    """A route matched but cannot produce a valid PATCH; stored as a dead delivery."""

    route: str
    reason: MappingFailure
    message: str
    field: str | None = None


@dataclass
class Target:
    id: Any = None
    match_field: str | None = None
    match_value: Any = None

    def resolve(self, data) -> dict:
        if self.id is not None:
            value = self.id.search(data)
            if value is None or value == "":
                raise FieldError(MappingFailure.MISSING_TARGET, "the opportunity id is missing from the event")
            if not reevo_fields.is_uuid(value):
                raise FieldError(MappingFailure.INVALID_TARGET, f"opportunity id {str(value)[:60]!r} is not a UUID")
            return {"id": value}
        value = self.match_value.search(data)
        if value is None or value == "":
            raise FieldError(MappingFailure.MISSING_TARGET, f"the value to match on {self.match_field} is missing")
        return {"match": {"field": self.match_field, "value": value}}


@dataclass
class Route:
    name: str
    condition: Condition
    target: Target
    fields: dict[str, ValueSpec]
    custom: dict

    def render(self, data) -> Delivery | Failure:
        """This route's delivery for one event, or the reason it cannot be made."""
        try:
            target = self.target.resolve(data)
        except FieldError as exc:
            return Failure(self.name, exc.reason, exc.message, "opportunity")
        except JMESPathError as exc:
            return Failure(self.name, failure_reason(exc), _first_line(exc), "opportunity")
        attributes = {}
        for name, spec in self.fields.items():
            try:
                value = spec.render(data)
            except FieldError as exc:
                return Failure(self.name, exc.reason, exc.message, name)
            if value is SKIP:
                continue
            problem = reevo_fields.value_problem(*reevo_fields.field_type(name, self.custom), value)
            if problem:
                return Failure(self.name, MappingFailure.INVALID_VALUE, f"{name} {problem}", name)
            attributes[name] = value
        if not attributes:
            return Failure(self.name, MappingFailure.EMPTY_PATCH, "no field had a value for this event")
        return Delivery(self.name, target, attributes)


@dataclass
class Mapping:
    """A compiled mapping file."""

    source: str
    path: str
    scheme: str
    secret_names: list[str]
    verify_options: dict
    event_fields: dict  # id/type/occurred_at → EventReader (callable(data, headers) -> value), or None
    events: Any
    routes: list[Route] = field(default_factory=list)
    volatile: list[list[str]] = field(default_factory=list)  # key paths a resend may change

    @property
    def event_headers(self) -> dict[str, list[str]]:
        """id/type/occurred_at → the header names it reads, for those read from headers."""
        return {name: list(reader.headers) for name, reader in self.event_fields.items()
                if reader is not None and reader.headers}

    def read_events(self, body, headers) -> list[Event]:
        """Split a parsed body into events with their id, type and occurred_at."""
        if self.events is None:
            items = [body]
        else:
            try:
                items = self.events.search(body)
            except JMESPathError as exc:
                raise EventsError(failure_reason(exc), f"events: {_first_line(exc)}") from None
            items = items if isinstance(items, list) else ([] if items is None else [items])
        return [self.make_event(item, headers) for item in items]

    def make_event(self, data, headers) -> Event:
        """One event (an item `events` selected, or the whole body) with its id, type and occurred_at."""
        read = {k: (f(data, headers) if f else None) for k, f in self.event_fields.items()}
        hashed = _without(data, self.volatile)
        canonical = canonical_json(hashed)
        fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
        no_id = read["id"] in (None, "")
        # No id in the event: identical re-sends still dedupe on the content hash.
        event_id = CONTENT_HASH_PREFIX + fingerprint if no_id else read["id"]
        unread = tuple((k, self.event_fields[k].describe) for k in ("id", "type")
                       if self.event_fields.get(k) and read[k] in (None, ""))
        return Event(self.source, str(event_id), None if read["type"] is None else str(read["type"]),
                     normalise_time(read["occurred_at"]), data, fingerprint,
                     canonical if hashed is data else None,  # the store keeps this text: no second encoding
                     unread, "content_hash" if no_id else "sender")

    def render(self, event: Event) -> list[Delivery | Failure]:
        """Every matching route's delivery (or failure); empty when no route matches."""
        rendered: list[Delivery | Failure] = []
        for route in self.routes:
            try:
                matched = route.condition.holds(event)
            except ConditionError as exc:
                rendered.append(Failure(route.name, exc.reason, str(exc), exc.where))
                continue
            if matched:
                rendered.append(route.render(event.data))
        return rendered


def canonical_json(data) -> str:
    """Compact JSON with sorted keys: the same content gives the same text whatever the key order."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _without(data, paths: list[list[str]]):
    """A copy of `data` without the given key paths (only the containers on the way are copied)."""
    for path in paths:
        data = _drop(data, path)
    return data


def _drop(data, path: list[str]):
    if not isinstance(data, dict) or path[0] not in data:
        return data
    copy = dict(data)
    if len(path) == 1:
        del copy[path[0]]
    else:
        copy[path[0]] = _drop(copy[path[0]], path[1:])
    return copy


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def normalise_time(value) -> str | None:
    """Unix seconds or ms, or ISO-8601 text → `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; None if unreadable."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = value / 1000 if abs(value) >= 100_000_000_000 else value
            moment = datetime.fromtimestamp(seconds, tz=UTC)
        elif isinstance(value, str) and value.strip():
            text = value.strip()
            if text.isdigit():
                return normalise_time(int(text))
            moment = parse_iso8601(text)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            return None
        return _utc_text(moment)
    except (TransformError, ValueError, OverflowError, OSError):  # e.g. 9999-12-31T23:59:59-01:00
        return None


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# How far ahead of the bridge's clock a sender's clock may be before its time is not believed.
CLOCK_SKEW_SECONDS = 60


def trusted_time(occurred_at: str | None, received_at: float) -> str | None:
    """`occurred_at`, unless it is more than CLOCK_SKEW_SECONDS after `received_at`: then `received_at`.

    The stale guard keeps the newest occurred_at per field, so a time in the future (a
    wrong clock, or a replayed body with a forged unsigned header) would make every
    later change look stale. No event can have happened after the bridge received it.
    """
    if occurred_at is None:
        return None
    arrived = datetime.fromtimestamp(received_at, tz=UTC)
    if occurred_at > _utc_text(arrived + timedelta(seconds=CLOCK_SKEW_SECONDS)):
        return _utc_text(arrived)
    return occurred_at
