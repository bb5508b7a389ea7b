"""SQLite backend: the durable embedded default.

WAL, and every write transaction fsynced before it returns (by group commit, see
group_commit.py), so what was acknowledged survives kill -9 and power loss. Every write
runs in a BEGIN IMMEDIATE transaction, so several threads and several gunicorn worker
processes on one host can share the file. Connections and transactions live in
sqlite_connection.py; the schema is created and migrated by sqlite_schema.py, never by hand.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from bridge.store import (ACCEPTED, CONFLICT, DEAD, DELIVERED, DELIVERING, DUPLICATE, FINISHED, IGNORED, PENDING,
                          QUEUED, REPLAYABLE, RETRYING, SUPERSEDED, UNRESOLVED, AcceptResult, Completion,
                          DeliveryRecord, DeliveryStatus, EventRecord, InvalidQuery, NewDelivery, id_source,
                          target_key)
from bridge.store.events_query import ATTEMPT_LOG_SIZE
from bridge.store.query import check_filter, check_limit, decode_cursor, encode_cursor, opportunity_keys
from bridge.store.sqlite_connection import SQLiteConnections
from bridge.store.sqlite_console import SQLiteConsoleQueries
from bridge.store.sqlite_history import SQLiteRetarget, append_history

_COLUMNS = ("id, source, event_id, route, target, attributes, status, attempts, next_attempt_at, "
            "received_at, occurred_at, lease_token, last_error, updated_at, history, opportunity_id")
_EVENT_COLUMNS = ("source", "event_id", "type", "occurred_at", "outcome", "reason", "received_at", "conflicts",
                  "duplicates", "data")
# Due deliveries in (next_attempt_at, id) order, one page after a keyset position; the literal
# statuses make the partial index deliveries_pending usable, walked in order instead of sorting.
_DUE_PAGE = ("SELECT id, target_key, next_attempt_at FROM deliveries INDEXED BY deliveries_pending"
             " WHERE status IN ('queued', 'retrying', 'delivering') AND next_attempt_at <= ?"
             " AND (next_attempt_at, id) > (?, ?) ORDER BY next_attempt_at, id LIMIT ?")
_INSERT_DELIVERY = ("INSERT INTO deliveries (source, event_id, route, target, target_key, attributes, status,"
                    " next_attempt_at, last_error, received_at, occurred_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
# The attempt log: a JSON array of the newest ATTEMPT_LOG_SIZE attempts, one appended per finish.
_ATTEMPT_APPEND = (f"attempt_log = json_insert(CASE WHEN json_array_length(COALESCE(attempt_log, '[]'))"
                   f" >= {ATTEMPT_LOG_SIZE} THEN json_remove(attempt_log, '$[0]') ELSE COALESCE(attempt_log, '[]')"
                   " END, '$[#]', json(?))")
_INSERT_EVENT = ("INSERT INTO events (source, event_id, type, occurred_at, body_hash, outcome, reason,"
                 " received_at, conflicts, data) VALUES (?,?,?,?,?,?,?,?,0,?)")
_CLAIM_SCAN = 1000  # due deliveries one claim looks at, at most, to find free opportunities


class SQLiteStore(SQLiteConnections, SQLiteConsoleQueries, SQLiteRetarget):
    """Store on one SQLite file (or in memory, see MemoryStore)."""

    purge_batch = 1000  # rows deleted per transaction, so writers never wait long on a purge

    # ---- accept ---------------------------------------------------------------------
    def accept(self, event: EventRecord, deliveries: list[NewDelivery], now: float) -> AcceptResult:
        """Store an event and its deliveries atomically; dedupe on (source, event id)."""
        event_row, delivery_rows = self._accept_rows(event, deliveries, now)
        with self._transaction() as db:
            row = db.execute("SELECT body_hash FROM events WHERE source=? AND event_id=?",
                             (event.source, event.event_id)).fetchone()
            if row:
                counter = "duplicates" if row[0] == event.body_hash else "conflicts"
                db.execute(f"UPDATE events SET {counter} = {counter} + 1 WHERE source=? AND event_id=?",
                           (event.source, event.event_id))
                return DUPLICATE if counter == "duplicates" else CONFLICT
            self._check_room(db)
            db.execute(_INSERT_EVENT, event_row)
            db.executemany(_INSERT_DELIVERY, delivery_rows)
        return ACCEPTED

    @staticmethod
    def _accept_rows(event: EventRecord, deliveries: list[NewDelivery], now: float) -> tuple[tuple, list[tuple]]:
        """The values of `_INSERT_EVENT` and `_INSERT_DELIVERY` for one accept (serialised before the
        transaction, so the write lock is held for SQL only)."""
        event_row = (event.source, event.event_id, event.type, event.occurred_at, event.body_hash,
                     event.outcome, event.reason, now, event.data_text())
        return event_row, [_delivery_row(event.source, event.event_id, d, now, event.occurred_at, now)
                           for d in deliveries]

    def _check_room(self, db) -> None:
        """Hook for bounded backends: raise StoreUnavailable when a new event does not fit."""

    # ---- the queue --------------------------------------------------------------------
    def claim(self, limit: int, lease_seconds: float, now: float, token: str | None = None,
              hold_seconds: float = 0.0) -> list[DeliveryRecord]:
        """Lease up to `limit` due deliveries, never two for one opportunity at once, none for a held one."""
        token = token or uuid.uuid4().hex
        with self._transaction() as db:
            already = self._leased(db, token)
            if already:  # the same claim, asked again
                return already
            chosen = self._choose(db, limit, now, hold_seconds)
            db.executemany(
                "UPDATE deliveries SET status=?, attempts=attempts+1, next_attempt_at=?, lease_token=?,"
                " finish_token=NULL, updated_at=? WHERE id=?",
                [(DELIVERING, now + lease_seconds, token, now, i) for i in chosen])
            return self._leased(db, token) if chosen else []

    @staticmethod
    def _choose(db, limit: int, now: float, hold_seconds: float) -> list[int]:
        """The first due delivery of each free opportunity, in due order, up to `limit`.

        Not free: one with a delivery leased, or whose lease ended less than `hold_seconds`
        ago (its request may still land), or held after an unknown outcome.
        """
        seen = {key for (key,) in db.execute(
            "SELECT target_key FROM deliveries WHERE status=? AND next_attempt_at > ?"
            " UNION SELECT target_key FROM target_holds WHERE until > ?", (DELIVERING, now - hold_seconds, now))}
        chosen: list[int] = []
        after, scanned = (float("-inf"), 0), 0
        while len(chosen) < limit and scanned < max(_CLAIM_SCAN, limit):
            page = db.execute(_DUE_PAGE, (now, *after, 100)).fetchall()
            for delivery_id, key, _ in page:
                if key not in seen and len(chosen) < limit:
                    chosen.append(delivery_id)
                seen.add(key)
            if len(page) < 100:
                break
            scanned += len(page)
            after = (page[-1][2], page[-1][0])
        return chosen

    def _leased(self, db, token: str) -> list[DeliveryRecord]:
        rows = db.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE lease_token=? AND status=?"
                          " ORDER BY next_attempt_at, id", (token, DELIVERING))
        return [self._record(r) for r in rows]

    def _finish(self, db, delivery_id: int, token: str, now: float, status: str, give_back: bool = False,
                attempt: dict | None = None, **changes) -> str:
        """'done', 'again' (the same finish repeated with its token) or 'lost' (the lease is gone)."""
        if attempt is not None:
            changes["attempt_log"] = json.dumps(attempt)
        sets = ", ".join([_ATTEMPT_APPEND if k == "attempt_log" else f"{k}=?" for k in changes]
                         + (["attempts=attempts-1"] if give_back else []))
        cursor = db.execute(
            f"UPDATE deliveries SET status=?, {sets + ', ' if sets else ''}lease_token=NULL, finish_token=?,"
            " updated_at=? WHERE id=? AND lease_token=? AND status=?",
            (status, *changes.values(), token, now, delivery_id, token, DELIVERING))
        if cursor.rowcount == 1:
            return "done"
        repeated = db.execute("SELECT 1 FROM deliveries WHERE id=? AND status=? AND finish_token=?",
                              (delivery_id, status, token)).fetchone()
        return "again" if repeated else "lost"

    def complete(self, delivery_id: int, token: str, now: float, opportunity_id: str | None = None,
                 applied: dict[str, str] | None = None, attempt: dict | None = None) -> bool:
        """Mark delivered and, in the same transaction, raise each applied field's occurred_at.

        False when the lease was lost (another worker has the delivery now).
        """
        return self.complete_many([Completion(delivery_id, token, opportunity_id, applied, attempt)], now)[0]

    def complete_many(self, completions: list[Completion], now: float) -> list[bool]:
        """`complete` for each, all in one transaction (one COMMIT and fsync for a batch of deliveries)."""
        with self._transaction() as db:
            return [self._complete(db, c, now) for c in completions]

    def _complete(self, db, c: Completion, now: float) -> bool:
        changes: dict[str, Any] = {"last_error": None}
        if c.opportunity_id:
            changes["opportunity_id"] = c.opportunity_id
        result = self._finish(db, c.delivery_id, c.token, now, DELIVERED, attempt=c.attempt, **changes)
        if result == "done" and c.opportunity_id and c.applied:
            db.executemany(
                "INSERT INTO field_times (opportunity_id, field, occurred_at, recorded_at) VALUES (?,?,?,?)"
                " ON CONFLICT (opportunity_id, field) DO UPDATE"
                " SET occurred_at = MAX(occurred_at, excluded.occurred_at), recorded_at = excluded.recorded_at",
                [(c.opportunity_id, name, when, now) for name, when in c.applied.items() if when])
        return result != "lost"

    def _finish_one(self, delivery_id: int, token: str, now: float, status: str, hold_until: float | None = None,
                    **changes) -> bool:
        with self._transaction() as db:
            result = self._finish(db, delivery_id, token, now, status, **changes)
            if result == "done" and hold_until is not None:
                db.execute("INSERT INTO target_holds (target_key, until) SELECT target_key, ? FROM deliveries"
                           " WHERE id=? ON CONFLICT (target_key) DO UPDATE SET until = MAX(until, excluded.until)",
                           (hold_until, delivery_id))
            return result != "lost"

    def retry_at(self, delivery_id: int, token: str, when: float, error: dict | None, now: float,
                 count_attempt: bool = True, attempt: dict | None = None, hold_until: float | None = None) -> bool:
        """Schedule another attempt at `when`; `count_attempt=False` gives the attempt back (pause)."""
        return self._finish_one(delivery_id, token, now, RETRYING, hold_until, give_back=not count_attempt,
                                attempt=attempt, next_attempt_at=when, last_error=_dumps(error))

    def dead(self, delivery_id: int, token: str, error: dict, now: float, attempt: dict | None = None,
             hold_until: float | None = None) -> bool:
        """Give up on a delivery, keeping why."""
        return self._finish_one(delivery_id, token, now, DEAD, hold_until, attempt=attempt, last_error=_dumps(error))

    def supersede(self, delivery_id: int, token: str, now: float, reason: dict, attempt: dict | None = None) -> bool:
        """Finish a delivery whose every field a newer event has already set."""
        return self._finish_one(delivery_id, token, now, SUPERSEDED, attempt=attempt, last_error=_dumps(reason))

    def field_times(self, opportunity_id: str, fields: list[str]) -> dict[str, str]:
        """When the newest applied event that set each field occurred (fields never set are absent)."""
        if not fields:
            return {}
        marks = ",".join("?" * len(fields))
        with self._reading() as db:
            rows = db.execute(f"SELECT field, occurred_at FROM field_times WHERE opportunity_id=? "
                              f"AND field IN ({marks})", (opportunity_id, *fields)).fetchall()
        return dict(rows)

    # ---- operators --------------------------------------------------------------------
    def replay(self, ids: list[int] | None = None, filter: dict | None = None, now: float | None = None) -> int:
        """Queue dead/delivered/superseded/retrying deliveries again, due `now`; returns how many."""
        if now is None or (ids is None and filter is None):
            raise InvalidQuery("replay needs `now` and delivery ids or a filter")
        where, params = _where(check_filter(filter))
        where.append(f"status IN ({','.join('?' * len(REPLAYABLE))}) AND target_key != '{UNRESOLVED}'")
        params.extend(REPLAYABLE)
        if ids is not None:
            where.append(f"id IN ({','.join('?' * len(ids))})" if ids else "0")
            params.extend(int(i) for i in ids)
        with self._transaction() as db:
            rows = db.execute(f"SELECT id, status, attempts, last_error, history FROM deliveries "
                              f"WHERE {' AND '.join(where)}", params).fetchall()
            db.executemany(
                "UPDATE deliveries SET status=?, attempts=0, next_attempt_at=?, lease_token=NULL, finish_token=NULL,"
                " last_error=NULL, history=?, updated_at=? WHERE id=?",
                [(QUEUED, now, append_history(history, now, status, attempts, error), now, id_)
                 for id_, status, attempts, error, history in rows])
        return len(rows)

    def rebuild(self, source: str, event_id: str, deliveries: list[NewDelivery], now: float) -> int:
        """Insert the event's missing routes and replace its unresolved dead ones, in one transaction; how many."""
        with self._transaction() as db:
            event = db.execute("SELECT occurred_at, received_at, outcome FROM events WHERE source=? AND event_id=?",
                               (source, event_id)).fetchone()
            if event is None:
                return 0
            existing = {row[0]: row[1:] for row in db.execute(
                "SELECT route, id, status, target_key, attempts, last_error, history FROM deliveries"
                " WHERE source=? AND event_id=?", (source, event_id))}
            changed = 0
            for d in deliveries:
                row = existing.get(d.route)
                if row is None:
                    _insert_rebuilt(db, source, event_id, d, event, now)
                elif row[1] == DEAD and row[2] == UNRESOLVED:
                    _replace_unresolved(db, row, d, now)
                else:
                    continue  # resolved, pending or finished: left alone
                existing[d.route] = (None, "rebuilt", None)  # a route given twice: the first one counts
                changed += 1
            if event[2] == IGNORED and existing:
                db.execute("UPDATE events SET outcome=?, reason=NULL WHERE source=? AND event_id=?",
                           (ACCEPTED, source, event_id))
        return changed

    def list_deliveries(self, filter: dict, limit: int,
                        cursor: str | None = None) -> tuple[list[DeliveryRecord], str | None]:
        """One page in received (id) order and the next page's cursor (None on the last page)."""
        where, params = _where(check_filter(filter))
        where.append("id > ?")
        params.append(decode_cursor(cursor))
        limit = check_limit(limit)
        with self._reading() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
                              (*params, limit + 1)).fetchall()
        records = [self._record(r) for r in rows[:limit]]
        return records, encode_cursor(records[-1].id) if len(rows) > limit else None

    def purge(self, now: float, finished_before: float | None = None, dead: bool = False) -> int:
        """Delete finished deliveries (and dead ones if asked), then orphaned events; returns how many."""
        cutoff = now if finished_before is None else finished_before
        statuses = FINISHED + ((DEAD,) if dead else ())
        marks = ",".join("?" * len(statuses))
        removed = self._delete_batches(
            f"DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE status IN ({marks})"
            " AND updated_at < ? LIMIT ?)", (*statuses, cutoff))
        removed += self._delete_batches(
            "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events e WHERE received_at < ? AND NOT EXISTS"
            " (SELECT 1 FROM deliveries d WHERE d.source = e.source AND d.event_id = e.event_id) LIMIT ?)",
            (cutoff,))
        self._delete_batches("DELETE FROM field_times WHERE rowid IN"
                             " (SELECT rowid FROM field_times WHERE recorded_at < ? LIMIT ?)", (cutoff,))
        self._delete_batches("DELETE FROM target_holds WHERE rowid IN"
                             " (SELECT rowid FROM target_holds WHERE until < ? LIMIT ?)", (min(cutoff, now),))
        return removed

    def _delete_batches(self, sql: str, params: tuple) -> int:
        """Run a batched DELETE until it removes nothing, one short transaction per batch."""
        total = 0
        while True:
            with self._transaction() as db:
                count = db.execute(sql, (*params, self.purge_batch)).rowcount
            total += count
            if count < self.purge_batch:
                return total

    # ---- reading ----------------------------------------------------------------------
    def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        """One delivery by id."""
        with self._reading() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE id=?", (delivery_id,)).fetchone()
        return self._record(row) if row else None

    def _records_where(self, where: str, params: tuple, limit: int) -> list[DeliveryRecord]:
        """Deliveries matching an SQL condition, in id order, at most `limit`."""
        with self._reading() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE {where} ORDER BY id LIMIT ?",
                              (*params, limit)).fetchall()
        return [self._record(r) for r in rows]

    def deliveries_for_event(self, source: str, event_id: str) -> list[DeliveryRecord]:
        """Every delivery of one event, in id order."""
        with self._reading() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE source=? AND event_id=? ORDER BY id",
                              (source, event_id)).fetchall()
        return [self._record(r) for r in rows]

    def get_event(self, source: str, event_id: str) -> dict | None:
        """The stored event with its conflict count and its data (the event as received)."""
        with self._reading() as db:
            row = db.execute(f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events WHERE source=? AND event_id=?",
                             (source, event_id)).fetchone()
        if row is None:
            return None
        event = dict(zip(_EVENT_COLUMNS, row, strict=True))
        event["data"] = json.loads(event["data"]) if event["data"] is not None else None
        event["id_source"] = id_source(event_id)
        return event

    def counts(self) -> dict[str, int]:
        """Number of deliveries per status."""
        with self._reading() as db:
            return dict(db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())

    def oldest_queued_at(self) -> float | None:
        """received_at of the oldest delivery still waiting or in flight."""
        with self._reading() as db:
            return db.execute("SELECT MIN(received_at) FROM deliveries WHERE status IN (?,?,?)",
                              PENDING).fetchone()[0]

    @staticmethod
    def _record(row) -> DeliveryRecord:
        (id_, source, event_id, route, target, attributes, status, attempts, next_at,
         received_at, occurred_at, token, error, updated_at, history, opportunity_id) = row
        extra = {"updated_at": updated_at, "history": json.loads(history) if history else []}
        if opportunity_id:
            extra["opportunity_id"] = opportunity_id
        return DeliveryRecord(id_, source, event_id, route, json.loads(target), json.loads(attributes),
                              DeliveryStatus(status), attempts, next_at, received_at, occurred_at, token,
                              json.loads(error) if error else None, extra)

def _where(filter: dict) -> tuple[list[str], list]:
    """SQL conditions and parameters for a checked list/replay filter."""
    where, params = ["1"], []
    if "status" in filter:
        where.append(f"status IN ({','.join('?' * len(filter['status']))})")
        params.extend(filter["status"])
    for key in ("source", "route", "event_id"):
        if key in filter:
            where.append(f"{key} = ?")
            params.append(filter[key])
    if "opportunity" in filter:
        where.append("(target_key IN (?, ?) OR opportunity_id = ?)")
        params.extend([*opportunity_keys(filter["opportunity"]), filter["opportunity"]])
    if "received_from" in filter:
        where.append("received_at >= ?")
        params.append(filter["received_from"])
    if "received_to" in filter:
        where.append("received_at < ?")
        params.append(filter["received_to"])
    return where, params


def _insert_rebuilt(db, source: str, event_id: str, d: NewDelivery, event: tuple, now: float) -> None:
    """A delivery for a route the event had none for; it keeps the event's occurred_at and received time."""
    occurred_at, received_at, _ = event
    db.execute(_INSERT_DELIVERY, _delivery_row(source, event_id, d, received_at, occurred_at, now))


def _delivery_row(source: str, event_id: str, d: NewDelivery, received_at: float, occurred_at: str | None,
                  now: float) -> tuple:
    """The values of `_INSERT_DELIVERY` for a new delivery, due `now`."""
    return (source, event_id, d.route, json.dumps(d.target), target_key(d.target), json.dumps(d.attributes),
            d.status, now, _dumps(d.error), received_at, occurred_at, now)


def _replace_unresolved(db, row: tuple, d: NewDelivery, now: float) -> None:
    """Give a delivery that died before it had a target its new rendering; what it was goes to its history."""
    id_, status, _, attempts, error, history = row
    db.execute("UPDATE deliveries SET target=?, target_key=?, attributes=?, status=?, attempts=0, next_attempt_at=?,"
               " lease_token=NULL, finish_token=NULL, last_error=?, history=?, updated_at=? WHERE id=?",
               (json.dumps(d.target), target_key(d.target), json.dumps(d.attributes), d.status, now,
                _dumps(d.error), append_history(history, now, status, attempts, error, rebuilt=True), now, id_))


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(value)
