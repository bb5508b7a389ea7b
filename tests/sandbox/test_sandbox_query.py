"""POST /api/v2/opportunity/_query: operators, groups, sort, paging and cursors."""

import pytest
import requests

from sandbox import known
from sandbox.server import SandboxServer

DEMO, GLOBEX, INITECH, WON, DUP = (known.DEMO_OPPORTUNITY_ID, known.STRIPE_OPPORTUNITY_ID,
                                   known.INITECH_OPPORTUNITY_ID, known.CLOSED_WON_OPPORTUNITY_ID,
                                   known.DUPLICATE_HUBSPOT_OPPORTUNITY_ID)
ALL = {DEMO, GLOBEX, INITECH, WON, DUP}
ADA = known.USER_IDS["ada@acme.test"]
GRACE = known.USER_IDS["grace@acme.test"]


def cond(field, operator, value=None, **extra):
    node = {"field": field, "operator": operator, **extra}
    if operator not in ("exists", "not_exists"):
        node["value"] = value
    return node


# (case id, filters, expected ids)
MATCHES = [
    ("no-filters", None, ALL),
    ("empty-list", [], ALL),
    ("custom-eq", [cond("stripe_customer_id", "eq", known.STRIPE_CUSTOMER_ID)], {GLOBEX}),
    ("custom-eq-no-match", [cond("stripe_customer_id", "eq", "cus_missing")], set()),
    ("custom-ne-includes-nulls", [cond("stripe_customer_id", "ne", known.STRIPE_CUSTOMER_ID)], ALL - {GLOBEX}),
    ("custom-in", [cond("stripe_customer_id", "in", [known.STRIPE_CUSTOMER_ID, known.STRIPE_CUSTOMER_ID_2])],
     {GLOBEX, INITECH}),
    ("custom-in-empty", [cond("stripe_customer_id", "in", [])], set()),
    ("custom-not-in", [cond("stripe_customer_id", "not_in", [known.STRIPE_CUSTOMER_ID])], ALL - {GLOBEX}),
    ("custom-exists", [cond("stripe_customer_id", "exists")], {GLOBEX, INITECH}),
    ("custom-not-exists", [cond("stripe_customer_id", "not_exists")], {DEMO, WON, DUP}),
    ("hubspot-duplicate", [cond("hubspot_deal_id", "eq", known.DUPLICATE_HUBSPOT_DEAL_ID)], {WON, DUP}),
    ("contains", [cond("display_name", "contains", "Umbrella")], {WON, DUP}),
    ("contains-case-sensitive", [cond("display_name", "contains", "umbrella")], set()),
    ("starts-with", [cond("display_name", "starts_with", "Acme")], {DEMO}),
    ("ends-with", [cond("display_name", "ends_with", "Pilot")], {INITECH}),
    ("id-eq", [cond("id", "eq", DEMO)], {DEMO}),
    ("id-in-uppercase", [cond("id", "in", [DEMO.upper(), WON])], {DEMO, WON}),
    ("stage-eq-api-name", [cond("stage", "eq", "negotiation")], {GLOBEX}),
    ("stage-eq-id", [cond("stage", "eq", known.STAGE_IDS["closed_won"])], {WON}),
    ("stage-in", [cond("stage", "in", ["discovery", "proposal"])], {DEMO, INITECH}),
    ("stage-ne", [cond("stage", "ne", "closed_won")], ALL - {WON}),
    ("status-eq", [cond("status", "eq", "closed")], {WON}),
    ("outcome-exists", [cond("outcome", "exists")], {WON}),
    ("reference-eq", [cond("owner_user_id", "eq", ADA)], {DEMO, WON}),
    ("reference-not-exists", [cond("owner_user_id", "not_exists")], {DUP}),
    ("account-eq", [cond("account_id", "eq", known.ACCOUNT_IDS["umbrella.test"])], {WON, DUP}),
    ("select-eq-api-name", [cond("type_id", "eq", "renewal")], {WON}),
    ("select-in-id", [cond("type_id", "in", [known.TYPE_OPTION_IDS["expansion"], "new_business"])], {DEMO, GLOBEX}),
    ("amount-gt", [cond("amount", "gt", 24000)], {DEMO, WON}),
    ("amount-gte-string", [cond("amount", "gte", "24000")], {DEMO, GLOBEX, WON}),
    ("amount-lt-object", [cond("amount", "lt", {"amount": "24000.00"})], {DUP}),
    ("amount-lte", [cond("amount", "lte", 24000)], {GLOBEX, DUP}),
    ("amount-between-inclusive", [cond("amount", "between", [15000.25, 36000.50])], {GLOBEX, WON, DUP}),
    ("amount-eq", [cond("amount", "eq", "120000")], {DEMO}),
    ("amount-not-exists", [cond("amount", "not_exists")], {INITECH}),
    ("number-gt", [cond("seats", "gt", 20)], {DEMO}),
    ("timestamp-gte", [cond("updated_at", "gte", "2026-04-02T12:00:00Z")], {GLOBEX, INITECH, DUP}),
    ("timestamp-gt-offset", [cond("updated_at", "gt", "2026-04-02T14:00:00+02:00")], {INITECH, DUP}),
    ("timestamp-between", [cond("created_at", "between", ["2026-01-06T00:00:00Z", "2026-02-01T08:00:00Z"])],
     {DEMO, GLOBEX, DUP}),
    ("timestamp-lt", [cond("created_at", "lt", "2026-01-10T00:00:00Z")], {WON}),
    ("custom-timestamp-exists", [cond("contract_signed_at", "exists")], {WON}),
    ("boolean-eq", [cond("is_strategic", "eq", True)], {DEMO}),
    ("boolean-ne", [cond("is_strategic", "ne", True)], ALL - {DEMO}),
    ("array-eq-any-element", [cond("competitors_mentioned_other", "eq", "HubSpot")], {DUP}),
    ("array-ne-no-element", [cond("competitors_mentioned_other", "ne", "HubSpot")], ALL - {DUP}),
    ("array-reference-eq", [cond("participant_user_id_list", "eq", GRACE)], {DEMO}),
    ("array-exists", [cond("participant_user_id_list", "exists")], {DEMO}),
    ("array-not-exists", [cond("competitors_mentioned_other", "not_exists")], ALL - {DUP}),
    ("top-level-and", [cond("owner_user_id", "eq", ADA), cond("stage", "eq", "proposal")], {DEMO}),
    ("group-or", [{"or": [cond("stage", "eq", "negotiation"), cond("stage", "eq", "discovery")]}],
     {GLOBEX, INITECH}),
    ("group-and", [{"and": [cond("amount", "exists"), cond("amount", "lt", 30000)]}], {GLOBEX, DUP}),
    ("group-not-object", [{"not": cond("stage", "eq", "closed_won")}], ALL - {WON}),
    ("group-not-list", [{"not": [cond("owner_user_id", "eq", ADA), cond("stage", "eq", "proposal")]}],
     ALL - {DEMO}),
    ("nested-groups", [{"or": [{"and": [cond("status", "eq", "open"), cond("amount", "gt", 100000)]},
                               {"not": {"or": [cond("status", "eq", "open")]}}]}], {DEMO, WON}),
    ("empty-or-matches-nothing", [{"or": []}], set()),
]


@pytest.mark.parametrize("filters,expected", [c[1:] for c in MATCHES], ids=[c[0] for c in MATCHES])
def test_filters(api, filters, expected):
    body = {} if filters is None else {"filters": filters}
    response = api.query(body)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert set(payload) == {"data", "next_cursor"} and payload["next_cursor"] is None
    assert {r["id"] for r in payload["data"]} == expected
    for record in payload["data"]:
        assert record["record_type"] == "opportunity" and "attributes" in record


# (case id, body, status, code, field)
REJECTED = [
    ("unknown-field", {"filters": [cond("nope", "eq", "x")]}, 422, "invalid_filter_field", "nope"),
    ("long-text-not-filterable", {"filters": [cond("next_step_details", "contains", "x")]}, 422,
     "invalid_filter_field", "next_step_details"),
    ("unknown-operator", {"filters": [cond("display_name", "like", "x")]}, 422, "invalid_filter_operator",
     "display_name"),
    ("range-on-string", {"filters": [cond("display_name", "gt", "a")]}, 422, "invalid_filter_operator",
     "display_name"),
    ("text-on-currency", {"filters": [cond("amount", "contains", "1")]}, 422, "invalid_filter_operator", "amount"),
    ("text-on-reference", {"filters": [cond("owner_user_id", "starts_with", "6")]}, 422, "invalid_filter_operator",
     "owner_user_id"),
    ("exists-on-non-nullable", {"filters": [cond("display_name", "exists")]}, 422, "invalid_filter_operator",
     "display_name"),
    ("operator-not-declared-for-custom", {"filters": [cond("stripe_customer_id", "contains", "cus")]}, 422,
     "invalid_filter_operator", "stripe_customer_id"),
    ("range-on-stage", {"filters": [cond("stage", "gt", "proposal")]}, 422, "invalid_filter_operator", "stage"),
    ("in-needs-list", {"filters": [cond("stage", "in", "proposal")]}, 422, "field_value_invalid", "stage"),
    ("between-needs-two", {"filters": [cond("amount", "between", [1])]}, 422, "field_value_invalid", "amount"),
    ("stage-display-value-not-accepted", {"filters": [cond("stage", "eq", "Proposal")]}, 422,
     "field_value_invalid", "stage"),
    ("timestamp-garbage", {"filters": [cond("updated_at", "gt", "yesterday")]}, 422, "field_value_invalid",
     "updated_at"),
    ("reference-not-uuid", {"filters": [cond("owner_user_id", "eq", "ada@acme.test")]}, 422,
     "field_value_invalid", "owner_user_id"),
    ("number-bool", {"filters": [cond("amount", "gt", True)]}, 422, "field_value_invalid", "amount"),
    ("missing-value", {"filters": [{"field": "stage", "operator": "eq"}]}, 422, "field_value_invalid", "stage"),
    ("invalid-filter-in-group", {"filters": [{"or": [cond("stage", "eq", "proposal"), cond("nope", "eq", 1)]}]},
     422, "invalid_filter_field", "nope"),
    ("filters-not-list", {"filters": {"field": "stage"}}, 400, "invalid_request", None),
    ("node-not-object", {"filters": ["stage=proposal"]}, 400, "invalid_request", None),
    ("condition-extra-key", {"filters": [cond("stage", "eq", "proposal", negate=True)]}, 400, "invalid_request",
     None),
    ("group-with-two-keys", {"filters": [{"and": [], "or": []}]}, 400, "invalid_request", None),
    ("group-not-list", {"filters": [{"or": cond("stage", "eq", "proposal")}]}, 400, "invalid_request", None),
    ("unknown-body-key", {"filter": []}, 400, "invalid_request", None),
    ("body-not-object", [], 400, "invalid_request", None),
    ("sort-not-sortable", {"sort": [{"field": "stage", "direction": "asc"}]}, 422, "invalid_filter_field", "stage"),
    ("sort-unknown-field", {"sort": [{"field": "nope"}]}, 422, "invalid_filter_field", "nope"),
    ("sort-bad-direction", {"sort": [{"field": "amount", "direction": "up"}]}, 422, "field_value_invalid", "sort"),
    ("sort-not-list", {"sort": "amount"}, 400, "invalid_request", None),
    ("limit-zero", {"limit": 0}, 422, "field_value_invalid", "limit"),
    ("limit-over-max", {"limit": 101}, 422, "field_value_invalid", "limit"),
    ("limit-string", {"limit": "10"}, 422, "field_value_invalid", "limit"),
    ("cursor-garbage", {"cursor": "garbage"}, 400, "invalid_cursor", "cursor"),
    ("cursor-not-string", {"cursor": 5}, 400, "invalid_cursor", "cursor"),
]


@pytest.mark.parametrize("body,status,code,field", [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_query_rejections(api, body, status, code, field):
    api.expect_error(api.query(body), status, code, field)


def _ids(response):
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


def test_default_sort_is_created_at_ascending(api):
    assert _ids(api.query({})) == [WON, DEMO, DUP, GLOBEX, INITECH]


def test_sort_desc_with_nulls_last(api):
    ids = _ids(api.query({"sort": [{"field": "amount", "direction": "desc"}]}))
    assert ids == [DEMO, WON, GLOBEX, DUP, INITECH]
    ids = _ids(api.query({"sort": [{"field": "amount"}]}))
    assert ids == [DUP, GLOBEX, WON, DEMO, INITECH]


def test_multi_key_sort(api):
    body = {"sort": [{"field": "status", "direction": "desc"}, {"field": "display_name", "direction": "asc"}]}
    assert _ids(api.query(body)) == [DEMO, GLOBEX, INITECH, DUP, WON]


def _create_many(api, count):
    account = known.ACCOUNT_IDS["acme.com"]
    for n in range(count):
        response = api.create({"display_name": f"Bulk {n:03d}", "stage": "qualification", "account_id": account,
                               "amount": n})
        assert response.status_code == 201


def test_default_limit_is_50_and_cursor_pages_until_null(api):
    _create_many(api, 50)
    first = api.query({})
    assert first.status_code == 200
    assert len(first.json()["data"]) == 50 and isinstance(first.json()["next_cursor"], str)
    second = api.query({"cursor": first.json()["next_cursor"]})
    assert len(second.json()["data"]) == 5 and second.json()["next_cursor"] is None


@pytest.mark.parametrize("sort", [None, [{"field": "updated_at", "direction": "asc"}],
                                  [{"field": "amount", "direction": "desc"}]], ids=["default", "updated", "amount"])
def test_paging_visits_every_record_once(api, sort):
    _create_many(api, 7)
    body = {"filters": [cond("stage", "ne", "closed_lost")], "limit": 3}
    if sort:
        body["sort"] = sort
    expected = _ids(api.query({**body, "limit": 100}))
    seen, cursor, pages = [], None, 0
    while True:
        page = api.query({**body, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += [r["id"] for r in page.json()["data"]]
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and len(seen) == 12 and pages == 4


def test_cursor_survives_updates_between_pages(api):
    body = {"sort": [{"field": "updated_at", "direction": "asc"}], "limit": 2}
    first = api.query(body).json()
    first_ids = [r["id"] for r in first["data"]]
    assert api.patch(first_ids[0], {"display_name": "touched"}).status_code == 200  # moves to the end
    seen = list(first_ids)
    cursor = first["next_cursor"]
    while cursor:
        page = api.query({**body, "cursor": cursor}).json()
        seen += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
    assert set(seen) == ALL  # nothing skipped; the touched record shows up again at the end
    assert seen[-1] == first_ids[0]


def test_limit_may_change_between_pages(api):
    first = api.query({"limit": 1}).json()
    rest = api.query({"limit": 100, "cursor": first["next_cursor"]}).json()
    assert len(rest["data"]) == 4 and rest["next_cursor"] is None


def test_cursor_bound_to_its_query(api):
    body = {"filters": [cond("status", "eq", "open")], "limit": 1}
    cursor = api.query(body).json()["next_cursor"]
    other_filter = {"filters": [cond("status", "eq", "closed")], "limit": 1, "cursor": cursor}
    api.expect_error(api.query(other_filter), 400, "invalid_cursor")
    other_sort = {**body, "sort": [{"field": "amount"}], "cursor": cursor}
    api.expect_error(api.query(other_sort), 400, "invalid_cursor")
    assert api.query({**body, "cursor": cursor}).status_code == 200


def test_tampered_cursor_is_invalid(api):
    cursor = api.query({"limit": 1}).json()["next_cursor"]
    body, signature = cursor.split(".")
    for tampered in (body[:-1] + ("A" if body[-1] != "A" else "B") + "." + signature,
                     body + "." + signature[::-1], cursor + "x", "", "a.b.c"):
        api.expect_error(api.query({"limit": 1, "cursor": tampered}), 400, "invalid_cursor")


def test_cursor_from_another_sandbox_is_invalid(api):
    with SandboxServer() as other:
        cursor = requests.post(f"{other.url}/api/v2/opportunity/_query", json={"limit": 1}, timeout=5,
                               headers={"Authorization": f"Bearer {other.api_key}"}).json()["next_cursor"]
    api.expect_error(api.query({"limit": 1, "cursor": cursor}), 400, "invalid_cursor")


def test_query_renders_full_records(api):
    record = api.query({"filters": [cond("id", "eq", DEMO)]}).json()["data"][0]
    assert record == api.get(DEMO).json()["data"]
