"""Memory backend: for tests and trials. Nothing survives the process.

It is the SQLite backend on an in-memory database, so both share one tested
implementation of the model; one connection, guarded by a lock, serves all
threads. It is bounded (`memory://?max_events=N`, default 10000: a full store answers
StoreUnavailable, so senders get 503 and retry, until a purge makes room) and serves
the process that created it only: any other process is refused with a clear error.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager

from bridge.store import StoreConfigError, StoreUnavailable
from bridge.store.sqlite import SQLiteStore

DEFAULT_MAX_EVENTS = 10_000


class MemoryStore(SQLiteStore):
    """In-process store; `pid` is the process that owns it."""

    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS):
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self.pid = os.getpid()
        self.max_events = max_events
        self._events: int | None = None  # events stored, counted on first need
        super().__init__(":memory:")

    def _connect(self, synchronous: str = "OFF") -> sqlite3.Connection:  # nothing to sync in memory
        return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)

    @contextmanager
    def _connection(self):
        if os.getpid() != self.pid:
            raise StoreConfigError(
                f"BRIDGE_STORE_URL=memory:// serves one process only: this store belongs to process {self.pid}, "
                f"not to process {os.getpid()}; use sqlite:///path or redis:// for several processes")
        with self._lock:
            if self._db is None:
                self._db = self._connect()
            yield self._db

    def _discard(self) -> None:
        """Never drop the one connection: it is the data."""

    def _check_room(self, db) -> None:
        """Count events once, then keep the count (one process, one lock); a purge recounts."""
        if self._events is None:
            self._events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        if self._events >= self.max_events:
            raise StoreUnavailable(f"the memory store is full ({self.max_events} events); finished records "
                                   "make room when purged (use sqlite:// or redis:// beyond trials)")
        self._events += 1  # an accept that then fails over-counts by one until the next purge: harmless

    def purge(self, now: float, finished_before: float | None = None, dead: bool = False) -> int:
        """See SQLiteStore.purge; the event count is read afresh afterwards."""
        with self._lock:
            removed = super().purge(now, finished_before, dead)
            self._events = None
            return removed

    def close(self) -> None:
        """Drop everything this store held."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
