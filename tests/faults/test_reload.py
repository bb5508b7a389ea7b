"""Mappings reload under gunicorn (SIGHUP and POST /admin/reload) without dropping a request."""
import json
import os
import shutil
import signal
import threading

import requests

from sandbox.known import DEMO_OPPORTUNITY_ID
from harness import subscription_event
from helpers import ROOT, wait_for

EXTRA = "verify: {scheme: none}\nevent: {id: id}\nroutes:\n  - {name: r, opportunity: {id: o}, set: {stage: s}}\n"
TOKEN = "reload-admin-token"


def post_extra(bridge, number: int):
    return requests.post(f"{bridge.url}/webhooks/extra", timeout=10, headers={"Content-Type": "application/json"},
                         data=json.dumps({"id": f"x{number}", "o": DEMO_OPPORTUNITY_ID, "s": "closed_won"}))


class Traffic(threading.Thread):
    """Signed webhooks posted back to back until stopped; keeps every status (or error)."""

    def __init__(self, bridge):
        super().__init__(daemon=True)
        self.bridge, self.stop, self.results = bridge, threading.Event(), []

    def run(self):
        number = 0
        while not self.stop.is_set():
            number += 1
            try:
                response = self.bridge.post_stripe(subscription_event(number, DEMO_OPPORTUNITY_ID))
                self.results.append(response.status_code)
            except requests.RequestException as exc:
                self.results.append(type(exc).__name__)


def test_sighup_reload_drops_no_request_and_a_bad_file_keeps_the_old_mappings(make_bridge, tmp_path):
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", folder)
    bridge = make_bridge(BRIDGE_MAPPINGS_DIR=folder, BRIDGE_WEB_WORKERS=2, BRIDGE_ADMIN_TOKEN=TOKEN)
    assert post_extra(bridge, 0).status_code == 404
    traffic = Traffic(bridge)
    traffic.start()
    try:
        (folder / "extra.yaml").write_text(EXTRA)
        os.kill(bridge.process.pid, signal.SIGHUP)
        wait_for(lambda: post_extra(bridge, 1).status_code == 202, what="the new mapping to serve")
        (folder / "extra.yaml").write_text("verify: [broken\n")
        os.kill(bridge.process.pid, signal.SIGHUP)
        wait_for(lambda: "previous mappings stay in use" in bridge.log_path.read_text(), what="the rejection")
        wait_for(lambda: "using the last good copy" in bridge.log_path.read_text(), what="new workers to boot")
        assert post_extra(bridge, 2).status_code == 202, "the last good mappings still serve"
        reload = requests.post(f"{bridge.url}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert reload.status_code == 422 and "extra.yaml: line" in reload.json()["problems"][0]
        (folder / "extra.yaml").unlink()
        reload = requests.post(f"{bridge.url}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert reload.status_code == 200 and reload.json()["status"] == "reloading"
        wait_for(lambda: post_extra(bridge, 3).status_code == 404, what="the reload through the admin API")
    finally:
        traffic.stop.set()
        traffic.join(timeout=10)
    assert bridge.process.poll() is None, "the bridge kept running"
    assert len(traffic.results) > 20
    assert set(traffic.results) <= {202}, sorted(set(map(str, traffic.results)))
