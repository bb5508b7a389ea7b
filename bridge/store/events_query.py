"""The event list, the issues and the attempt log: what every backend shares for them.

`list_events` pages newest first, by (received_at, a tie-break that grows with each stored
event: SQLite's rowid, Redis's event sequence). Filters an index serves (time, source,
status, opportunity, a sparse delivery status) cost what they find; the others (type, a
dense delivery status, text search) are checked on at most SCAN_BUDGET events per call: a
page may then come back short, even empty, with a next_cursor to go on from where the
scan stopped. So every call has a bounded cost whatever the store holds.
"""
from __future__ import annotations

import base64
import math

from bridge.store import DEAD, ID_CONTENT_HASH, ID_SENDER, RETRYING, STATUSES, UNRESOLVED, InvalidQuery
from bridge.store import id_source as id_of
from bridge.store.query import MAX_ID, epoch_seconds

EVENT_FILTER_KEYS = ("received_from", "received_to", "source", "type", "status", "opportunity",
                     "delivery_status", "q")
EVENT_STATUSES = ("accepted", "ignored")
# Delivery statuses rare enough to look up through their index and then find their events;
# the others (delivered, superseded: most deliveries) are checked while walking the events.
SPARSE_STATUSES = ("queued", "delivering", "retrying", "dead")
SCAN_BUDGET = 5000  # events one list_events call examines, at most, for the filters no index serves
MAX_EVENT_LIMIT = 200
MAX_QUERY = 200  # characters of a text search
ATTEMPT_LOG_SIZE = 20  # attempts kept per delivery (the newest ones)
ISSUE_STATUSES = (DEAD, RETRYING)
_CURSOR_PREFIX = "ev1:"


def check_event_filter(filter: dict | None) -> dict:
    """A normalized copy: statuses become tuples, times floats, `q` stripped; bad keys/values raise InvalidQuery."""
    checked = {k: v for k, v in (filter or {}).items() if v not in (None, "", [], ())}
    unknown = sorted(set(checked) - set(EVENT_FILTER_KEYS))
    if unknown:
        raise InvalidQuery(f"unknown event filter key(s) {', '.join(unknown)}; known: {', '.join(EVENT_FILTER_KEYS)}")
    for key, known in (("status", EVENT_STATUSES), ("delivery_status", STATUSES)):
        if key in checked:
            values = (checked[key],) if isinstance(checked[key], str) else tuple(checked[key])
            bad = [v for v in values if v not in known]
            if bad:
                raise InvalidQuery(f"unknown {key} {', '.join(map(str, bad))}; known: {', '.join(known)}")
            checked[key] = values
    for key in ("received_from", "received_to"):
        if key in checked:
            checked[key] = epoch_seconds(key, checked[key])
    for key in ("source", "type", "opportunity", "q"):
        if key in checked and not isinstance(checked[key], str):
            raise InvalidQuery(f"{key} must be text")
    if "q" in checked:
        checked["q"] = checked["q"].strip()
        if len(checked["q"]) > MAX_QUERY:
            raise InvalidQuery(f"q: at most {MAX_QUERY} characters")
        if not checked["q"]:
            del checked["q"]
    return checked


def check_event_limit(limit) -> int:
    """Page sizes from 1 to MAX_EVENT_LIMIT."""
    if not isinstance(limit, int) or not 1 <= limit <= MAX_EVENT_LIMIT:
        raise InvalidQuery(f"limit must be an integer from 1 to {MAX_EVENT_LIMIT}")
    return limit


def sparse_statuses(filter: dict) -> tuple[str, ...] | None:
    """The delivery statuses to look up by index, or None when the filter has none or a dense one."""
    statuses = filter.get("delivery_status")
    if statuses and all(s in SPARSE_STATUSES for s in statuses):
        return statuses
    return None


def encode_event_cursor(received_at: float, tiebreak: int) -> str:
    """The cursor of the page after the event at (received_at, tiebreak)."""
    text = f"{_CURSOR_PREFIX}{received_at!r}:{tiebreak}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_event_cursor(cursor: str | None) -> tuple[float, int] | None:
    """(received_at, tiebreak) of the last event before the page `cursor` names; None for the first page."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith(_CURSOR_PREFIX):
            when, tiebreak = text[len(_CURSOR_PREFIX):].rsplit(":", 1)
            if len(tiebreak) <= 19 and 0 <= int(tiebreak) <= MAX_ID and math.isfinite(float(when)):
                return float(when), int(tiebreak)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidQuery("invalid cursor")


def id_source(event_id: str, marker: str | None = None) -> str:
    """Whether the event id came from the sender or is the content hash (`sha256:` + 64 hex digits)."""
    if marker in (ID_SENDER, ID_CONTENT_HASH):
        return marker
    return id_of(event_id)


def opportunity_of(target_key: str | None, opportunity_id: str | None) -> str | None:
    """What a delivery targets: the resolved opportunity id, else the id or match of its target."""
    if opportunity_id:
        return opportunity_id
    if not target_key or target_key == UNRESOLVED:
        return None
    return target_key[3:] if target_key.startswith("id:") else target_key


def event_row(event: dict, deliveries: list[tuple[str, str | None, str | None]]) -> dict:
    """One row of the list: the event's fields, its deliveries counted by status, the opportunities they target.

    `deliveries` holds (status, target_key, opportunity_id) per delivery.
    """
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    opportunities: list[str] = []
    for status, key, opportunity_id in deliveries:
        counts[status] = counts.get(status, 0) + 1
        found = opportunity_of(key, opportunity_id)
        if found and found not in opportunities:
            opportunities.append(found)
    return {"source": event["source"], "event_id": event["event_id"], "type": event.get("type"),
            "occurred_at": event.get("occurred_at"), "received_at": event["received_at"],
            "status": event["outcome"], "reason": event.get("reason"),
            "id_source": id_source(event["event_id"], event.get("id_source")),
            "duplicates": int(event.get("duplicates") or 0), "conflicts": int(event.get("conflicts") or 0),
            "deliveries": {"total": len(deliveries), **counts}, "opportunities": opportunities}


def text_matches(q: str, event_id: str, data: str | None) -> bool:
    """Case-insensitive substring search over the event id and the stored body text (as SQLite's LIKE does)."""
    needle = q.lower()
    return needle in event_id.lower() or (data is not None and needle in data.lower())


def like_pattern(q: str) -> str:
    """A LIKE pattern (ESCAPE '\\') for a substring search of `q`."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def issue_reason(error: dict | None) -> str:
    """What a group of problems is named by: the error code, else the HTTP status, else why it gave up."""
    error = error or {}
    if error.get("code"):
        return str(error["code"])
    if error.get("status"):
        return f"http_{error['status']}"
    return str(error.get("gave_up") or "unknown")


def group_issues(rows) -> list[dict]:
    """Problem deliveries grouped by (source, route, reason), largest group first.

    `rows` yields (id, source, route, status, last_error dict, updated_at, event_id).
    """
    groups: dict[tuple, dict] = {}
    for id_, source, route, status, error, updated_at, event_id in rows:
        key = (source, route, issue_reason(error))
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"source": source, "route": route, "reason": key[2], "count": 0,
                                   "statuses": dict.fromkeys(ISSUE_STATUSES, 0), "first_seen": updated_at,
                                   "last_seen": updated_at, "sample": {"delivery_id": id_, "event_id": event_id,
                                                                       "error": error}}
        group["count"] += 1
        group["statuses"][status] += 1
        group["first_seen"] = min(group["first_seen"], updated_at)
        if updated_at >= group["last_seen"]:
            group["last_seen"] = updated_at
            group["sample"] = {"delivery_id": id_, "event_id": event_id, "error": error}
    return sorted(groups.values(), key=issue_order)


def issue_order(group: dict) -> tuple:
    """Largest group first, then by source, route and reason."""
    return -group["count"], group["source"], group["route"], group["reason"]


def is_problem(status: str, received_at: float, retrying_before: float) -> bool:
    """Dead, or retrying since before `retrying_before` (received then and still not through)."""
    return status == DEAD or (status == RETRYING and received_at < retrying_before)
