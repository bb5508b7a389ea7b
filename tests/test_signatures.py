"""Signature schemes: known-answer vectors, cross-checks with official libraries, bad input."""
import pytest
import stripe

from bridge.signatures import SignatureError, SignedRequest, sign_stripe, verify_stripe

SECRET = "whsec_known_answer_vector"
BODY = b'{"id":"evt_test","type":"ping"}'
NOW = 1_700_000_000
# Computed once with stripe-python 16.1's generate_signature_header; pinned so a change shows.
KNOWN_HEADER = "t=1700000000,v1=81abaf8b198aece357cb0cd913541ab7a3689978368e04d738434d1010f25968"


def stripe_request(header, body=BODY):
    headers = {} if header is None else {"stripe-signature": header}
    return SignedRequest("POST", "https://bridge.example/webhooks/stripe", headers, body)


def test_stripe_known_answer():
    assert sign_stripe(BODY, SECRET, NOW) == KNOWN_HEADER
    verify_stripe(stripe_request(KNOWN_HEADER), [SECRET], NOW, {})


def test_stripe_header_from_the_official_library_verifies_here():
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, NOW)
    verify_stripe(stripe_request(header), [SECRET], NOW, {})


def test_our_stripe_header_verifies_with_the_official_library():
    header = sign_stripe(BODY, SECRET, NOW)
    stripe.WebhookSignature.verify_header(BODY, header, SECRET, tolerance=None)


def test_any_v1_and_any_secret_may_match_for_rotation():
    old, new = "whsec_old", "whsec_new"
    header = sign_stripe(BODY, old, NOW) + "," + sign_stripe(BODY, new, NOW).split(",")[1]
    verify_stripe(stripe_request(header), ["whsec_other", new], NOW, {})
    verify_stripe(stripe_request(sign_stripe(BODY, old, NOW)), [new, old], NOW, {})


def _v1(secret=SECRET, ts=NOW, body=BODY):
    return sign_stripe(body, secret, ts).split(",")[1]


BAD_STRIPE = {
    "missing header": None,
    "empty header": "",
    "no timestamp": _v1(),
    "no v1": f"t={NOW},v0=abc",
    "only v0 (test-mode decoy)": f"t={NOW},v0={_v1()[3:]}",
    "wrong prefix": f"t={NOW},sha256={_v1()[3:]}",
    "garbage": "not a signature",
    "non-numeric timestamp": f"t=yesterday,{_v1()}",
    "two timestamps": f"t={NOW},t={NOW},{_v1()}",
    "truncated signature": f"t={NOW},{_v1()[:-4]}",
    "signature for another body": f"t={NOW},{_v1(body=b'{}')}",
    "signature for another timestamp": f"t={NOW},{_v1(ts=NOW - 1)}",
    "expired timestamp": sign_stripe(BODY, SECRET, NOW - 301),
    "future timestamp": sign_stripe(BODY, SECRET, NOW + 301),
    "rotated-out secret": sign_stripe(BODY, "whsec_retired", NOW),
}


@pytest.mark.parametrize("case", BAD_STRIPE)
def test_bad_stripe_signatures_are_rejected(case):
    with pytest.raises(SignatureError) as error:
        verify_stripe(stripe_request(BAD_STRIPE[case]), [SECRET], NOW, {})
    assert error.value.reason == "bad_signature"
    assert SECRET not in error.value.detail


def test_one_flipped_body_byte_is_rejected():
    flipped = bytes([BODY[0] ^ 1]) + BODY[1:]
    with pytest.raises(SignatureError):
        verify_stripe(stripe_request(KNOWN_HEADER, flipped), [SECRET], NOW, {})


def test_tolerance_and_future_are_configurable():
    late = sign_stripe(BODY, SECRET, NOW - 500)
    verify_stripe(stripe_request(late), [SECRET], NOW, {"tolerance": 600})
    future = sign_stripe(BODY, SECRET, NOW + 500)
    verify_stripe(stripe_request(future), [SECRET], NOW, {"allow_future": True})
