"""The shared pace and the breaker as pure transitions: rate, concurrency, 429s, Retry-After, probes."""
from bridge.delivery import pace
from bridge.delivery.pace import CLOSED, HALF_OPEN, OPEN, PaceConfig, Report, Signal, step

CONFIG = PaceConfig(rate=20.0, concurrency=3, breaker_failures=3, breaker_probe_seconds=10.0, permit_seconds=15.0,
                    retry_after_cap=300.0)
OK, FAILED, THROTTLED = Report(Signal.SUCCESS), Report(Signal.FAILURE), Report(Signal.THROTTLED)


class Shared:
    """One state, many permit holders: what the store keeps for every process."""

    def __init__(self, config: PaceConfig = CONFIG):
        self.state, self.config = None, config

    def ask(self, permit: str, now: float, report: Report | None = None, want: bool = True) -> pace.Grant:
        self.state, grant = step(self.state, permit, now, self.config, report, want)
        return grant


def test_in_any_window_at_most_rate_times_width_plus_one_are_granted():
    shared, granted, now = Shared(PaceConfig(**{**vars(CONFIG), "concurrency": 0})), [], 0.0
    while now < 10:
        for permit in "abcdef":  # six threads asking as fast as they can
            if shared.ask(permit, now, OK).ok:
                granted.append(now)
        now += 0.003
    assert 190 <= len(granted) <= 201
    for start in granted:
        assert sum(1 for t in granted if start <= t < start + 1.0) <= 21


def test_a_refusal_says_how_long_to_wait():
    shared = Shared()
    assert shared.ask("a", 0.0).ok
    refused = shared.ask("b", 0.01)
    assert not refused.ok and abs(refused.wait - 0.04) < 1e-9


def test_concurrency_counts_permits_not_given_back_until_they_expire():
    shared = Shared(PaceConfig(**{**vars(CONFIG), "rate": 0.0}))
    assert all(shared.ask(p, 0.0).ok for p in "abc")
    assert not shared.ask("d", 1.0).ok
    shared.ask("a", 1.0, OK, want=False)  # a's request ended
    assert shared.ask("d", 1.0).ok
    assert not shared.ask("e", 1.0).ok
    assert shared.ask("e", 15.5).ok  # b and c were never given back (a killed process): expired


def test_a_429_halves_the_rate_once_a_second_and_successes_bring_it_back_gradually():
    shared = Shared()
    shared.ask("a", 0.0)
    for permit in "abc":  # three requests refused together: one cut
        shared.ask(permit, 0.1, THROTTLED, want=False)
    assert pace.current_rate(shared.state, CONFIG, 0.1) == 10.0
    shared.ask("a", 1.2, THROTTLED, want=False)
    assert pace.current_rate(shared.state, CONFIG, 1.2) == 5.0
    for _ in range(10):
        shared.ask("a", 2.0, OK, want=False)
    assert 5.0 < pace.current_rate(shared.state, CONFIG, 2.0) < 7.0
    for _ in range(1000):
        shared.ask("a", 3.0, OK, want=False)
    assert pace.current_rate(shared.state, CONFIG, 3.0) == 20.0


def test_the_rate_never_falls_below_its_floor():
    shared = Shared()
    for second in range(100):
        shared.ask("a", float(second), THROTTLED, want=False)
    assert pace.current_rate(shared.state, CONFIG, 100.0) == 20.0 * pace.MIN_FACTOR


def test_retry_after_holds_every_permit_holder():
    shared = Shared()
    shared.ask("a", 0.0)
    shared.ask("a", 0.5, Report(Signal.THROTTLED, retry_after=5.0), want=False)
    for permit, at in (("a", 0.6), ("b", 3.0), ("c", 5.49)):
        refused = shared.ask(permit, at)
        assert not refused.ok and abs(refused.wait - (5.5 - at)) < 1e-9
    assert shared.ask("b", 5.5).ok


def test_rate_limit_headers_pace_before_a_429_and_wait_for_the_reset_when_none_is_left():
    shared = Shared()
    shared.ask("a", 0.0, Report(Signal.SUCCESS, remaining=4, reset_in=2.0), want=False)
    assert pace.current_rate(shared.state, CONFIG, 1.0) == 2.0  # 4 left over 2 s
    assert pace.current_rate(shared.state, CONFIG, 2.0) == 20.0  # after the reset
    shared.ask("a", 3.0, Report(Signal.SUCCESS, remaining=0, reset_in=4.0), want=False)
    assert not shared.ask("b", 6.9).ok
    assert shared.ask("b", 7.0).ok


def test_a_run_of_failures_opens_the_breaker_once_and_only_probes_go_out():
    shared = Shared()
    opened = [shared.ask(p, 1.0, FAILED, want=False).opened for p in "abc"]
    assert opened == [False, False, True]
    assert pace.breaker_state(shared.state, 1.0) == OPEN
    assert not shared.ask("a", 5.0).ok
    probe = shared.ask("b", 11.0)
    assert probe.ok and probe.probe
    assert pace.breaker_state(shared.state, 11.0) == HALF_OPEN
    assert not shared.ask("c", 11.5).ok  # one probe at a time
    assert not shared.ask("b", 12.0, FAILED).ok  # the probe failed: the next one in 10 s
    assert not shared.ask("c", 21.0).ok
    probe = shared.ask("c", 22.0)
    assert probe.ok and probe.probe
    closing = shared.ask("c", 22.1, OK)
    assert closing.closed and closing.ok and not closing.probe
    assert pace.breaker_state(shared.state, 22.1) == CLOSED


def test_success_between_failures_resets_the_run():
    shared = Shared()
    for report in (FAILED, FAILED, OK, FAILED, FAILED):
        assert not shared.ask("a", 1.0, report, want=False).opened
    assert shared.state["breaker"] == CLOSED


def test_answers_of_requests_sent_before_the_breaker_opened_neither_close_nor_reopen_it():
    shared = Shared()
    shared.ask("x", 0.0)
    for permit in "abc":
        shared.ask(permit, 1.0, FAILED, want=False)
    late = shared.ask("x", 1.5, OK, want=False)  # x was sent before the breaker opened
    assert not late.closed and shared.state["breaker"] == OPEN


def test_a_probe_that_dies_with_its_process_lets_another_probe_go_after_its_permit_expires():
    shared = Shared()
    for permit in "abc":
        shared.ask(permit, 0.0, FAILED, want=False)
    assert shared.ask("dead", 10.0).probe
    assert not shared.ask("b", 20.0).ok  # its permit is still valid (15 s)
    assert shared.ask("b", 25.1).probe


def test_without_a_rate_only_concurrency_and_holds_apply():
    shared = Shared(PaceConfig(**{**vars(CONFIG), "rate": 0.0, "concurrency": 0}))
    assert all(shared.ask(str(n), 0.0).ok for n in range(1000))

