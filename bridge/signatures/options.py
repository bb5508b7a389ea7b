"""The load-time checks of a `verify:` block's options, one small check per option.

Each check takes the option's value and returns a problem (text) or None; `_check_hmac`
and `_check_token` cross-check a scheme's options together. The package's
`option_problems` runs them, per the registry, when a mapping is loaded, so a
verifier may trust its options.
"""
from __future__ import annotations

import re
from collections.abc import Mapping


def _positive_seconds(value) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    return None if ok else "must be a positive number of seconds"


def _boolean(value) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _header_name(value) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value)
    return None if ok else "must be an HTTP header name like X-Signature"


def _text(value) -> str | None:
    return None if isinstance(value, str) else "must be text"


def _query_name(value) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a query parameter name"


def _one_of(*choices):
    def check(value) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"
    return check


def _signed_template(value) -> str | None:
    if not isinstance(value, str):
        return "must be text like \"{timestamp}.{body}\""
    unknown = sorted(set(re.findall(r"\{([^{}]*)\}", value)) - {"body", "method", "url", "timestamp"})
    if unknown:
        return f"unknown placeholder(s) {', '.join(unknown)}; use {{body}} {{method}} {{url}} {{timestamp}}"
    if "{body}" not in value:
        return "must include {body}"
    return None


def _check_hmac(options: Mapping) -> list[tuple[str, str]]:
    problems = []
    if "header" not in options:
        problems.append(("header", "is required: the header that carries the signature"))
    uses_stamp = "{timestamp}" in str(options.get("signed", ""))
    if uses_stamp and not options.get("timestamp_header"):
        problems.append(("timestamp_header", "is required when signed uses {timestamp}"))
    if options.get("timestamp_header") and not uses_stamp:
        problems.append(("signed", "must use {timestamp} when timestamp_header is set (an unsigned "
                                   "timestamp proves nothing)"))
    return problems


def _check_token(options: Mapping) -> list[tuple[str, str]]:
    if ("header" in options) == ("query" in options):
        return [("header", "give exactly one of header: X-Name or query: name")]
    if "prefix" in options and "query" in options:
        return [("prefix", "applies to header tokens only")]
    return []


# The options every timestamped scheme takes.
_TIMED = {"tolerance": _positive_seconds, "allow_future": _boolean}
