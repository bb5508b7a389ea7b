"""The request log behind ``GET /_sandbox/requests``.

Entries never hold an API key: only which auth scheme was used and its result;
configured key strings are redacted wherever else they might appear.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time

LOGGED_HEADERS = ("Idempotency-Key", "User-Agent", "Content-Type")
REDACTED = "[REDACTED]"
_BODY_TEXT_LIMIT = 2000


def redact(value, secrets: tuple[str, ...]):
    """Replace every occurrence of a secret inside strings of a JSON-like value."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, list):
        return [redact(item, secrets) for item in value]
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    return value


def parse_body(raw: bytes):
    """(json_value, None) for a JSON body, (None, text) otherwise, (None, None) if empty."""
    if not raw:
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError):
        return None, raw[:_BODY_TEXT_LIMIT].decode("utf-8", "replace")


class RequestLog:
    """Thread-safe, append-only list of API request entries."""

    def __init__(self, secrets: tuple[str, ...]):
        self._lock = threading.Lock()
        self._entries: list[dict] = []
        self._seq = itertools.count(1)
        self._secrets = tuple(sorted((s for s in secrets if s), key=len, reverse=True))

    def begin(self, *, method: str, path: str, query: str, raw_body: bytes, headers, auth_scheme: str | None,
              timestamp: str) -> dict:
        """Append an entry for a request that is starting; return it for later updates."""
        body, text = parse_body(raw_body)
        entry = {
            "seq": next(self._seq),
            "timestamp": timestamp,
            "received_at": time.time(),  # wall clock with sub-second precision, to measure retry gaps
            "method": method,
            "path": path,
            "query": redact(query, self._secrets),
            "json": redact(body, self._secrets),
            "body_text": redact(text, self._secrets),
            "headers": {name: redact(headers[name], self._secrets) for name in LOGGED_HEADERS if name in headers},
            "auth_scheme": auth_scheme,
            "auth_result": None,
            "status": None,
            "error_code": None,
            "applied": False,
            "fault": None,
            "dropped": False,
        }
        with self._lock:
            self._entries.append(entry)
        return entry

    def update(self, entry: dict, **changes) -> None:
        """Update fields of an entry in place."""
        with self._lock:
            entry.update(changes)

    def entries(self) -> list[dict]:
        """A copy of every entry, oldest first."""
        with self._lock:
            return copy.deepcopy(self._entries)

    def clear(self) -> int:
        """Forget every entry; return how many there were."""
        with self._lock:
            count, self._entries = len(self._entries), []
            return count
