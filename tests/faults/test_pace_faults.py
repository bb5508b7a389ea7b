"""Issue 14 with real processes: the hold after unknown outcomes, the shared rate, Retry-After, the breaker.

Margins come from what the bridge guarantees, not from an idle machine: a permit is granted
at most rate·w + 1 times in any w seconds, every process together; a request goes out right
after its permit, so what the sandbox sees can only lag, and a request admitted before a
429 or an opening was recorded may still arrive just after it (allowed for: ADMITTED_LAG).
"""
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from bridge.store import DEAD, DELIVERED, SUPERSEDED, EventRecord, NewDelivery, open_store
from harness import assert_applied_at_most_once_in_effect, subscription_event
from helpers import wait_for
from redis_server import RedisServer
from sandbox.known import ACCOUNT_IDS, OPPORTUNITY_IDS

ADMITTED_LAG = 1.0  # seconds between a permit granted before a pause and its request reaching the sandbox
ARRIVAL_JITTER = 0.1  # seconds by which the sandbox's reading of a request may lag its permit, varying
FINISHED = {DELIVERED, SUPERSEDED}


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request, tmp_path):
    yield from _store_url(request.param, tmp_path)


@pytest.fixture
def redis_url(tmp_path):
    """Redis only: the outage lasts 30 s, so it runs once, on the backend shared across hosts."""
    yield from _store_url("redis", tmp_path)


def _store_url(backend: str, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/paced.db"
        return
    server = RedisServer(tmp_path / "redis").start()
    yield server.url
    server.stop()


def counts(url: str) -> dict:
    store = open_store(url)
    try:
        return store.counts()
    finally:
        store.close()


def drained(url: str, total: int) -> bool:
    found = counts(url)
    return sum(found.get(s, 0) for s in FINISHED) == total and set(found) <= FINISHED | {DEAD}


def post_all(bridge, events: list[dict]) -> None:
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda event: bridge.post_stripe(event).status_code, events))
    assert statuses == [202] * len(events)


def newest_per_opportunity(sandbox, events: list[dict]) -> None:
    newest = {}
    for event in events:
        newest[event["data"]["object"]["metadata"]["reevo_opportunity_id"]] = event["data"]["object"]["id"]
    for opportunity, subscription in newest.items():
        state = sandbox.opportunity(opportunity)
        assert state["next_step_details"]["value"].startswith(f"Stripe subscription {subscription} "), opportunity


def test_a_request_applied_after_its_timeout_never_overwrites_a_newer_event(sandbox, make_bridge, store_url):
    """Reevo applies the older PATCH 0.8 s after the bridge gave up on it (read timeout 1 s)."""
    sandbox.fault(count=1, delay=1.8, method="PATCH")  # wait 1.8 s, then apply: longer than the timeout
    bridge = make_bridge(store_url, BRIDGE_WEB_WORKERS=2)
    older = subscription_event(1, OPPORTUNITY_IDS[0], created=1_700_000_000)
    newer = subscription_event(2, OPPORTUNITY_IDS[0], status="past_due", created=1_700_000_100)
    post_all(bridge, [older])
    wait_for(lambda: sandbox.log("PATCH"), what="the older PATCH to reach Reevo")
    post_all(bridge, [newer])
    wait_for(lambda: drained(store_url, 2), timeout=30, what="both deliveries to finish")
    newest_per_opportunity(sandbox, [older, newer])
    first, *later = sandbox.log("PATCH")
    # Sent again or newer only after the hold (timeout 1 s + hold 3 s): after the late apply at 1.8 s.
    assert first["applied"] and later and all(e["received_at"] >= first["received_at"] + 1.8 for e in later)


def opportunities(sandbox, count: int) -> list[str]:
    return [sandbox.create_opportunity({"display_name": f"Paced {n}", "stage": "discovery",
                                        "account_id": ACCOUNT_IDS["acme.com"]}) for n in range(count)]


def backlog(url: str, events: list[dict]) -> None:
    """Store the events' deliveries as the Stripe mapping would (quicker than 500 webhooks)."""
    store = open_store(url)
    try:
        for event in events:
            subscription = event["data"]["object"]
            occurred = datetime.fromtimestamp(event["created"], UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            record = EventRecord("stripe", event["id"], event["type"], occurred, f"hash-{event['id']}", data=event)
            step = f"Stripe subscription {subscription['id']} is {subscription['status']}"
            target = {"id": subscription["metadata"]["reevo_opportunity_id"]}
            assert store.accept(record, [NewDelivery("subscription", target, {"next_step_details": step})],
                                time.time()) == "accepted"
    finally:
        store.close()


def test_three_processes_share_one_rate(sandbox, make_bridge, tmp_path):
    """500 deliveries drain at BRIDGE_REEVO_RATE=20 through three processes: 20 (+1) a second, all together."""
    targets = opportunities(sandbox, 50)
    url = f"sqlite:///{tmp_path}/rate.db"
    events = [subscription_event(n, targets[n % len(targets)]) for n in range(500)]
    bridge = make_bridge(url, BRIDGE_WEB_WORKERS=3, BRIDGE_REEVO_RATE=20)
    # Every worker has booted (its pace state is read at /metrics) before the backlog is due, so the
    # boot's CPU burst does not delay the sandbox's clock readings.
    wait_for(lambda: all(requests.get(f"{bridge.url}/readyz", timeout=5).status_code == 200 for _ in range(6)),
             what="the workers to answer")
    backlog(url, events)
    wait_for(lambda: drained(url, 500), timeout=90, interval=0.5, what="500 deliveries to drain")
    times = sorted(e["received_at"] for e in sandbox.log("PATCH"))
    assert 400 <= len(times) <= 500  # a delivery given back may go after a newer one: then it is superseded
    # The pace grants at most 20·w + 1 permits in any w seconds (every process together). The sandbox
    # stamps a request when it reads it: on a loaded machine that lags the permit by a varying
    # scheduling delay, which can bunch two arrivals; ARRIVAL_JITTER allows for 0.1 s of it.
    busiest = max(sum(1 for t in times[i:i + 30] if t - start < 1.0) for i, start in enumerate(times))
    assert busiest <= 20 * (1.0 + ARRIVAL_JITTER) + 1, f"{busiest} requests in one second"
    assert times[-1] - times[0] >= (len(times) - 1) / 20 - ARRIVAL_JITTER, "faster than 20/s overall"
    assert_applied_at_most_once_in_effect(sandbox.applied())
    newest_per_opportunity(sandbox, events)


def test_retry_after_pauses_every_sender(sandbox, make_bridge):
    sandbox.fault(count=1, status=429, headers={"Retry-After": "5"}, method="PATCH")
    bridge = make_bridge(BRIDGE_WEB_WORKERS=2)
    events = [subscription_event(n, OPPORTUNITY_IDS[n % len(OPPORTUNITY_IDS)]) for n in range(40)]
    post_all(bridge, events)
    wait_for(lambda: drained(bridge.env["BRIDGE_STORE_URL"], 40), timeout=60, what="every delivery")
    log = sandbox.log("PATCH")
    refused = next(e["received_at"] for e in log if e["status"] == 429)
    after = [e["received_at"] - refused for e in log if e["received_at"] - refused > ADMITTED_LAG]
    assert after and min(after) >= 5.0, "no sender sent anything for the 5 s Reevo asked"
    assert_applied_at_most_once_in_effect(sandbox.applied())
    newest_per_opportunity(sandbox, events)


def test_rate_limit_headers_hold_every_sender_before_any_429(sandbox, make_bridge):
    """A success saying X-RateLimit-Remaining: 0, Reset: 3 holds every sender until the reset."""
    sandbox.fault(count=1, mode="apply_then_delay", delay=0, method="PATCH",
                  headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3"})
    bridge = make_bridge(BRIDGE_WEB_WORKERS=2)
    events = [subscription_event(n, OPPORTUNITY_IDS[n % len(OPPORTUNITY_IDS)]) for n in range(20)]
    post_all(bridge, events)
    wait_for(lambda: drained(bridge.env["BRIDGE_STORE_URL"], 20), timeout=60, what="every delivery")
    log = sandbox.log("PATCH")
    limited = next(e["received_at"] for e in log if e["fault"])
    after = [e["received_at"] - limited for e in log if e["received_at"] - limited > ADMITTED_LAG]
    assert after and min(after) >= 3.0, "no sender sent anything until the reset"
    assert all(e["status"] == 200 for e in log), "slowed down before Reevo had to refuse anything"
    newest_per_opportunity(sandbox, events)


def test_during_an_outage_only_probes_go_out_and_nothing_is_lost_or_doubled(sandbox, make_bridge, redis_url):
    store_url = redis_url
    probe_every = 2.0
    sandbox.fault(mode="down", seconds=30, method="PATCH")
    bridge = make_bridge(store_url, BRIDGE_WEB_WORKERS=2, BRIDGE_BREAKER_FAILURES=5,
                         BRIDGE_BREAKER_PROBE_SECONDS=probe_every, BRIDGE_MAX_ATTEMPTS=3)
    events = [subscription_event(n, OPPORTUNITY_IDS[n % len(OPPORTUNITY_IDS)]) for n in range(30)]
    post_all(bridge, events)
    wait_for(lambda: requests.get(f"{bridge.url}/readyz", timeout=5).status_code == 503, timeout=30,
             what="/readyz to say the breaker is open")
    ready = requests.get(f"{bridge.url}/readyz", timeout=5).json()
    assert ready["checks"]["delivery"].startswith("stopped: the circuit breaker"), ready
    metrics = requests.get(f"{bridge.url}/metrics", timeout=5).text
    assert 'bridge_reevo_breaker_state{state="closed"} 0.0' in metrics
    wait_for(lambda: drained(store_url, 30), timeout=75, interval=0.5, what="the backlog to drain after the outage")

    log = sandbox.log("PATCH")
    failures = [e["received_at"] for e in log if e["status"] == 503]
    opened = failures[4]  # the fifth failure in a row opens the breaker
    probes = [t for t in failures if t > opened + ADMITTED_LAG]
    gaps = [later - earlier for earlier, later in zip(probes, probes[1:], strict=False)]
    assert len(probes) >= 5 and all(gap >= probe_every - ADMITTED_LAG for gap in gaps), gaps
    assert len(probes) <= 30 / probe_every + 1, "only probes went out while the breaker was open"
    assert counts(store_url).get(DEAD) is None, "attempts not made while open did not count toward giving up"
    assert_applied_at_most_once_in_effect(sandbox.applied())
    newest_per_opportunity(sandbox, events)
    assert bridge.log_path.read_text().count("breaker open:") == 1, "one alert per opening"
    assert "breaker closed" in bridge.log_path.read_text()
