"""Schemes that sign the body alone with an HMAC, and the configurable `hmac` scheme.

GitHub, Shopify, DocuSign and PandaDoc sign exactly the body with no timestamp;
`hmac` lets a mapping describe any other sender (header, prefix, algorithm,
encoding, and a template of what is signed, optionally with a timestamp). Each
verifier sits with its signer.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from bridge.signatures.core import (SignatureError, SignatureReason, SignedRequest, _check_window, _decode,
                                    _encode, _hmac, _require_any, _required, _utf8, _with_headers, _with_query,
                                    _without_prefix)


# ---- body-only HMACs: GitHub, Shopify, DocuSign, PandaDoc ---------------------------

def verify_github(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body; no timestamp."""
    value = _without_prefix(_required(request, "X-Hub-Signature-256"), "sha256=", "X-Hub-Signature-256")
    candidate = _decode(value, "hex", "X-Hub-Signature-256")
    _require_any((_hmac(key, request.body) for key in _utf8(secrets)), [candidate])


def _sign_github(request, secret, now, options):
    return _with_headers(request, **{"X-Hub-Signature-256": "sha256=" + _hmac(secret.encode(), request.body).hex()})


def _sign_body(header: str, encoding: str):
    """The signer of a scheme that sends the body's HMAC-SHA256 alone in `header` (Shopify, DocuSign)."""
    def sign(request, secret, now, options):
        return _with_headers(request, **{header: _encode(_hmac(secret.encode(), request.body), encoding)})
    return sign


def verify_shopify(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Shopify: `X-Shopify-Hmac-Sha256: <base64>`, HMAC-SHA256 of the body; no timestamp."""
    candidate = _decode(_required(request, "X-Shopify-Hmac-Sha256"), "base64", "X-Shopify-Hmac-Sha256")
    _require_any((_hmac(key, request.body) for key in _utf8(secrets)), [candidate])


_DOCUSIGN_HEADER = re.compile(r"x-docusign-signature-[0-9]+", re.IGNORECASE)


def verify_docusign(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """DocuSign Connect: `X-DocuSign-Signature-1..N`, base64 HMAC-SHA256 of the body; any may match."""
    values = [(k, v.strip()) for k, v in request.headers.items() if _DOCUSIGN_HEADER.fullmatch(k)]
    if not values:
        raise SignatureError(SignatureReason.MISSING, "missing X-DocuSign-Signature-1 header")
    if not any(v for _, v in values):
        raise SignatureError(SignatureReason.MISSING, "empty X-DocuSign-Signature headers")
    candidates = [_decode(v, "base64", k) for k, v in values if v]
    _require_any((_hmac(key, request.body) for key in _utf8(secrets)), candidates)


def verify_pandadoc(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """PandaDoc: `?signature=<hex>` on the URL, HMAC-SHA256 of the body with the shared key."""
    value = request.query("signature")
    if value is None:
        raise SignatureError(SignatureReason.MISSING, "missing signature query parameter")
    if not value.strip():
        raise SignatureError(SignatureReason.MISSING, "empty signature query parameter")
    candidate = _decode(value.strip(), "hex", "signature query parameter")
    _require_any((_hmac(key, request.body) for key in _utf8(secrets)), [candidate])


def _sign_pandadoc(request, secret, now, options):
    return _with_query(request, "signature", _hmac(secret.encode(), request.body).hex())


# ---- configurable HMAC --------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(body|method|url|timestamp)\}")
ALGORITHMS = ("sha256", "sha512", "sha1")
ENCODINGS = ("hex", "base64")


def _signed_bytes(template: str, request: SignedRequest, stamp: str | None) -> bytes:
    """`"{timestamp}.{body}"` → the bytes the sender signed (the body as raw bytes)."""
    values = {"body": request.body, "method": request.method.upper().encode(), "url": request.url.encode(),
              "timestamp": (stamp or "").encode()}
    parts = _PLACEHOLDER.split(template)  # literal, name, literal, name, …, literal
    return b"".join(values[p] if i % 2 else p.encode() for i, p in enumerate(parts))


def verify_hmac(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """A configurable HMAC: `header`, optional `prefix`, `algorithm`, `encoding`, what is `signed`.

    `signed` is a template over {body} {method} {url} {timestamp} (default "{body}");
    {timestamp} comes from `timestamp_header` (Unix seconds) and is window-checked.
    """
    header = options["header"]
    value = _without_prefix(_required(request, header), options.get("prefix", ""), header)
    candidate = _decode(value, options.get("encoding", "hex"), header)
    stamp = None
    if options.get("timestamp_header"):
        stamp = _required(request, options["timestamp_header"])
        _check_window(stamp, now, options, 300)
    message = _signed_bytes(options.get("signed", "{body}"), request, stamp)
    algorithm = options.get("algorithm", "sha256")
    _require_any((_hmac(key, message, algorithm) for key in _utf8(secrets)), [candidate])


def _sign_hmac(request: SignedRequest, secret: str, now: int, options: Mapping) -> SignedRequest:
    stamp = str(now) if options.get("timestamp_header") else None
    message = _signed_bytes(options.get("signed", "{body}"), request, stamp)
    digest = _hmac(secret.encode(), message, options.get("algorithm", "sha256"))
    headers = {options["header"]: options.get("prefix", "") + _encode(digest, options.get("encoding", "hex"))}
    if stamp:
        headers[options["timestamp_header"]] = stamp
    return _with_headers(request, **headers)
