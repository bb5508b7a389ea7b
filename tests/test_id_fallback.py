"""Ids never fall back silently: preview, check --samples, and the running bridge all say so."""
import json
import logging
import re
import shutil

from helpers import FIXTURES, SOURCE_SECRETS, capture_logs
from helpers import bridge_cli

GITHUB = FIXTURES / "github" / "production-deployed"
TOKEN = "fallback-admin-token"


def test_preview_without_the_id_header_warns_and_shows_the_content_hash():
    result = bridge_cli("preview", "github", str(GITHUB / "payload.json"))
    assert result.returncode == 0, result.stderr
    (event,) = json.loads(result.stdout)
    assert event["id_source"] == "content_hash" and event["event"].startswith("sha256:")
    assert "event.id reads header X-GitHub-Delivery, which this sample lacks (give the request headers" \
        in result.stderr
    assert "event.type reads header X-GitHub-Event" in result.stderr
    assert len(event["warnings"]) == 2


def test_preview_with_the_headers_is_quiet():
    result = bridge_cli("preview", "github", str(GITHUB / "payload.json"), "--headers", str(GITHUB / "headers.json"))
    (event,) = json.loads(result.stdout)
    assert event["id_source"] == "sender" and "warnings" not in event and "warning" not in result.stderr


def test_check_samples_warns_about_a_sample_lacking_the_id_header(tmp_path):
    shutil.copytree(GITHUB, tmp_path / "github" / "no-headers")
    (tmp_path / "github" / "no-headers" / "headers.json").unlink()
    shutil.copytree(GITHUB, tmp_path / "github" / "with-headers")
    result = bridge_cli("check", "--samples", str(tmp_path))
    assert result.returncode == 0, result.stdout
    warnings = [line for line in result.stdout.splitlines() if "which this sample lacks" in line]
    assert len(warnings) == 2 and all("no-headers" in line for line in warnings), warnings
    assert "event.id reads header X-GitHub-Delivery" in warnings[0]


def test_the_shipped_fixtures_all_carry_the_headers_their_mappings_read():
    result = bridge_cli("check", "--samples", str(FIXTURES))
    assert result.returncode == 0 and "sample lacks" not in result.stdout, result.stdout


def test_a_webhook_without_its_id_header_is_stored_warned_counted_and_marked(make_bridge):
    bridge = make_bridge(BRIDGE_ADMIN_TOKEN=TOKEN, GITHUB_WEBHOOK_SECRET=SOURCE_SECRETS["GITHUB_WEBHOOK_SECRET"])
    from bridge.signatures import sign_request
    body = (GITHUB / "payload.json").read_bytes()
    headers = json.loads((GITHUB / "headers.json").read_text())
    headers = {k: v for k, v in headers.items() if k.lower() != "x-github-delivery"}
    signed = sign_request("github", body, SOURCE_SECRETS["GITHUB_WEBHOOK_SECRET"], int(bridge.clock()),
                          url="http://localhost/webhooks/github", headers={"Content-Type": "application/json",
                                                                           **headers})
    before = _metric(bridge, "id")
    with capture_logs("bridge.accept") as records:
        answer = bridge.client.post("/webhooks/github", data=body, headers=dict(signed.headers))
    assert answer.status_code == 202, answer.json
    event_id = answer.json["events"][0]["id"]
    assert event_id.startswith("sha256:"), "nothing is lost: stored under its content hash"
    [warning] = [r for r in records if "event id not found" in r.getMessage()]
    assert warning.levelno == logging.WARNING and warning.fields["reads"] == "header X-GitHub-Delivery"
    assert _metric(bridge, "id") == before + 1
    auth = {"Authorization": f"Bearer {TOKEN}"}
    event = bridge.client.get(f"/admin/events/github/{event_id}", headers=auth).json["data"]
    assert event["id_source"] == "content_hash" and event["id_fallback"] is True
    assert all(d["id_source"] == "content_hash" for d in event["deliveries"]) and event["deliveries"]
    listed = bridge.client.get("/admin/deliveries?source=github", headers=auth).json["data"]
    assert [d["id_source"] for d in listed] == ["content_hash"]
    assert bridge.store.get_event("github", event_id)["id_source"] == "content_hash"


def test_an_event_with_its_id_is_marked_as_from_the_sender(bridge):
    event = {"id": "evt_sender", "type": "customer.subscription.updated", "data": {"object": {"status": "active"}}}
    assert bridge.post("stripe", event).status_code == 202
    assert bridge.store.get_event("stripe", "evt_sender")["id_source"] == "sender"


def _metric(bridge, field_name: str) -> float:
    text = bridge.client.get("/metrics").data.decode()
    pattern = rf'^bridge_event_fields_unread_total{{[^}}]*field="{field_name}"[^}}]*source="github"[^}}]*}} (\S+)$'
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0

