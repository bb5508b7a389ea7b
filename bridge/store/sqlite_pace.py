"""The shared pace state for SQLite stores: one row in a small file beside the database.

It is kept apart (`<db>-pace`, synchronous=OFF) because it changes once per request to
Reevo and nothing in it needs to survive a crash: on its own file it neither waits for the
delivery queue's writers nor costs an fsync. Every process on the host shares it through
SQLite's write lock (BEGIN IMMEDIATE), so each update is atomic. The memory store keeps
the same state in the process (`MemoryPace`).
"""
from __future__ import annotations

import json
import sqlite3
import threading

from bridge.store import StoreUnavailable


class SQLitePace:
    """update/read of the pace state in `<path>-pace`."""

    def __init__(self, path: str, timeout: float):
        self.path = f"{path}-pace"
        self.timeout = timeout
        self._lock = threading.Lock()  # one connection per process, used by one thread at a time
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE IF NOT EXISTS pace (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL)")
            self._db = db
        return self._db

    def update(self, transition):
        """Run `transition` on the stored state under the write lock and store what it returns first."""
        with self._lock:
            try:
                db = self._connection()
                db.execute("BEGIN IMMEDIATE")
                try:
                    row = db.execute("SELECT state FROM pace WHERE id = 1").fetchone()
                    state, result = transition(json.loads(row[0]) if row else None)
                    db.execute("INSERT INTO pace (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE"
                               " SET state = excluded.state", (json.dumps(state),))
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self.close()
                raise StoreUnavailable(f"SQLite pace state {self.path}: {exc}") from None
            return result

    def read(self) -> dict | None:
        """The stored state, or None before the first update."""
        with self._lock:
            try:
                row = self._connection().execute("SELECT state FROM pace WHERE id = 1").fetchone()
            except sqlite3.Error as exc:
                self.close()
                raise StoreUnavailable(f"SQLite pace state {self.path}: {exc}") from None
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        """Close the connection (the next call opens it again)."""
        if self._db is not None:
            self._db.close()
            self._db = None


class MemoryPace:
    """The same state for the memory store: one process, a lock and a dict."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state: dict | None = None

    def update(self, transition):
        """Run `transition` under the lock and keep the new state."""
        with self._lock:
            self._state, result = transition(self._state)
            return result

    def read(self) -> dict | None:
        """The state, or None before the first update."""
        with self._lock:
            return self._state

    def close(self) -> None:
        """Nothing to release."""
