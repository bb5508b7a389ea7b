"""Logging: one line per state change, JSON or human text, and never a secret in it.

Every record passes through the Scrubber, which removes configured secret values
(webhook secrets, the Reevo API key, the admin token), Authorization values, and
anything shaped like a signature, wherever they appear: message, fields, exception.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from functools import lru_cache

REDACTED = "[REDACTED]"
SENSITIVE_NAMES = ("authorization", "x-api-key", "api_key", "api-key", "token", "secret", "password",
                   "signature", "cookie", "dsn")
# (cheap substrings, one of which must be present, lower-cased; pattern; replacement)
_PATTERNS = [
    (("authorization", "x-api-key", "signature"),
     re.compile(r"(?i)(authorization|x-api-key|[a-z-]*signature[a-z0-9-]*)(['\"]?\s*[:=]\s*['\"]?)"
                r"(?:(?:bearer|basic)\s+)?[^'\",\s}]+"), r"\1\2" + REDACTED),
    (("bearer", "basic"), re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (("whsec_",), re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), "whsec_" + REDACTED),
    (("v0=", "v1=", "h1=", "sha1=", "sha256=", "sha512=", "signature="),
     re.compile(r"(?i)\b(v0|v1|h1|sha1|sha256|sha512|signature)=[A-Za-z0-9+/=_-]{8,}"), r"\1=" + REDACTED),
]


class Scrubber:
    """Removes secrets from text and from nested dicts/lists."""

    def __init__(self, secrets=()):
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets) -> None:
        """Also redact these exact values (ignoring very short ones, which would redact noise).

        Each value is also known in its JSON-escaped form, since log lines are JSON text.
        """
        given = {s for s in secrets if isinstance(s, str) and len(s) >= 6}
        escaped = {json.dumps(s)[1:-1] for s in given}
        self.secrets = sorted(set(self.secrets) | given | escaped, key=len, reverse=True)

    def text(self, value: str) -> str:
        """`value` with every known secret and secret-shaped part replaced by [REDACTED]."""
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        lowered = value.lower()
        for triggers, pattern, replacement in _PATTERNS:
            if any(t in lowered for t in triggers):  # most lines need no regex at all
                value = pattern.sub(replacement, value)
        return value

    def keys(self, value):
        """A copy in which values under sensitive keys are replaced whole (strings left as they are)."""
        return self.data(value, strings=False)

    def data(self, value, depth: int = 0, strings: bool = True):
        """A scrubbed copy of a JSON-like value; values under sensitive keys are replaced whole."""
        if depth > 12:
            return value
        if isinstance(value, str):
            return self.text(value) if strings else value
        if isinstance(value, dict):
            return {k: self._field(k, v, depth, strings) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v, depth + 1, strings) for v in value]
        return value

    def _field(self, key, value, depth: int, strings: bool):
        if _sensitive(key) and value not in (None, ""):
            return REDACTED
        if type(value) in _SCALARS and not (strings and type(value) is str):
            return value  # nothing inside it to scrub (the common case: no call deeper)
        return self.data(value, depth + 1, strings)


_SCALARS = (str, int, float, bool, type(None))  # nothing inside them to walk


@lru_cache(maxsize=4096)  # keys repeat: the same few field and payload names on every line
def _sensitive(key) -> bool:
    lowered = str(key).lower()
    return any(name in lowered for name in SENSITIVE_NAMES)


SCRUBBER = Scrubber()


class JsonFormatter(logging.Formatter):
    """One JSON object per line; fields passed as `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                "logger": record.name, "msg": record.getMessage()}
        fields = getattr(record, "fields", None)
        if fields:
            line.update(SCRUBBER.keys(fields))  # the four keys above are never sensitive
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return SCRUBBER.text(json.dumps(line, default=str))  # one text pass over the line


class TextFormatter(logging.Formatter):
    """`12:00:01 INFO  delivered source=stripe event_id=evt_1 …` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items())
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.getMessage()} {fields}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return SCRUBBER.text(line.rstrip())


_HANDLER: logging.Handler | None = None


def configure_logging(log_format: str = "auto", level: str = "INFO", stream=None) -> None:
    """Set up the `bridge` loggers: `json`, `text`, or `auto` (text on a terminal, else JSON)."""
    global _HANDLER
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "text" if getattr(stream, "isatty", lambda: False)() else "json"
    logger = logging.getLogger("bridge")
    if _HANDLER is not None:
        logger.removeHandler(_HANDLER)
    _HANDLER = logging.StreamHandler(stream)
    _HANDLER.setFormatter(TextFormatter() if log_format == "text" else JsonFormatter())
    logger.addHandler(_HANDLER)
    logger.setLevel(level)
    logger.propagate = False
    # Neither format shows the caller's file and line or the process name, so logging need
    # not walk the stack for them on every line (the logging HOWTO's "Optimization" table;
    # what it saves: `bench/bench_tricks.py logging`, docs/performance.md).
    logging._srcfile = None
    logging.logMultiprocessing = False


def log_state(logger: logging.Logger, message: str, level: int = logging.INFO, **fields) -> None:
    """Log one state change with its fields (source, event_id, route, status, reason, …)."""
    logger.log(level, message, extra={"fields": {k: v for k, v in fields.items() if v is not None}})
