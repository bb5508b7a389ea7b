"""Group commit on a real SQLite file: batches share COMMITs, and nobody returns before the WAL fsync.

The fsync is the `sync` the GroupCommit is given (the store gives it an fsync of the
WAL file); here it is a function that records its calls and can be held or made to
fail, so the tests can see what a caller may and may not do while the disk is busy.
"""
import sqlite3
import threading

import pytest

from bridge.store import open_store
from bridge.store.group_commit import BatchFailed, GroupCommit

DEADLINE = 10  # seconds any step may take before the test fails instead of hanging


class Sync:
    """A `sync` that counts its calls, can be held until released, and can be told to fail once."""

    def __init__(self):
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail_next: OSError | None = None

    def hold(self):
        self.entered.clear()
        self.release.clear()

    def __call__(self):
        self.calls += 1
        self.entered.set()
        assert self.release.wait(DEADLINE)
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error


@pytest.fixture
def group(tmp_path):
    path = tmp_path / "g.db"

    def connect():
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    setup = connect()
    setup.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    setup.close()
    sync = Sync()
    commit = GroupCommit(connect, str(tmp_path / "g.db-writer.lock"), timeout=2, sync=sync)
    reader = connect()
    rows = lambda: {n for (n,) in reader.execute("SELECT n FROM t")}  # noqa: E731
    yield commit, sync, rows
    reader.close()
    commit.close()


def insert_in_thread(commit, n: int) -> tuple[threading.Thread, dict]:
    """A thread inserting row `n` in a transaction; `outcome` says when it returned, and how."""
    outcome = {}

    def run():
        try:
            with commit.transaction() as db:
                db.execute("INSERT INTO t (n) VALUES (?)", (n,))
            outcome["returned"] = True
        except BatchFailed as exc:
            outcome["failed"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_writer_returns_only_after_the_sync_that_follows_its_commit(group):
    commit, sync, rows = group
    sync.hold()
    thread, outcome = insert_in_thread(commit, 1)
    assert sync.entered.wait(DEADLINE)
    assert rows() == {1}          # committed: other connections see it
    assert outcome == {}          # but not acknowledged while the fsync runs
    sync.release.set()
    thread.join(DEADLINE)
    assert outcome == {"returned": True} and sync.calls == 1


def gathered(commit, count: int) -> None:
    """Wait (with a deadline) until `count` writers are waiting for the running fsync to end."""
    tick = threading.Event()
    for _ in range(DEADLINE * 1000):
        if commit._arriving == count and not commit._open_batch:
            return
        tick.wait(0.001)
    raise AssertionError(f"{count} writers never gathered")


def test_writers_arriving_during_a_sync_share_the_next_commit_and_sync(group):
    commit, sync, rows = group
    sync.hold()
    blocker, blocker_outcome = insert_in_thread(commit, 0)
    assert sync.entered.wait(DEADLINE)
    threads = [insert_in_thread(commit, n) for n in range(1, 9)]
    gathered(commit, 8)  # all eight wait, holding no lock, while the disk is busy
    assert rows() == {0} and all(outcome == {} for _, outcome in threads)
    sync.release.set()
    for thread, _ in [(blocker, None), *threads]:
        thread.join(DEADLINE)
    assert blocker_outcome == {"returned": True}
    assert all(outcome == {"returned": True} for _, outcome in threads)
    assert rows() == set(range(0, 9))
    assert (commit._batches, sync.calls) == (2, 2)  # the blocker's batch, then one for the other eight


def test_a_sync_that_raises_something_else_fails_its_writer_and_frees_the_next(group):
    commit, sync, rows = group
    sync.fail_next = RuntimeError("a bug, not a disk error")
    with pytest.raises(RuntimeError), commit.transaction() as db:
        db.execute("INSERT INTO t (n) VALUES (1)")
    with commit.transaction() as db:  # not stuck behind a sync that never said it ended
        db.execute("INSERT INTO t (n) VALUES (2)")
    assert rows() == {1, 2} and sync.calls == 2


def test_a_failed_sync_fails_its_writers_even_after_a_later_sync_succeeds(group):
    commit, sync, rows = group
    sync.hold()
    sync.fail_next = OSError(5, "Input/output error")
    thread, outcome = insert_in_thread(commit, 1)
    assert sync.entered.wait(DEADLINE)
    sync.release.set()
    thread.join(DEADLINE)
    assert isinstance(outcome["failed"], BatchFailed) and "fsync" in str(outcome["failed"])
    with commit.transaction() as db:  # the store goes on; the next writer's fsync succeeds
        db.execute("INSERT INTO t (n) VALUES (2)")
    assert sync.calls == 2 and rows() == {1, 2}


def test_a_transaction_that_wrote_nothing_needs_no_sync(group):
    commit, sync, _ = group
    with commit.transaction() as db:
        db.execute("SELECT count(*) FROM t").fetchone()
    assert sync.calls == 0


def test_a_failed_writer_leaves_the_others_of_its_batch_alone(group):
    commit, sync, rows = group
    with pytest.raises(sqlite3.IntegrityError), commit.transaction() as db:
        db.execute("INSERT INTO t (n) VALUES (1)")
        db.execute("INSERT INTO t (n) VALUES (1)")
    with commit.transaction() as db:
        db.execute("INSERT INTO t (n) VALUES (2)")
    assert rows() == {2}


def test_the_store_fsyncs_the_wal_of_its_own_file(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    with store._write_connection() as db:
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: the fsync follows the COMMIT
    store._sync_wal()  # the real fsync of s.db-wal and, the first time, of its folder
    assert store._wal_inode == (tmp_path / "s.db-wal").stat().st_ino
    store.close()
