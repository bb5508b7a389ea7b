"""Redis killed and restarted mid-run: 503 while it is down, nothing acknowledged is lost."""
import requests

from sandbox.known import OPPORTUNITY_IDS
from harness import events_finished, subscription_event
from helpers import wait_for
from redis_server import RedisServer



def test_redis_crash_and_restart(sandbox, make_bridge, tmp_path):
    redis_server = RedisServer(tmp_path / "redis", "--appendfsync", "always").start()
    try:
        sandbox.fault(count=30, delay=0.3, method="PATCH")  # keep work queued while Redis dies
        bridge = make_bridge(redis_server.url)
        acknowledged = []
        for number in range(30):
            if bridge.post_stripe(subscription_event(number, OPPORTUNITY_IDS[number % 5])).status_code == 202:
                acknowledged.append(number)
        assert len(acknowledged) == 30
        redis_server.kill()
        answers = []
        for number in range(30, 40):
            try:
                answers.append(bridge.post_stripe(subscription_event(number, OPPORTUNITY_IDS[0])))
            except requests.RequestException as exc:
                answers.append(exc)
        statuses = [a.status_code for a in answers if isinstance(a, requests.Response)]
        assert statuses and set(statuses) == {503}, statuses
        assert all(a.headers.get("Retry-After") for a in answers if isinstance(a, requests.Response))
        assert wait_for(lambda: requests.get(f"{bridge.url}/readyz", timeout=5).status_code == 503)
        redis_server.start()
        wait_for(lambda: bridge.post_stripe(subscription_event(40, OPPORTUNITY_IDS[1])).status_code == 202,
                 timeout=30, what="the bridge to take webhooks again")
        acknowledged.append(40)
        wait_for(lambda: events_finished(redis_server.url, acknowledged), timeout=60,
                 what="every acknowledged event to be delivered")
        assert requests.get(f"{bridge.url}/readyz", timeout=5).status_code == 200
    finally:
        redis_server.stop()
