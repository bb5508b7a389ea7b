"""Filters and cursors for list_deliveries/replay, shared by every backend.

A cursor is opaque to callers: it names the last delivery id of the page it follows,
so pages stay stable while new deliveries arrive (they sort after every cursor).
"""
from __future__ import annotations

import base64
import math

from bridge.store import STATUSES, DeliveryRecord, InvalidQuery
from bridge.store.interface import FILTER_KEYS

MAX_LIMIT = 1000
MAX_ID = 2 ** 63 - 1  # SQLite's INTEGER: a larger id names no delivery (and must not reach the driver)
_TEXT_KEYS = ("source", "route", "opportunity", "event_id")
_CURSOR_PREFIX = "d1:"


def check_filter(filter: dict | None) -> dict:
    """A normalized copy: `status` becomes a tuple; unknown keys or statuses raise InvalidQuery."""
    checked = {k: v for k, v in (filter or {}).items() if v is not None}
    unknown = sorted(set(checked) - set(FILTER_KEYS))
    if unknown:
        raise InvalidQuery(f"unknown filter key(s) {', '.join(unknown)}; known: {', '.join(FILTER_KEYS)}")
    if "status" in checked:
        statuses = (checked["status"],) if isinstance(checked["status"], str) else checked["status"]
        if not isinstance(statuses, (list, tuple)) or not all(isinstance(s, str) for s in statuses):
            raise InvalidQuery("status must be a status name or a list of them")
        bad = [s for s in statuses if s not in STATUSES]
        if bad or not statuses:
            raise InvalidQuery(f"unknown status {', '.join(bad) or '(none)'}; known: {', '.join(STATUSES)}")
        checked["status"] = tuple(statuses)
    for key in _TEXT_KEYS:
        if key in checked and not isinstance(checked[key], str):
            raise InvalidQuery(f"{key} must be text")
    for key in ("received_from", "received_to"):
        if key in checked:
            checked[key] = epoch_seconds(key, checked[key])
    return checked


def epoch_seconds(key: str, value) -> float:
    """A finite number of seconds (text from a query string, or a JSON number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidQuery(f"{key} must be epoch seconds")
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        seconds = math.nan
    if not math.isfinite(seconds):
        raise InvalidQuery(f"{key} must be epoch seconds, not {str(value)[:40]!r}")
    return seconds


def is_delivery_id(value) -> bool:
    """A JSON value that can name a delivery: an integer from 1 to MAX_ID (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def check_limit(limit: int) -> int:
    """Page sizes from 1 to MAX_LIMIT."""
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return limit


def encode_cursor(last_id: int) -> str:
    """The cursor of the page after the delivery `last_id`."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The last delivery id before the page `cursor` names (0 for the first page)."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith(_CURSOR_PREFIX) and len(text) <= len(_CURSOR_PREFIX) + 19:
            last_id = int(text[len(_CURSOR_PREFIX):])
            if 0 <= last_id <= MAX_ID:
                return last_id
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidQuery("invalid cursor")


def opportunity_keys(value: str) -> tuple[str, str]:
    """An `opportunity` filter matches the target key itself or the id's target key."""
    return value, "id:" + value


def matches(record: DeliveryRecord, target: str, filter: dict) -> bool:
    """Whether a record (with its target key) passes a checked filter (backends filtering in Python)."""
    if "status" in filter and record.status not in filter["status"]:
        return False
    for key in ("source", "route", "event_id"):
        if key in filter and getattr(record, key) != filter[key]:
            return False
    if "opportunity" in filter:
        value = filter["opportunity"]
        if target not in opportunity_keys(value) and record.extra.get("opportunity_id") != value:
            return False
    if "received_from" in filter and record.received_at < filter["received_from"]:
        return False
    return not ("received_to" in filter and record.received_at >= filter["received_to"])
