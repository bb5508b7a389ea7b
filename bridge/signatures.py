"""Named webhook verification schemes: pure functions of the request, secrets and clock.

Each verifier takes (request, secrets, now, options) and returns None when the
request is authentic, or raises SignatureError. Secrets are the *values*; the
mapping file only names the environment variables that hold them. Several
secrets may be given (rotation): any one matching is enough. Digests are compared
in constant time, and no secret or signature ever appears in an error message.
Options are the mapping's `verify:` keys other than `scheme`/`secrets`; they are
checked at load by `option_problems`, so a verifier may trust them.

Each scheme also has a signer, `(request, secret, now, options) -> request`, that
signs a request as the sender would (for `python -m bridge send` and the tests).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


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

    def query(self, name: str) -> str | None:
        """The first value of a query parameter of the URL the sender used, or None."""
        return next((v for k, v in parse_qsl(urlsplit(self.url).query, keep_blank_values=True) if k == name),
                    None)


# ---- shared helpers ---------------------------------------------------------------

def _required(request: SignedRequest, name: str) -> str:
    value = request.header(name)
    if value is None:
        raise SignatureError(f"missing {name} header")
    if not value.strip():
        raise SignatureError(f"empty {name} header")
    return value.strip()


def _without_prefix(value: str, prefix: str, where: str) -> str:
    if not value.startswith(prefix):
        raise SignatureError(f"{where} must start with {prefix!r}")
    return value[len(prefix):]


def _decode(text: str, encoding: str, what: str) -> bytes:
    """A hex or base64 signature as bytes; anything else is a SignatureError naming `what`."""
    try:
        raw = bytes.fromhex(text) if encoding == "hex" else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise SignatureError(f"{what} is not valid {encoding}") from None
    if not raw:
        raise SignatureError(f"{what} is empty")
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
    raise SignatureError(f"no {what} matches a configured secret")


def _parse_pairs(header: str, separator: str = ",") -> list[tuple[str, str]]:
    """`t=1,v1=ab,v1=cd` → [("t","1"), ("v1","ab"), ("v1","cd")]; malformed → SignatureError."""
    pairs = []
    for part in header.split(separator):
        key, eq, value = part.strip().partition("=")
        if not eq or not key or not value:
            raise SignatureError("signature header is malformed")
        pairs.append((key, value))
    return pairs


_DIGITS = re.compile(r"[0-9]{1,20}")


def _check_window(raw: str, now: float, options: Mapping, default: float, per_second: int = 1) -> int:
    """The timestamp as an int, if it is within `tolerance` seconds of now in both directions.

    `allow_future: true` accepts any future timestamp (as Stripe's own library does).
    `per_second` is 1000 for millisecond timestamps.
    """
    if not _DIGITS.fullmatch(raw or ""):
        raise SignatureError("signature timestamp is not an integer")
    stamp = int(raw)
    age = now - stamp / per_second
    tolerance = float(options.get("tolerance", default))
    if age > tolerance:
        raise SignatureError("signature timestamp is too old")
    if -age > tolerance and not options.get("allow_future"):
        raise SignatureError("signature timestamp is in the future")
    return stamp


def _with_headers(request: SignedRequest, **headers: str) -> SignedRequest:
    return replace(request, headers={**dict(request.headers), **headers})


def _with_query(request: SignedRequest, name: str, value: str) -> SignedRequest:
    parts = urlsplit(request.url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name] + [(name, value)]
    return replace(request, url=urlunsplit(parts._replace(query=urlencode(query))))


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
        raise SignatureError(f"{fmt.header} needs one {fmt.stamp_key}= and at least one {fmt.signature_key}=")
    stamp = _check_window(stamps[0], now, options, fmt.tolerance)
    candidates = [_decode(s, "hex", f"{fmt.signature_key} signature") for s in signatures]
    message = f"{stamp}{fmt.joiner}".encode() + request.body
    _require_any((_hmac(key, message) for key in _utf8(secrets)), candidates, f"{fmt.signature_key} signature")


def _pair_header(fmt: PairFormat, body: bytes, secret: str, now: int) -> str:
    digest = _hmac(secret.encode(), f"{now}{fmt.joiner}".encode() + body).hex()
    return f"{fmt.stamp_key}={now}{fmt.separator}{fmt.signature_key}={digest}"


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
        raise SignatureError("no configured secret is whsec_ followed by base64")
    return keys


def _standard_signatures(header: str, where: str) -> list[bytes]:
    entries = []
    for entry in header.split():
        version, comma, value = entry.partition(",")
        if not comma or not version or not value:
            raise SignatureError(f"{where} is malformed (expected v1,<base64> entries)")
        if version == "v1":
            entries.append(_decode(value, "base64", f"{where} v1 signature"))
    if not entries:
        raise SignatureError(f"{where} has no v1 signature")
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


# ---- body-only HMACs: GitHub, Shopify, DocuSign, PandaDoc ---------------------------

def verify_github(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body; no timestamp."""
    value = _without_prefix(_required(request, "X-Hub-Signature-256"), "sha256=", "X-Hub-Signature-256")
    candidate = _decode(value, "hex", "X-Hub-Signature-256")
    _require_any((_hmac(key, request.body) for key in _utf8(secrets)), [candidate])


def verify_shopify(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Shopify: `X-Shopify-Hmac-Sha256: <base64>`, HMAC-SHA256 of the body; no timestamp."""
    candidate = _decode(_required(request, "X-Shopify-Hmac-Sha256"), "base64", "X-Shopify-Hmac-Sha256")
    _require_any((_hmac(key, request.body) for key in _utf8(secrets)), [candidate])


_DOCUSIGN_HEADER = re.compile(r"x-docusign-signature-[0-9]+", re.IGNORECASE)


def verify_docusign(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """DocuSign Connect: `X-DocuSign-Signature-1..N`, base64 HMAC-SHA256 of the body; any may match."""
    values = [(k, v.strip()) for k, v in request.headers.items() if _DOCUSIGN_HEADER.fullmatch(k)]
    if not values:
        raise SignatureError("missing X-DocuSign-Signature-1 header")
    if not any(v for _, v in values):
        raise SignatureError("empty X-DocuSign-Signature headers")
    candidates = [_decode(v, "base64", k) for k, v in values if v]
    _require_any((_hmac(key, request.body) for key in _utf8(secrets)), candidates)


def verify_pandadoc(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """PandaDoc: `?signature=<hex>` on the URL, HMAC-SHA256 of the body with the shared key."""
    value = request.query("signature")
    if value is None:
        raise SignatureError("missing signature query parameter")
    if not value.strip():
        raise SignatureError("empty signature query parameter")
    candidate = _decode(value.strip(), "hex", "signature query parameter")
    _require_any((_hmac(key, request.body) for key in _utf8(secrets)), [candidate])


# ---- HubSpot ------------------------------------------------------------------------

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
        raise SignatureError("X-HubSpot-Signature-Version must be v1 or v2 for this scheme")
    candidate = _decode(_required(request, "X-HubSpot-Signature"), "hex", "X-HubSpot-Signature")
    expected = (hashlib.sha256(_hubspot_v2_message(version, request, s)).digest() for s in secrets)
    _require_any(expected, [candidate])


# ---- configurable HMAC, shared secrets ----------------------------------------------

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


def _require_secret(value: bytes, secrets, what: str) -> None:
    """Shared secrets compared as SHA-256 digests: constant time, and no length leak."""
    _require_any((hashlib.sha256(s.encode()).digest() for s in secrets), [hashlib.sha256(value).digest()], what)


def verify_basic(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """HTTP Basic (Pipedrive, Chargebee): each secret holds `user:password`."""
    value = _required(request, "Authorization")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise SignatureError("Authorization must be 'Basic <base64 of user:password>'")
    credentials = _decode(encoded.strip(), "base64", "Basic credentials")
    _require_secret(credentials, secrets, "Basic credentials")


def _token_value(request: SignedRequest, options: Mapping) -> str:
    if options.get("query"):
        value = request.query(options["query"])
        where = f"query parameter {options['query']}"
        if value is None:
            raise SignatureError(f"missing {where}")
        if not value:
            raise SignatureError(f"empty {where}")
        return value
    header = options["header"]
    return _without_prefix(_required(request, header), options.get("prefix", ""), header)


def verify_token(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """A shared secret sent as it is, in a header (`header`, optional `prefix`) or `query` parameter."""
    value = _token_value(request, options)
    if not value:
        raise SignatureError("the token is empty")
    _require_secret(value.encode(), secrets, "token")


def _sign_token(request: SignedRequest, secret: str, now: int, options: Mapping) -> SignedRequest:
    if options.get("query"):
        return _with_query(request, options["query"], secret)
    return _with_headers(request, **{options["header"]: options.get("prefix", "") + secret})


def verify_none(request: SignedRequest, secrets, now: float, options: Mapping) -> None:
    """Explicitly unauthenticated source; the bridge warns about it at every start."""


# ---- option checks (at load) ----------------------------------------------------------

def _positive_seconds(value) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    return None if ok else "must be a positive number of seconds"


def _boolean(value) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _header_name(value) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value)
    return None if ok else "must be an HTTP header name like X-Signature"


def _text(value) -> str | None:
    return None if isinstance(value, str) else "must be text"


def _query_name(value) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a query parameter name"


def _one_of(*choices):
    def check(value) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"
    return check


def _signed_template(value) -> str | None:
    if not isinstance(value, str):
        return "must be text like \"{timestamp}.{body}\""
    unknown = sorted(set(re.findall(r"\{([^{}]*)\}", value)) - {"body", "method", "url", "timestamp"})
    if unknown:
        return f"unknown placeholder(s) {', '.join(unknown)}; use {{body}} {{method}} {{url}} {{timestamp}}"
    if "{body}" not in value:
        return "must include {body}"
    return None


def _check_hmac(options: Mapping) -> list[tuple[str, str]]:
    problems = []
    if "header" not in options:
        problems.append(("header", "is required: the header that carries the signature"))
    uses_stamp = "{timestamp}" in str(options.get("signed", ""))
    if uses_stamp and not options.get("timestamp_header"):
        problems.append(("timestamp_header", "is required when signed uses {timestamp}"))
    if options.get("timestamp_header") and not uses_stamp:
        problems.append(("signed", "must use {timestamp} when timestamp_header is set (an unsigned "
                                   "timestamp proves nothing)"))
    return problems


def _check_token(options: Mapping) -> list[tuple[str, str]]:
    if ("header" in options) == ("query" in options):
        return [("header", "give exactly one of header: X-Name or query: name")]
    if "prefix" in options and "query" in options:
        return [("prefix", "applies to header tokens only")]
    return []


def _sign_with(fmt: PairFormat):
    def sign(request, secret, now, options):
        return _with_headers(request, **{fmt.header: _pair_header(fmt, request.body, secret, now)})
    return sign


def _sign_body(header: str, encoding: str):
    def sign(request, secret, now, options):
        return _with_headers(request, **{header: _encode(_hmac(secret.encode(), request.body), encoding)})
    return sign


def _sign_github(request, secret, now, options):
    return _with_headers(request, **{"X-Hub-Signature-256": "sha256=" + _hmac(secret.encode(), request.body).hex()})


def _sign_hubspot_v3(request, secret, now, options):
    stamp = str(now * 1000)
    digest = _hmac(secret.encode(), _hubspot_v3_message(request, stamp))
    return _with_headers(request, **{"X-HubSpot-Signature-v3": _encode(digest, "base64"),
                                     "X-HubSpot-Request-Timestamp": stamp})


def _sign_hubspot_v2(request, secret, now, options):
    digest = hashlib.sha256(_hubspot_v2_message("v2", request, secret)).hexdigest()
    return _with_headers(request, **{"X-HubSpot-Signature": digest, "X-HubSpot-Signature-Version": "v2"})


def _sign_pandadoc(request, secret, now, options):
    return _with_query(request, "signature", _hmac(secret.encode(), request.body).hex())


def _sign_basic(request, secret, now, options):
    return _with_headers(request, Authorization="Basic " + base64.b64encode(secret.encode()).decode())


Verifier = Callable[[SignedRequest, list, float, Mapping], None]
Signer = Callable[[SignedRequest, str, int, Mapping], SignedRequest]
_TIMED = {"tolerance": _positive_seconds, "allow_future": _boolean}


@dataclass(frozen=True)
class Scheme:
    """A verification scheme: its verifier, its signer, the options it takes and a cross-check."""

    verify: Verifier
    sign: Signer
    options: dict = field(default_factory=dict)
    check: Callable[[Mapping], list] | None = None


REGISTRY: dict[str, Scheme] = {
    "stripe": Scheme(verify_stripe, _sign_with(STRIPE), _TIMED),
    "standard-webhooks": Scheme(verify_standard_webhooks, _sign_standard, _TIMED),
    "github": Scheme(verify_github, _sign_github),
    "shopify": Scheme(verify_shopify, _sign_body("X-Shopify-Hmac-Sha256", "base64")),
    "hubspot-v3": Scheme(verify_hubspot_v3, _sign_hubspot_v3, _TIMED),
    "hubspot-v2": Scheme(verify_hubspot_v2, _sign_hubspot_v2),
    "paddle": Scheme(verify_paddle, _sign_with(PADDLE), _TIMED),
    "calendly": Scheme(verify_calendly, _sign_with(CALENDLY), _TIMED),
    "docusign": Scheme(verify_docusign, _sign_body("X-DocuSign-Signature-1", "base64")),
    "pandadoc": Scheme(verify_pandadoc, _sign_pandadoc),
    "hmac": Scheme(verify_hmac, _sign_hmac, {
        "header": _header_name, "prefix": _text, "algorithm": _one_of(*ALGORITHMS),
        "encoding": _one_of(*ENCODINGS), "signed": _signed_template, "timestamp_header": _header_name,
        **_TIMED}, _check_hmac),
    "basic": Scheme(verify_basic, _sign_basic),
    "token": Scheme(verify_token, _sign_token, {"header": _header_name, "query": _query_name, "prefix": _text},
                    _check_token),
    "none": Scheme(verify_none, lambda request, secret, now, options: request),
}

SCHEMES: dict[str, Verifier] = {name: scheme.verify for name, scheme in REGISTRY.items()}
SIGNERS: dict[str, Signer] = {name: scheme.sign for name, scheme in REGISTRY.items()}


def option_problems(scheme: str, options: Mapping) -> list[tuple[str, str]]:
    """[(option, problem)] for a `verify:` block's options; empty when the scheme can use them."""
    known = REGISTRY[scheme].options
    problems = []
    for name, value in options.items():
        if name not in known:
            allowed = ", ".join(sorted(known)) or "none"
            problems.append((name, f"is not an option of scheme {scheme!r} (options: {allowed})"))
            continue
        problem = known[name](value)
        if problem:
            problems.append((name, problem))
    check = REGISTRY[scheme].check
    return problems + (check(options) if check else [])


def sign_request(scheme: str, body: bytes, secret: str, now: int, *, url: str, method: str = "POST",
                 headers: Mapping[str, str] | None = None, options: Mapping | None = None) -> SignedRequest:
    """The request a sender using `scheme` would make: headers (and URL) carry the signature."""
    unsigned = SignedRequest(method, url, dict(headers or {}), body)
    return SIGNERS[scheme](unsigned, secret, int(now), options or {})
