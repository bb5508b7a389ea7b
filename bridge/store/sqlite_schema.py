"""The SQLite schema and its migrations, applied by the bridge itself (table `schema_version`).

Each version is a list of statements run in one BEGIN IMMEDIATE transaction, so several
processes opening the same file at once migrate it exactly once. Never edit a released
version: add the next one.
"""
from __future__ import annotations

import sqlite3

from bridge.store import StoreConfigError

MIGRATIONS = {
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
    3: """
    ALTER TABLE deliveries ADD COLUMN finish_token TEXT;
    ALTER TABLE deliveries ADD COLUMN history TEXT;
    ALTER TABLE deliveries ADD COLUMN opportunity_id TEXT;
    ALTER TABLE field_times ADD COLUMN recorded_at REAL NOT NULL DEFAULT 0;
    CREATE INDEX deliveries_lease ON deliveries (lease_token) WHERE lease_token IS NOT NULL;
    CREATE INDEX deliveries_finished ON deliveries (status, updated_at);
    CREATE INDEX events_received ON events (received_at);
    CREATE INDEX field_times_recorded ON field_times (recorded_at);
    """,
    4: """
    CREATE INDEX deliveries_pending ON deliveries (next_attempt_at, id)
        WHERE status IN ('queued', 'retrying', 'delivering');
    """,
    # No query reads deliveries_target (the opportunity filter walks the rowid), and its keys
    # are random, so it cost every accepted event a B-tree page of its own in the WAL.
    5: """
    DROP INDEX IF EXISTS deliveries_target;
    """,
    # The operator console (issue 16): duplicates counted per event, a bounded log of each
    # delivery's attempts, and the indexes the event list and the opportunity history read:
    # newest events of one source or one status, and every delivery of one opportunity.
    6: """
    ALTER TABLE events ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE deliveries ADD COLUMN attempt_log TEXT;
    CREATE INDEX events_source_received ON events (source, received_at);
    CREATE INDEX events_outcome_received ON events (outcome, received_at);
    CREATE INDEX deliveries_target_key ON deliveries (target_key);
    CREATE INDEX deliveries_opportunity ON deliveries (opportunity_id) WHERE opportunity_id IS NOT NULL;
    """,
    # Opportunities held after a request whose result is unknown: claims skip them until `until`.
    7: """
    CREATE TABLE target_holds (target_key TEXT PRIMARY KEY, until REAL NOT NULL);
    """,
    # The event list's type filter (the console's most used one after source) reads an index
    # instead of checking events one by one.
    8: """
    CREATE INDEX IF NOT EXISTS events_type_received ON events (type, received_at);
    """,
}
SCHEMA_VERSION = max(MIGRATIONS)


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION inside the caller's transaction."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
    if current > SCHEMA_VERSION:
        raise StoreConfigError(f"the SQLite store has schema version {current}, newer than this bridge "
                               f"knows ({SCHEMA_VERSION}); run the newer bridge or restore a backup")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        # executescript() would COMMIT mid-transaction, so run the statements one by one.
        for statement in filter(str.strip, MIGRATIONS[version].split(";")):
            db.execute(statement)
        db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
