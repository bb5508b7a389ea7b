"""HubSpot: v3 (timestamped base64 HMAC over method, URI, body and timestamp) and v2/v1.

v2 and v1 are not HMACs but a SHA-256 of the secret followed by what is signed, with
no timestamp. Each verifier sits with its signer.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from bridge.signatures.core import (SignatureError, SignatureReason, SignedRequest, _check_window, _decode,
                                    _encode, _hmac, _require_any, _required, _utf8, _with_headers)


# HubSpot decodes these escapes in the URI before signing (v3 only).
_HUBSPOT_ESCAPES = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)


def _hubspot_uri(url: str) -> str:
    return _HUBSPOT_ESCAPES.sub(lambda m: chr(int(m.group(1), 16)), url)


def _hubspot_v3_message(request: SignedRequest, stamp: str) -> bytes:
    return (request.method.upper() + _hubspot_uri(request.url)).encode() + request.body + stamp.encode()


def verify_hubspot_v3(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """HubSpot v3: `X-HubSpot-Signature-v3`, base64 HMAC-SHA256 of method + URI + body + timestamp.

    `X-HubSpot-Request-Timestamp` is in milliseconds; 300 s window both ways. The URI
    is the full URL the sender called (see BRIDGE_BEHIND_PROXY).
    """
    candidate = _decode(_required(request, "X-HubSpot-Signature-v3"), "base64", "X-HubSpot-Signature-v3")
    raw_stamp = _required(request, "X-HubSpot-Request-Timestamp")
    _check_window(raw_stamp, now, options, 300, per_second=1000)
    message = _hubspot_v3_message(request, raw_stamp)
    _require_any((_hmac(key, message) for key in _utf8(secrets)), [candidate])


def _sign_hubspot_v3(request, secret, now, options):
    stamp = str(now * 1000)
    digest = _hmac(secret.encode(), _hubspot_v3_message(request, stamp))
    return _with_headers(request, **{"X-HubSpot-Signature-v3": _encode(digest, "base64"),
                                     "X-HubSpot-Request-Timestamp": stamp})


def _hubspot_v2_message(version: str, request: SignedRequest, secret: str) -> bytes:
    if version == "v1":
        return secret.encode() + request.body
    return (secret + request.method.upper() + request.url).encode() + request.body


def verify_hubspot_v2(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """HubSpot v2 (and v1): `X-HubSpot-Signature`, hex SHA-256 (not HMAC); no timestamp.

    `X-HubSpot-Signature-Version: v2` signs secret + method + URL + body; `v1` (which
    CRM object events from the webhooks API carry) signs secret + body.
    """
    version = _required(request, "X-HubSpot-Signature-Version").lower()
    if version not in ("v1", "v2"):
        raise SignatureError(SignatureReason.MALFORMED, "X-HubSpot-Signature-Version must be v1 or v2 for this scheme")
    candidate = _decode(_required(request, "X-HubSpot-Signature"), "hex", "X-HubSpot-Signature")
    expected = (hashlib.sha256(_hubspot_v2_message(version, request, s)).digest() for s in secrets)
    _require_any(expected, [candidate])


def _sign_hubspot_v2(request, secret, now, options):
    digest = hashlib.sha256(_hubspot_v2_message("v2", request, secret)).hexdigest()
    return _with_headers(request, **{"X-HubSpot-Signature": digest, "X-HubSpot-Signature-Version": "v2"})
