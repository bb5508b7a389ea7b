"""Template filters: times, ages and JSON as the console shows them (all output autoescaped)."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Flask


def when(epoch: float | None, short: bool = False) -> str:
    """Epoch seconds as `YYYY-MM-DD HH:MM:SS UTC` (without ` UTC` when short: a column says it)."""
    if epoch is None:
        return "—"
    text = datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M:%S")
    return text if short else text + " UTC"


def age(seconds: float | None) -> str:
    """A duration as `42 s`, `7 min`, `3.5 h` or `2.1 d`."""
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def pretty(value) -> str:
    """Any JSON value, indented; non-ASCII kept as is."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def install_filters(app: Flask) -> None:
    """Make the filters available to the console's templates."""
    app.jinja_env.filters.update(when=when, age=age, pretty=pretty)
