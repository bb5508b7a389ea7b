"""Failed console sign-ins, counted per client: after a few, that client waits, longer each time.

A counter-based lockout rather than a sleep: a locked-out client gets 429 with Retry-After
at once and its token is not even checked, so guessing stays slow without holding a
request thread. The table is per process and bounded: when full, the client quiet the
longest is forgotten first.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

FREE_FAILURES = 5  # wrong tokens a client may send before it has to wait
FIRST_WAIT = 2.0  # seconds, doubled with each further failure
MAX_WAIT = 300.0
FORGET_AFTER = 3600.0  # a client quiet this long starts afresh
MAX_CLIENTS = 10_000


@dataclass
class _Client:
    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


class SignInThrottle:
    """Counts failed sign-ins per client key (its address) with an injected clock."""

    def __init__(self, clock):
        self.clock = clock
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._lock = threading.Lock()

    def wait_for(self, client: str) -> float:
        """Seconds this client must still wait before a sign-in is checked (0: go ahead)."""
        now = self.clock()
        with self._lock:
            entry = self._current(client, now)
            return max(0.0, entry.locked_until - now) if entry else 0.0

    def failed(self, client: str) -> float:
        """Count a wrong token; the wait it earns (0 while it still has free tries)."""
        now = self.clock()
        with self._lock:
            entry = self._current(client, now) or _Client()
            entry.failures += 1
            entry.last_failure = now
            wait = 0.0
            if entry.failures > FREE_FAILURES:
                wait = min(MAX_WAIT, FIRST_WAIT * 2 ** (entry.failures - FREE_FAILURES - 1))
                entry.locked_until = now + wait
            self._clients[client] = entry
            self._clients.move_to_end(client)
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
            return wait

    def succeeded(self, client: str) -> None:
        """A right token clears the client's count."""
        with self._lock:
            self._clients.pop(client, None)

    def _current(self, client: str, now: float) -> _Client | None:
        entry = self._clients.get(client)
        if entry is not None and now - entry.last_failure > FORGET_AFTER and entry.locked_until <= now:
            del self._clients[client]
            return None
        return entry
