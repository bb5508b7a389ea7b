"""Shared-secret schemes: the sender proves itself by sending the secret, not a signature.

`basic` (HTTP Basic credentials), `token` (the secret as it is, in a header or a
query parameter) and `none` (explicitly unauthenticated). The secret is compared
as a SHA-256 digest so the comparison is constant-time and leaks no length. Each
verifier sits with its signer.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping

from bridge.signatures.core import (SignatureError, SignatureReason, SignedRequest, _decode, _require_any, _required,
                                    _with_headers, _with_query, _without_prefix)


def _require_secret(value: bytes, secrets, what: str) -> None:
    """Shared secrets compared as SHA-256 digests: constant time, and no length leak."""
    _require_any((hashlib.sha256(s.encode()).digest() for s in secrets), [hashlib.sha256(value).digest()], what)


def verify_basic(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """HTTP Basic (Pipedrive, Chargebee): each secret holds `user:password`."""
    value = _required(request, "Authorization")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise SignatureError(SignatureReason.MALFORMED, "Authorization must be 'Basic <base64 of user:password>'")
    credentials = _decode(encoded.strip(), "base64", "Basic credentials")
    _require_secret(credentials, secrets, "Basic credentials")


def _sign_basic(request, secret, now, options):
    return _with_headers(request, Authorization="Basic " + base64.b64encode(secret.encode()).decode())


def _token_value(request: SignedRequest, options: Mapping) -> str:
    if options.get("query"):
        value = request.query(options["query"])
        where = f"query parameter {options['query']}"
        if value is None:
            raise SignatureError(SignatureReason.MISSING, f"missing {where}")
        if not value:
            raise SignatureError(SignatureReason.MISSING, f"empty {where}")
        return value
    header = options["header"]
    return _without_prefix(_required(request, header), options.get("prefix", ""), header)


def verify_token(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """A shared secret sent as it is, in a header (`header`, optional `prefix`) or `query` parameter."""
    value = _token_value(request, options)
    if not value:
        raise SignatureError(SignatureReason.MISSING, "the token is empty")
    _require_secret(value.encode(), secrets, "token")


def _sign_token(request: SignedRequest, secret: str, now: int, options: Mapping) -> SignedRequest:
    if options.get("query"):
        return _with_query(request, options["query"], secret)
    return _with_headers(request, **{options["header"]: options.get("prefix", "") + secret})


def verify_none(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Explicitly unauthenticated source; the bridge warns about it at every start."""


def _sign_none(request: SignedRequest, secret: str, now: int, options: Mapping) -> SignedRequest:
    return request
