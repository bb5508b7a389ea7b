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

This package's root is the public surface: the `Scheme` registry (`REGISTRY`,
`SCHEMES`, `SIGNERS`), `option_problems` and `sign_request`, and a re-export of
every verifier. The rest is split by concern: `core` (request, error, shared
helpers), `timestamped` (Stripe, Calendly, Paddle, Standard Webhooks/Svix),
`hubspot`, `body_hmac` (GitHub, Shopify, DocuSign, PandaDoc, configurable `hmac`),
`shared_secret` (`basic`, `token`, `none`) and `options` (the load-time checks).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable, Mapping

from bridge.signatures.body_hmac import (ALGORITHMS, ENCODINGS, _sign_body, _sign_github, _sign_hmac,
                                         _sign_pandadoc, verify_docusign, verify_github, verify_hmac,
                                         verify_pandadoc, verify_shopify)
from bridge.signatures.core import SignatureError, SignatureReason, SignedRequest, Signer, Verifier
from bridge.signatures.hubspot import _sign_hubspot_v2, _sign_hubspot_v3, verify_hubspot_v2, verify_hubspot_v3
from bridge.signatures.options import (_TIMED, _check_hmac, _check_token, _header_name, _one_of, _query_name,
                                       _signed_template, _text)
from bridge.signatures.shared_secret import (_sign_basic, _sign_none, _sign_token, verify_basic, verify_none,
                                             verify_token)
from bridge.signatures.timestamped import (CALENDLY, PADDLE, STRIPE, PairFormat, _sign_standard, _sign_with,
                                           sign_stripe, verify_calendly, verify_paddle, verify_standard_webhooks,
                                           verify_stripe)

__all__ = [
    "SignatureError", "SignatureReason", "SignedRequest", "Verifier", "Signer", "Scheme", "REGISTRY", "SCHEMES",
    "SIGNERS", "option_problems", "sign_request", "signed_headers", "sign_stripe", "PairFormat", "STRIPE",
    "CALENDLY", "PADDLE",
    "ALGORITHMS", "ENCODINGS", "verify_stripe", "verify_calendly", "verify_paddle", "verify_standard_webhooks",
    "verify_github", "verify_shopify", "verify_docusign", "verify_pandadoc", "verify_hubspot_v3",
    "verify_hubspot_v2", "verify_hmac", "verify_basic", "verify_token", "verify_none",
]


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
    "none": Scheme(verify_none, _sign_none),
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


# Headers whose values a scheme's signature covers (lower case). Every other header, and
# every header of the schemes not listed, is as trustworthy as the sender's IP address:
# anyone replaying a captured body may set it.
_SIGNED_HEADERS = {
    "standard-webhooks": frozenset({"webhook-id", "webhook-timestamp", "svix-id", "svix-timestamp"}),
    "hubspot-v3": frozenset({"x-hubspot-request-timestamp"}),
}


def signed_headers(scheme: str, options: Mapping) -> frozenset[str]:
    """Lower-cased names of the request headers `scheme` (with these `verify:` options) signs."""
    if scheme == "hmac" and "{timestamp}" in options.get("signed", "{body}") and options.get("timestamp_header"):
        return frozenset({options["timestamp_header"].lower()})
    return _SIGNED_HEADERS.get(scheme, frozenset())


def sign_request(scheme: str, body: bytes, secret: str, now: int, *, url: str, method: str = "POST",
                 headers: Mapping[str, str] | None = None, options: Mapping | None = None) -> SignedRequest:
    """The request a sender using `scheme` would make: headers (and URL) carry the signature."""
    unsigned = SignedRequest(method, url, dict(headers or {}), body)
    return SIGNERS[scheme](unsigned, secret, int(now), options or {})
