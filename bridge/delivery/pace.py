"""The shared pace toward Reevo and the circuit breaker, as pure transitions of one small state.

Every process and host reads and writes one state through the store (`Store.update_pace`,
atomic on each backend), so the rate, the requests in flight, a Retry-After and the
breaker are the same for every worker. `step(state, permit, now, config, report, want)`
first records how the caller's previous request ended (`report`), then, if `want`, asks
for a permit to send the next one. Nothing here reads a clock or does I/O.

The rate is a GCRA with no burst: a permit is granted only at or after the theoretical
arrival time `tat`, which then moves on by 1/rate — so in any window of w seconds at most
rate·w + 1 permits are granted, across every process.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
DECREASE = 0.5        # a 429 multiplies the rate by this (at most once a second)
MIN_FACTOR = 0.05     # the rate never falls below this share of BRIDGE_REEVO_RATE
RECOVERY = 0.005      # each success gives back this share of BRIDGE_REEVO_RATE
MIN_WAIT = 0.01       # a refused caller retries after at least this long


class Signal(StrEnum):
    """How a request ended, as the pace and the breaker see it."""

    SUCCESS = "success"    # Reevo answered and judged the request (2xx, or a 4xx about the request)
    THROTTLED = "throttled"  # 429
    FAILURE = "failure"    # connection error, timeout or 5xx: counts toward opening the breaker
    NONE = "none"          # nothing was learned about Reevo (not sent, credentials refused)


@dataclass(frozen=True)
class PaceConfig:
    """BRIDGE_REEVO_RATE (0: no limit), BRIDGE_REEVO_CONCURRENCY (0: no limit), breaker thresholds."""

    rate: float
    concurrency: int
    breaker_failures: int
    breaker_probe_seconds: float
    permit_seconds: float     # a permit not given back expires then (a killed process's)
    retry_after_cap: float


@dataclass(frozen=True)
class Report:
    """How the caller's last request ended."""

    signal: Signal
    retry_after: float | None = None   # a 429's Retry-After: seconds every request waits
    remaining: int | None = None       # X-RateLimit-Remaining
    reset_in: float | None = None      # X-RateLimit-Reset, as seconds from now


@dataclass(frozen=True)
class Grant:
    """The answer to a caller: may it send, and if not, how long until it may ask again."""

    ok: bool
    wait: float = 0.0
    rate: float = 0.0        # the shared rate now (0: no limit), to size claims
    probe: bool = False      # this request is the breaker's probe
    opened: bool = False     # the report opened the breaker (exactly one caller sees this per opening)
    closed: bool = False     # the report closed it


def fresh() -> dict:
    """The state before any request."""
    return {"tat": 0.0, "factor": 1.0, "cut_at": -1e18, "hold_until": 0.0, "cap": 0.0, "cap_until": 0.0,
            "flight": {}, "breaker": CLOSED, "failures": 0, "probe_at": 0.0, "probe": None, "openings": 0}


def current_rate(state: dict, config: PaceConfig, now: float) -> float:
    """Requests per second allowed now (0: no limit): the adapted rate, capped by X-RateLimit pacing."""
    rate = config.rate * state["factor"] if config.rate else 0.0
    if state["cap_until"] > now and state["cap"] > 0:
        rate = min(rate, state["cap"]) if rate else state["cap"]
    return rate


def in_flight(state: dict, now: float) -> int:
    """Permits granted and neither given back nor expired."""
    return sum(1 for expires in state["flight"].values() if expires > now)


def breaker_state(state: dict, now: float) -> str:
    """closed, open, or half_open (open with its probe in flight)."""
    if state["breaker"] == CLOSED:
        return CLOSED
    probe = state["probe"]
    return HALF_OPEN if probe and state["flight"].get(probe, 0) > now else OPEN


def step(state: dict | None, permit: str, now: float, config: PaceConfig, report: Report | None,
         want: bool) -> tuple[dict, Grant]:
    """Record `report` for `permit`'s last request, then (if `want`) try to grant it the next one."""
    state = load(state)
    opened = closed = False
    if report is not None:
        opened, closed = _record(state, permit, report, now, config)
    state["flight"].pop(permit, None)
    state["flight"] = {p: e for p, e in state["flight"].items() if e > now}
    if not want:
        return state, Grant(False, opened=opened, closed=closed)
    grant = _admit(state, permit, now, config)
    return state, Grant(grant.ok, grant.wait, grant.rate, grant.probe, opened, closed)


def load(state: dict | None) -> dict:
    """A complete state from a stored one (None: the fresh state); never shares the stored dicts."""
    base = fresh()
    if state:
        base.update(state)
        base["flight"] = dict(base["flight"])
    return base


def _record(state: dict, permit: str, report: Report, now: float, config: PaceConfig) -> tuple[bool, bool]:
    """Apply what one request taught: breaker counts, rate cuts and recovery, holds. (opened, closed)."""
    was_probe = state["probe"] == permit
    if was_probe:
        state["probe"] = None
    if report.retry_after is not None:
        state["hold_until"] = max(state["hold_until"], now + min(report.retry_after, config.retry_after_cap))
    _rate_limit_headers(state, report, now, config)
    if report.signal == Signal.THROTTLED and now - state["cut_at"] >= 1.0:
        state["factor"] = max(MIN_FACTOR, state["factor"] * DECREASE)
        state["cut_at"] = now
    elif report.signal == Signal.SUCCESS:
        state["factor"] = min(1.0, state["factor"] + RECOVERY)
    return _breaker(state, report.signal, was_probe, now, config)


def _rate_limit_headers(state: dict, report: Report, now: float, config: PaceConfig) -> None:
    """X-RateLimit-Remaining/-Reset: spread what is left until the reset, or wait for it when none is."""
    if report.remaining is None or report.reset_in is None or report.reset_in <= 0:
        return
    reset_in = min(report.reset_in, config.retry_after_cap)
    if report.remaining <= 0:
        state["hold_until"] = max(state["hold_until"], now + reset_in)
    else:
        state["cap"], state["cap_until"] = report.remaining / reset_in, now + reset_in


def _breaker(state: dict, signal: Signal, was_probe: bool, now: float, config: PaceConfig) -> tuple[bool, bool]:
    if signal == Signal.NONE:
        return False, False
    if state["breaker"] == CLOSED:
        state["failures"] = state["failures"] + 1 if signal == Signal.FAILURE else 0
        if config.breaker_failures and state["failures"] >= config.breaker_failures:
            state.update(breaker=OPEN, probe_at=now + config.breaker_probe_seconds, probe=None,
                         openings=state["openings"] + 1)
            return True, False
        return False, False
    if not was_probe:
        return False, False  # requests already in flight when it opened say nothing new
    if signal == Signal.FAILURE:
        state["probe_at"] = now + config.breaker_probe_seconds
        return False, False
    state.update(breaker=CLOSED, failures=0, probe=None)
    return False, True


def _admit(state: dict, permit: str, now: float, config: PaceConfig) -> Grant:
    probe = False
    if state["breaker"] != CLOSED:
        if state["probe"] is not None and state["flight"].get(state["probe"], 0) > now:
            return Grant(False, max(MIN_WAIT, state["probe_at"] - now))
        if now < state["probe_at"]:
            return Grant(False, max(MIN_WAIT, state["probe_at"] - now))
        probe = True
    if now < state["hold_until"]:
        return Grant(False, max(MIN_WAIT, state["hold_until"] - now))
    if config.concurrency and in_flight(state, now) >= config.concurrency:
        return Grant(False, MIN_WAIT)
    rate = current_rate(state, config, now)
    if rate and now < state["tat"]:
        return Grant(False, max(MIN_WAIT, state["tat"] - now))
    if rate:
        state["tat"] = max(state["tat"], now) + 1.0 / rate
    state["flight"][permit] = now + config.permit_seconds
    if probe:
        state["probe"], state["probe_at"] = permit, now + config.breaker_probe_seconds
    return Grant(True, rate=rate, probe=probe)
