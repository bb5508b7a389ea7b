"""Table tests of the pure delivery decisions: (record, Reevo's outcome, policy, now) → action, no HTTP."""
import random

import pytest

from bridge.delivery import reevo_client as reevo
from bridge.delivery.decisions import Act, Policy, before_send, decide, fresh_fields, report_for
from bridge.delivery.pace import Signal
from bridge.store import DELIVERING, DeliveryRecord

NOW = 1_000_000.0
POLICY = Policy(base=1.0, cap=60.0, max_attempts=5, max_age=3600.0, retry_after_cap=300.0, hold_seconds=30.0,
                pause_probe=15.0, request_limit=13.0, rng=random.Random(1))


def record(attempts: int = 1, age: float = 10.0, lease_left: float = 60.0) -> DeliveryRecord:
    return DeliveryRecord(1, "stripe", "evt_1", "stage", {"id": "opp_1"}, {"stage": "won"}, DELIVERING,
                          attempts, NOW + lease_left, NOW - age, "2024-01-01T00:00:00Z", "token")


def outcome(kind, status=None, code=None, retry_after=None, ambiguous=False) -> reevo.Outcome:
    return reevo.Outcome(kind, status, code, "message", retry_after, ambiguous=ambiguous)


TIMEOUT = outcome(reevo.RETRY, code="timeout", ambiguous=True)
RESET = outcome(reevo.RETRY, code="connection_error", ambiguous=True)
REFUSED = outcome(reevo.RETRY, code="connection_error")  # never reached Reevo: nothing to hold
BAD_GATEWAY = outcome(reevo.RETRY, 502, "bad_gateway", ambiguous=True)
THROTTLED = outcome(reevo.RETRY, 429, "rate_limited", retry_after=5.0)
UNPROCESSABLE = outcome(reevo.DEAD, 422, "invalid_field")
NOT_IMPLEMENTED = outcome(reevo.DEAD, 501, "http_501", ambiguous=True)


@pytest.mark.parametrize("given,attempts,age,act,hold,counts,gave_up", [
    (outcome(reevo.DELIVERED, 200), 1, 10, Act.COMPLETE, None, True, None),
    (UNPROCESSABLE, 1, 10, Act.DEAD, None, True, None),
    (NOT_IMPLEMENTED, 1, 10, Act.DEAD, NOW + 30, True, None),
    (outcome(reevo.PAUSED, 401, "unauthorized"), 1, 10, Act.PAUSE, None, False, None),
    (TIMEOUT, 1, 10, Act.RETRY, NOW + 30, True, None),
    (RESET, 1, 10, Act.RETRY, NOW + 30, True, None),
    (BAD_GATEWAY, 1, 10, Act.RETRY, NOW + 30, True, None),
    (REFUSED, 1, 10, Act.RETRY, None, True, None),
    (THROTTLED, 1, 10, Act.RETRY, None, False, None),
    (TIMEOUT, 5, 10, Act.DEAD, NOW + 30, True, "too_many_attempts"),
    (REFUSED, 5, 10, Act.DEAD, None, True, "too_many_attempts"),
    (THROTTLED, 99, 10, Act.RETRY, None, False, None),  # a 429 never counts toward giving up …
    (THROTTLED, 1, 3600, Act.DEAD, None, True, "too_old"),  # … but the age always does
])
def test_decision_table(given, attempts, age, act, hold, counts, gave_up):
    action = decide(record(attempts, age), given, POLICY, NOW)
    assert (action.act, action.hold_until, action.count_attempt) == (act, hold, counts)
    assert (action.error or {}).get("gave_up") == gave_up


def test_an_unknown_outcome_is_retried_no_sooner_than_its_hold_ends():
    for _ in range(50):
        action = decide(record(attempts=1), TIMEOUT, POLICY, NOW)
        assert action.when >= action.hold_until == NOW + POLICY.hold_seconds


def test_retry_after_sets_the_next_attempt_and_is_capped():
    assert decide(record(), THROTTLED, POLICY, NOW).when == NOW + 5
    long = outcome(reevo.RETRY, 503, "unavailable", retry_after=99_999)
    assert decide(record(), long, POLICY, NOW).when >= NOW + POLICY.retry_after_cap


def test_a_breaker_probe_does_not_count_toward_max_attempts():
    action = decide(record(attempts=5), REFUSED, POLICY, NOW, counted=False)
    assert (action.act, action.count_attempt) == (Act.RETRY, False)


def test_backoff_is_full_jitter_capped_and_retry_after_wins():
    delays = [POLICY.delay(n) for n in range(1, 12) for _ in range(50)]
    assert min(delays) >= 0 and max(delays) <= POLICY.cap
    assert max(POLICY.delay(1) for _ in range(200)) <= POLICY.base
    assert POLICY.delay(3, retry_after=42) == 42
    assert POLICY.delay(3, retry_after=99_999) == POLICY.retry_after_cap


@pytest.mark.parametrize("lease_left,act", [(60.0, None), (13.0, None), (12.9, Act.RELEASE), (-1.0, Act.RELEASE)])
def test_a_delivery_is_sent_only_if_the_request_ends_within_its_lease(lease_left, act):
    action = before_send(record(lease_left=lease_left), POLICY, NOW)
    assert (action and action.act) == act
    if action:
        assert (action.when, action.count_attempt) == (NOW, False)


@pytest.mark.parametrize("applied,expected", [
    ({}, {"stage": "won", "amount": 5}),
    ({"stage": "2023-12-31T00:00:00Z"}, {"stage": "won", "amount": 5}),
    ({"stage": "2024-01-01T00:00:00Z"}, {"stage": "won", "amount": 5}),  # the same event again
    ({"stage": "2024-02-01T00:00:00Z"}, {"amount": 5}),
    ({"stage": "2024-02-01T00:00:00Z", "amount": "2025-01-01T00:00:00Z"}, {}),
])
def test_the_stale_guard_keeps_only_fields_no_newer_event_set(applied, expected):
    assert fresh_fields({"stage": "won", "amount": 5}, "2024-01-01T00:00:00Z", applied) == expected


def test_without_an_event_time_every_field_is_sent():
    assert fresh_fields({"stage": "won"}, None, {"stage": "2099-01-01T00:00:00Z"}) == {"stage": "won"}


@pytest.mark.parametrize("given,signal,retry_after", [
    (outcome(reevo.DELIVERED, 200), Signal.SUCCESS, None),
    (UNPROCESSABLE, Signal.SUCCESS, None),
    (THROTTLED, Signal.THROTTLED, 5.0),
    (outcome(reevo.RETRY, 503, "unavailable", retry_after=7.0), Signal.FAILURE, None),  # that delivery waits
    (outcome(reevo.RETRY, 500, "internal", retry_after=7.0), Signal.FAILURE, None),
    (TIMEOUT, Signal.FAILURE, None),
    (REFUSED, Signal.FAILURE, None),
    (outcome(reevo.PAUSED, 403, "forbidden"), Signal.NONE, None),
    (outcome(reevo.RETRY, code="target_not_found"), Signal.NONE, None),
])
def test_what_an_outcome_tells_the_shared_pace(given, signal, retry_after):
    report = report_for(given)
    assert (report.signal, report.retry_after) == (signal, retry_after)
