"""Group commit for SQLite: many threads' small write transactions share one fsync.

With `synchronous=FULL` every COMMIT waits for the disk while it holds SQLite's write
lock, so writers (threads, and the other gunicorn workers) queue up behind each other's
fsync, and writers in other processes poll for the lock with sleeps of up to 100 ms. Here:

- the threads of one process write through one connection: each runs its work inside a
  SAVEPOINT of the open transaction, and the last of the threads that arrived together
  commits for all of them. If that COMMIT fails, every caller in the batch gets the error
  and nothing of the batch is kept;
- the fsync happens after the COMMIT, outside every lock: the write connection runs
  `synchronous=NORMAL` (the COMMIT only hands the WAL frames to the OS) and `sync` (an
  fsync of the WAL file) makes them durable before any caller of the batch returns, so
  "acknowledged" still means "on disk", while the next batch, of this process or
  another, is already writing. One sync covers every batch committed before it started;
- processes take turns through an advisory file lock (`<db>-writer.lock`), tried every
  0.2 ms up to the store's timeout, instead of SQLite's sleeps of up to 100 ms.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

_JOIN_WAIT = 0.005  # seconds a committer waits, at most, for threads already on their way in
_LOCK_POLL = 0.0002  # seconds between tries for another process's write lock


class BatchFailed(Exception):
    """The COMMIT covering this caller's work failed; `cause` is SQLite's error."""

    def __init__(self, cause: sqlite3.Error):
        super().__init__(str(cause))
        self.cause = cause


class GroupCommit:
    """One write connection per process; `transaction()` is a context manager like BEGIN…COMMIT."""

    def __init__(self, connect, lock_path: str | None = None, timeout: float = 5.0, *, sync):
        self._connect = connect
        self._lock_path = lock_path
        self._sync = sync  # makes committed batches durable (the store's fsync of the WAL)
        self._timeout = timeout  # how long to wait for another process's batch, as SQLite's busy timeout
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Condition()
        self._counting = threading.Lock()  # guards `_arriving`
        self._arriving = 0          # threads that asked for a transaction and have not joined yet
        self._open_batch = 0        # number of the batch whose transaction is open (0: none)
        self._batches = 0           # batches started so far
        self._settled: dict[int, tuple] = {}  # batch → (None or its error, whether it wrote anything)
        self._waiting: dict[int, int] = {}  # batch → callers still to collect its result
        self._committed = 0         # newest batch committed
        self._synced = 0            # newest batch known to be on disk
        self._syncing = False       # a thread is in `sync` now (outside the lock)
        self._syncs_done = 0        # syncs ended so far
        self._changes_at_begin = 0  # the connection's total_changes when the open batch began
        self._sync_failures: list[tuple[int, int, BaseException]] = []  # (first, last batch, error) per failed sync

    @contextmanager
    def transaction(self):
        """Run the caller's writes in the open batch; return once they are committed and on disk."""
        with self._counting:  # not self._lock: a writer holds that while it writes
            self._arriving += 1
        with self._lock:
            self._gather()
            with self._counting:
                self._arriving -= 1
            db = self._begin()
            batch = self._open_batch
            self._waiting[batch] = self._waiting.get(batch, 0) + 1
            db.execute("SAVEPOINT work")
            try:
                yield db
            except BaseException:
                self._undo_own_work(db, batch)
                raise
            db.execute("RELEASE work")
        if self._wait_for_commit(batch):
            self._wait_until_durable(batch)

    def _gather(self) -> None:
        """While this process's fsync runs and no batch is open, wait for that fsync to end.

        Writers that arrive meanwhile then write one batch and share one COMMIT and one
        fsync, instead of each paying for its own; nobody holds the write lock while
        waiting, so the other processes write in the meantime.
        """
        seen = self._syncs_done
        while self._syncing and not self._open_batch and self._syncs_done == seen:
            self._lock.wait()

    def _begin(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._connect()
        if not self._open_batch:
            self._take_file_lock()
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error:
                self._release_file_lock()
                raise
            self._batches += 1
            self._open_batch = self._batches
            self._changes_at_begin = self._db.total_changes
        return self._db

    def _undo_own_work(self, db, batch: int) -> None:
        self._waiting[batch] -= 1
        try:
            db.execute("ROLLBACK TO work")
            db.execute("RELEASE work")
            if not self._waiting[batch]:  # nobody else is in this batch: end it, free the lock
                db.execute("ROLLBACK")
                self._end_batch()
                del self._waiting[batch]
        except sqlite3.Error as exc:  # the whole transaction is gone: fail the batch
            self._fail_open_batch(exc)

    def _wait_for_commit(self, batch: int) -> bool:
        """Wait for (or run) the COMMIT of `batch`; whether the batch wrote anything."""
        with self._lock:
            while batch == self._open_batch and self._arriving:
                self._lock.wait(_JOIN_WAIT)  # let threads already on their way add their work first
            if batch == self._open_batch:
                self._commit()
            error, wrote = self._settled[batch]
            self._waiting[batch] -= 1
            if not self._waiting[batch]:
                del self._waiting[batch], self._settled[batch]
        if error is not None:
            raise BatchFailed(error)
        return wrote

    def _commit(self) -> None:
        batch, db = self._open_batch, self._db
        assert db is not None, "a batch is open, so its connection is"
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail_open_batch(exc)
            return
        wrote = db.total_changes != self._changes_at_begin  # a claim that found nothing needs no fsync
        self._end_batch()
        self._committed = batch
        self._settled[batch] = (None, wrote)
        self._lock.notify_all()

    def _wait_until_durable(self, batch: int) -> None:
        """Return once a sync that started after `batch` committed has succeeded; run it if nobody is."""
        with self._lock:
            while True:
                self._raise_if_sync_failed(batch)
                if self._synced >= batch:
                    return
                if not self._syncing:
                    break
                self._lock.wait()
            self._syncing, through = True, self._committed
        error = None
        try:
            self._sync()  # outside the lock: the next batch gathers writes meanwhile
        except BaseException as exc:  # whatever it was, these batches are not known to be on disk
            error = exc
        with self._lock:
            self._syncing = False
            self._syncs_done += 1
            if error is None:
                self._synced = max(self._synced, through)
            else:  # never acknowledged, even once a later fsync succeeds: that one may not cover them
                self._sync_failures = [*self._sync_failures[-99:], (self._synced + 1, through, error)]
            self._lock.notify_all()
        if error is not None and not isinstance(error, OSError):
            raise error
        self._raise_if_sync_failed(batch)

    def _raise_if_sync_failed(self, batch: int) -> None:
        for first, last, error in self._sync_failures:
            if first <= batch <= last:
                raise BatchFailed(sqlite3.OperationalError(f"fsync of the write-ahead log failed: {error}"))

    def _fail_open_batch(self, exc: sqlite3.Error) -> None:
        """Roll back everything in the open batch and start over with a fresh connection."""
        batch = self._open_batch
        try:
            if self._db is not None:
                self._db.close()  # closing rolls back whatever the failed transaction left
        except sqlite3.Error:
            pass
        self._db = None
        self._end_batch()
        if self._waiting.get(batch):
            self._settled[batch] = (exc, False)
        else:
            self._waiting.pop(batch, None)
        self._lock.notify_all()

    def _end_batch(self) -> None:
        self._open_batch = 0
        self._release_file_lock()

    def _take_file_lock(self) -> None:
        """Wait for the other processes' batch, polling finely (not SQLite's 1…100 ms sleeps), up to the timeout."""
        if self._lock_path is None:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked (another process's write batch)") from None
                time.sleep(_LOCK_POLL)

    def _release_file_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def connection(self):
        """The write connection itself, outside any batch (for settings such as PRAGMAs)."""
        with self._lock:
            if self._db is None:
                self._db = self._connect()
            yield self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None and not self._open_batch:
                self._db.close()
                self._db = None
            if self._lock_fd is not None and not self._open_batch:
                os.close(self._lock_fd)
                self._lock_fd = None
