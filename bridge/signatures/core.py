"""What every scheme shares: the request and error types, and the building blocks.

`SignedRequest` is what a verifier may look at; `SignatureError` is its only way to
say no, with one of four `SignatureReason`s (missing, malformed, expired, mismatch).
The helpers below read headers, decode signatures, check the timestamp window and
compare digests in constant time against every configured secret, and build the
signed copies of a request (extra headers, extra query parameter) that the signers
return. No secret or signature ever appears in an error message.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class SignatureReason(StrEnum):
    """Why a request is not authentic: the `reason` of its 401 answer, log line and metric.

    They tell an operator where to look: a sender that is not signing (or a misrouted
    one), a proxy or sender mangling the signature, clock skew or replay, a wrong secret.
    """

    MISSING = "signature_missing"  # no signature, token or credentials where the scheme expects them
    MALFORMED = "signature_malformed"  # present but unreadable: format, prefix, encoding, timestamp syntax
    EXPIRED = "signature_expired"  # the signed timestamp is outside the tolerance (too old or too far ahead)
    MISMATCH = "signature_mismatch"  # well-formed and timely, but no configured secret produces it


class SignatureError(Exception):
    """The request is not authentic. `reason` classifies why; `detail` is safe to log and return."""

    def __init__(self, reason: SignatureReason, detail: str):
        super().__init__(detail)
        self.reason = reason
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

    def query(self, name: str) -> str | None:
        """The first value of a query parameter of the URL the sender used, or None."""
        return next((v for k, v in parse_qsl(urlsplit(self.url).query, keep_blank_values=True) if k == name),
                    None)


# ---- shared helpers ---------------------------------------------------------------

def _required(request: SignedRequest, name: str) -> str:
    value = request.header(name)
    if value is None:
        raise SignatureError(SignatureReason.MISSING, f"missing {name} header")
    if not value.strip():
        raise SignatureError(SignatureReason.MISSING, f"empty {name} header")
    return value.strip()


def _without_prefix(value: str, prefix: str, where: str) -> str:
    if not value.startswith(prefix):
        raise SignatureError(SignatureReason.MALFORMED, f"{where} must start with {prefix!r}")
    return value[len(prefix):]


def _decode(text: str, encoding: str, what: str) -> bytes:
    """A hex or base64 signature as bytes; anything else is a SignatureError naming `what`."""
    try:
        raw = bytes.fromhex(text) if encoding == "hex" else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise SignatureError(SignatureReason.MALFORMED, f"{what} is not valid {encoding}") from None
    if not raw:
        raise SignatureError(SignatureReason.MALFORMED, f"{what} is empty")
    return raw


def _encode(digest: bytes, encoding: str) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def _hmac(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key, message, algorithm).digest()


def _utf8(secrets: Iterable[str]) -> list[bytes]:
    return [s.encode() for s in secrets]


def _require_any(expected: Iterable[bytes], candidates: list[bytes], what: str = "signature") -> None:
    """Constant-time: does any expected digest (one per secret) equal any candidate the sender sent?"""
    for digest in expected:
        if any(hmac.compare_digest(digest, candidate) for candidate in candidates):
            return
    raise SignatureError(SignatureReason.MISMATCH, f"no {what} matches a configured secret")


def _parse_pairs(header: str, separator: str = ",") -> list[tuple[str, str]]:
    """`t=1,v1=ab,v1=cd` → [("t","1"), ("v1","ab"), ("v1","cd")]; malformed → SignatureError."""
    pairs = []
    for part in header.split(separator):
        key, eq, value = part.strip().partition("=")
        if not eq or not key or not value:
            raise SignatureError(SignatureReason.MALFORMED, "signature header is malformed")
        pairs.append((key, value))
    return pairs


_DIGITS = re.compile(r"[0-9]{1,20}")


def _check_window(raw: str, now: float, options: Mapping, default: float, per_second: int = 1) -> int:
    """The timestamp as an int, if it is within `tolerance` seconds of now in both directions.

    `allow_future: true` accepts any future timestamp (as Stripe's own library does).
    `per_second` is 1000 for millisecond timestamps.
    """
    if not _DIGITS.fullmatch(raw or ""):
        raise SignatureError(SignatureReason.MALFORMED, "signature timestamp is not an integer")
    stamp = int(raw)
    age = now - stamp / per_second
    tolerance = float(options.get("tolerance", default))
    if age > tolerance:
        raise SignatureError(SignatureReason.EXPIRED, "signature timestamp is too old")
    if -age > tolerance and not options.get("allow_future"):
        raise SignatureError(SignatureReason.EXPIRED, "signature timestamp is in the future")
    return stamp


def _with_headers(request: SignedRequest, **headers: str) -> SignedRequest:
    return replace(request, headers={**dict(request.headers), **headers})


def _with_query(request: SignedRequest, name: str, value: str) -> SignedRequest:
    parts = urlsplit(request.url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name] + [(name, value)]
    return replace(request, url=urlunsplit(parts._replace(query=urlencode(query))))


# The shape of every scheme's verifier and signer (see the package docstring).
Verifier = Callable[[SignedRequest, list, float, Mapping], None]
Signer = Callable[[SignedRequest, str, int, Mapping], SignedRequest]
