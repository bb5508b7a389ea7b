"""`python -m bridge check [--live]` and `preview`, run as real processes."""
import json
import textwrap

import pytest

from helpers import FIXTURES, OPP, SANDBOX_KEY, bridge_cli


def test_check_is_clean_on_the_shipped_mappings():
    result = bridge_cli("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 problem(s)" in result.stdout


def test_check_lists_every_problem_in_every_file(tmp_path):
    (tmp_path / "one.yaml").write_text(textwrap.dedent("""
        verify: {scheme: none}
        routes:
          - name: a
            opportunity: {id: x}
            set: {colour: y, stage: {from: s, transform: nope}}
    """))
    (tmp_path / "two.yaml").write_text("verify: {scheme: stripe, secrets: [S]}\nroutes: [\n")
    result = bridge_cli("--mappings", str(tmp_path), "check")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any("one.yaml: route 'a': field 'colour'" in line for line in lines)
    assert any("one.yaml: route 'a': field 'stage': unknown transform 'nope'" in line for line in lines)
    assert any("two.yaml: line" in line for line in lines)
    assert "3 problem(s)" in lines[-1]


def write_live_mapping(folder, fields: str, match_field: str = "stripe_customer_id"):
    (folder / "live.yaml").write_text(textwrap.dedent(f"""
        verify: {{scheme: none}}
        custom_fields: {{stripe_customer_id: string, seats: string, not_there: number}}
        routes:
          - name: r
            opportunity: {{match: {{field: {match_field}, equals: c}}}}
            set: {fields}
    """))


def test_check_live_passes_against_the_sandbox_schema(tmp_path, reevo):
    write_live_mapping(tmp_path, "{stage: s, amount: {from: a}, stripe_customer_id: c}")
    result = bridge_cli("--mappings", str(tmp_path), "check", "--live",
                        env={"REEVO_API_URL": reevo.url, "REEVO_API_KEY": SANDBOX_KEY})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"checked against {reevo.url}" in result.stdout


@pytest.mark.parametrize("fields,match_field,expected", [
    ("{not_there: n}", "stripe_customer_id", "field 'not_there': does not exist on this workspace"),
    ("{seats: n}", "stripe_customer_id",
     "field 'seats': has value type number here, but the mapping treats it as string"),
    ("{stage: s}", "no_such_field", "opportunity: match field 'no_such_field' does not exist"),
])
def test_check_live_reports_mismatches(tmp_path, reevo, fields, match_field, expected):
    write_live_mapping(tmp_path, fields, match_field)
    result = bridge_cli("--mappings", str(tmp_path), "check", "--live",
                        env={"REEVO_API_URL": reevo.url, "REEVO_API_KEY": SANDBOX_KEY})
    assert result.returncode == 1
    assert expected in result.stdout


def test_check_live_says_when_reevo_refuses(tmp_path, reevo):
    write_live_mapping(tmp_path, "{stage: s}")
    result = bridge_cli("--mappings", str(tmp_path), "check", "--live",
                        env={"REEVO_API_URL": reevo.url, "REEVO_API_KEY": "wrong-key"})
    assert result.returncode == 1 and "check --live: HTTP 401" in result.stdout
    assert "wrong-key" not in result.stdout + result.stderr


def test_preview_shows_the_patch_and_sends_nothing(reevo):
    result = bridge_cli("preview", "stripe", str(FIXTURES / "stripe/subscription-active/payload.json"))
    assert result.returncode == 0, result.stderr
    (event,) = json.loads(result.stdout)
    assert event["event"] == "evt_1MqqbKLt4dXK03v5qaIbiNCC"
    assert event["deliveries"] == [{"route": "subscription-status", "target": {"id": OPP}, "attributes": {
        "stage": "closed_won", "amount": 10,
        "next_step_details": "Stripe subscription sub_1MowQVLkdIwHu7ixeRlqHVzs is active"}}]
    assert reevo.requests() == []


def test_preview_explains_an_ignored_event(tmp_path):
    payload = tmp_path / "other.json"
    payload.write_text(json.dumps({"id": "evt_x", "type": "customer.created", "created": 1}))
    (event,) = json.loads(bridge_cli("preview", "stripe", str(payload)).stdout)
    assert event["result"] == "ignored: no route matched" and event["deliveries"] == []
