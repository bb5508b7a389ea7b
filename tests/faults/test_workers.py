"""Delivery workers: a separate worker process, and graceful stops on SIGTERM."""
import signal
import subprocess
import sys

from sandbox.known import OPPORTUNITY_IDS
from bridge.store import DELIVERED, open_store
from harness import base_env, subscription_event
from helpers import ROOT, wait_for

OPP = OPPORTUNITY_IDS[0]


def statuses(store_url: str) -> list:
    store = open_store(store_url)
    try:
        return [d.status for d in store.deliveries_for_event("stripe", "evt_fault_0001")]
    finally:
        store.close()


def test_sigterm_lets_the_in_flight_delivery_finish(sandbox, make_bridge):
    sandbox.fault(count=1, delay=0.8, method="PATCH")
    bridge = make_bridge(BRIDGE_WEB_WORKERS=1)
    bridge.post_stripe(subscription_event(1, OPP))
    wait_for(lambda: sandbox.log("PATCH"), what="the PATCH to be in flight")
    bridge.stop()  # SIGTERM to gunicorn; returns once it has exited
    assert statuses(bridge.env["BRIDGE_STORE_URL"]) == [DELIVERED]
    (patch,) = sandbox.log("PATCH")
    assert patch["status"] == 200


def test_web_without_threads_and_a_separate_worker_process(sandbox, make_bridge):
    bridge = make_bridge(BRIDGE_DELIVERY_THREADS=0)
    bridge.post_stripe(subscription_event(1, OPP))
    env = base_env(**{k: v for k, v in bridge.env.items() if k.startswith(("BRIDGE_", "REEVO_"))})
    worker = subprocess.Popen([sys.executable, "-m", "bridge", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: statuses(bridge.env["BRIDGE_STORE_URL"]) == [DELIVERED], what="the worker to deliver")
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=30)
    assert worker.returncode == 0, errors
    assert len(sandbox.applied()) == 1


def test_metrics_add_up_over_every_gunicorn_worker(sandbox, make_bridge):
    from prometheus_client.parser import text_string_to_metric_families
    import requests

    bridge = make_bridge(BRIDGE_WEB_WORKERS=2)
    for number in range(12):
        assert bridge.post_stripe(subscription_event(number, OPPORTUNITY_IDS[number % 5])).status_code == 202
    wait_for(lambda: len(sandbox.applied()) == 12, what="every delivery")

    def value(name, **labels):
        text = requests.get(f"{bridge.url}/metrics", timeout=5).text
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))
    assert value("bridge_events_total", source="stripe", outcome="accepted") == 12
    wait_for(lambda: value("bridge_deliveries_total", result="delivered") == 12, what="delivered counters")
    assert value("bridge_queue_depth", status="delivered") == 12
