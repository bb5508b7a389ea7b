"""Every fixture case, end to end: signed at run time, posted, delivered, compared with expected.json.

A case is a folder `tests/fixtures/<source>/<case>/` with `payload.json` (the body, sent
byte for byte), optional `headers.json` (what the sender sends besides its signature)
and `expected.json`: the answer to the sender, and for each event in the body its id,
type, occurred_at and outcome, with every delivery's route, final status, the PATCH
that reached the sandbox (path and JSON body) and the reason when it did not succeed.
Adding a case adds a folder, never code.
"""
import json

import pytest

from helpers import FIXTURES
from signing import signed_headers

CASES = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.glob("*/*") if p.is_dir())
def observed(bridge, reevo, source: str, response) -> dict:
    """What happened, in expected.json's shape; every PATCH the sandbox saw must belong to a delivery."""
    patches = {entry["headers"]["Idempotency-Key"]: entry for entry in reevo.requests("PATCH")}
    events = []
    for item in response.json.get("events", []):
        stored = bridge.store.get_event(source, item["id"])
        event = {"id": item["id"], "type": stored["type"], "occurred_at": stored["occurred_at"],
                 "outcome": stored["outcome"]}
        if stored["outcome"] == "ignored":
            event["reason"] = stored["reason"]
        else:
            event["deliveries"] = [_delivery(record, patches) for record in bridge.deliveries(source, item["id"])]
        events.append(event)
    assert not patches, f"PATCHes that belong to no delivery: {list(patches.values())}"
    return {"answer": {"http": response.status_code, "status": response.json["status"]}, "events": events}


def _delivery(record, patches: dict) -> dict:
    out = {"route": record.route, "status": record.status}
    sent = patches.pop(record.idempotency_key, None)
    if sent:
        out.update(patch=sent["path"], body=sent["json"])
    if record.last_error:
        out["reason"] = record.last_error["code"]
    return out


@pytest.mark.parametrize("case", CASES)
def test_fixture_case(case, make_bridge, reevo):
    folder = FIXTURES / case
    source = folder.parent.name
    assert (folder / "expected.json").is_file(), f"{case}: every fixture case needs an expected.json"
    body = (folder / "payload.json").read_bytes()
    given = json.loads((folder / "headers.json").read_text()) if (folder / "headers.json").is_file() else {}
    bridge = make_bridge()
    url, headers = signed_headers(source, body, given, int(bridge.clock()))

    def post():
        return bridge.client.post(url, data=body, headers={"Content-Type": "application/json", **headers})

    response = post()
    bridge.deliver()
    assert observed(bridge, reevo, source, response) == json.loads((folder / "expected.json").read_text())

    # The sender resends (same event identity): nothing is stored or sent twice.
    sent = len(reevo.requests("PATCH"))
    again = post()
    if response.json.get("events"):
        assert (again.status_code, again.json["status"]) == (200, "duplicate")
    bridge.deliver()
    assert len(reevo.requests("PATCH")) == sent


def _bump(path: str):
    """A retry as the sender makes it: the same event with its attempt counter (at `path`) raised."""
    def retry(payload):
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            *parents, leaf = path.split(".")
            for key in parents:
                item = item[key]
            item[leaf] += 1
        return payload
    return retry


RETRIES = {
    "hubspot/deal-stage-and-amount": _bump("attemptNumber"),
    "pipedrive/v2-stage-change": _bump("meta.attempt"),
    "pipedrive/v1-stage-change": _bump("retry"),
    "docusign/envelope-completed": _bump("retryCount"),
}


@pytest.mark.parametrize("case", RETRIES)
def test_a_retry_that_counts_its_attempt_in_the_body_is_not_applied_twice(case, make_bridge, reevo):
    folder = FIXTURES / case
    source = folder.parent.name
    original = (folder / "payload.json").read_bytes()
    retried = json.dumps(RETRIES[case](json.loads(original))).encode()
    bridge = make_bridge()
    answers = []
    for body in (original, retried):
        url, headers = signed_headers(source, body, {}, int(bridge.clock()))
        answers.append(bridge.client.post(url, data=body, headers={"Content-Type": "application/json", **headers}))
        bridge.deliver()
    assert answers[0].json["status"] == "accepted"
    assert (answers[1].status_code, answers[1].json["status"]) == (200, "duplicate")
    assert [e["id"] for e in answers[0].json["events"]] == [e["id"] for e in answers[1].json["events"]]
    for event in answers[1].json["events"]:
        assert bridge.store.get_event(source, event["id"])["conflicts"] == 0, "a retry is not a conflict"
    expected = json.loads((folder / "expected.json").read_text())
    assert len(reevo.requests("PATCH")) == sum(len(e.get("deliveries", [])) for e in expected["events"])
