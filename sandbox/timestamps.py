"""ISO-8601 timestamp parsing and the sandbox's canonical UTC rendering."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, UTC

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?"
    r"(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<oh>\d{2}):(?P<om>\d{2}))$"
)


def parse_timestamp(text: object) -> datetime | None:
    """Parse a full ISO-8601 date-time with Z or +HH:MM offset; None if invalid.

    Fractional seconds are truncated; the result is an aware UTC datetime.
    """
    if not isinstance(text, str):
        return None
    match = _ISO.match(text.strip())
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
        naive = datetime(year, month, day, hour, minute, second)
        offset = _offset(match)
        return (naive - offset).replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _offset(match: re.Match) -> timedelta:
    if match.group("z"):
        return timedelta(0)
    hours, minutes = int(match.group("oh")), int(match.group("om"))
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return delta if match.group("sign") == "+" else -delta


def format_timestamp(moment: datetime) -> str:
    """Render an aware (or UTC-naive) datetime as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z")


def normalize_timestamp(text: object) -> str | None:
    """Parse and re-render a timestamp in canonical form; None if invalid."""
    parsed = parse_timestamp(text)
    return None if parsed is None else format_timestamp(parsed)


def utc_now() -> datetime:
    """The real current time, aware UTC (the default clock)."""
    return datetime.now(UTC)
