"""Sign a body as each shipped sender would, and post it: shared by the tests of every package.

Stripe and Standard Webhooks are signed by their official libraries, the others by the
bridge's own signers (whose output the known-answer vectors in tests/signatures pin).
"""
from datetime import datetime, UTC

import standardwebhooks
import stripe

from bridge.mapping.loader import load_mapping
from bridge.signatures import sign_request
from helpers import ROOT, SOURCE_SECRETS, STRIPE_SECRET

SECRETS = {**SOURCE_SECRETS, "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET}


def signed_headers(source: str, body: bytes, headers: dict, now: int) -> tuple[str, dict]:
    """(URL, headers) as the sender would post them, signed with the source's test secret.

    Stripe and Standard Webhooks are signed by their official libraries, the others by
    the bridge's own signers (whose output the known-answer vectors pin).
    """
    mapping, problems = load_mapping(ROOT / "mappings" / f"{source}.yaml")
    assert not problems, problems
    secret = SECRETS[mapping.secret_names[0]]
    url = f"http://localhost/webhooks/{source}"
    if mapping.scheme == "stripe":
        return url, {**headers, "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret, now)}
    if mapping.scheme == "standard-webhooks":
        prefix = "svix" if "svix-id" in headers else "webhook"
        signature = standardwebhooks.Webhook(secret).sign(
            headers[f"{prefix}-id"], datetime.fromtimestamp(now, tz=UTC), body.decode())
        return url, {**headers, f"{prefix}-timestamp": str(now), f"{prefix}-signature": signature}
    signed = sign_request(mapping.scheme, body, secret, now, url=url, headers=headers,
                          options=mapping.verify_options)
    return signed.url, dict(signed.headers)


def post_signed(bridge, source: str, body: bytes, headers: dict | None = None):
    """POST `body` signed as the sender would; bytes that are not UTF-8 are signed by the bridge's own signer."""
    try:
        body.decode()
        url, signed = signed_headers(source, body, headers or {}, int(bridge.clock()))
    except UnicodeDecodeError:
        mapping = load_mapping(ROOT / "mappings" / f"{source}.yaml")[0]
        request = sign_request(mapping.scheme, body, SECRETS[mapping.secret_names[0]], int(bridge.clock()),
                               url=f"http://localhost/webhooks/{source}", headers=headers or {},
                               options=mapping.verify_options)
        url, signed = request.url, dict(request.headers)
    return bridge.client.post(url, data=body, headers={"Content-Type": "application/json", **signed})
