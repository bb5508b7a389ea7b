"""Memory backend: for tests and trials. Nothing survives the process.

It is the SQLite backend on an in-memory database, so both share one tested
implementation of the model; one connection, guarded by a lock, serves all
threads. It serves one process only: records in one process are invisible to any other.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager

from bridge.store.sqlite import SQLiteStore


class MemoryStore(SQLiteStore):
    """In-process store; `pid` is the process that owns it."""

    def __init__(self):
        self._lock = threading.RLock()
        self._db = None
        self.pid = os.getpid()
        super().__init__(":memory:")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)

    @contextmanager
    def _connection(self):
        with self._lock:
            if self._db is None:
                self._db = self._connect()
            yield self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
