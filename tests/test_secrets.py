"""Secrets as NAME or NAME_FILE, what a reload reports about them, the sandbox's demo-secret 401, /metrics token."""
import logging

import pytest

from bridge.config import ConfigError, load_settings, read_secret
from helpers import OPP, capture_logs


def test_a_secret_file_is_read_with_its_newline_dropped(tmp_path):
    path = tmp_path / "secret"
    path.write_text("  value-from-file\n")
    assert read_secret({"X_SECRET_FILE": str(path)}, "X_SECRET") == "value-from-file"
    assert read_secret({"X_SECRET": "direct"}, "X_SECRET") == "direct"
    assert read_secret({}, "X_SECRET") == ""


def test_a_secret_given_twice_or_unreadable_is_named_without_its_value(tmp_path):
    path = tmp_path / "secret"
    path.write_text("hidden-value")
    with pytest.raises(ConfigError, match="both X_SECRET and X_SECRET_FILE are set") as both:
        read_secret({"X_SECRET": "other-value", "X_SECRET_FILE": str(path)}, "X_SECRET")
    with pytest.raises(ConfigError, match="X_SECRET_FILE=.*cannot be read") as missing:
        read_secret({"X_SECRET_FILE": str(tmp_path / "nowhere")}, "X_SECRET")
    assert "hidden-value" not in str(both.value) + str(missing.value)


def test_settings_secrets_may_come_from_files(tmp_path):
    for name, value in (("key", "reevo-key"), ("admin", "admin-token"), ("metrics", "metrics-token")):
        (tmp_path / name).write_text(value + "\n")
    settings = load_settings({"REEVO_API_KEY_FILE": str(tmp_path / "key"),
                              "BRIDGE_ADMIN_TOKEN_FILE": str(tmp_path / "admin"),
                              "BRIDGE_METRICS_TOKEN_FILE": str(tmp_path / "metrics")})
    assert (settings.reevo_api_key, settings.admin_token, settings.metrics_token) == \
        ("reevo-key", "admin-token", "metrics-token")


def test_a_webhook_secret_file_serves_and_a_reload_reads_it_again(make_bridge, tmp_path):
    path = tmp_path / "stripe-secret"
    path.write_text("whsec_before\n")
    bridge = make_bridge(STRIPE_WEBHOOK_SECRET=None, STRIPE_WEBHOOK_SECRET_FILE=path, BRIDGE_ADMIN_TOKEN="t",
                         GITHUB_WEBHOOK_SECRET=None)
    event = {"id": "evt_file", "type": "customer.subscription.updated",
             "data": {"object": {"status": "active", "metadata": {"reevo_opportunity_id": OPP}}}}
    assert bridge.post("stripe", event, secret="whsec_before").status_code == 202
    path.write_text("whsec_after\n")
    answer = bridge.client.post("/admin/reload", headers={"Authorization": "Bearer t"}).json
    assert answer["status"] == "reloaded" and "github" in answer["lacking_secret"]
    assert "stripe" not in answer["lacking_secret"]
    assert answer["demo_secret"] == [] and answer["secret_problems"] == []
    assert bridge.post("stripe", {**event, "id": "evt_file_2"}, secret="whsec_after").status_code == 202
    assert bridge.post("stripe", {**event, "id": "evt_file_3"}, secret="whsec_before").status_code == 401
    sources = bridge.client.get("/admin/mappings", headers={"Authorization": "Bearer t"}).json["data"]["sources"]
    assert sources["stripe"]["secrets"] == {"STRIPE_WEBHOOK_SECRET": True, "STRIPE_WEBHOOK_SECRET_PREVIOUS": False}
    assert sources["github"]["enabled"] is False


def test_an_unreadable_secret_file_disables_the_source_and_is_reported(make_bridge, tmp_path):
    bridge = make_bridge(STRIPE_WEBHOOK_SECRET=None, STRIPE_WEBHOOK_SECRET_FILE=tmp_path / "absent",
                         BRIDGE_ADMIN_TOKEN="t")
    answer = bridge.post("stripe", {"id": "evt_x", "type": "t"})
    assert answer.status_code == 503 and answer.json["reason"] == "source_not_configured"
    assert "absent" not in answer.json["detail"], "a file path is not told to the internet"
    report = bridge.client.post("/admin/reload", headers={"Authorization": "Bearer t"}).json
    assert "stripe" in report["lacking_secret"]
    assert any("STRIPE_WEBHOOK_SECRET_FILE=" in p and "cannot be read" in p for p in report["secret_problems"])


def test_in_sandbox_mode_a_401_says_the_source_verifies_with_the_demo_secret(make_bridge):
    bridge = make_bridge(BRIDGE_SANDBOX="1", STRIPE_WEBHOOK_SECRET=None)
    answer = bridge.post("stripe", {"id": "evt_demo", "type": "t"}, secret="whsec_the_users_real_secret")
    assert answer.status_code == 401
    assert "sandbox mode: STRIPE_WEBHOOK_SECRET" in answer.json["detail"]
    assert "public demo secret" in answer.json["detail"]


def test_outside_sandbox_mode_a_401_does_not_mention_the_demo_secret(bridge):
    answer = bridge.post("stripe", {"id": "evt_x", "type": "t"}, secret="whsec_wrong")
    assert answer.status_code == 401 and "demo" not in answer.json["detail"]


def test_a_conflict_is_answered_as_a_duplicate_and_logged_at_warning(bridge):
    event = {"id": "evt_conflict", "type": "customer.subscription.updated",
             "data": {"object": {"status": "active", "metadata": {"reevo_opportunity_id": OPP}}}}
    assert bridge.post("stripe", event).status_code == 202
    with capture_logs("bridge.accept") as records:
        answer = bridge.post("stripe", {**event, "data": {"object": {"status": "canceled"}}})
    assert answer.status_code == 200 and answer.json["status"] == "duplicate"
    assert answer.json["events"][0]["status"] == "conflict"
    conflicts = [r for r in records if r.getMessage() == "conflict"]
    assert conflicts and all(r.levelno == logging.WARNING for r in conflicts)


def test_metrics_need_the_token_when_one_is_set(make_bridge):
    bridge = make_bridge(BRIDGE_METRICS_TOKEN="scrape-token")
    assert bridge.client.get("/metrics").status_code == 401
    assert bridge.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = bridge.client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    assert answer.status_code == 200 and b"bridge_webhooks_received_total" in answer.data
    assert make_bridge().client.get("/metrics").status_code == 200, "without a token, as before"

