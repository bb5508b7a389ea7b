"""Opaque, signed keyset cursors for _query paging.

A cursor holds the sort-key values of the last record returned and a hash of
the query's filters and sort, signed with a per-sandbox secret. Anything else
(edited, foreign, reused with another filter/sort) is ``invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from decimal import Decimal

from .errors import ApiError


def query_hash(filters: object, sort: list) -> str:
    """A stable hash of a query's filters and normalized sort."""
    canonical = json.dumps({"filters": filters, "sort": sort}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pack(value) -> list:
    if isinstance(value, Decimal):
        return ["d", str(value)]
    return ["v", value]


def _unpack(item: list):
    tag, value = item
    return Decimal(value) if tag == "d" else value


class CursorCodec:
    """Encode and verify cursors with one secret."""

    def __init__(self, secret: bytes):
        self._secret = secret

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._secret, payload, hashlib.sha256).digest()[:16])

    def encode(self, qhash: str, key_values: list) -> str:
        """A cursor pointing just after the record with these sort-key values."""
        payload = json.dumps({"v": 1, "q": qhash, "k": [_pack(v) for v in key_values]},
                             separators=(",", ":")).encode()
        return f"{_b64(payload)}.{self._sign(payload)}"

    def decode(self, token: object, qhash: str, key_length: int) -> list:
        """The sort-key values inside a cursor; raise invalid_cursor if it is not valid here."""
        keys = self._verified_keys(token, qhash)
        if keys is None or len(keys) != key_length:
            raise ApiError("invalid_cursor",
                           "cursor is invalid or belongs to another query; restart from page one", "cursor")
        return keys

    def _verified_keys(self, token: object, qhash: str) -> list | None:
        if not isinstance(token, str):
            return None
        try:
            body, signature = token.split(".")
            payload = _unb64(body)
            if not hmac.compare_digest(self._sign(payload), signature):
                return None
            data = json.loads(payload)
            if data.get("q") != qhash:
                return None
            return [_unpack(item) for item in data["k"]]
        except (AttributeError, ValueError, TypeError, KeyError, binascii.Error):
            return None
