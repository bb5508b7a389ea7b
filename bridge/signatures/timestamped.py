"""Timestamped schemes: the sender signs a timestamp with the body, and we check its window.

The `t=…,v1=…` pair header of Stripe, Calendly and Paddle (one `PairFormat` each),
and Standard Webhooks / Svix (`webhook-id`/`-timestamp`/`-signature`). Each
verifier sits with its signer. HubSpot v3 is timestamped too; it lives in `hubspot`.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from collections.abc import Mapping

from bridge.signatures.core import (SignatureError, SignatureReason, SignedRequest, _check_window, _decode,
                                    _encode, _hmac, _parse_pairs, _require_any, _required, _utf8, _with_headers)


# ---- `t=…,v1=…` schemes: Stripe, Calendly, Paddle -----------------------------------

@dataclass(frozen=True)
class PairFormat:
    """A header of `key=value` pairs: one timestamp, one or more hex HMAC-SHA256 signatures
    of `{timestamp}{joiner}{body}`, keyed with the secret string as it is."""

    header: str
    separator: str
    stamp_key: str
    signature_key: str
    joiner: str
    tolerance: float


STRIPE = PairFormat("Stripe-Signature", ",", "t", "v1", ".", 300)
CALENDLY = PairFormat("Calendly-Webhook-Signature", ",", "t", "v1", ".", 180)
PADDLE = PairFormat("Paddle-Signature", ";", "ts", "h1", ":", 5)


def _verify_pairs(fmt: PairFormat, request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    pairs = _parse_pairs(_required(request, fmt.header), fmt.separator)
    stamps = [v for k, v in pairs if k == fmt.stamp_key]
    signatures = [v for k, v in pairs if k == fmt.signature_key]
    if len(stamps) != 1 or not signatures:
        raise SignatureError(SignatureReason.MALFORMED,
                             f"{fmt.header} needs one {fmt.stamp_key}= and at least one {fmt.signature_key}=")
    stamp = _check_window(stamps[0], now, options, fmt.tolerance)
    candidates = [_decode(s, "hex", f"{fmt.signature_key} signature") for s in signatures]
    message = f"{stamp}{fmt.joiner}".encode() + request.body
    _require_any((_hmac(key, message) for key in _utf8(secrets)), candidates, f"{fmt.signature_key} signature")


def _pair_header(fmt: PairFormat, body: bytes, secret: str, now: int) -> str:
    digest = _hmac(secret.encode(), f"{now}{fmt.joiner}".encode() + body).hex()
    return f"{fmt.stamp_key}={now}{fmt.separator}{fmt.signature_key}={digest}"


def _sign_with(fmt: PairFormat):
    """The signer of a pair-format scheme: adds the header `_pair_header` builds."""
    def sign(request, secret, now, options):
        return _with_headers(request, **{fmt.header: _pair_header(fmt, request.body, secret, now)})
    return sign


def verify_stripe(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Stripe: `Stripe-Signature: t=…,v1=…[,v1=…]`, HMAC-SHA256 hex of `{t}.{body}`.

    The key is the whole `whsec_…` string. Only `v1` counts (`v0` is a test-mode
    decoy). Stripe's own library rejects only old timestamps; we reject both
    directions by default (`allow_future: true` restores Stripe's behaviour).
    """
    _verify_pairs(STRIPE, request, secrets, now, options)


def sign_stripe(body: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` value Stripe would send (for `bridge send` and tests)."""
    return _pair_header(STRIPE, body, secret, timestamp)


def verify_calendly(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Calendly: `Calendly-Webhook-Signature: t=…,v1=…`, HMAC-SHA256 hex of `{t}.{body}`; 180 s."""
    _verify_pairs(CALENDLY, request, secrets, now, options)


def verify_paddle(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Paddle Billing: `Paddle-Signature: ts=…;h1=…`, HMAC-SHA256 hex of `{ts}:{body}`; any h1; 5 s."""
    _verify_pairs(PADDLE, request, secrets, now, options)


# ---- Standard Webhooks / Svix -------------------------------------------------------

def _standard_prefix(request: SignedRequest) -> str:
    """`webhook-*` headers, or Svix's `svix-*` when only those are present."""
    if request.header("webhook-signature") is None and request.header("svix-signature") is not None:
        return "svix"
    return "webhook"


def _standard_keys(secrets) -> list[bytes]:
    """`whsec_` + base64 → the HMAC key, decoded as the official library does."""
    keys = []
    for secret in secrets:
        try:
            keys.append(base64.b64decode(secret.removeprefix("whsec_") + "=="))
        except (ValueError, binascii.Error):
            continue
    if not keys:
        raise SignatureError(SignatureReason.MISMATCH, "no configured secret is whsec_ followed by base64")
    return keys


def _standard_signatures(header: str, where: str) -> list[bytes]:
    entries = []
    for entry in header.split():
        version, comma, value = entry.partition(",")
        if not comma or not version or not value:
            raise SignatureError(SignatureReason.MALFORMED, f"{where} is malformed (expected v1,<base64> entries)")
        if version == "v1":
            entries.append(_decode(value, "base64", f"{where} v1 signature"))
    if not entries:
        raise SignatureError(SignatureReason.MALFORMED, f"{where} has no v1 signature")
    return entries


def verify_standard_webhooks(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Standard Webhooks (and Svix): base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, ±5 min.

    Headers `webhook-id`/`-timestamp`/`-signature` (or `svix-…`); the signature header
    is a space-separated list of `v1,<base64>` (other versions skipped).
    """
    prefix = _standard_prefix(request)
    message_id = _required(request, f"{prefix}-id")
    stamp = _check_window(_required(request, f"{prefix}-timestamp"), now, options, 300)
    candidates = _standard_signatures(_required(request, f"{prefix}-signature"), f"{prefix}-signature")
    message = f"{message_id}.{stamp}.".encode() + request.body
    _require_any((_hmac(key, message) for key in _standard_keys(secrets)), candidates)


def _sign_standard(request: SignedRequest, secret: str, now: int, options: Mapping) -> SignedRequest:
    prefix = "svix" if request.header("svix-id") else "webhook"
    message_id = request.header(f"{prefix}-id") or "msg_" + hashlib.sha256(request.body).hexdigest()[:24]
    digest = _hmac(_standard_keys([secret])[0], f"{message_id}.{now}.".encode() + request.body)
    return _with_headers(request, **{f"{prefix}-id": message_id, f"{prefix}-timestamp": str(now),
                                     f"{prefix}-signature": "v1," + _encode(digest, "base64")})
