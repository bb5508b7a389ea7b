"""JSON from outside the bridge, parsed within bounds: depth, number size, storable text.

Webhook bodies and admin request bodies come from anyone who can reach the port. The
standard parser accepts things the rest of the bridge cannot carry safely: `NaN` and
`Infinity` (not JSON, and they would leave again in a PATCH), numbers that overflow a
float (`1e400` becomes infinity), nesting deep enough to exhaust the stack, and lone
UTF-16 surrogates (`"\\ud800"`, or raw bytes ED A0 80) that cannot be encoded as UTF-8 when
stored. `loads` refuses the first three with a short reason and stores the last safely
(each lone surrogate becomes U+FFFD), so one odd byte never costs the sender its event.
"""
from __future__ import annotations

import json
import math
import re

from bridge.reasons import Rejected

MAX_DEPTH = 64  # real webhooks nest < 15 deep; the parser itself would give up near 1,000
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class UntrustedJSONError(ValueError):
    """The text is not JSON the bridge accepts; `reason` is a short stable code."""

    def __init__(self, reason: Rejected, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise UntrustedJSONError(Rejected.NUMBER_OUT_OF_RANGE, f"the number {text[:40]} is too large")
    return value


def _no_constants(name: str):
    raise UntrustedJSONError(Rejected.MALFORMED_BODY, f"{name} is not JSON")


def loads(data: bytes | str):
    """Parse `data` (bytes in any JSON encoding, or text) or raise UntrustedJSONError."""
    text = _decode(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        value = json.loads(text, parse_float=_finite_float, parse_constant=_no_constants)
    except UntrustedJSONError:
        raise
    except RecursionError:
        raise UntrustedJSONError(Rejected.BODY_TOO_DEEP, f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        if "digits" in str(exc):  # Python's 4,300-digit limit on int()
            raise UntrustedJSONError(Rejected.NUMBER_OUT_OF_RANGE, "an integer has too many digits") from None
        raise UntrustedJSONError(Rejected.MALFORMED_BODY, "the body is not valid JSON") from None
    if text.count("[") + text.count("{") > MAX_DEPTH:  # cheaper than a walk, and usually enough
        _check_depth(value)
    if _SURROGATE_ESCAPE.search(text):
        value = _replace_surrogates(value)
    return value


def _decode(data: bytes) -> str:
    """Text as json.loads would decode it, except that undecodable bytes become U+FFFD."""
    encoding = json.detect_encoding(data)
    text = data.decode(encoding, "replace")
    return text[1:] if text.startswith("\ufeff") else text


def _check_depth(value) -> None:
    """Iterative, so a deep value cannot exhaust the stack here either."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UntrustedJSONError(Rejected.BODY_TOO_DEEP, f"JSON nested deeper than {MAX_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _replace_surrogates(value):
    """A copy with every lone surrogate (in keys and strings) replaced by U+FFFD; depth is already bounded."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def finite(value):
    """`value` with every non-finite float replaced by None (for answers built from older stored data)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    return value
