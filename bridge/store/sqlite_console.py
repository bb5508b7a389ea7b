"""What the operator console reads from SQLite (and memory): the event list, attempts, opportunities, problems.

A mixin of SQLiteStore; see `bridge.store.events_query` for the paging and scan-budget rules.
Indexes (schema v6): events (source, received_at), (outcome, received_at) and (received_at)
walk the newest events; deliveries (target_key), (opportunity_id) and (status, …) find the
events of one opportunity or of a sparse delivery status before the events are read.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from bridge.store import DEAD, RETRYING, DeliveryRecord
from bridge.store.events_query import (SCAN_BUDGET, check_event_filter, check_event_limit, decode_event_cursor,
                                       encode_event_cursor, event_row, issue_order, like_pattern, sparse_statuses)
from bridge.store.query import opportunity_keys

_EVENT_FIELDS = ("rowid", "source", "event_id", "type", "occurred_at", "outcome", "reason", "received_at",
                 "conflicts", "duplicates")
_NEWEST = "ORDER BY received_at DESC, rowid DESC"
_EVENTS_OF = "SELECT e.rowid FROM events e JOIN deliveries d ON d.source = e.source AND d.event_id = e.event_id"
_MAX_OPPORTUNITY_DELIVERIES = 10_000
# The reason, as events_query.issue_reason names it: the error code, else http_<status>, else why it gave up.
_REASON = ("COALESCE(NULLIF(json_extract(last_error, '$.code'), ''),"
           " 'http_' || NULLIF(json_extract(last_error, '$.status'), 0),"
           " NULLIF(json_extract(last_error, '$.gave_up'), ''), 'unknown')")
# One row per group: its counts and times, and its sample (the delivery that failed last).
_ISSUE_GROUPS = f"""
SELECT source, route, reason, n, dead, retrying, first_seen, last_seen, id, event_id, last_error FROM (
  SELECT source, route, reason, id, event_id, last_error, COUNT(*) OVER g AS n,
         SUM(status = ?) OVER g AS dead, SUM(status = ?) OVER g AS retrying,
         MIN(updated_at) OVER g AS first_seen, MAX(updated_at) OVER g AS last_seen,
         ROW_NUMBER() OVER (PARTITION BY source, route, reason ORDER BY updated_at DESC, id DESC) AS place
  FROM (SELECT *, {_REASON} AS reason FROM deliveries WHERE status = ? OR (status = ? AND received_at < ?))
  WINDOW g AS (PARTITION BY source, route, reason))
WHERE place = 1"""


class SQLiteConsoleQueries:
    """list_events, deliveries_for_opportunity, attempt_log and problem_deliveries for SQLiteStore."""

    scan_budget = SCAN_BUDGET  # events one list_events call examines at most (see events_query)

    if TYPE_CHECKING:  # what the mixin uses of SQLiteStore
        def _reading(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _records_where(self, where: str, params: tuple, limit: int) -> list[DeliveryRecord]: ...

    def list_events(self, filter: dict, limit: int, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page of events, newest first, and the next page's cursor (None on the last page)."""
        checked, limit = check_event_filter(filter), check_event_limit(limit)
        where, params = _indexed(checked, decode_event_cursor(cursor))
        residual, more = _residual(checked)
        with self._reading() as db:
            boundary = None
            if residual:  # examine at most SCAN_BUDGET events: find the last one of that window
                boundary = db.execute(f"SELECT received_at, rowid FROM events WHERE {' AND '.join(where)} {_NEWEST}"
                                      " LIMIT 1 OFFSET ?", (*params, self.scan_budget - 1)).fetchone()
                if boundary is not None:
                    where.append("(received_at, rowid) >= (?, ?)")
                    params.extend(boundary)
            rows = db.execute(f"SELECT {', '.join(_EVENT_FIELDS)} FROM events WHERE {' AND '.join(where + residual)}"
                              f" {_NEWEST} LIMIT ?", (*params, *more, limit + 1)).fetchall()
            events = [dict(zip(_EVENT_FIELDS, row, strict=True)) for row in rows[:limit]]
            found = _deliveries_of(db, events)
            page = [event_row(e, found.get((e["source"], e["event_id"]), [])) for e in events]
        if len(rows) > limit:
            return page, encode_event_cursor(events[-1]["received_at"], events[-1]["rowid"])
        return page, encode_event_cursor(*boundary) if boundary is not None else None

    def deliveries_for_opportunity(self, opportunity: str, limit: int = _MAX_OPPORTUNITY_DELIVERIES) -> list:
        """Every delivery that targeted one opportunity, oldest first.

        By the opportunity's id, its target key, or the id a match resolved to.
        """
        return self._records_where("target_key IN (?, ?) OR opportunity_id = ?",
                                   (*opportunity_keys(opportunity), opportunity), limit)

    def attempt_log(self, delivery_id: int) -> list[dict]:
        """The newest attempts of one delivery, oldest first (see ATTEMPT_LOG_SIZE)."""
        with self._reading() as db:
            row = db.execute("SELECT attempt_log FROM deliveries WHERE id=?", (delivery_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else []

    def issue_groups(self, retrying_before: float) -> list[dict]:
        """Problem deliveries grouped by (source, route, reason), as `events_query.group_issues` groups them."""
        with self._reading() as db:
            rows = db.execute(_ISSUE_GROUPS, (DEAD, RETRYING, DEAD, RETRYING, retrying_before)).fetchall()
        groups = [{"source": source, "route": route, "reason": str(reason), "count": count,
                   "statuses": {DEAD: dead, RETRYING: retrying}, "first_seen": first, "last_seen": last,
                   "sample": {"delivery_id": id_, "event_id": event_id,
                              "error": json.loads(error) if error else None}}
                  for source, route, reason, count, dead, retrying, first, last, id_, event_id, error in rows]
        return sorted(groups, key=issue_order)

    def problem_deliveries(self, retrying_before: float, source: str | None = None,
                           route: str | None = None) -> list[tuple]:
        """Dead deliveries and those retrying since before `retrying_before`, as issue rows (see group_issues)."""
        where, params = ["(status = ? OR (status = ? AND received_at < ?))"], [DEAD, RETRYING, retrying_before]
        for column, value in (("source", source), ("route", route)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        with self._reading() as db:
            rows = db.execute("SELECT id, source, route, status, last_error, updated_at, event_id FROM deliveries"
                              f" WHERE {' AND '.join(where)} ORDER BY id", params).fetchall()
        return [(i, s, r, st, json.loads(e) if e else None, u, ev) for i, s, r, st, e, u, ev in rows]


def _indexed(filter: dict, after: tuple[float, int] | None) -> tuple[list[str], list]:
    """Conditions an index serves: time, source, type, status, the cursor, the events of an opportunity or status."""
    where: list[str] = ["1"]
    params: list = []
    if after is not None:
        where.append("(received_at, rowid) < (?, ?)")
        params.extend(after)
    for key, condition in (("received_from", "received_at >= ?"), ("received_to", "received_at < ?"),
                           ("source", "source = ?"), ("type", "type = ?")):
        if key in filter:
            where.append(condition)
            params.append(filter[key])
    if "status" in filter:
        where.append(f"outcome IN ({','.join('?' * len(filter['status']))})")
        params.extend(filter["status"])
    if "opportunity" in filter:
        where.append(f"rowid IN ({_EVENTS_OF} WHERE d.target_key IN (?, ?) OR d.opportunity_id = ?)")
        params.extend([*opportunity_keys(filter["opportunity"]), filter["opportunity"]])
    statuses = sparse_statuses(filter)
    if statuses:
        where.append(f"rowid IN ({_EVENTS_OF} WHERE d.status IN ({','.join('?' * len(statuses))}))")
        params.extend(statuses)
    return where, params


def _residual(filter: dict) -> tuple[list[str], list]:
    """Conditions checked event by event (within the scan budget): a dense delivery status, text."""
    where, params = [], []
    if "delivery_status" in filter and not sparse_statuses(filter):
        statuses = filter["delivery_status"]
        # `+d.status`: look the event's deliveries up by (source, event_id), never walk the status index
        where.append("EXISTS (SELECT 1 FROM deliveries d WHERE d.source = events.source AND d.event_id ="
                     f" events.event_id AND +d.status IN ({','.join('?' * len(statuses))}))")
        params.extend(statuses)
    if "q" in filter:
        where.append("(event_id LIKE ? ESCAPE '\\' OR data LIKE ? ESCAPE '\\')")
        params.extend([like_pattern(filter["q"])] * 2)
    return where, params


def _deliveries_of(db, events: list[dict]) -> dict[tuple, list[tuple]]:
    """(source, event id) → [(status, target_key, opportunity_id)] for a page of events, in one query."""
    if not events:
        return {}
    keys = [value for e in events for value in (e["source"], e["event_id"])]
    # A join with the keys as a VALUES table: each is looked up by the (source, event_id, route) index.
    rows = db.execute("SELECT d.source, d.event_id, d.status, d.target_key, d.opportunity_id"
                      f" FROM (VALUES {','.join(['(?, ?)'] * len(events))}) AS k JOIN deliveries d"
                      " ON d.source = k.column1 AND d.event_id = k.column2 ORDER BY d.id", keys).fetchall()
    found: dict[tuple, list[tuple]] = {}
    for source, event_id, *delivery in rows:
        found.setdefault((source, event_id), []).append(tuple(delivery))
    return found
