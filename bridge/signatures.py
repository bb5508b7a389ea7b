"""Named webhook verification schemes: pure functions of the request, secrets and clock.

Each verifier takes (request, secrets, now, options) and returns None when the
request is authentic, or raises SignatureError. Secrets are the *values*; the
mapping file only names the environment variables that hold them. Several
secrets may be given (rotation): any one matching is enough. Digests are compared
in constant time, and no secret or signature ever appears in an error message.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Callable, Mapping


class SignatureError(Exception):
    """The request is not authentic. `detail` is safe to log and return."""

    reason = "bad_signature"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class SignedRequest:
    """What a verifier may look at: the raw bytes as received, never re-serialised JSON."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup that works for plain dicts too."""
        value = self.headers.get(name)
        if value is not None:
            return value
        lower = name.lower()
        for key, val in self.headers.items():
            if key.lower() == lower:
                return val
        return None


def _hmac_sha256_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _parse_pairs(header: str, separator: str = ",") -> list[tuple[str, str]]:
    """`t=1,v1=ab,v1=cd` → [("t","1"), ("v1","ab"), ("v1","cd")]; malformed → SignatureError."""
    pairs = []
    for part in header.split(separator):
        key, eq, value = part.strip().partition("=")
        if not eq or not key or not value:
            raise SignatureError("signature header is malformed")
        pairs.append((key, value))
    return pairs


def _check_timestamp(raw: str, now: float, tolerance: float, future_ok: bool) -> int:
    try:
        timestamp = int(raw)
    except ValueError:
        raise SignatureError("signature timestamp is not an integer") from None
    if now - timestamp > tolerance:
        raise SignatureError("signature timestamp is too old")
    if not future_ok and timestamp - now > tolerance:
        raise SignatureError("signature timestamp is in the future")
    return timestamp


def verify_stripe(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Stripe: `Stripe-Signature: t=…,v1=…[,v1=…]`, HMAC-SHA256 hex of `{t}.{body}`.

    The key is the whole `whsec_…` string. Only `v1` counts (`v0` is a test-mode
    decoy). Stripe's own library rejects only old timestamps; we reject both
    directions by default (`allow_future: true` restores Stripe's behaviour).
    """
    header = request.header("Stripe-Signature")
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    pairs = _parse_pairs(header)
    stamps = [v for k, v in pairs if k == "t"]
    candidates = [v for k, v in pairs if k == "v1"]
    if len(stamps) != 1 or not candidates:
        raise SignatureError("Stripe-Signature needs one t= and at least one v1=")
    tolerance = float(options.get("tolerance", 300))
    timestamp = _check_timestamp(stamps[0], now, tolerance, bool(options.get("allow_future")))
    message = str(timestamp).encode() + b"." + request.body
    for secret in secrets:
        expected = _hmac_sha256_hex(secret.encode(), message)
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return
    raise SignatureError("no v1 signature matches a configured secret")


def sign_stripe(body: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` value Stripe would send (for `bridge send` and tests)."""
    message = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={_hmac_sha256_hex(secret.encode(), message)}"


def verify_none(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Explicitly unauthenticated source; the bridge warns about it at every start."""


Verifier = Callable[[SignedRequest, list, float, Mapping], None]

SCHEMES: dict[str, Verifier] = {
    "stripe": verify_stripe,
    "none": verify_none,
}

# How `bridge send` and the tests sign a body for a scheme: (body, secret, now) -> headers.
SIGNERS: dict[str, Callable[[bytes, str, int], dict]] = {
    "stripe": lambda body, secret, now: {"Stripe-Signature": sign_stripe(body, secret, now)},
    "none": lambda body, secret, now: {},
}
