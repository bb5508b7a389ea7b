"""Mapping files: value-spec forms render as documented; every load error names file, route, field."""
import textwrap
from pathlib import Path

import pytest

from bridge.mapping.loader import load_mapping, load_mappings
from bridge.mapping.valuespec import SKIP, FieldError, compile_spec

ROOT = Path(__file__).resolve().parents[2]
OPP = "3b1f6a52-6a8e-4a43-9a39-6c1f4f0b7e11"
EVENT = {"id": "evt_1", "type": "t", "created": 1680064028, "status": "active", "cents": 1999,
         "name": " Acme ", "owner": "ann@example.com", "missing_is_null": None, "list": ["a", "b"]}

SPECS = [
    ("shorthand from", "status", "active"),
    ("from", {"from": "status"}, "active"),
    ("value", {"value": "closed_won"}, "closed_won"),
    ("template", {"template": "Sub {id} is {status}"}, "Sub evt_1 is active"),
    ("template with literal braces", {"template": "{{x}} {status}"}, "{x} active"),
    ("template missing part", {"template": "x {nope}"}, SKIP),
    ("lookup hit", {"from": "status", "lookup": {"active": "closed_won"}}, "closed_won"),
    ("lookup miss default skip", {"from": "status", "lookup": {"x": "y"}, "default": "skip"}, SKIP),
    ("lookup miss default null", {"from": "status", "lookup": {"x": "y"}, "default": None}, None),
    ("lookup miss default value", {"from": "status", "lookup": {"x": "y"}, "default": "open"}, "open"),
    ("missing path, no default", {"from": "a.b.c"}, SKIP),
    ("missing path, default", {"from": "a.b.c", "default": "z"}, "z"),
    ("null value is missing", {"from": "missing_is_null", "default": None}, None),
    ("one transform", {"from": "cents", "transform": "cents_to_decimal"}, 19.99),
    ("transform list in order", {"from": "name", "transform": ["strip", "upper", "truncate(3)"]}, "ACM"),
    ("transform then lookup", {"from": "name", "transform": ["strip", "lower"], "lookup": {"acme": "won"}}, "won"),
    ("reference match", {"match": {"email": "owner"}}, {"related_record_match": {"email": "ann@example.com"}}),
    ("numeric lookup key", {"value": 2, "lookup": {"2": "two"}}, "two"),
]


@pytest.mark.parametrize("name,raw,expected", SPECS, ids=[s[0] for s in SPECS])
def test_value_spec_forms(name, raw, expected):
    assert compile_spec(raw).render(EVENT) == expected


@pytest.mark.parametrize("raw,reason", [
    ({"from": "nope", "required": True}, "required_field_missing"),
    ({"from": "status", "lookup": {"x": "y"}}, "no_lookup_match"),
    ({"from": "list", "transform": "lower"}, "transform_failed"),
    ({"from": "length(cents)"}, "expression_failed"),
])
def test_value_spec_event_errors(raw, reason):
    with pytest.raises(FieldError) as error:
        compile_spec(raw).render(EVENT)
    assert error.value.reason == reason


def write(tmp_path, text, name="acme.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """
verify: {scheme: stripe, secrets: [ACME_SECRET]}
event: {id: id, type: type, occurred_at: created}
routes:
  - name: r1
    when: "type == 't'"
    opportunity: {id: opp}
    set:
      stage: status
"""

LOAD_ERRORS = [
    ("unknown top-level key", GOOD + "extra: 1\n", "extra: Unknown field"),
    ("bad expression", GOOD.replace("stage: status", "stage: 'status[?'"), "route 'r1': field 'stage': bad expression"),
    ("bad when", GOOD.replace("type == 't'", "type == "), "route 'r1': when: bad expression"),
    ("unknown transform", GOOD.replace("stage: status", "stage: {from: status, transform: shout}"),
     "route 'r1': field 'stage': unknown transform 'shout'"),
    ("field not on surface", GOOD.replace("stage: status", "colour: status"),
     "route 'r1': field 'colour': 'colour' is not on the opportunity PATCH surface"),
    ("field not updatable", GOOD.replace("stage: status", "account_id: status"),
     "route 'r1': field 'account_id': 'account_id' is not updatable"),
    ("outcome not updatable", GOOD.replace("stage: status", "outcome: status"), "field_not_updatable"),
    ("constant of wrong type", GOOD.replace("stage: status", "amount: {value: lots}"),
     "route 'r1': field 'amount': value must be a number (currency)"),
    ("lookup output of wrong type", GOOD.replace("stage: status", "next_step_due_at: {from: s, lookup: {a: soon}}"),
     "route 'r1': field 'next_step_due_at': lookup['a'] must be an ISO-8601 timestamp"),
    ("unknown spec key", GOOD.replace("stage: status", "stage: {from: status, lookpu: {}}"),
     "route 'r1': field 'stage': unknown key(s) lookpu"),
    ("two sources", GOOD.replace("stage: status", "stage: {from: status, value: x}"),
     "needs exactly one of from, value, template, match"),
    ("unknown scheme", GOOD.replace("scheme: stripe", "scheme: strype"), "verify.scheme: unknown scheme 'strype'"),
    ("no secret", GOOD.replace("secrets: [ACME_SECRET]", "secrets: []"), "verify.secrets: names no secret"),
    ("secret value instead of name", GOOD.replace("ACME_SECRET", "whsec_abc"), "must be an environment variable name"),
    ("both id and match", GOOD.replace("{id: opp}", "{id: opp, match: {field: x, equals: y}}"),
     "route 'r1': opportunity: needs exactly one of id or match"),
    ("no routes", GOOD.split("routes:")[0] + "routes: []\n", "routes: needs at least one route"),
    ("route without name", GOOD.replace("name: r1", "nome: r1"), "routes.0.name: Missing data"),
    ("duplicate route names", GOOD + GOOD.split("routes:\n")[1], "route 'r1': route name is used more than once"),
    ("unknown verify option", GOOD.replace("secrets: [ACME_SECRET]", "secrets: [ACME_SECRET], tolerence: 60"),
     "verify.tolerence: is not an option of scheme 'stripe'"),
    ("tolerance not a number", GOOD.replace("secrets: [ACME_SECRET]", "secrets: [ACME_SECRET], tolerance: soon"),
     "verify.tolerance: must be a positive number of seconds"),
    ("hmac without a header", GOOD.replace("scheme: stripe", "scheme: hmac"), "verify.header: is required"),
    ("hmac unknown algorithm", GOOD.replace("scheme: stripe", "scheme: hmac, header: X-Sig, algorithm: md5"),
     "verify.algorithm: must be one of sha256, sha512, sha1"),
    ("hmac unknown encoding", GOOD.replace("scheme: stripe", "scheme: hmac, header: X-Sig, encoding: base32"),
     "verify.encoding: must be one of hex, base64"),
    ("hmac signed without body", GOOD.replace("scheme: stripe", "scheme: hmac, header: X-Sig, signed: '{url}'"),
     "verify.signed: must include {body}"),
    ("hmac unknown placeholder", GOOD.replace("scheme: stripe", "scheme: hmac, header: X-Sig, signed: '{id}.{body}'"),
     "verify.signed: unknown placeholder(s) id"),
    ("hmac timestamp unsigned", GOOD.replace("scheme: stripe", "scheme: hmac, header: X-Sig, timestamp_header: X-T"),
     "verify.signed: must use {timestamp}"),
    ("hmac timestamp without header", GOOD.replace("scheme: stripe",
                                                  "scheme: hmac, header: X-Sig, signed: '{timestamp}.{body}'"),
     "verify.timestamp_header: is required when signed uses {timestamp}"),
    ("hmac bad header name", GOOD.replace("scheme: stripe", "scheme: hmac, header: 'X Sig'"),
     "verify.header: must be an HTTP header name"),
    ("token with neither header nor query", GOOD.replace("scheme: stripe", "scheme: token"),
     "verify.header: give exactly one of header: X-Name or query: name"),
    ("token with both", GOOD.replace("scheme: stripe", "scheme: token, header: X-T, query: key"),
     "verify.header: give exactly one of header"),
    ("option of another scheme", GOOD.replace("scheme: stripe", "scheme: github, tolerance: 300"),
     "verify.tolerance: is not an option of scheme 'github' (options: none)"),
    ("malformed yaml", "verify: {scheme: stripe\nroutes: [", "line "),
    ("duplicate yaml key", GOOD.replace("      stage: status", "      stage: status\n      stage: other"),
     "line 10, column 7: not valid YAML: duplicate key 'stage'"),
]


@pytest.mark.parametrize("name,text,expected", LOAD_ERRORS, ids=[e[0] for e in LOAD_ERRORS])
def test_load_errors_name_file_route_and_field(tmp_path, name, text, expected):
    path = write(tmp_path, text)
    mapping, problems = load_mapping(path)
    assert mapping is None
    assert any(expected in p and str(path) in p for p in problems), problems


def test_good_mapping_renders_deliveries_and_ignores_other_types(tmp_path):
    mapping, problems = load_mapping(write(tmp_path, GOOD))
    assert problems == []
    (event,) = mapping.read_events({"id": "e1", "type": "t", "created": 1700000000, "opp": OPP,
                                    "status": "closed_won"}, {})
    assert event.occurred_at == "2023-11-14T22:13:20.000000Z"
    (delivery,) = mapping.render(event)
    assert (delivery.target, delivery.attributes) == ({"id": OPP}, {"stage": "closed_won"})
    (other,) = mapping.read_events({"id": "e2", "type": "other"}, {})
    assert mapping.render(other) == []


@pytest.mark.parametrize("event,reason,field", [
    ({"type": "t", "status": "x"}, "missing_target", "opportunity"),
    ({"type": "t", "opp": "006XXXX", "status": "x"}, "invalid_target", "opportunity"),
    ({"type": "t", "opp": OPP, "status": ["a", "list"]}, "invalid_value", "stage"),
    ({"type": "t", "opp": OPP}, "empty_patch", None),
])
def test_render_failures_are_per_route_not_exceptions(tmp_path, event, reason, field):
    mapping, _ = load_mapping(write(tmp_path, GOOD))
    (failure,) = mapping.render(mapping.read_events(event, {})[0])
    assert (failure.reason, failure.field) == (reason, field)


def test_events_without_id_dedupe_on_content(tmp_path):
    mapping, _ = load_mapping(write(tmp_path, GOOD))
    first = mapping.read_events({"type": "t", "a": 1}, {})[0]
    again = mapping.read_events({"a": 1, "type": "t"}, {})[0]
    assert first.id == again.id and first.id.startswith("sha256:")


def test_events_from_headers_and_batches(tmp_path):
    text = GOOD.replace("event: {id: id, type: type, occurred_at: created}",
                        "events: '[]'\nevent: {id: {header: X-Delivery}, type: kind}")
    mapping, problems = load_mapping(write(tmp_path, text))
    assert problems == []
    events = mapping.read_events([{"kind": "t"}, {"kind": "u"}], {"X-Delivery": "d-1"})
    assert [(e.id, e.type) for e in events] == [("d-1", "t"), ("d-1", "u")]


def test_event_id_from_the_first_header_present_case_insensitive(tmp_path):
    text = GOOD.replace("event: {id: id, type: type, occurred_at: created}",
                        "event: {id: {header: [webhook-id, svix-id]}, type: {header: X-Kind}}")
    mapping, problems = load_mapping(write(tmp_path, text))
    assert problems == []
    (svix,) = mapping.read_events({}, {"Svix-Id": "msg_1", "x-kind": "t"})
    (both,) = mapping.read_events({}, {"svix-id": "msg_2", "Webhook-Id": "msg_3"})
    (neither,) = mapping.read_events({"a": 1}, {})
    assert (svix.id, svix.type, both.id) == ("msg_1", "t", "msg_3")
    assert neither.id.startswith("sha256:")


SHIPPED = ("calendly", "chargebee", "docusign", "github", "hubspot", "paddle", "pandadoc", "pipedrive", "shopify",
           "standard-webhooks", "stripe")


@pytest.mark.parametrize("source", SHIPPED)
def test_shipped_mapping_loads_clean(source):
    mapping, problems = load_mapping(ROOT / "mappings" / f"{source}.yaml")
    assert problems == [] and mapping.source == source


def test_the_mappings_folder_loads_clean_whatever_a_user_added():
    """A user's own mapping in mappings/ (as the docs say) is loaded beside the shipped ones, not an error."""
    mappings, problems = load_mappings(str(ROOT / "mappings"))
    assert problems == []
    assert set(SHIPPED) <= set(mappings)


def test_missing_folder_is_reported():
    assert "does not exist" in load_mappings("/nonexistent/mappings")[1][0]


def test_volatile_fields_do_not_change_the_fingerprint(tmp_path):
    text = GOOD.replace("event: {id: id, type: type, occurred_at: created}",
                        "event: {id: id, volatile: [attempt, meta.retry]}")
    mapping, problems = load_mapping(write(tmp_path, text))
    assert problems == []
    first = mapping.read_events({"id": "e", "attempt": 0, "meta": {"retry": 0, "keep": 1}}, {})[0]
    again = mapping.read_events({"id": "e", "attempt": 3, "meta": {"retry": 2, "keep": 1}}, {})[0]
    changed = mapping.read_events({"id": "e", "attempt": 3, "meta": {"retry": 2, "keep": 2}}, {})[0]
    assert first.fingerprint == again.fingerprint != changed.fingerprint
