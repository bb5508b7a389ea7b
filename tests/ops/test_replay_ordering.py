"""Issue 12.4: ordering cannot be forged by a replayed body or an unsigned header.

The stale guard keeps, per opportunity field, the newest occurred_at applied; a time only
counts from signed data, or capped at the moment the bridge received the event.
"""
import json
import subprocess
import sys
from datetime import datetime, UTC

from bridge.mapping.loader import load_mapping, trust_warnings
from helpers import FIXTURES, ROOT
from signing import post_signed

ORDER = (FIXTURES / "shopify/order-paid/payload.json").read_bytes()
HEADERS = json.loads((FIXTURES / "shopify/order-paid/headers.json").read_text())
SHOPIFY_OPP = "b88dd4ab-aa87-5616-bf91-38e0676a6f79"
REPLAY = {**HEADERS, "X-Shopify-Webhook-Id": "ffffffff-0000-4000-8000-000000000001",
          "X-Shopify-Triggered-At": "2099-01-01T00:00:00Z"}
# The mapping as shipped before issue 12: id and time from headers Shopify does not sign.
HEADER_MAPPING = (ROOT / "mappings/shopify.yaml").read_text().replace(
    """  id: {join: [id, updated_at], separator: "@"}\n""", "  id: {header: X-Shopify-Webhook-Id}\n").replace(
    "  occurred_at: updated_at\n", "  occurred_at: {header: X-Shopify-Triggered-At}\n")


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def guard_times(bridge) -> dict:
    return bridge.store.field_times(SHOPIFY_OPP, ["stage", "amount", "closed_won_custom_detail"])


def test_the_shopify_replay_is_a_duplicate_and_leaves_the_stale_guard_at_the_signed_time(bridge, reevo):
    first = post_signed(bridge, "shopify", ORDER, HEADERS)
    assert first.json["status"] == "accepted"
    bridge.deliver()
    before = guard_times(bridge)
    assert set(before.values()) == {"2024-05-02T14:15:04.000000Z"}  # the order's signed updated_at
    bridge.clock.advance(3600)
    replay = post_signed(bridge, "shopify", ORDER, REPLAY)
    assert (replay.status_code, replay.json["status"]) == (200, "duplicate")
    bridge.deliver()
    assert guard_times(bridge) == before and len(reevo.patches()) == 1


def test_with_header_times_the_replay_cannot_move_the_stale_guard_past_the_receive_time(make_bridge, tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "shopify.yaml").write_text(HEADER_MAPPING)
    bridge = make_bridge(BRIDGE_MAPPINGS_DIR=folder)
    received = bridge.clock()
    replay = post_signed(bridge, "shopify", ORDER, REPLAY)
    assert replay.json["status"] == "accepted"  # a new id: the body-only signature cannot tell
    bridge.deliver()
    assert set(guard_times(bridge).values()) == {iso(received)}, "2099 was not believed"
    stored = bridge.store.get_event("shopify", REPLAY["X-Shopify-Webhook-Id"])
    assert stored["occurred_at"] == iso(received)


def test_check_warns_about_ids_and_times_from_headers_the_scheme_does_not_sign(tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "shopify.yaml").write_text(HEADER_MAPPING)
    for name in ("standard-webhooks.yaml", "github.yaml"):
        (folder / name).write_text((ROOT / "mappings" / name).read_text())
    done = subprocess.run([sys.executable, "-m", "bridge", "--mappings", str(folder), "check"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr  # warnings, not problems
    warnings = [line for line in done.stdout.splitlines() if ": warning: " in line]
    assert [(w.split(":")[0].rsplit("/", 1)[1], w.split("event.")[1].split()[0]) for w in warnings] == [
        ("github.yaml", "id"), ("shopify.yaml", "id"), ("shopify.yaml", "occurred_at")]
    assert "X-Shopify-Triggered-At" in warnings[2] and "'shopify' does not sign" in warnings[2]


def test_no_shipped_mapping_takes_its_time_from_an_unsigned_header():
    for path in sorted((ROOT / "mappings").glob("*.yaml")):
        mapping, problems = load_mapping(path)
        assert not problems
        assert not [w for w in trust_warnings(mapping) if "event.occurred_at" in w], path.name
