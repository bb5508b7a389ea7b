"""Readable routes: `on:` and `where:` beside `when:`, and `{join: […]}` ids — rendering and load errors."""
import textwrap

import pytest

from bridge.mapping.loader import load_mapping
from bridge.mapping.selectors import CONTENT_HASH_PREFIX
from bridge.store import CONTENT_HASH_PREFIX as STORED_PREFIX, id_source

OPP = "3b1f6a52-6a8e-4a43-9a39-6c1f4f0b7e11"
MAPPING = """
verify: {scheme: stripe, secrets: [ACME_SECRET]}
event:
  id: {join: [account, seq, kind], separator: "-"}
  type: kind
routes:
  - name: paid
    on: [invoice.paid, invoice.settled]
    where: {status: paid, attempt: 1, live: true, data.currency: usd}
    when: "amount > `0`"
    opportunity: {id: opp}
    set: {stage: {value: closed_won}}
"""
EVENT = {"account": "acct_9", "seq": 41, "kind": "invoice.paid", "status": "paid", "attempt": 1, "live": True,
         "data": {"currency": "usd"}, "amount": 5, "opp": OPP}


def load(tmp_path, text, name="acme.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_mapping(path)


def routes_for(mapping, data, headers=None):
    event = mapping.read_events(data, headers or {})[0]
    return [d.route for d in mapping.render(event)]


def test_on_where_and_when_must_all_hold(tmp_path):
    mapping, problems = load(tmp_path, MAPPING)
    assert problems == []
    assert routes_for(mapping, EVENT) == ["paid"]
    assert routes_for(mapping, {**EVENT, "kind": "invoice.settled"}) == ["paid"], "any type listed under on:"
    for change in ({"kind": "invoice.voided"}, {"status": "open"}, {"amount": 0}, {"data": {"currency": "eur"}}):
        assert routes_for(mapping, {**EVENT, **change}) == [], change


@pytest.mark.parametrize("value", ["1", True, 1.5, None])
def test_where_compares_literals_without_coercion(tmp_path, value):
    mapping, _ = load(tmp_path, MAPPING)
    assert routes_for(mapping, {**EVENT, "attempt": value}) == []


def test_where_true_is_not_the_number_one(tmp_path):
    mapping, _ = load(tmp_path, MAPPING)
    assert routes_for(mapping, {**EVENT, "live": 1}) == []


def test_a_join_id_joins_text_and_numbers_like_to_string(tmp_path):
    mapping, _ = load(tmp_path, MAPPING)
    event = mapping.read_events(EVENT, {})[0]
    assert event.id == "acct_9-41-invoice.paid" and id_source(event.id) == "sender" and event.unread == ()


def test_a_join_with_a_missing_part_falls_back_to_the_content_hash_and_says_so(tmp_path):
    mapping, _ = load(tmp_path, MAPPING)
    event = mapping.read_events({k: v for k, v in EVENT.items() if k != "seq"}, {})[0]
    assert event.id.startswith("sha256:") and id_source(event.id) == "content_hash"
    assert event.unread == (("id", "join of account, seq, kind"),)


def test_the_default_join_separator_is_a_colon(tmp_path):
    mapping, _ = load(tmp_path, MAPPING.replace(', separator: "-"', ""))
    assert mapping.read_events(EVENT, {})[0].id == "acct_9:41:invoice.paid"


def test_the_yaml_key_on_is_not_read_as_a_boolean(tmp_path):
    mapping, problems = load(tmp_path, MAPPING.replace("on: [invoice.paid, invoice.settled]", "on: invoice.paid"))
    assert problems == [] and routes_for(mapping, EVENT) == ["paid"]


LOAD_ERRORS = [
    ("on without event.type", MAPPING.replace("  type: kind\n", ""),
     "route 'paid': on: compares with event.type, but this mapping reads no event.type"),
    ("on not text", MAPPING.replace("on: [invoice.paid, invoice.settled]", "on: [invoice.paid, {a: 1}]"),
     "routes.0.on: must be an event type or a list of them"),
    ("where value not literal", MAPPING.replace("attempt: 1", "attempt: [1]"),
     "routes.0.where.attempt.value: must be a literal"),
    ("where bad path", MAPPING.replace("data.currency: usd", "'data[?': usd"),
     "route 'paid': where.data[?: bad expression"),
    ("join of one part", MAPPING.replace("join: [account, seq, kind]", "join: [account]"),
     "event.id: join: give a list of at least two paths"),
    ("join unknown key", MAPPING.replace('separator: "-"', 'sep: "-"'), "event.id: join: unknown key(s) sep"),
    ("join bad part", MAPPING.replace("join: [account, seq, kind]", "join: [account, 'seq[?']"),
     "event.id.join[1]: bad expression"),
    ("event id of the wrong shape", MAPPING.replace('{join: [account, seq, kind], separator: "-"}', "{headr: X-Id}"),
     "event.id: must be an expression, {header: NAME} or {join: [path, path, …]}"),
]


@pytest.mark.parametrize("name,text,expected", LOAD_ERRORS, ids=[e[0] for e in LOAD_ERRORS])
def test_route_and_id_errors_name_file_route_and_field(tmp_path, name, text, expected):
    mapping, problems = load(tmp_path, text)
    assert mapping is None
    assert any(expected in p and "acme.yaml" in p for p in problems), problems


def test_a_where_expression_that_fails_makes_the_delivery_dead_naming_where(tmp_path):
    mapping, _ = load(tmp_path, MAPPING.replace("data.currency: usd", "\"abs(data)\": 1"))
    [failure] = mapping.render(mapping.read_events(EVENT, {})[0])
    assert failure.reason == "expression_failed" and failure.field == "where.abs(data)"


def test_the_mapping_and_the_store_agree_on_the_content_hash_prefix():
    assert CONTENT_HASH_PREFIX == STORED_PREFIX == "sha256:"
