"""A worker's boot never depends on the store (issue 12.3): real gunicorn, real kill -9.

A worker that starts while the store is busy or down boots anyway, answers 503 with
Retry-After, and takes webhooks again by itself once the store is back; the master
never exits over it. Waiting is polling with deadlines.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import requests

from harness import events_finished, subscription_event
from helpers import wait_for
from redis_server import RedisServer
from sandbox.known import OPPORTUNITY_IDS

HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()  # hold the write lock until the test closes our stdin
db.execute("ROLLBACK")
"""


def started_workers(bridge) -> list[int]:
    """Worker pids that finished booting (the start hook logs one line each)."""
    return [int(pid) for pid in re.findall(r'"msg": "worker started".*?"pid": (\d+)', bridge.log_path.read_text())]


def kill9_a_worker_and_wait_for_its_replacement(bridge) -> int:
    before = started_workers(bridge)
    os.kill(before[0], signal.SIGKILL)
    new = wait_for(lambda: set(started_workers(bridge)) - set(before), timeout=60,
                   what="a replacement worker to finish booting")
    assert bridge.process.poll() is None, "the master is still running"
    return new.pop()


def assert_retry_later(response):
    assert response.status_code == 503, response.text
    assert response.json()["reason"] == "store_unavailable"
    assert int(response.headers["Retry-After"]) > 0



def test_a_worker_restarted_while_sqlite_is_locked_boots_and_the_bridge_resumes(make_bridge, tmp_path):
    path = tmp_path / "bridge.db"
    # timeout=1: a writer waits 1 s for the lock (5 s by default) before the sender gets its 503
    bridge = make_bridge(f"sqlite:///{path}?timeout=1", BRIDGE_WEB_WORKERS=2)
    wait_for(lambda: len(started_workers(bridge)) == 2, what="both workers to start")
    assert bridge.post_stripe(subscription_event(1, OPPORTUNITY_IDS[0])).status_code == 202
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        kill9_a_worker_and_wait_for_its_replacement(bridge)
        assert requests.get(f"{bridge.url}/healthz", timeout=30).status_code == 200
        assert_retry_later(bridge.post_stripe(subscription_event(2, OPPORTUNITY_IDS[1])))
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    wait_for(lambda: bridge.post_stripe(subscription_event(3, OPPORTUNITY_IDS[2])).status_code == 202,
             timeout=60, what="webhooks to be taken again")
    wait_for(lambda: events_finished(bridge.env["BRIDGE_STORE_URL"], [1, 3]), timeout=60, what="the deliveries")
    assert bridge.process.poll() is None


def test_a_worker_restarted_while_redis_is_down_boots_answers_503_and_resumes(make_bridge, tmp_path):
    redis_server = RedisServer(tmp_path / "redis", "--appendfsync", "always").start()
    try:
        bridge = make_bridge(redis_server.url, BRIDGE_WEB_WORKERS=2)
        wait_for(lambda: len(started_workers(bridge)) == 2, what="both workers to start")
        assert bridge.post_stripe(subscription_event(1, OPPORTUNITY_IDS[0])).status_code == 202
        redis_server.kill()
        kill9_a_worker_and_wait_for_its_replacement(bridge)
        for number in range(2, 6):  # both workers, the new one among them, answer 503
            assert_retry_later(bridge.post_stripe(subscription_event(number, OPPORTUNITY_IDS[1])))
        assert requests.get(f"{bridge.url}/readyz", timeout=30).status_code == 503
        assert requests.get(f"{bridge.url}/healthz", timeout=30).status_code == 200
        redis_server.start()
        wait_for(lambda: bridge.post_stripe(subscription_event(6, OPPORTUNITY_IDS[2])).status_code == 202,
                 timeout=60, what="webhooks to be taken again")
        wait_for(lambda: requests.get(f"{bridge.url}/readyz", timeout=30).status_code == 200, timeout=60,
                 what="every worker to be ready again")
        wait_for(lambda: events_finished(redis_server.url, [1, 6]), timeout=60, what="the deliveries")
        assert bridge.process.poll() is None
    finally:
        redis_server.stop()
