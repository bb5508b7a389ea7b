"""`python -m bridge events` and `python -m bridge show` on every backend (a real process for SQLite and Redis;
in-process for memory://, whose store lives in the process that made it)."""
import io
import json
import os
import subprocess
import sys
import time

import pytest

from bridge.cli.event_commands import events_command, show_command
from bridge.cli.main import build_parser
from bridge.store import DEAD, EventRecord, NewDelivery, open_store
from helpers import ROOT
from store_samples import OPP_A, OPP_B, store_for_a_process

HASH_ID = "sha256:" + "cd" * 32


def fill(store, now):
    """An accepted stripe event whose delivery died after a 503 then a 422, an ignored one, a hashed one."""
    store.accept(EventRecord("stripe", "evt_dead", "invoice.paid", "2024-05-01T10:00:00.000000Z", "h1",
                             data={"id": "evt_dead", "note": "<script>alert(1)</script>"}),
                 [NewDelivery("invoice-paid", {"id": OPP_A}, {"stage": "closed_won"})], now - 30)
    (record,) = store.claim(1, 30, now - 29)
    store.retry_at(record.id, record.lease_token, now - 20, {"status": 503, "code": "unavailable"}, now - 29,
                   attempt={"at": now - 29, "attempt": 1, "outcome": "retrying", "http_status": 503,
                            "code": "unavailable", "message": "try later", "latency_ms": 12.5})
    (record,) = store.claim(1, 30, now - 20)
    store.dead(record.id, record.lease_token, {"status": 422, "code": "validation_error"}, now - 19,
               attempt={"at": now - 19, "attempt": 2, "outcome": "dead", "http_status": 422,
                        "code": "validation_error", "message": "stage is not valid", "latency_ms": 8.0})
    store.accept(EventRecord("stripe", "evt_ignored", "customer.created", None, "h2", outcome="ignored",
                             reason="no_route_matched", data={"id": "evt_ignored"}), [], now - 10)
    store.accept(EventRecord("calendly", HASH_ID, "invitee.created", None, "h3", data={"who": "Ada"}),
                 [NewDelivery("booked", {"id": OPP_B}, {"next_step": "call"})], now - 5)
    return record.id


def in_process(store, *argv):
    out = io.StringIO()
    args = build_parser().parse_args(["--mappings", str(ROOT / "mappings"), *argv])
    code = (events_command if args.command == "events" else show_command)(args, out, store=store)
    return code, out.getvalue()


def as_process(env, *argv):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REEVO_", "BRIDGE_", "STRIPE_"))}
    done = subprocess.run([sys.executable, "-m", "bridge", *argv], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.stderr == "" or done.returncode != 0, done.stderr
    return done.returncode, done.stdout


@pytest.fixture(params=["memory", "sqlite", "redis"])
def cli(request, tmp_path):
    """(store, run): a filled store and a way to run the CLI against it."""
    if request.param == "memory":
        store = open_store("memory://")
        yield store, lambda *argv: in_process(store, *argv)
    else:
        store, env = store_for_a_process(request.param, request, tmp_path, prefix="cli-events")
        yield store, lambda *argv: as_process(env, *argv)
    store.close()


def test_events_lists_newest_first_with_filters_and_pages(cli):
    store, run = cli
    fill(store, time.time())
    code, out = run("events")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["RECEIVED", "SOURCE", "TYPE", "EVENT", "ID", "ID", "STATUS",
                                              "DELIVERIES", "OPPORTUNITIES"]
    assert [line.split()[3] for line in lines[1:]] == [HASH_ID, "evt_ignored", "evt_dead"]
    assert lines[1].split()[4:7] == ["hash", "accepted", "1"] and OPP_B in lines[1]
    assert "ignored" in lines[2] and "1 dead" in lines[3] and OPP_A in lines[3]
    code, out = run("events", "--source", "stripe", "--delivery-status", DEAD)
    assert [line.split()[3] for line in out.splitlines()[1:]] == ["evt_dead"]
    code, out = run("events", "--status", "ignored", "--since", "1h")
    assert [line.split()[3] for line in out.splitlines()[1:]] == ["evt_ignored"]
    code, out = run("events", "-q", "ADA")
    assert [line.split()[3] for line in out.splitlines()[1:]] == [HASH_ID]
    code, out = run("events", "--limit", "2")
    cursor = out.splitlines()[-1].split("--cursor ")[1]
    code, out = run("events", "--limit", "2", "--cursor", cursor)
    assert [line.split()[3] for line in out.splitlines()[1:]] == ["evt_dead"]
    code, out = run("events", "--opportunity", OPP_A, "--json")
    page = json.loads(out)
    assert [r["event_id"] for r in page["data"]] == ["evt_dead"] and page["next_cursor"] is None
    assert page["data"][0]["deliveries"]["dead"] == 1


def test_show_prints_routes_the_patch_the_attempts_and_the_body(cli):
    store, run = cli
    delivery_id = fill(store, time.time())
    code, out = run("show", "stripe:evt_dead")
    assert code == 0
    assert out.startswith("stripe:evt_dead  invoice.paid  accepted")
    assert "  invoice-paid  matched: delivery" in out and "subscription-status  not matched" in out
    assert f"#{delivery_id} invoice-paid  dead  attempts 2" in out
    assert f"PATCH /api/v2/opportunity/{OPP_A}" in out and '{"attributes": {"stage": "closed_won"}}' in out
    assert "#1  retrying  HTTP 503  unavailable  12.5 ms  try later" in out
    assert "#2  dead  HTTP 422  validation_error  8 ms  stage is not valid" in out
    assert '"note": "<script>alert(1)</script>"' in out, "the body as stored, pretty-printed"
    code, out = run("show", f"calendly:{HASH_ID}", "--json")
    detail = json.loads(out)
    assert detail["id_source"] == "content_hash" and detail["deliveries"][0]["request"]["body"] == {
        "attributes": {"next_step": "call"}}
    code, out = run("show", "stripe:nope")
    assert code == 1 and "no event nope from stripe is stored" in out
