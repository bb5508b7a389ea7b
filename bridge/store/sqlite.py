"""SQLite backend: the durable embedded default.

WAL with synchronous=FULL, so what was acknowledged survives kill -9 and power loss.
Claims run in BEGIN IMMEDIATE transactions, so several threads and several gunicorn
worker processes on one host can share the file. The schema is created and
migrated here (table `schema_version`), never by hand.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from contextlib import contextmanager

from bridge.store import (ACCEPTED, CONFLICT, DEAD, DELIVERED, DELIVERING, DUPLICATE, QUEUED, RETRYING,
                          SUPERSEDED,
                          DeliveryRecord, EventRecord, NewDelivery, StoreUnavailable, target_key)

SCHEMA_VERSION = 2
_MIGRATIONS = {
    1: """
    CREATE TABLE events (
        source TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT, occurred_at TEXT,
        body_hash TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT,
        received_at REAL NOT NULL, conflicts INTEGER NOT NULL DEFAULT 0, data TEXT,
        PRIMARY KEY (source, event_id));
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL, event_id TEXT NOT NULL, route TEXT NOT NULL,
        target TEXT NOT NULL, target_key TEXT NOT NULL, attributes TEXT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL, lease_token TEXT, last_error TEXT,
        received_at REAL NOT NULL, occurred_at TEXT, updated_at REAL NOT NULL,
        UNIQUE (source, event_id, route));
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
    CREATE INDEX deliveries_target ON deliveries (target_key, status);
    """,
    2: """
    CREATE TABLE field_times (
        opportunity_id TEXT NOT NULL, field TEXT NOT NULL, occurred_at TEXT NOT NULL,
        PRIMARY KEY (opportunity_id, field));
    """,
}
_ACTIVE = (QUEUED, RETRYING, DELIVERING)
_COLUMNS = ("id, source, event_id, route, target, attributes, status, attempts, next_attempt_at, "
            "received_at, occurred_at, lease_token, last_error")


class SQLiteStore:
    """Store on one SQLite file (or in memory, see MemoryStore)."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        directory = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(directory, exist_ok=True)
            with self._transaction() as db:
                self._migrate(db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {path}: {exc}") from None

    # ---- connections --------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        return db

    @contextmanager
    def _connection(self):
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        yield db

    @contextmanager
    def _transaction(self):
        """BEGIN IMMEDIATE … COMMIT; any SQLite failure becomes StoreUnavailable, nothing half-written."""
        with self._connection() as db:
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise StoreUnavailable(f"SQLite: {exc}") from None

    def _migrate(self, db):
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] or 0
        for version in range(current + 1, SCHEMA_VERSION + 1):
            # executescript() would COMMIT mid-transaction, so run the statements one by one.
            for statement in filter(str.strip, _MIGRATIONS[version].split(";")):
                db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    # ---- accept ---------------------------------------------------------------------
    def accept(self, event: EventRecord, deliveries: list[NewDelivery], now: float) -> str:
        """Store an event and its deliveries atomically; dedupe on (source, event id)."""
        with self._transaction() as db:
            row = db.execute("SELECT body_hash FROM events WHERE source=? AND event_id=?",
                             (event.source, event.event_id)).fetchone()
            if row:
                if row[0] == event.body_hash:
                    return DUPLICATE
                db.execute("UPDATE events SET conflicts = conflicts + 1 WHERE source=? AND event_id=?",
                           (event.source, event.event_id))
                return CONFLICT
            db.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,0,?)",
                       (event.source, event.event_id, event.type, event.occurred_at, event.body_hash,
                        event.outcome, event.reason, now, _dumps(event.data)))
            db.executemany(
                "INSERT INTO deliveries (source, event_id, route, target, target_key, attributes, status,"
                " next_attempt_at, last_error, received_at, occurred_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(event.source, event.event_id, d.route, json.dumps(d.target), target_key(d.target),
                  json.dumps(d.attributes), d.status, now, _dumps(d.error), now, event.occurred_at, now)
                 for d in deliveries])
        return ACCEPTED

    # ---- the queue --------------------------------------------------------------------
    def claim(self, limit: int, lease_seconds: float, now: float) -> list[DeliveryRecord]:
        """Lease up to `limit` due deliveries, never two for one opportunity at once."""
        with self._transaction() as db:
            busy = {r[0] for r in db.execute(
                "SELECT DISTINCT target_key FROM deliveries WHERE status=? AND next_attempt_at > ?",
                (DELIVERING, now))}
            rows = db.execute(
                "SELECT id, target_key FROM deliveries WHERE status IN (?,?,?) AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?", (*_ACTIVE, now, max(limit * 4, 16))).fetchall()
            chosen = []
            for delivery_id, key in rows:
                if key not in busy and len(chosen) < limit:
                    busy.add(key)
                    chosen.append(delivery_id)
            token = uuid.uuid4().hex
            db.executemany(
                "UPDATE deliveries SET status=?, attempts=attempts+1, next_attempt_at=?, lease_token=?,"
                " updated_at=? WHERE id=?",
                [(DELIVERING, now + lease_seconds, token, now, i) for i in chosen])
            return [self._record(r) for r in db.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE lease_token=? ORDER BY next_attempt_at, id",
                (token,))] if chosen else []

    def _finish(self, delivery_id: int, token: str, now: float, give_back: bool = False, **changes) -> bool:
        sets = ", ".join([f"{k}=?" for k in changes] + (["attempts=attempts-1"] if give_back else []))
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE deliveries SET {sets}, lease_token=NULL, updated_at=? "
                "WHERE id=? AND lease_token=? AND status=?",
                (*changes.values(), now, delivery_id, token, DELIVERING))
            return cursor.rowcount == 1

    def complete(self, delivery_id: int, token: str, now: float, opportunity_id: str | None = None,
                 applied: dict[str, str] | None = None) -> bool:
        """Mark delivered and, in the same transaction, remember when each applied field's event occurred.

        False when the lease was lost (another worker has the delivery now).
        """
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE deliveries SET status=?, last_error=NULL, lease_token=NULL, updated_at=? "
                "WHERE id=? AND lease_token=? AND status=?", (DELIVERED, now, delivery_id, token, DELIVERING))
            if cursor.rowcount != 1:
                return False
            if opportunity_id and applied:
                db.executemany(
                    "INSERT INTO field_times VALUES (?,?,?) ON CONFLICT (opportunity_id, field) DO UPDATE "
                    "SET occurred_at = MAX(occurred_at, excluded.occurred_at)",
                    [(opportunity_id, name, when) for name, when in applied.items()])
            return True

    def field_times(self, opportunity_id: str, fields: list[str]) -> dict[str, str]:
        """When the newest applied event that set each field occurred (fields never set are absent)."""
        marks = ",".join("?" * len(fields))
        with self._reading() as db:
            rows = db.execute(f"SELECT field, occurred_at FROM field_times WHERE opportunity_id=? "
                              f"AND field IN ({marks})", (opportunity_id, *fields)).fetchall()
        return dict(rows)

    def supersede(self, delivery_id: int, token: str, now: float, reason: dict) -> bool:
        """Finish a delivery whose every field a newer event has already set."""
        return self._finish(delivery_id, token, now, status=SUPERSEDED, last_error=_dumps(reason))

    def retry_at(self, delivery_id: int, token: str, when: float, error: dict, now: float,
                 count_attempt: bool = True) -> bool:
        """Schedule another attempt at `when`; `count_attempt=False` gives the attempt back (pause)."""
        return self._finish(delivery_id, token, now, give_back=not count_attempt,
                            status=RETRYING, next_attempt_at=when, last_error=_dumps(error))

    def dead(self, delivery_id: int, token: str, error: dict, now: float) -> bool:
        """Give up on a delivery, keeping why."""
        return self._finish(delivery_id, token, now, status=DEAD, last_error=_dumps(error))

    # ---- reading ----------------------------------------------------------------------
    def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        with self._reading() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE id=?", (delivery_id,)).fetchone()
        return self._record(row) if row else None

    def deliveries_for_event(self, source: str, event_id: str) -> list[DeliveryRecord]:
        with self._reading() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE source=? AND event_id=? ORDER BY id",
                              (source, event_id)).fetchall()
        return [self._record(r) for r in rows]

    def get_event(self, source: str, event_id: str) -> dict | None:
        with self._reading() as db:
            row = db.execute("SELECT source, event_id, type, occurred_at, outcome, reason, received_at, conflicts"
                             " FROM events WHERE source=? AND event_id=?", (source, event_id)).fetchone()
        keys = ("source", "event_id", "type", "occurred_at", "outcome", "reason", "received_at", "conflicts")
        return dict(zip(keys, row)) if row else None

    def counts(self) -> dict[str, int]:
        """Number of deliveries per status."""
        with self._reading() as db:
            return dict(db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""
        with self._reading() as db:
            db.execute("SELECT 1").fetchone()

    @contextmanager
    def _reading(self):
        try:
            with self._connection() as db:
                yield db
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite: {exc}") from None

    @staticmethod
    def _record(row) -> DeliveryRecord:
        (id_, source, event_id, route, target, attributes, status, attempts, next_at,
         received_at, occurred_at, token, error) = row
        return DeliveryRecord(id_, source, event_id, route, json.loads(target), json.loads(attributes),
                              status, attempts, next_at, received_at, occurred_at, token,
                              json.loads(error) if error else None)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(value)
