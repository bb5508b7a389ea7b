"""Scripted faults and the request log, observed by a real HTTP client."""

import json
import time

import pytest
import requests

from sandbox import known

OPP = known.DEMO_OPPORTUNITY_ID
PATCH_PATH = f"/api/v2/opportunity/{OPP}"


def add_fault(api, **spec):
    response = api.control("POST", "faults", json=spec)
    assert response.status_code == 201, response.text
    return response.json()["data"][0]


def log(api):
    response = api.control("GET", "requests")
    assert response.status_code == 200
    return response.json()["data"]


def test_503_with_retry_after_for_n_requests_then_normal(api):
    add_fault(api, count=2, status=503, headers={"Retry-After": "1"}, method="PATCH")
    for _ in range(2):
        response = api.patch(OPP, {"display_name": "during outage"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert response.json()["error"]["code"] == "service_unavailable"
    assert api.attrs(OPP)["display_name"]["value"] != "during outage"
    response = api.patch(OPP, {"display_name": "after outage"})
    assert response.status_code == 200
    assert api.attrs(OPP)["display_name"]["value"] == "after outage"
    entries = [e for e in log(api) if e["method"] == "PATCH"]
    assert [e["status"] for e in entries] == [503, 503, 200]
    assert [e["applied"] for e in entries] == [False, False, True]
    assert [bool(e["fault"]) for e in entries] == [True, True, False]


def test_429_custom_body_and_string_body(api):
    add_fault(api, status=429, headers={"Retry-After": "7"}, body={"detail": "slow down"})
    add_fault(api, status=502, body="<html>Bad gateway</html>")
    first = api.get(OPP)
    assert (first.status_code, first.headers["Retry-After"], first.json()) == (429, "7", {"detail": "slow down"})
    second = api.get(OPP)
    assert second.status_code == 502 and second.text == "<html>Bad gateway</html>"
    assert second.headers["Content-Type"].startswith("text/plain")
    assert api.get(OPP).status_code == 200


def test_method_and_path_filters(api):
    add_fault(api, status=500, method="PATCH", path="/api/v2/opportunity/" + known.STRIPE_OPPORTUNITY_ID)
    assert api.get(known.STRIPE_OPPORTUNITY_ID).status_code == 200  # wrong method
    assert api.patch(OPP, {"display_name": "x"}).status_code == 200  # wrong path
    assert api.patch(known.STRIPE_OPPORTUNITY_ID, {"display_name": "x"}).status_code == 500
    assert api.patch(known.STRIPE_OPPORTUNITY_ID, {"display_name": "x"}).status_code == 200


def test_faults_do_not_touch_health_or_control(api):
    add_fault(api, status=503)
    assert requests.get(f"{api.base}/api/v2/health", timeout=5).status_code == 200
    assert api.control("GET", "requests").status_code == 200
    assert len(api.control("GET", "faults").json()["data"]) == 1
    assert api.get(OPP).status_code == 503


def test_fault_answers_before_auth(api):
    add_fault(api, status=503)
    response = requests.get(api.base + PATCH_PATH, timeout=5)  # no key at all
    assert response.status_code == 503


def test_delay_alone_then_normal_handling(api):
    add_fault(api, delay=0.3)
    started = time.monotonic()
    response = api.patch(OPP, {"display_name": "slow"})
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200 and response.json()["data"]["attributes"]["display_name"]["value"] == "slow"


def test_apply_then_delay_times_out_after_the_change_took_effect(api):
    add_fault(api, mode="apply_then_delay", delay=0.5, method="PATCH")
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.patch(OPP, {"display_name": "applied but unanswered"}, timeout=(2, 0.15))
    assert api.attrs(OPP)["display_name"]["value"] == "applied but unanswered"
    entry = [e for e in log(api) if e["method"] == "PATCH"][0]
    assert entry["applied"] is True and entry["fault"]["mode"] == "apply_then_delay"


def test_apply_then_error_status(api):
    add_fault(api, mode="apply_then_delay", status=500)
    response = api.patch(OPP, {"display_name": "applied then 500"})
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
    assert api.attrs(OPP)["display_name"]["value"] == "applied then 500"


def test_down_answers_every_matching_request_for_its_seconds_then_recovers(api):
    queued_at = time.monotonic()
    add_fault(api, mode="down", seconds=1, method="PATCH")
    statuses = []
    while not statuses or statuses[-1] == 503:  # polls until the outage ends (bounded by its 1 s)
        statuses.append(api.patch(OPP, {"display_name": "while down"}).status_code)
        assert time.monotonic() - queued_at < 30, "the outage never ended"
    assert time.monotonic() - queued_at >= 1.0
    assert statuses[0] == 503 and statuses[-1] == 200 and set(statuses) == {503, 200}
    assert api.get(OPP).status_code == 200  # only PATCH was down
    entries = [e for e in log(api) if e["method"] == "PATCH"]
    assert [e["applied"] for e in entries] == [False] * (len(entries) - 1) + [True]
    assert api.control("GET", "faults").json()["data"] == []


@pytest.mark.parametrize("apply", [False, True])
def test_drop_closes_the_connection(api, apply):
    add_fault(api, mode="drop", apply=apply, method="PATCH")
    with pytest.raises(requests.exceptions.ConnectionError):
        api.patch(OPP, {"display_name": "dropped"})
    assert (api.attrs(OPP)["display_name"]["value"] == "dropped") is apply
    assert requests.get(f"{api.base}/api/v2/health", timeout=5).status_code == 200  # server survived
    entry = [e for e in log(api) if e["method"] == "PATCH"][0]
    assert entry["dropped"] is True and entry["status"] is None and entry["applied"] is apply


def test_drop_with_a_session_then_recover(api):
    add_fault(api, mode="drop", count=2)
    with requests.Session() as session:
        session.headers.update(api.headers)
        for _ in range(2):
            with pytest.raises(requests.exceptions.ConnectionError):
                session.get(api.base + PATCH_PATH, timeout=5)
        assert session.get(api.base + PATCH_PATH, timeout=5).status_code == 200


def test_list_and_clear_faults(api):
    add_fault(api, status=503, count=3)
    add_fault(api, mode="drop", path="/api/v2/opportunity/_query")
    pending = api.control("GET", "faults").json()["data"]
    assert [(f["status"], f["remaining"], f["mode"]) for f in pending] == [(503, 3, "respond"), (None, 1, "drop")]
    api.get(OPP)
    assert api.control("GET", "faults").json()["data"][0]["remaining"] == 2
    assert api.control("DELETE", "faults").json()["data"] == {"cleared": 2}
    assert api.control("GET", "faults").json()["data"] == []
    assert api.get(OPP).status_code == 200


def test_several_faults_in_one_post_are_consumed_in_order(api):
    response = api.control("POST", "faults", json=[{"status": 500}, {"status": 502}])
    assert response.status_code == 201 and len(response.json()["data"]) == 2
    assert [api.get(OPP).status_code for _ in range(3)] == [500, 502, 200]


BAD_FAULTS = [
    ("unknown-key", {"status": 503, "colour": "red"}),
    ("bad-mode", {"mode": "explode", "status": 503}),
    ("bad-status", {"status": 99}),
    ("status-string", {"status": "503"}),
    ("negative-delay", {"delay": -1}),
    ("huge-delay", {"delay": 3600}),
    ("zero-count", {"count": 0, "status": 503}),
    ("noop-respond", {}),
    ("headers-not-object", {"status": 503, "headers": ["Retry-After: 1"]}),
    ("apply-not-bool", {"mode": "drop", "apply": "yes"}),
    ("path-not-prefix", {"status": 503, "path": "api/v2"}),
    ("not-an-object", "503"),
    ("down-without-seconds", {"mode": "down"}),
    ("down-too-long", {"mode": "down", "seconds": 7200}),
    ("seconds-without-down", {"status": 503, "seconds": 5}),
]


@pytest.mark.parametrize("spec", [c[1] for c in BAD_FAULTS], ids=[c[0] for c in BAD_FAULTS])
def test_invalid_fault_specs_are_400(api, spec):
    api.expect_error(api.control("POST", "faults", json=spec), 400, "invalid_request")
    assert api.control("GET", "faults").json()["data"] == []


def test_invalid_json_fault_is_400(api):
    api.expect_error(api.control("POST", "faults", data=b"{"), 400, "invalid_json")


# --- request log ----------------------------------------------------------------------------


def test_request_log_records_what_the_bridge_sent(api):
    api.patch(OPP, {"stage": "closed_won"}, headers={"Idempotency-Key": "evt_123:route", "User-Agent": "bridge/1.0"})
    api.request("GET", f"/api/v2/opportunity/{OPP}?expand=none")
    api.patch(OPP, {"nope": 1})
    entries = log(api)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    patch, get, bad = entries
    assert patch["method"] == "PATCH" and patch["path"] == PATCH_PATH
    assert patch["json"] == {"attributes": {"stage": "closed_won"}}
    assert patch["headers"] == {"Idempotency-Key": "evt_123:route", "User-Agent": "bridge/1.0",
                                "Content-Type": "application/json"}
    assert patch["auth_scheme"] == "bearer" and patch["auth_result"] == "write"
    assert (patch["status"], patch["applied"], patch["error_code"]) == (200, True, None)
    assert patch["timestamp"].endswith("Z")
    assert get["query"] == "expand=none" and get["applied"] is False and get["json"] is None
    assert (bad["status"], bad["error_code"], bad["applied"]) == (422, "unknown_field", False)


def test_health_and_control_calls_are_not_logged(api):
    requests.get(f"{api.base}/api/v2/health", timeout=5)
    api.control("GET", "faults")
    assert log(api) == []


def test_request_log_never_contains_a_key(api, readonly_api):
    wrong = "wrong-secret-value-123"
    api.get(OPP)
    api.request("GET", f"/api/v2/opportunity/{OPP}", headers={"Authorization": None, "X-Api-Key": "sandbox-key"})
    readonly_api.patch(OPP, {"display_name": "x"})
    api.request("GET", f"/api/v2/opportunity/{OPP}?api_key=sandbox-key")
    api.patch(OPP, {"next_step_details": "key is sandbox-key and sandbox-readonly-key"})
    api.request("POST", "/api/v2/opportunity/_query", data=b"sandbox-key not json",
                headers={"Content-Type": "application/json"})
    requests.get(api.base + PATCH_PATH, headers={"Authorization": f"Bearer {wrong}"}, timeout=5)
    entries = log(api)
    text = json.dumps(entries)
    assert len(entries) == 7
    for secret in ("sandbox-key", "sandbox-readonly-key", wrong, "Bearer"):
        assert secret not in text
    schemes = [e["auth_scheme"] for e in entries]
    assert schemes == ["bearer", "x-api-key", "bearer", "bearer", "bearer", "bearer", "bearer"]
    results = [e["auth_result"] for e in entries]
    assert results == ["write", "write", "forbidden", "write", "write", "write", "unauthorized"]
    assert "[REDACTED]" in entries[3]["query"] and "[REDACTED]" in entries[5]["body_text"]


def test_clear_request_log(api):
    api.get(OPP)
    assert api.control("DELETE", "requests").json()["data"] == {"cleared": 1}
    assert log(api) == []


def test_reset_clears_faults_and_log(api):
    add_fault(api, status=503)
    api.request("GET", f"/api/v2/opportunity/{known.MISSING_OPPORTUNITY_ID}")
    assert api.control("POST", "reset").json()["data"] == {"status": "reset"}
    assert api.control("GET", "faults").json()["data"] == [] and log(api) == []


def test_status_after_delay(api):
    add_fault(api, status=504, delay=0.2)
    started = time.monotonic()
    response = api.get(OPP)
    assert time.monotonic() - started >= 0.2 and response.status_code == 504
    assert response.json()["error"]["code"] == "gateway_timeout"


def test_drop_after_delay(api):
    add_fault(api, mode="drop", delay=0.2)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get(OPP)
    assert time.monotonic() - started >= 0.2
