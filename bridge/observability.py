"""Logging: one JSON line per state change, never a secret in it."""
from __future__ import annotations

import json
import logging
import sys
import time

_CONFIGURED = False


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object; fields passed as `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                "logger": record.name, "msg": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the bridge's own loggers (idempotent)."""
    global _CONFIGURED
    if _CONFIGURED:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bridge")
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    _CONFIGURED = True


def log_state(logger: logging.Logger, message: str, level: int = logging.INFO, **fields) -> None:
    """Log one state change with its fields (source, event_id, route, status, reason, …)."""
    logger.log(level, message, extra={"fields": {k: v for k, v in fields.items() if v is not None}})


def monotonic_ms(start: float) -> float:
    """Milliseconds since `start` (a time.monotonic() value)."""
    return round((time.monotonic() - start) * 1000, 2)
