"""API-key authentication: ``Authorization: Bearer <key>`` or ``X-Api-Key: <key>``.

If an Authorization header is present it decides; X-Api-Key is read only
when Authorization is absent. Read-only keys may not write.
"""

from __future__ import annotations

import hmac

from .errors import ApiError

WRITE_METHODS = {"PATCH", "PUT", "DELETE", "POST"}


def auth_scheme(headers) -> str | None:
    """Which scheme a request used: "bearer", "x-api-key", "other" or None (no key)."""
    if "Authorization" in headers:
        value = headers["Authorization"].strip()
        return "bearer" if value[:7].lower() == "bearer " else "other"
    return "x-api-key" if "X-Api-Key" in headers else None


def presented_key(headers) -> str | None:
    """The key a request presents, or None."""
    scheme = auth_scheme(headers)
    if scheme == "bearer":
        return headers["Authorization"].strip()[7:].strip() or None
    if scheme == "x-api-key":
        return headers["X-Api-Key"].strip() or None
    return None


def _known(key: str, keys: tuple[str, ...]) -> bool:
    return any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)


def needs_write(method: str, path: str) -> bool:
    """Whether this API call needs write permission (``_query`` is a read)."""
    return method.upper() in WRITE_METHODS and not path.rstrip("/").endswith("/_query")


class Authenticator:
    """Checks keys against the configured read-write and read-only key sets."""

    def __init__(self, api_keys: tuple[str, ...], read_only_keys: tuple[str, ...]):
        self.api_keys = tuple(api_keys)
        self.read_only_keys = tuple(read_only_keys)

    def secrets(self) -> tuple[str, ...]:
        """Every configured key (for redaction)."""
        return self.api_keys + self.read_only_keys

    def check(self, headers, method: str, path: str) -> str:
        """Return "write" or "read" for a permitted request; raise 401/403 otherwise."""
        key = presented_key(headers)
        if key is None:
            raise ApiError("unauthorized", "missing API key: send 'Authorization: Bearer <api-key>'")
        if _known(key, self.api_keys):
            return "write"
        if not _known(key, self.read_only_keys):
            raise ApiError("unauthorized", "invalid API key")
        if needs_write(method, path):
            raise ApiError("forbidden", "API key lacks permission: Opportunities: Write")
        return "read"
