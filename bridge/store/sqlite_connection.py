"""SQLite connections for SQLiteStore: per-thread readers, the group-committed writer, transactions.

Every SQLite failure surfaces as StoreUnavailable, and the failed connection is dropped so
the next call starts afresh (a replaced or repaired file is seen anew).
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager

from bridge.store import StoreUnavailable
from bridge.store.group_commit import BatchFailed, GroupCommit
from bridge.store.sqlite_pace import MemoryPace, SQLitePace
from bridge.store.sqlite_schema import migrate


class SQLiteConnections:
    """Opens (and migrates) one SQLite file; the store's operations run on what this hands out."""
    def __init__(self, path: str, timeout: float = 5.0, run_migrations: bool = True):
        self.path = path
        self.timeout = timeout  # seconds a writer waits for another one's lock before giving up
        self._local = threading.local()
        self._wal_inode: int | None = None  # the WAL file whose folder entry is known to be on disk
        # Writes of this process's threads share fsyncs (file stores; memory has no disk to wait for).
        self._group = (GroupCommit(self._connect_writer, f"{path}-writer.lock", timeout, sync=self._sync_wal)
                       if path != ":memory:" else None)
        self._pace = SQLitePace(path, timeout) if path != ":memory:" else MemoryPace()
        try:
            if path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            if run_migrations:  # gunicorn's master migrates once; its workers need no write lock to boot
                with self._transaction() as db:
                    migrate(db)
        except OSError as exc:
            raise StoreUnavailable(f"cannot open SQLite store {path}: {exc}") from None

    # ---- connections ----------------------------------------------------------------
    def _connect(self, synchronous: str = "FULL") -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        return db

    def _connect_writer(self) -> sqlite3.Connection:
        """The group's connection: its COMMITs hand the WAL to the OS, `_sync_wal` then makes it durable.

        NORMAL still syncs the WAL before each checkpoint and the database after it, and the
        WAL header when the log is reused, so the file stays consistent (sqlite.org/pragma.html).
        """
        self._wal_inode = None  # while it is closed, the WAL may have been removed and made anew
        return self._connect("NORMAL")

    def _sync_wal(self) -> None:
        """fsync the write-ahead log (and, once per WAL file, its folder, which holds its name)."""
        fd = os.open(f"{self.path}-wal", os.O_RDONLY)
        try:
            os.fsync(fd)
            inode = os.fstat(fd).st_ino
        finally:
            os.close(fd)
        if inode != self._wal_inode:
            folder = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
            self._wal_inode = inode

    @contextmanager
    def _connection(self):
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = self._local.db = self._connect()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"SQLite: {exc}") from None
        yield db

    def _discard(self) -> None:
        """Drop this thread's connection after a failure, so the next call starts afresh."""
        self.close()

    @contextmanager
    def _transaction(self):
        """BEGIN IMMEDIATE … COMMIT; any SQLite failure becomes StoreUnavailable, nothing half-written."""
        if self._group is not None:
            with self._group_transaction() as db:
                yield db
            return
        with self._connection() as db:
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback_quietly(db)
                self._discard()  # the next call reconnects: a file that was replaced or repaired is seen afresh
                raise StoreUnavailable(f"SQLite: {exc}") from None
            except BaseException:
                self._rollback_quietly(db)
                raise

    @contextmanager
    def _write_connection(self):
        """The connection writes go through (the group's, for file stores)."""
        if self._group is None:
            with self._connection() as db:
                yield db
        else:
            with self._group.connection() as db:
                yield db

    @contextmanager
    def _group_transaction(self):
        """The same promise through group commit: returns once a COMMIT covering this work succeeded."""
        assert self._group is not None, "only file stores write through a group"
        try:
            with self._group.transaction() as db:
                yield db
        except (BatchFailed, sqlite3.Error) as exc:
            raise StoreUnavailable(f"SQLite: {exc}") from None

    def _rollback_quietly(self, db) -> None:
        """Undo what the failed transaction wrote (SQLite may have rolled back already, e.g. on a full disk)."""
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is discarded next; closing it rolls back what is left

    @contextmanager
    def _reading(self):
        try:
            with self._connection() as db:
                yield db
        except sqlite3.Error as exc:
            self._discard()
            raise StoreUnavailable(f"SQLite: {exc}") from None


    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""
        with self._reading() as db:
            db.execute("SELECT 1").fetchone()

    # ---- the shared pace ----------------------------------------------------------------
    def update_pace(self, transition):
        """Replace the pace state by `transition(state)[0]` atomically (see sqlite_pace.py); return `[1]`."""
        return self._pace.update(transition)

    def read_pace(self) -> dict | None:
        """The shared pace state (None before the first update)."""
        return self._pace.read()

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends) and the write connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        if self._group is not None:
            self._group.close()
        self._pace.close()
