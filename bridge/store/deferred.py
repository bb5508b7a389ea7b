"""A store that may be opened later: a process boots while its store is down.

A gunicorn worker that cannot reach Redis (or whose SQLite file is busy) must still
boot — otherwise gunicorn sees "worker failed to boot" and the master exits, taking
the whole bridge down over a blip. `open_store_later` tries once; if the store does not
answer it returns a `DeferredStore`, whose every call tries again (at most once per
`retry_seconds`) and raises StoreUnavailable until the store answers — which callers
already turn into 503 with Retry-After, "not ready", or a delivery that waits.
"""
from __future__ import annotations

import threading
import time

from bridge.store import StoreUnavailable, open_store


class DeferredStore:
    """Stands in for the store until it can be opened, then passes every call through."""

    def __init__(self, opener, first_error: str, retry_seconds: float = 1.0, clock=time.monotonic):
        self._opener = opener
        self._store = None
        self.error = first_error
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._next_try = clock() + retry_seconds
        self._lock = threading.Lock()

    def _opened(self):
        store = self._store
        if store is not None:
            return store
        with self._lock:
            if self._store is None:
                if self._clock() < self._next_try:
                    raise StoreUnavailable(self.error)
                try:
                    self._store = self._opener()
                except StoreUnavailable as exc:
                    self.error, self._next_try = str(exc), self._clock() + self._retry_seconds
                    raise
            return self._store

    def __getattr__(self, name: str):
        return getattr(self._opened(), name)

    def close(self) -> None:
        """Close the store if it was ever opened."""
        if self._store is not None:
            self._store.close()


def open_store_later(url: str, *, redis_prefix: str, migrate: bool = True, retry_seconds: float = 1.0):
    """The store, opened now if it answers, else a DeferredStore that keeps trying.

    `migrate=False` under gunicorn, whose master migrated before forking. StoreConfigError,
    a URL that can never work, is raised at once.
    """
    def opener():
        return open_store(url, redis_prefix=redis_prefix, migrate=migrate)
    try:
        return opener()
    except StoreUnavailable as exc:
        return DeferredStore(opener, str(exc), retry_seconds)
