"""Named value transforms for mapping files: pure functions, each with examples.

A transform takes the value (never None: missing values skip transforms) and its
arguments, and returns the new value or raises TransformError with a short
message. `EXAMPLES` holds (transform spec, input, expected output) triples; the
tests run every one, and docs/mapping.md quotes them.
"""
from __future__ import annotations

import ast
import re
from datetime import date, datetime, UTC
from decimal import Decimal, InvalidOperation
from typing import Any
from collections.abc import Callable


class TransformError(ValueError):
    """A value cannot be transformed; the message says why, without the value's secrets."""


# Bounds checked before any arithmetic: Decimal("1e999999") is cheap to parse, but turning
# it into an int makes a million digits (seconds of CPU under the GIL).
MAX_DIGITS = 40  # significant digits
MAX_EXPONENT = 20  # magnitude below 10**21 (money in minor units, Unix milliseconds)
MIN_EXPONENT = -30  # smaller non-zero magnitudes are refused, not rounded to zero silently
_MAX_TEXT = 100  # characters of numeric text worth parsing


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TransformError("expected a number, got a boolean")
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, int) and value.bit_length() > 4 * MAX_DIGITS:  # before str(): no huge conversion
            raise TransformError("the number has too many digits")
        return _bounded(Decimal(str(value)), str(value))
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_TEXT:
            raise TransformError(f"{value[:40]!r}… is too long to be a number")
        try:
            return _bounded(Decimal(text), text)
        except InvalidOperation:
            raise TransformError(f"{value[:40]!r} is not a number") from None
    raise TransformError(f"expected a number, got {type(value).__name__}")


def _bounded(number: Decimal, text: str) -> Decimal:
    """`number` if it is finite and within the bounds above; NaN and Infinity never leave the bridge."""
    if not number.is_finite():
        raise TransformError(f"{text[:40]!r} is not a finite number")
    if len(number.as_tuple().digits) > MAX_DIGITS:
        raise TransformError(f"{text[:40]!r} has more than {MAX_DIGITS} significant digits")
    if number and not MIN_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise TransformError(f"{text[:40]!r} is out of range (10^{MIN_EXPONENT} to 10^{MAX_EXPONENT + 1})")
    return number


def _plain(number: Decimal) -> int | float:
    """JSON-friendly: whole numbers as int, others as float (2-decimal money survives)."""
    return int(number) if number == number.to_integral_value() else float(number)


def cents_to_decimal(value):
    """Minor currency units to major: 1999 → 19.99."""
    return _plain(_number(value) / 100)


def to_decimal(value):
    """A number or numeric string as a number: "42.50" → 42.5."""
    return _plain(_number(value))


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is in the year 10000 in UTC
        raise TransformError(f"{moment.isoformat()} is after the year 9999 in UTC") from None


def unix_to_iso8601(value):
    """Unix seconds or milliseconds (told apart by size) to `YYYY-MM-DDTHH:MM:SSZ`."""
    seconds = _number(value)
    if abs(seconds) >= 100_000_000_000:  # later than year 5138 in seconds: it is milliseconds
        seconds = seconds / 1000
    try:
        return _utc_text(datetime.fromtimestamp(float(seconds), tz=UTC))
    except (ValueError, OverflowError, OSError):
        raise TransformError(f"{str(value)[:40]!r} is not a time between the years 1 and 9999") from None


_ISO_Z = re.compile(r"Z$", re.IGNORECASE)


def parse_iso8601(text: str) -> datetime:
    """Parse an ISO-8601 date or date-time; naive values are taken as UTC."""
    try:
        return datetime.fromisoformat(_ISO_Z.sub("+00:00", text.strip()))
    except ValueError:
        raise TransformError(f"{text[:40]!r} is not an ISO-8601 date or time") from None


def iso8601(value):
    """Any ISO-8601 date or date-time to UTC `YYYY-MM-DDTHH:MM:SSZ`."""
    if not isinstance(value, str):
        raise TransformError(f"expected a date string, got {type(value).__name__}")
    return _utc_text(parse_iso8601(value))


def date_only(value):
    """The calendar date (UTC) of an ISO-8601 value or Unix time: `YYYY-MM-DD`."""
    text = value if isinstance(value, str) else unix_to_iso8601(value)
    moment = parse_iso8601(text)
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            raise TransformError(f"{text[:40]!r} is after the year 9999 in UTC") from None
    return date(moment.year, moment.month, moment.day).isoformat()


def _text(value) -> str:
    if not isinstance(value, str):
        raise TransformError(f"expected text, got {type(value).__name__}")
    return value


def to_string(value):
    """Numbers and booleans as text: 42 → "42", True → "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise TransformError(f"cannot turn a {type(value).__name__} into text")
    return str(value)


def to_number(value):
    """Numeric text or a number as a number: "7" → 7, "2.5" → 2.5."""
    return _plain(_number(value))


_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off", ""}


def to_bool(value):
    """true/false, yes/no, on/off, 1/0 (text or number) as a boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower() if isinstance(value, str) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TransformError(f"{str(value)[:40]!r} is not a yes/no value")


def join(value, separator=", "):
    """A list as text: ["a", "b"] → "a, b" (missing items are left out)."""
    if not isinstance(value, list):
        raise TransformError(f"expected a list, got {type(value).__name__}")
    return separator.join(to_string(item) for item in value if item is not None)


def first(value):
    """The first item of a list that is not null; a non-list is returned as it is."""
    if not isinstance(value, list):
        return value
    return next((item for item in value if item is not None), None)


def truncate(value, length):
    """Cut text to at most `length` characters."""
    return _text(value)[: int(length)]


TRANSFORMS: dict[str, Callable] = {
    "cents_to_decimal": cents_to_decimal,
    "to_decimal": to_decimal,
    "unix_to_iso8601": unix_to_iso8601,
    "iso8601": iso8601,
    "date_only": date_only,
    "lower": lambda value: _text(value).lower(),
    "upper": lambda value: _text(value).upper(),
    "strip": lambda value: _text(value).strip(),
    "to_string": to_string,
    "to_number": to_number,
    "to_bool": to_bool,
    "join": join,
    "first": first,
    "truncate": truncate,
}

EXAMPLES: list[tuple[str, Any, Any]] = [
    ("cents_to_decimal", 1999, 19.99),
    ("cents_to_decimal", 1000, 10),
    ("to_decimal", "42.50", 42.5),
    ("unix_to_iso8601", 1680064028, "2023-03-29T04:27:08Z"),
    ("unix_to_iso8601", 1680064028123, "2023-03-29T04:27:08Z"),
    ("iso8601", "2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00Z"),
    ("iso8601", "2024-05-01", "2024-05-01T00:00:00Z"),
    ("date_only", "2024-05-01T23:30:00-02:00", "2024-05-02"),
    ("lower", "Closed Won", "closed won"),
    ("upper", "usd", "USD"),
    ("strip", "  hi  ", "hi"),
    ("to_string", 42, "42"),
    ("to_string", True, "true"),
    ("to_number", "7", 7),
    ("to_number", "2.5", 2.5),
    ("to_bool", "yes", True),
    ("to_bool", 0, False),
    ("join", ["a", "b"], "a, b"),
    ("join(' / ')", ["a", None, "b"], "a / b"),
    ("first", [None, "x", "y"], "x"),
    ("truncate(5)", "abcdefgh", "abcde"),
]

_CALL = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def parse_transform(spec: str) -> tuple[str, tuple]:
    """`"truncate(100)"` → ("truncate", (100,)); raises TransformError if unknown or malformed."""
    match = _CALL.match(spec) if isinstance(spec, str) else None
    if not match:
        raise TransformError(f"transform {spec!r} is not a name or name(args)")
    name, raw_args = match.group(1), match.group(2)
    if name not in TRANSFORMS:
        raise TransformError(f"unknown transform {name!r}; known: {', '.join(sorted(TRANSFORMS))}")
    args: tuple = ()
    if raw_args and raw_args.strip():
        try:
            parsed = ast.literal_eval(f"({raw_args},)")
        except (ValueError, SyntaxError):
            raise TransformError(f"transform {spec!r} has arguments that are not literals") from None
        args = tuple(parsed)
    return name, args


def apply(name: str, args: tuple, value):
    """Run transform `name` on `value` with `args`."""
    try:
        return TRANSFORMS[name](value, *args)
    except TypeError as exc:
        raise TransformError(f"transform {name!r} was given wrong arguments: {exc}") from None
