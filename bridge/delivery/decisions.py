"""What to do with one delivery, decided without I/O — the same sans-I/O shape as the signature verifiers.

`decide(record, outcome, policy, now)` maps Reevo's answer to an `Action`: complete it,
retry it at a time, kill it with a reason, pause all deliveries, and, after a request whose
result is unknown, hold its opportunity. `before_send` says whether a claimed delivery may
still be sent at all. The worker (worker.py) is the shell that does the I/O these decide.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from bridge.delivery import reevo_client as reevo
from bridge.delivery.pace import Report, Signal
from bridge.store import DeliveryRecord


class Act(StrEnum):
    """The store call that carries out a decision."""

    COMPLETE = "complete"    # Reevo applied it: delivered
    SUPERSEDE = "supersede"  # newer events already set every field it carries
    RETRY = "retry"          # due again at `when`
    DEAD = "dead"            # give up, keeping why
    PAUSE = "pause"          # credentials refused: every delivery waits, this attempt is given back
    RELEASE = "release"      # not sent: give the delivery back at once, attempt not counted


@dataclass(frozen=True)
class Policy:
    """Retry, give-up and hold rules; built from the settings (bridge/config.py holds every default)."""

    base: float
    cap: float
    max_attempts: int
    max_age: float
    retry_after_cap: float
    hold_seconds: float      # BRIDGE_AMBIGUOUS_HOLD_SECONDS
    pause_probe: float       # seconds between probes while Reevo refuses the API key
    request_limit: float     # connect + read timeout: the longest a request can take on our side
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt: full-jitter backoff, or the server's Retry-After (capped)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** max(attempts - 1, 0)))

    def gives_up(self, record: DeliveryRecord, now: float, count_attempt: bool = True) -> str | None:
        """Why a failing delivery should stop being retried, or None.

        An attempt that does not count (refused with 429, a breaker probe) never makes
        it give up for the number of attempts; its age always counts.
        """
        if count_attempt and record.attempts >= self.max_attempts:
            return "too_many_attempts"
        if now - record.received_at >= self.max_age:
            return "too_old"
        return None


@dataclass(frozen=True)
class Action:
    """One decision: what to do, when, whether the attempt counts, and the opportunity's hold."""

    act: Act
    when: float | None = None        # RETRY/PAUSE/RELEASE: due again at
    hold_until: float | None = None  # after an unknown outcome: nothing else for this opportunity before
    count_attempt: bool = True
    error: dict | None = None


def before_send(record: DeliveryRecord, policy: Policy, now: float) -> Action | None:
    """None to send; RELEASE when the lease ends before a request could finish.

    A request must be over on our side before the lease lets another worker take the
    opportunity (the lease end is where the claim's hold starts counting).
    """
    if record.next_attempt_at - now < policy.request_limit:
        return Action(Act.RELEASE, when=now, count_attempt=False, error=record.last_error)
    return None


def fresh_fields(attributes: dict, occurred_at: str | None, applied: dict[str, str]) -> dict:
    """The stale guard: the fields no newer applied event has set (all of them without an event time)."""
    if occurred_at is None:
        return dict(attributes)
    return {name: value for name, value in attributes.items()
            if applied.get(name) is None or applied[name] <= occurred_at}


def decide(record: DeliveryRecord, outcome: reevo.Outcome, policy: Policy, now: float,
           counted: bool = True) -> Action:
    """The action for a delivery after Reevo's `outcome` (or the resolver's, before any PATCH).

    `counted=False` marks an attempt that does not count toward BRIDGE_MAX_ATTEMPTS
    (a breaker probe). A 429 never counts.
    """
    if outcome.kind == reevo.DELIVERED:
        return Action(Act.COMPLETE)
    if outcome.kind == reevo.PAUSED:
        return Action(Act.PAUSE, when=now + policy.pause_probe, count_attempt=False, error=outcome.error())
    hold_until = now + policy.hold_seconds if outcome.ambiguous else None
    if outcome.kind == reevo.DEAD:
        return Action(Act.DEAD, hold_until=hold_until, error=outcome.error())
    counts = counted and outcome.status != 429
    gave_up = policy.gives_up(record, now, counts)
    if gave_up:
        return Action(Act.DEAD, hold_until=hold_until, error={**outcome.error(), "gave_up": gave_up})
    when = now + policy.delay(record.attempts, outcome.retry_after)
    if hold_until is not None:
        when = max(when, hold_until)
    return Action(Act.RETRY, when=when, hold_until=hold_until, count_attempt=counts, error=outcome.error())


def report_for(outcome: reevo.Outcome) -> Report:
    """What one request's outcome tells the shared pace and the breaker about Reevo."""
    return Report(_signal(outcome), outcome.retry_after if outcome.status == 429 else None,
                  outcome.limit_remaining, outcome.limit_reset)


def _signal(outcome: reevo.Outcome) -> Signal:
    if outcome.status == 429:
        return Signal.THROTTLED
    if outcome.code in reevo.TRANSPORT_CODES or (outcome.status or 0) >= 500 or outcome.status == 408:
        return Signal.FAILURE
    if outcome.status is not None and outcome.kind != reevo.PAUSED:
        return Signal.SUCCESS  # Reevo answered and judged the request itself
    return Signal.NONE  # credentials refused, or decided here without a request
