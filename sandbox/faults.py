"""Scripted faults: a queue of specs, each consumed by matching API requests.

Modes:
- ``respond``: answer ``status``/``headers``/``body`` without handling the request
  (after ``delay``); with no ``status``, only add ``delay`` then handle normally.
- ``apply_then_delay``: handle the request for real, wait ``delay``, then respond
  (with the real response and the fault's ``headers``, or with ``status``/``body`` if given).
- ``drop``: close the TCP connection without any response (after ``delay``);
  ``apply: true`` handles the request first.
- ``down``: for ``seconds`` from when it is queued, answer every matching request with
  ``status`` (default 503) without handling it — an outage; ``count`` does not apply.

A fault matches a request when its optional ``method`` equals the request's and its
optional ``path`` is a prefix of the request path; each match uses one of ``count``.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time

from .errors import FAULT_CODE_BY_STATUS, ApiError, error_body

MODES = ("respond", "apply_then_delay", "drop", "down")
MAX_DELAY_SECONDS = 30
MAX_DOWN_SECONDS = 3600
_SPEC_KEYS = {"count", "status", "headers", "body", "delay", "mode", "method", "path", "apply", "seconds"}


def _bad(message: str) -> ApiError:
    return ApiError("invalid_request", message)


def parse_fault(spec: object) -> dict:
    """Validate a fault spec from ``POST /_sandbox/faults``; return it normalized."""
    if not isinstance(spec, dict):
        raise _bad("a fault is a JSON object")
    if set(spec) - _SPEC_KEYS:
        raise _bad(f"unexpected fault keys {sorted(set(spec) - _SPEC_KEYS)}")
    fault = {
        "count": _int(spec.get("count", 1), "count", 1, 10_000),
        "status": None if spec.get("status") is None else _int(spec["status"], "status", 100, 599),
        "headers": _headers(spec.get("headers", {})),
        "body": spec.get("body"),
        "delay": _delay(spec.get("delay", 0)),
        "mode": spec.get("mode", "respond"),
        "method": _optional_str(spec.get("method"), "method"),
        "path": _optional_str(spec.get("path"), "path"),
        "apply": spec.get("apply", False),
        "seconds": None,
    }
    if fault["mode"] == "down":
        fault["seconds"] = _seconds(spec.get("seconds"))
        fault["status"] = 503 if fault["status"] is None else fault["status"]
    elif "seconds" in spec:
        raise _bad("seconds applies to mode down only")
    _check_consistency(fault)
    fault["method"] = fault["method"].upper() if fault["method"] else None
    return fault


def _int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"{name} must be an integer from {low} to {high}")
    return value


def _delay(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_DELAY_SECONDS:
        raise _bad(f"delay must be a number of seconds from 0 to {MAX_DELAY_SECONDS}")
    return float(value)


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_DOWN_SECONDS:
        raise _bad(f"a down fault needs seconds, a number from 0 (excluded) to {MAX_DOWN_SECONDS}")
    return float(value)


def _headers(value: object) -> dict:
    if not isinstance(value, dict) or not all(isinstance(v, (str, int)) for v in value.values()):
        raise _bad("headers must be an object of string (or integer) values")
    return {str(k): str(v) for k, v in value.items()}


def _optional_str(value: object, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _bad(f"{name} must be a string")
    return value


def _check_consistency(fault: dict) -> None:
    if fault["mode"] not in MODES:
        raise _bad(f"mode must be one of {list(MODES)}")
    if not isinstance(fault["apply"], bool):
        raise _bad("apply must be true or false")
    if fault["path"] is not None and not fault["path"].startswith("/"):
        raise _bad("path is a prefix starting with '/'")
    if fault["mode"] == "respond" and fault["status"] is None and not fault["delay"]:
        raise _bad("a respond fault needs a status, a delay, or both")


def fault_response_body(fault: dict):
    """The body a fault answers with: its own, or the default error for its status."""
    if fault["body"] is not None:
        return fault["body"]
    code = FAULT_CODE_BY_STATUS.get(fault["status"], "sandbox_fault")
    return error_body(code, f"sandbox fault: HTTP {fault['status']}")


class FaultQueue:
    """Thread-safe FIFO of pending faults."""

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._pending: list[dict] = []
        self._ids = itertools.count(1)
        self._clock = clock

    def add(self, fault: dict) -> dict:
        """Queue a parsed fault; return it with its id and remaining count."""
        with self._lock:
            entry = dict(fault, id=next(self._ids), remaining=fault["count"])
            if fault["mode"] == "down":
                entry["until"] = self._clock() + fault["seconds"]
            self._pending.append(entry)
            return copy.deepcopy(entry)

    def take(self, method: str, path: str) -> dict | None:
        """Consume one use of the first fault matching this request, if any (a down fault lasts its time)."""
        with self._lock:
            now = self._clock()
            self._pending = [e for e in self._pending if e["mode"] != "down" or e["until"] > now]
            for entry in self._pending:
                if _matches(entry, method, path):
                    if entry["mode"] == "down":
                        return copy.deepcopy(entry)
                    entry["remaining"] -= 1
                    if entry["remaining"] <= 0:
                        self._pending.remove(entry)
                    return copy.deepcopy(entry)
        return None

    def pending(self) -> list[dict]:
        """A copy of the pending faults."""
        with self._lock:
            return copy.deepcopy(self._pending)

    def clear(self) -> int:
        """Drop every pending fault; return how many there were."""
        with self._lock:
            count, self._pending = len(self._pending), []
            return count


def _matches(entry: dict, method: str, path: str) -> bool:
    if entry["method"] and entry["method"] != method.upper():
        return False
    return not entry["path"] or path.startswith(entry["path"])
