"""Who may use the console, and how a browser proves it: tokens, the session cookie, CSRF.

Two roles: `admin` (BRIDGE_ADMIN_TOKEN: look and act) and `viewer` (BRIDGE_VIEWER_TOKEN:
look only). A browser signs in once with its token and then carries a signed, expiring
session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS); a script sends
`Authorization: Bearer <token>` with every request instead.

The cookie is signed with a key derived from the tokens themselves, so every gunicorn
worker agrees on it without another setting, and changing a token signs everyone out.
Each session holds a random CSRF token that every state-changing form must send back.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

ADMIN, VIEWER = "admin", "viewer"
COOKIE = "bridge_console"
SIGNIN_COOKIE = "bridge_console_signin"  # ties the sign-in form to the browser that loaded it
SIGNIN_FORM_SECONDS = 3600


@dataclass(frozen=True)
class Identity:
    """Who is asking: their role and the CSRF token their forms must carry."""

    role: str
    csrf: str
    via: str  # "session" or "bearer"

    @property
    def can_act(self) -> bool:
        """Whether this identity may change anything (replay, rebuild)."""
        return self.role == ADMIN


class Access:
    """Token checks and cookie signing for one configuration of tokens."""

    def __init__(self, admin_token: str, viewer_token: str, session_seconds: float, clock):
        self.tokens = {ADMIN: admin_token, VIEWER: viewer_token}
        self.session_seconds = session_seconds
        key = hmac.new(admin_token.encode(), b"bridge-console\0" + viewer_token.encode(), hashlib.sha256).digest()
        self._key = key
        signer = _clock_signer(clock)
        self._sessions = URLSafeTimedSerializer(key, salt="bridge-console-session", signer=signer)
        self._signin = URLSafeTimedSerializer(key, salt="bridge-console-signin", signer=signer)

    @property
    def enabled(self) -> bool:
        """The console is off unless an admin token is set."""
        return bool(self.tokens[ADMIN])

    def role_for(self, given: str) -> str | None:
        """The role a token grants, compared in constant time; None for a wrong or empty token."""
        given_bytes = given.strip().encode()
        found = None
        for role, token in self.tokens.items():
            # Compare against every configured token, so timing does not tell which one is close.
            if token and hmac.compare_digest(given_bytes, token.encode()):
                found = found or role
        return found

    def from_bearer(self, header: str) -> Identity | None:
        """The identity an `Authorization: Bearer <token>` header proves, if any."""
        scheme, _, given = header.partition(" ")
        role = self.role_for(given) if scheme.lower() == "bearer" and given.strip() else None
        if role is None:
            return None
        # A script has no session: its CSRF token is fixed per role and shown on every page it reads.
        csrf = hmac.new(self._key, b"bearer-csrf\0" + role.encode(), hashlib.sha256).hexdigest()
        return Identity(role, csrf, "bearer")

    def new_session(self, role: str) -> str:
        """The cookie value of a fresh session for `role`, with its own CSRF token."""
        return self._sessions.dumps({"role": role, "csrf": secrets.token_urlsafe(24)})

    def from_cookie(self, value: str | None) -> Identity | None:
        """The identity a session cookie proves; None when absent, forged or expired."""
        if not value:
            return None
        try:
            data = self._sessions.loads(value, max_age=int(self.session_seconds))
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or data.get("role") not in (ADMIN, VIEWER) or not data.get("csrf"):
            return None
        if not self.tokens[data["role"]]:
            return None  # the viewer token was unset since: its sessions end
        return Identity(data["role"], str(data["csrf"]), "session")

    def signin_nonce(self) -> tuple[str, str]:
        """(cookie value, form value) that a sign-in POST must bring back together."""
        nonce = secrets.token_urlsafe(24)
        return self._signin.dumps(nonce), nonce

    def signin_nonce_ok(self, cookie: str | None, form_value: str | None) -> bool:
        """Whether the sign-in form came from a page this browser loaded (login CSRF)."""
        if not cookie or not form_value:
            return False
        try:
            nonce = self._signin.loads(cookie, max_age=SIGNIN_FORM_SECONDS)
        except BadSignature:
            return False
        return isinstance(nonce, str) and hmac.compare_digest(nonce.encode(), form_value.encode())


def _clock_signer(clock) -> type[TimestampSigner]:
    """A signer that stamps and ages cookies by the bridge's clock (injected in tests)."""
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())
    return ClockSigner


def csrf_ok(identity: Identity, given: str | None) -> bool:
    """Whether a state-changing request carries this identity's CSRF token."""
    return given is not None and given != "" and hmac.compare_digest(identity.csrf.encode(), given.encode())
