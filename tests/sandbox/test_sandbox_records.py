"""Read shape, create, archive, _schema, health and auth of the sandbox, over real HTTP."""

import re

import pytest
import requests

from sandbox import known

OPP = known.DEMO_OPPORTUNITY_ID
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# Every attribute of the "Patch one opportunity" reference page, with its value_type.
REFERENCE_ATTRIBUTES = {
    "id": "uuid", "organization_id": "uuid", "created_at": "timestamp", "display_name": "string",
    "status": "enum", "stage": "opportunity_stage", "owner_user_id": "record_reference",
    "account_id": "record_reference", "participant_user_id_list": "record_reference",
    "created_by_user_id": "record_reference", "updated_at": "timestamp", "next_step_details": "long_text",
    "next_step_due_at": "timestamp", "next_meeting_date": "timestamp", "target_go_live_date": "timestamp",
    "amount": "currency", "forecast_weighted_amount": "currency", "outcome": "enum", "created_source": "enum",
    "anticipated_closing_at": "timestamp", "closed_at": "timestamp", "archived_at": "timestamp",
    "expires_at": "timestamp", "last_activity_at": "timestamp", "last_voice_call": "timestamp",
    "last_meeting": "timestamp", "last_global_thread": "timestamp", "last_engaged_at": "timestamp",
    "last_outreached_at": "timestamp", "last_inbound_meeting_at": "timestamp",
    "last_inbound_voice_call_at": "timestamp", "last_inbound_global_thread_at": "timestamp",
    "last_outbound_meeting_at": "timestamp", "last_outbound_voice_call_at": "timestamp",
    "last_outbound_global_thread_at": "timestamp", "stage_last_shifted_at": "timestamp",
    "owner_team_id": "record_reference", "closed_by_user_id": "record_reference",
    "primary_contact_id": "record_reference", "updated_by_user_id": "record_reference",
    "closed_lost_custom_detail": "long_text", "closed_won_custom_detail": "long_text",
    "competitors_mentioned_other": "string", "primary_competitor_other": "string", "type_id": "select",
}
ARRAY_ATTRIBUTES = {"participant_user_id_list", "competitors_mentioned_other"}
UPDATABLE = {
    "display_name", "stage", "owner_user_id", "participant_user_id_list", "owner_team_id", "primary_contact_id",
    "next_step_details", "next_step_due_at", "next_meeting_date", "target_go_live_date", "anticipated_closing_at",
    "amount", "closed_lost_custom_detail", "closed_won_custom_detail", "competitors_mentioned_other",
    "primary_competitor_other", "type_id",
}
CUSTOM = {"stripe_customer_id": "string", "hubspot_deal_id": "string", "pipedrive_deal_id": "string",
          "seats": "number", "contract_signed_at": "timestamp", "is_strategic": "boolean"}
ACCOUNT = known.ACCOUNT_IDS["acme.com"]


# --- read shape ------------------------------------------------------------------


def _check_envelope(name, envelope, value_type):
    assert list(envelope) == ["value", "value_type"], name
    assert envelope["value_type"] == value_type, name
    value = envelope["value"]
    if value is None:
        return
    checks = {
        "record_reference": lambda v: set(v) == {"related_record_id", "related_record_type"},
        "opportunity_stage": lambda v: list(v) == ["id", "display_value", "api_name", "color",
                                                   "closing_probability", "expected_days"]
        and isinstance(v["closing_probability"], str) and isinstance(v["expected_days"], int),
        "select": lambda v: list(v) == ["id", "display_value", "api_name", "color"],
        "currency": lambda v: list(v) == ["amount"] and isinstance(v["amount"], str),
        "timestamp": lambda v: bool(TIMESTAMP.match(v)),
        "string": lambda v: isinstance(v, str),
        "long_text": lambda v: isinstance(v, str),
        "enum": lambda v: isinstance(v, str),
        "uuid": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    assert checks[value_type](value), (name, value)


@pytest.mark.parametrize("opp_id", known.OPPORTUNITY_IDS)
def test_read_shape_has_every_attribute_as_envelopes(api, opp_id):
    response = api.get(opp_id)
    assert response.status_code == 200
    data = response.json()["data"]
    assert list(data) == ["id", "created_at", "updated_at", "attributes", "record_type"]
    assert data["record_type"] == "opportunity" and data["id"] == opp_id
    attrs = data["attributes"]
    assert set(attrs) == set(REFERENCE_ATTRIBUTES) | set(CUSTOM)
    for name, value_type in {**REFERENCE_ATTRIBUTES, **CUSTOM}.items():
        if name in ARRAY_ATTRIBUTES:
            assert isinstance(attrs[name], list), name
            for item in attrs[name]:
                _check_envelope(name, item, value_type)
        else:
            _check_envelope(name, attrs[name], value_type)
    assert attrs["created_at"]["value"] == data["created_at"] and attrs["updated_at"]["value"] == data["updated_at"]


def test_seeded_values(api):
    attrs = api.attrs(known.STRIPE_OPPORTUNITY_ID)
    assert attrs["stripe_customer_id"]["value"] == known.STRIPE_CUSTOMER_ID
    assert attrs["stage"]["value"]["api_name"] == "negotiation"
    assert attrs["amount"]["value"] == {"amount": "24000.00"}
    assert attrs["forecast_weighted_amount"]["value"] == {"amount": "19200.00"}
    assert attrs["status"]["value"] == "open" and attrs["outcome"]["value"] is None
    won = api.attrs(known.CLOSED_WON_OPPORTUNITY_ID)
    assert (won["status"]["value"], won["outcome"]["value"]) == ("closed", "won")
    assert won["account_id"]["value"] == {"related_record_id": known.ACCOUNT_IDS["umbrella.test"],
                                          "related_record_type": "account"}


def test_known_constants_match_the_seed(api):
    for api_name, stage_id in known.STAGE_IDS.items():
        assert api.patch(OPP, {"stage": stage_id}).json()["data"]["attributes"]["stage"]["value"]["api_name"] == \
            api_name
    for email, user_id in known.USER_IDS.items():
        patched = api.patch(OPP, {"owner_user_id": {"related_record_match": {"email": email}}})
        assert patched.json()["data"]["attributes"]["owner_user_id"]["value"]["related_record_id"] == user_id
    hubspot = api.query({"filters": [{"field": "hubspot_deal_id", "operator": "eq",
                                      "value": known.DUPLICATE_HUBSPOT_DEAL_ID}]}).json()["data"]
    assert {r["id"] for r in hubspot} == {known.CLOSED_WON_OPPORTUNITY_ID, known.DUPLICATE_HUBSPOT_OPPORTUNITY_ID}
    assert api.attrs(OPP)["pipedrive_deal_id"]["value"] == known.PIPEDRIVE_DEAL_ID
    assert api.attrs(known.INITECH_OPPORTUNITY_ID)["stripe_customer_id"]["value"] == known.STRIPE_CUSTOMER_ID_2


# --- create / archive ------------------------------------------------------------------


def test_create_returns_201_and_the_record_appears(api):
    response = api.create({"display_name": "New deal", "stage": "Qualification", "account_id": ACCOUNT,
                           "amount": 500, "stripe_customer_id": "cus_LATER"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    attrs = data["attributes"]
    assert attrs["status"]["value"] == "open" and attrs["created_source"]["value"] == "api"
    assert attrs["account_id"]["value"]["related_record_id"] == ACCOUNT
    assert api.get(data["id"]).json()["data"] == data
    found = api.query({"filters": [{"field": "stripe_customer_id", "operator": "eq", "value": "cus_LATER"}]})
    assert [r["id"] for r in found.json()["data"]] == [data["id"]]


@pytest.mark.parametrize("missing", ["display_name", "stage", "account_id"])
def test_create_requires_name_stage_and_account(api, missing):
    attributes = {"display_name": "X", "stage": "proposal", "account_id": ACCOUNT}
    del attributes[missing]
    api.expect_error(api.create(attributes), 422, "field_required_missing", missing)


CREATE_REJECTED = [
    ("not-creatable", {"status": "open"}, "field_not_creatable", "status"),
    ("unknown", {"bogus": 1}, "unknown_field", "bogus"),
    ("account-unknown", {"account_id": known.MISSING_OPPORTUNITY_ID}, "target_record_not_found", "account_id"),
    ("account-match-domain-unknown", {"account_id": {"related_record_match": {"domain_name": "nope.test"}}},
     "target_record_not_found", "account_id"),
    ("unique-clash", {"stripe_customer_id": known.STRIPE_CUSTOMER_ID}, "field_value_invalid", "stripe_customer_id"),
]


@pytest.mark.parametrize("extra,code,field", [c[1:] for c in CREATE_REJECTED], ids=[c[0] for c in CREATE_REJECTED])
def test_create_rejections(api, extra, code, field):
    attributes = {"display_name": "X", "stage": "proposal", "account_id": ACCOUNT, **extra}
    api.expect_error(api.create(attributes), 422, code, field)


def test_create_account_by_domain_match(api):
    response = api.create({"display_name": "X", "stage": "proposal",
                           "account_id": {"related_record_match": {"domain_name": "globex.test"}}})
    assert response.status_code == 201
    assert response.json()["data"]["attributes"]["account_id"]["value"]["related_record_id"] == \
        known.ACCOUNT_IDS["globex.test"]


def test_delete_archives(api):
    assert api.request("DELETE", f"/api/v2/opportunity/{OPP}").status_code == 204
    api.expect_error(api.get(OPP), 404, "record_not_found")
    api.expect_error(api.patch(OPP, {"display_name": "x"}), 404, "record_not_found")
    ids = [r["id"] for r in api.query({}).json()["data"]]
    assert OPP not in ids and len(ids) == len(known.OPPORTUNITY_IDS) - 1


def test_reset_restores_the_seed(api):
    original = api.get(OPP).json()["data"]
    api.patch(OPP, {"display_name": "Changed"})
    api.create({"display_name": "X", "stage": "proposal", "account_id": ACCOUNT})
    assert api.control("POST", "reset").status_code == 200
    assert api.get(OPP).json()["data"] == original
    assert len(api.query({}).json()["data"]) == len(known.OPPORTUNITY_IDS)


# --- _schema ------------------------------------------------------------------------------


def test_schema_is_bare_object_listing_every_attribute(api):
    response = api.request("GET", "/api/v2/_schema/opportunity")
    assert response.status_code == 200
    schema = response.json()
    assert list(schema) == ["api_name", "display_name", "description", "is_custom", "is_junction",
                            "supports_custom_fields", "attributes", "relationships"]
    assert schema["api_name"] == "opportunity" and schema["relationships"] == []
    by_name = {a["api_name"]: a for a in schema["attributes"]}
    assert set(by_name) == set(REFERENCE_ATTRIBUTES) | set(CUSTOM)
    for entry in schema["attributes"]:
        assert list(entry) == ["api_name", "display_name", "description", "is_creatable", "is_updatable",
                               "type_info", "is_required_on_create", "is_unique", "is_custom", "is_sortable",
                               "is_filterable", "filter_operators"]
    standard_updatable = {n for n, a in by_name.items() if a["is_updatable"] and not a["is_custom"]}
    assert standard_updatable == UPDATABLE
    for name, value_type in REFERENCE_ATTRIBUTES.items():
        assert by_name[name]["type_info"] == {"is_array": name in ARRAY_ATTRIBUTES, "value_type": value_type}
        assert by_name[name]["is_custom"] is False
    for name, value_type in CUSTOM.items():
        entry = by_name[name]
        assert entry["is_custom"] is True and entry["is_updatable"] is True and entry["is_creatable"] is True
        assert entry["type_info"]["value_type"] == value_type
    assert {n for n, a in by_name.items() if a["is_required_on_create"]} == {"display_name", "stage", "account_id"}
    assert by_name["account_id"]["is_creatable"] is True and by_name["account_id"]["is_updatable"] is False
    assert by_name["stripe_customer_id"]["is_unique"] is True
    assert by_name["stripe_customer_id"]["filter_operators"] == ["eq", "ne", "in", "not_in", "exists", "not_exists"]
    assert by_name["hubspot_deal_id"]["is_unique"] is False


def test_schema_unknown_record_type_is_404(api):
    api.expect_error(api.request("GET", "/api/v2/_schema/contact"), 404, "not_found")


# --- health and auth ------------------------------------------------------------------------


def test_health_needs_no_auth(sandbox):
    response = requests.get(f"{sandbox.url}/api/v2/health", timeout=5)
    assert response.status_code == 200 and response.json() == {"data": {"status": "healthy"}}


ENDPOINTS = [
    ("GET", f"/api/v2/opportunity/{OPP}", None),
    ("PATCH", f"/api/v2/opportunity/{OPP}", {"attributes": {"display_name": "x"}}),
    ("POST", "/api/v2/opportunity", {"attributes": {"display_name": "x"}}),
    ("POST", "/api/v2/opportunity/_query", {}),
    ("GET", "/api/v2/_schema/opportunity", None),
    ("DELETE", f"/api/v2/opportunity/{OPP}", None),
]
BAD_AUTH = [
    ("missing", {}),
    ("unknown-bearer", {"Authorization": "Bearer not-a-key"}),
    ("empty-bearer", {"Authorization": "Bearer "}),
    ("basic-scheme", {"Authorization": "Basic c2FuZGJveC1rZXk="}),
    ("raw-key-no-scheme", {"Authorization": "sandbox-key"}),
    ("unknown-x-api-key", {"X-Api-Key": "nope"}),
    ("bad-authorization-wins-over-good-x-api-key", {"Authorization": "Bearer nope", "X-Api-Key": "sandbox-key"}),
]


@pytest.mark.parametrize("headers", [c[1] for c in BAD_AUTH], ids=[c[0] for c in BAD_AUTH])
@pytest.mark.parametrize("method,path,body", ENDPOINTS, ids=[f"{m} {p.split('/')[-1]}" for m, p, _ in ENDPOINTS])
def test_missing_or_invalid_key_is_401(api, method, path, body, headers):
    response = requests.request(method, api.base + path, json=body, headers=headers, timeout=5)
    api.expect_error(response, 401, "unauthorized")


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer sandbox-key"}, {"authorization": "bearer sandbox-key"},
                                     {"X-Api-Key": "sandbox-key"}], ids=["bearer", "bearer-lowercase", "x-api-key"])
def test_valid_key_forms(sandbox, headers):
    response = requests.get(f"{sandbox.url}/api/v2/opportunity/{OPP}", headers=headers, timeout=5)
    assert response.status_code == 200


@pytest.mark.parametrize("method,path,body,status", [
    ("GET", f"/api/v2/opportunity/{OPP}", None, 200),
    ("POST", "/api/v2/opportunity/_query", {}, 200),
    ("GET", "/api/v2/_schema/opportunity", None, 200),
    ("PATCH", f"/api/v2/opportunity/{OPP}", {"attributes": {"display_name": "x"}}, 403),
    ("POST", "/api/v2/opportunity", {"attributes": {"display_name": "x", "stage": "proposal", "account_id": ACCOUNT}},
     403),
    ("DELETE", f"/api/v2/opportunity/{OPP}", None, 403),
])
def test_read_only_key(readonly_api, api, method, path, body, status):
    before = api.get(OPP).json()["data"]
    response = readonly_api.request(method, path, json=body)
    assert response.status_code == status, response.text
    if status == 403:
        assert "Write" in api.expect_error(response, 403, "forbidden")["message"]
        assert api.get(OPP).json()["data"] == before


def test_unknown_routes_and_methods(api):
    api.expect_error(api.request("GET", "/api/v2/contact/" + OPP), 404, "not_found")
    api.expect_error(api.request("PUT", f"/api/v2/opportunity/{OPP}", json={}), 405, "method_not_allowed")
