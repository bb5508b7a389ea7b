"""Issue 12: every odd input a sender can produce ends as a 2xx (stored) or a 4xx with a reason.

A table of the reproduced 5xx cases, each posted with a valid signature through the real
accept path (Flask test client, SQLite store): bounded numbers, depth, text that is not
UTF-8, times outside datetime's range, and futures the stale guard must not believe.
"""
import json
import logging
from datetime import datetime, UTC

import pytest

from bridge import untrusted_json
from bridge.mapping import transforms
from bridge.mapping.model import CLOCK_SKEW_SECONDS, normalise_time, trusted_time
from helpers import FIXTURES
from signing import post_signed

SHOPIFY_ORDER = json.loads((FIXTURES / "shopify/order-paid/payload.json").read_text())
SHOPIFY_HEADERS = json.loads((FIXTURES / "shopify/order-paid/headers.json").read_text())
STRIPE_EVENT = json.loads((FIXTURES / "stripe/subscription-active/payload.json").read_text())


def shopify_order(**changes) -> bytes:
    return json.dumps({**SHOPIFY_ORDER, **changes}).encode()


def stored_deliveries(bridge, source: str, answer) -> list:
    assert answer.json["events"], answer.json
    return [d for e in answer.json["events"] for d in bridge.deliveries(source, e["id"])]


@pytest.fixture
def no_tracebacks(caplog):
    """Fails the test if anything logged an exception with a traceback."""
    caplog.set_level(logging.INFO)
    yield
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


# ---- the body as JSON ---------------------------------------------------------------

REFUSED_BODIES = [
    ("nested 1,000 deep", b'{"a":' * 1000 + b"1" + b"}" * 1000, "body_too_deep"),
    ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, "body_too_deep"),
    ("nested one level too deep", b"[" * (untrusted_json.MAX_DEPTH + 1) + b"]" * (untrusted_json.MAX_DEPTH + 1),
     "body_too_deep"),
    ("NaN literal", b'{"id": "evt_x", "amount": NaN}', "malformed_body"),
    ("Infinity literal", b'{"id": "evt_x", "amount": -Infinity}', "malformed_body"),
    ("float overflow", b'{"id": "evt_x", "amount": 1e400}', "number_out_of_range"),
    ("5,000-digit integer", b'{"id": "evt_x", "amount": ' + b"9" * 5000 + b"}", "number_out_of_range"),
    ("not JSON", b"{'id': 1}", "malformed_body"),
]


@pytest.mark.parametrize("body,reason", [c[1:] for c in REFUSED_BODIES], ids=[c[0] for c in REFUSED_BODIES])
def test_a_body_beyond_the_bounds_is_refused_with_a_reason(bridge, body, reason, no_tracebacks):
    answer = post_signed(bridge, "stripe", body)
    assert (answer.status_code, answer.json["reason"]) == (400, reason)


def test_depth_up_to_the_limit_is_accepted():
    deep = "[" * untrusted_json.MAX_DEPTH + "]" * untrusted_json.MAX_DEPTH
    assert untrusted_json.loads(deep) is not None


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\udfffb"', '"\\ud83d"'])
def test_a_lone_surrogate_escape_is_stored_as_the_replacement_character(bridge, text, no_tracebacks):
    body = json.dumps({**STRIPE_EVENT, "id": "evt_surrogate"})[:-1] + f', "note": {text}, {text}: 1}}'
    answer = post_signed(bridge, "stripe", body.encode())
    assert answer.status_code == 202, answer.json
    stored = bridge.store.get_event("stripe", "evt_surrogate")["data"]
    assert stored["note"].count("\ufffd") == 1 and len(stored["note"]) == len(json.loads(text))
    assert [key for key in stored if "\ufffd" in key] == [stored["note"]]  # keys too
    stored["note"].encode("utf-8")  # storable: no surrogate left


def test_raw_bytes_that_are_not_utf8_are_stored_as_the_replacement_character(bridge, no_tracebacks):
    body = json.dumps({**STRIPE_EVENT, "id": "evt_raw_bytes", "note": "MARK"}).encode()
    body = body.replace(b"MARK", b"\xed\xa0\x80 and \xff")
    answer = post_signed(bridge, "stripe", body)
    assert answer.status_code == 202, answer.json
    note = bridge.store.get_event("stripe", "evt_raw_bytes")["data"]["note"]
    assert "\ufffd" in note and note.endswith("and \ufffd")
    note.encode("utf-8")


# ---- numbers a route cannot use: stored, the delivery dead with a reason ----------------

UNUSABLE_AMOUNTS = ["1e999999", "-1e999999", "1e400", "1e5000", "Infinity", "-Infinity", "NaN", "sNaN",
                    "9" * 5000, "1" + "0" * 60, "1e-999999"]


@pytest.mark.parametrize("amount", UNUSABLE_AMOUNTS, ids=[a[:12] for a in UNUSABLE_AMOUNTS])
def test_an_amount_out_of_bounds_makes_the_delivery_dead_and_keeps_the_event(bridge, reevo, amount, no_tracebacks):
    body = shopify_order(total_price=amount, current_total_price=amount)
    answer = post_signed(bridge, "shopify", body, {**SHOPIFY_HEADERS, "X-Shopify-Webhook-Id": f"wh-{amount[:20]}"})
    assert (answer.status_code, answer.json["status"]) == (202, "accepted"), answer.json
    [delivery] = stored_deliveries(bridge, "shopify", answer)
    assert (delivery.status, delivery.last_error["code"]) == ("dead", "transform_failed")
    assert bridge.deliver() == 0 and reevo.patches() == []


@pytest.mark.parametrize("value", [10 ** 30, -(10 ** 30), int("9" * 4000)], ids=["1e30", "-1e30", "4000 digits"])
def test_an_integer_straight_from_the_body_out_of_range_is_an_invalid_value(bridge, value, no_tracebacks):
    event = json.loads(json.dumps(STRIPE_EVENT))
    event["id"] = f"evt_big_{len(str(value))}_{value < 0}"
    event["data"]["object"]["items"]["data"][0]["price"]["unit_amount"] = value
    answer = post_signed(bridge, "stripe", json.dumps(event).encode())
    assert answer.status_code == 202, answer.json
    [delivery] = stored_deliveries(bridge, "stripe", answer)
    assert (delivery.status, delivery.last_error["code"]) == ("dead", "transform_failed")


def test_a_cost_bound_holds_before_any_arithmetic():
    """The 34 s of CPU in the issue came from int(Decimal("1e999999")): refused before it."""
    for name in ("to_decimal", "cents_to_decimal", "to_number", "unix_to_iso8601"):
        with pytest.raises(transforms.TransformError, match="out of range"):
            transforms.apply(name, (), "1e999999")


@pytest.mark.parametrize("name,value,expected", [
    ("to_decimal", "1234567890.123456789012345678901234567890123", "more than 40 significant digits"),
    ("to_decimal", 10 ** 40, "more than 40 significant digits"),
    ("to_decimal", 10 ** 60, "too many digits"),
    ("to_decimal", float("nan"), "not a finite"),
    ("to_decimal", "sNaN", "not a finite"),
    ("iso8601", "9999-12-31T23:59:59-01:00", "after the year 9999"),
    ("date_only", "9999-12-31T23:59:59-01:00", "after the year 9999"),
    ("unix_to_iso8601", "1e20", "between the years 1 and 9999"),
    ("unix_to_iso8601", -(10 ** 15), "between the years 1 and 9999"),
    ("date_only", 10 ** 20, "between the years 1 and 9999"),
])
def test_transform_inputs_outside_their_range_fail_with_a_reason(name, value, expected):
    with pytest.raises(transforms.TransformError, match=expected):
        transforms.apply(name, (), value)


def test_numbers_inside_the_bounds_are_unchanged():
    assert transforms.apply("cents_to_decimal", (), 99_999_999_999_999) == 999_999_999_999.99
    assert transforms.apply("to_decimal", (), "0E-999999") == 0
    assert transforms.apply("unix_to_iso8601", (), 253_402_300_799_000) == "9999-12-31T23:59:59Z"  # ms


# ---- times --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", 10 ** 30, -1e300,
                                   float("nan"), "9" * 5000, "9" * 4000, "²"])
def test_an_occurred_at_outside_the_calendar_is_unknown(value):
    assert normalise_time(value) is None


def test_a_webhook_with_an_unreadable_occurred_at_is_stored(bridge, no_tracebacks):
    event = {**STRIPE_EVENT, "id": "evt_far_future", "created": "9999-12-31T23:59:59-01:00"}
    answer = post_signed(bridge, "stripe", json.dumps(event).encode())
    assert answer.status_code == 202, answer.json
    assert bridge.store.get_event("stripe", "evt_far_future")["occurred_at"] is None


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def test_a_time_after_the_receive_time_is_not_believed():
    now = 1_800_000_000.0
    assert trusted_time(_iso(now + CLOCK_SKEW_SECONDS), now) == _iso(now + CLOCK_SKEW_SECONDS)  # skew allowed
    assert trusted_time(_iso(now + CLOCK_SKEW_SECONDS + 1), now) == _iso(now)
    assert trusted_time("9999-12-31T23:59:59.000000Z", now) == _iso(now)
    assert trusted_time(_iso(now - 3600), now) == _iso(now - 3600)
    assert trusted_time(None, now) is None


def test_a_signed_event_from_the_future_is_stored_at_its_receive_time(bridge, no_tracebacks):
    event = {**STRIPE_EVENT, "id": "evt_from_2099", "created": 4_070_908_800}  # 2099-01-01
    answer = post_signed(bridge, "stripe", json.dumps(event).encode())
    assert answer.status_code == 202
    assert bridge.store.get_event("stripe", "evt_from_2099")["occurred_at"] == _iso(bridge.clock())
    [delivery] = bridge.deliveries("stripe", "evt_from_2099")
    assert delivery.occurred_at == _iso(bridge.clock())
