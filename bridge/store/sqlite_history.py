"""A delivery's history in SQLite (and memory): what replay, rebuild and retarget append, and retarget itself.

A mixin of SQLiteStore, apart so the store module stays small.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from bridge.store import DEAD, QUEUED, UNRESOLVED, target_key


class SQLiteRetarget:
    """`retarget` (see bridge.store.interface.Store.retarget) for SQLiteStore."""

    if TYPE_CHECKING:
        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def retarget(self, delivery_id: int, target: dict, now: float) -> bool:
        """Queue a dead delivery that had a target again for `target`, in one transaction; False if it cannot be."""
        with self._transaction() as db:
            row = db.execute("SELECT status, attempts, last_error, history, target, target_key FROM deliveries"
                             " WHERE id=?", (int(delivery_id),)).fetchone()
            if row is None or row[0] != DEAD or row[5] == UNRESOLVED:
                return False
            history = append_history(row[3], now, row[0], row[1], row[2], retarget=(json.loads(row[4]), target))
            db.execute("UPDATE deliveries SET target=?, target_key=?, opportunity_id=NULL, status=?, attempts=0,"
                       " next_attempt_at=?, lease_token=NULL, finish_token=NULL, last_error=NULL, history=?,"
                       " updated_at=? WHERE id=?",
                       (json.dumps(target), target_key(target), QUEUED, now, history, now, int(delivery_id)))
        return True


def append_history(history: str | None, now: float, status: str, attempts: int, error: str | None,
                   rebuilt: bool = False, retarget: tuple[dict, dict] | None = None) -> str:
    """The delivery's replay history with one more entry: what it was before this replay, rebuild or retarget."""
    entries = json.loads(history) if history else []
    entry = {"replayed_at": now, "status": status, "attempts": attempts,
             "last_error": json.loads(error) if error else None}
    if rebuilt:
        entry["rebuilt"] = True
    if retarget:
        entry["retargeted_from"], entry["retargeted_to"] = retarget
    entries.append(entry)
    return json.dumps(entries)
