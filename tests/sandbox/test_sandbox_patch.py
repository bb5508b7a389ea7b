"""PATCH /api/v2/opportunity/{id}: every rule, table-driven, over real HTTP."""

import pytest

from sandbox import known

OPP = known.DEMO_OPPORTUNITY_ID
ADA, GRACE, ALAN = (known.USER_IDS[e] for e in ("ada@acme.test", "grace@acme.test", "alan@acme.test"))
STAGE = known.STAGE_IDS
NOBODY = "11111111-2222-4333-8444-555555555555"

# (case id, attributes, status, code, field)
REJECTED = [
    ("empty-attributes", {}, 422, "field_value_invalid", None),
    ("unknown-field", {"nope": 1}, 422, "unknown_field", "nope"),
    ("first-error-wins-unknown", {"nope": 1, "status": "open"}, 422, "unknown_field", "nope"),
    ("first-error-wins-not-updatable", {"status": "open", "nope": 1}, 422, "field_not_updatable", "status"),
    # stage
    ("stage-unknown", {"stage": "no_such_stage"}, 422, "field_value_invalid", "stage"),
    ("stage-ambiguous-display", {"stage": "Evaluation"}, 422, "field_value_invalid", "stage"),
    ("stage-ambiguous-display-folded", {"stage": "  evaluation "}, 422, "field_value_invalid", "stage"),
    ("stage-null", {"stage": None}, 422, "field_value_invalid", "stage"),
    ("stage-number", {"stage": 3}, 422, "field_value_invalid", "stage"),
    ("stage-envelope-wrong-type", {"stage": {"value_type": "select", "value": "proposal"}}, 422,
     "field_value_invalid", "stage"),
    # non-nullable / strings
    ("display-name-null", {"display_name": None}, 422, "field_value_invalid", "display_name"),
    ("display-name-blank", {"display_name": "   "}, 422, "field_value_invalid", "display_name"),
    ("display-name-number", {"display_name": 123}, 422, "field_value_invalid", "display_name"),
    ("display-name-too-long", {"display_name": "x" * 256}, 422, "field_value_invalid", "display_name"),
    ("long-text-number", {"next_step_details": 5}, 422, "field_value_invalid", "next_step_details"),
    ("envelope-wrong-value-type", {"display_name": {"value_type": "long_text", "value": "x"}}, 422,
     "field_value_invalid", "display_name"),
    ("envelope-extra-key", {"display_name": {"value_type": "string", "value": "x", "extra": 1}}, 422,
     "field_value_invalid", "display_name"),
    # references
    ("ref-malformed-uuid", {"owner_user_id": "not-a-uuid"}, 422, "field_value_invalid", "owner_user_id"),
    ("ref-unknown-uuid", {"owner_user_id": NOBODY}, 422, "target_record_not_found", "owner_user_id"),
    ("ref-id-object-unknown", {"owner_user_id": {"related_record_id": NOBODY}}, 422, "target_record_not_found",
     "owner_user_id"),
    ("ref-id-object-malformed", {"owner_user_id": {"related_record_id": "123"}}, 422, "field_value_invalid",
     "owner_user_id"),
    ("ref-both", {"owner_user_id": {"related_record_id": ADA, "related_record_match": {"email": "ada@acme.test"}}},
     422, "field_value_invalid", "owner_user_id"),
    ("ref-neither", {"owner_user_id": {}}, 422, "field_value_invalid", "owner_user_id"),
    ("ref-wrong-type", {"owner_user_id": {"related_record_id": ADA, "related_record_type": "team"}}, 422,
     "field_value_invalid", "owner_user_id"),
    ("ref-number", {"owner_user_id": 42}, 422, "field_value_invalid", "owner_user_id"),
    ("ref-match-not-unique-field", {"owner_user_id": {"related_record_match": {"name": "Ada Lovelace"}}}, 422,
     "invalid_matching_field", "owner_user_id"),
    ("ref-match-two-keys", {"owner_user_id": {"related_record_match": {"email": "ada@acme.test", "id": ADA}}}, 422,
     "field_value_invalid", "owner_user_id"),
    ("ref-match-not-found", {"owner_user_id": {"related_record_match": {"email": "nobody@acme.test"}}}, 422,
     "target_record_not_found", "owner_user_id"),
    ("ref-match-ambiguous", {"primary_contact_id": {"related_record_match": {"primary_email": "jordan@initech.test"}}},
     422, "ambiguous_match", "primary_contact_id"),
    ("ref-match-contact-non-unique", {"primary_contact_id": {"related_record_match": {"display_name": "Jordan Smith"}}},
     422, "invalid_matching_field", "primary_contact_id"),
    ("ref-team-unknown", {"owner_team_id": {"related_record_match": {"name": "Nope"}}}, 422,
     "target_record_not_found", "owner_team_id"),
    ("participants-not-array", {"participant_user_id_list": ADA}, 422, "field_value_invalid",
     "participant_user_id_list"),
    ("participants-null-item", {"participant_user_id_list": [ADA, None]}, 422, "field_value_invalid",
     "participant_user_id_list"),
    ("participants-unknown-item", {"participant_user_id_list": [ADA, NOBODY]}, 422, "target_record_not_found",
     "participant_user_id_list"),
    ("participants-ambiguous-item", {"participant_user_id_list": [{"related_record_match": {"phone": "1"}}]}, 422,
     "invalid_matching_field", "participant_user_id_list"),
    # timestamps
    ("ts-garbage", {"next_step_due_at": "tomorrow"}, 422, "field_value_invalid", "next_step_due_at"),
    ("ts-bad-month", {"next_step_due_at": "2026-13-01T00:00:00Z"}, 422, "field_value_invalid", "next_step_due_at"),
    ("ts-date-only", {"next_step_due_at": "2026-05-01"}, 422, "field_value_invalid", "next_step_due_at"),
    ("ts-naive", {"next_step_due_at": "2026-05-01T10:00:00"}, 422, "field_value_invalid", "next_step_due_at"),
    ("ts-epoch", {"next_step_due_at": 1714000000}, 422, "field_value_invalid", "next_step_due_at"),
    ("ts-bad-offset", {"target_go_live_date": "2026-05-01T10:00:00+25:00"}, 422, "field_value_invalid",
     "target_go_live_date"),
    # numbers / currency / booleans
    ("amount-garbage", {"amount": "abc"}, 422, "field_value_invalid", "amount"),
    ("amount-bool", {"amount": True}, 422, "field_value_invalid", "amount"),
    ("amount-object-garbage", {"amount": {"amount": "x"}}, 422, "field_value_invalid", "amount"),
    ("amount-object-extra-key", {"amount": {"amount": "1", "currency": "USD"}}, 422, "field_value_invalid", "amount"),
    ("amount-three-decimals", {"amount": "12.345"}, 422, "field_value_invalid", "amount"),
    ("amount-float-noise", {"amount": 0.30000000000000004}, 422, "field_value_invalid", "amount"),
    ("amount-list", {"amount": [1]}, 422, "field_value_invalid", "amount"),
    ("amount-huge", {"amount": "1e30"}, 422, "field_value_invalid", "amount"),
    ("number-bool", {"seats": True}, 422, "field_value_invalid", "seats"),
    ("number-garbage", {"seats": "ten"}, 422, "field_value_invalid", "seats"),
    ("boolean-string", {"is_strategic": "true"}, 422, "field_value_invalid", "is_strategic"),
    ("boolean-int", {"is_strategic": 1}, 422, "field_value_invalid", "is_strategic"),
    # select / arrays / unique
    ("select-unknown", {"type_id": "bogus"}, 422, "field_value_invalid", "type_id"),
    ("string-array-not-array", {"competitors_mentioned_other": "Salesforce"}, 422, "field_value_invalid",
     "competitors_mentioned_other"),
    ("string-array-number-item", {"competitors_mentioned_other": ["ok", 1]}, 422, "field_value_invalid",
     "competitors_mentioned_other"),
    ("unique-custom-field-clash", {"stripe_customer_id": known.STRIPE_CUSTOMER_ID}, 422, "field_value_invalid",
     "stripe_customer_id"),
]

NOT_UPDATABLE = [
    "account_id", "status", "outcome", "closed_at", "stage_last_shifted_at", "archived_at", "expires_at",
    "forecast_weighted_amount", "created_source", "id", "organization_id", "created_at", "updated_at",
    "created_by_user_id", "updated_by_user_id", "closed_by_user_id", "last_activity_at", "last_voice_call",
    "last_meeting", "last_global_thread", "last_engaged_at", "last_outreached_at", "last_inbound_meeting_at",
    "last_inbound_voice_call_at", "last_inbound_global_thread_at", "last_outbound_meeting_at",
    "last_outbound_voice_call_at", "last_outbound_global_thread_at",
]


@pytest.mark.parametrize("attributes,status,code,field", [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_patch_rejected_and_nothing_changes(api, attributes, status, code, field):
    before = api.get(OPP).json()["data"]
    api.expect_error(api.patch(OPP, attributes), status, code, field)
    assert api.get(OPP).json()["data"] == before


def test_ambiguous_stage_display_value_says_so(api):
    error = api.expect_error(api.patch(OPP, {"stage": known.AMBIGUOUS_STAGE_DISPLAY_VALUE}), 422,
                             "field_value_invalid", "stage")
    assert "ambiguous" in error["message"]
    assert "evaluation_technical" in error["message"] and "evaluation_commercial" in error["message"]


@pytest.mark.parametrize("name", NOT_UPDATABLE)
def test_system_and_derived_fields_are_not_updatable(api, name):
    api.expect_error(api.patch(OPP, {name: None}), 422, "field_not_updatable", name)


# (case id, attributes, attribute to check, expected rendered envelope value)
ACCEPTED = [
    ("stage-by-id", {"stage": STAGE["negotiation"]}, "stage", STAGE["negotiation"]),
    ("stage-by-id-uppercase", {"stage": STAGE["negotiation"].upper()}, "stage", STAGE["negotiation"]),
    ("stage-by-api-name", {"stage": "closed_lost"}, "stage", STAGE["closed_lost"]),
    ("stage-by-display-value", {"stage": "Negotiation"}, "stage", STAGE["negotiation"]),
    ("stage-display-folded", {"stage": "  closed WON "}, "stage", STAGE["closed_won"]),
    ("stage-envelope", {"stage": {"value_type": "opportunity_stage", "value": "discovery"}}, "stage",
     STAGE["discovery"]),
    ("stage-read-shape-object", {"stage": {"value_type": "opportunity_stage",
                                           "value": {"id": STAGE["qualification"], "api_name": "qualification"}}},
     "stage", STAGE["qualification"]),
    ("stage-api-name-of-ambiguous-display", {"stage": "evaluation_commercial"}, "stage",
     STAGE["evaluation_commercial"]),
    ("display-name-raw", {"display_name": "Renamed"}, "display_name", "Renamed"),
    ("display-name-envelope", {"display_name": {"value_type": "string", "value": "Env"}}, "display_name", "Env"),
    ("owner-bare-uuid", {"owner_user_id": GRACE}, "owner_user_id",
     {"related_record_id": GRACE, "related_record_type": "user"}),
    ("owner-related-record-id", {"owner_user_id": {"related_record_id": ALAN}}, "owner_user_id",
     {"related_record_id": ALAN, "related_record_type": "user"}),
    ("owner-match-email-case-insensitive", {"owner_user_id": {"related_record_match": {"email": " GRACE@acme.test"}}},
     "owner_user_id", {"related_record_id": GRACE, "related_record_type": "user"}),
    ("owner-read-shape-envelope", {"owner_user_id": {"value_type": "record_reference",
                                                     "value": {"related_record_id": ALAN,
                                                               "related_record_type": "user"}}},
     "owner_user_id", {"related_record_id": ALAN, "related_record_type": "user"}),
    ("owner-null-clears", {"owner_user_id": None}, "owner_user_id", None),
    ("team-match-name", {"owner_team_id": {"related_record_match": {"name": "Mid-Market"}}}, "owner_team_id",
     {"related_record_id": known.TEAM_IDS["Mid-Market"], "related_record_type": "team"}),
    ("contact-match-email", {"primary_contact_id": {"related_record_match": {"primary_email": "li.wei@globex.test"}}},
     "primary_contact_id",
     {"related_record_id": known.CONTACT_IDS["li.wei@globex.test"], "related_record_type": "contact"}),
    ("amount-int", {"amount": 150000}, "amount", {"amount": "150000.00"}),
    ("amount-float", {"amount": 19.9}, "amount", {"amount": "19.90"}),
    ("amount-string", {"amount": "1999.9"}, "amount", {"amount": "1999.90"}),
    ("amount-object", {"amount": {"amount": "42"}}, "amount", {"amount": "42.00"}),
    ("amount-object-number", {"amount": {"amount": 7.25}}, "amount", {"amount": "7.25"}),
    ("amount-envelope", {"amount": {"value_type": "currency", "value": {"amount": "5.5"}}}, "amount",
     {"amount": "5.50"}),
    ("amount-trailing-zeros", {"amount": "12.3400"}, "amount", {"amount": "12.34"}),
    ("amount-null-clears", {"amount": None}, "amount", None),
    ("ts-z", {"next_step_due_at": "2026-07-01T09:30:00Z"}, "next_step_due_at", "2026-07-01T09:30:00Z"),
    ("ts-offset-fraction", {"next_step_due_at": "2026-07-01T09:30:00.987654+02:00"}, "next_step_due_at",
     "2026-07-01T07:30:00Z"),
    ("ts-negative-offset", {"next_meeting_date": "2026-12-31T23:00:00-05:00"}, "next_meeting_date",
     "2027-01-01T04:00:00Z"),
    ("ts-envelope", {"target_go_live_date": {"value_type": "timestamp", "value": "2026-09-01T00:00:00Z"}},
     "target_go_live_date", "2026-09-01T00:00:00Z"),
    ("ts-null-clears", {"next_step_due_at": None}, "next_step_due_at", None),
    ("ts-anticipated-closing", {"anticipated_closing_at": "2026-08-15T12:00:00+00:00"}, "anticipated_closing_at",
     "2026-08-15T12:00:00Z"),
    ("long-text", {"next_step_details": "Line 1\nLine 2"}, "next_step_details", "Line 1\nLine 2"),
    ("long-text-null", {"next_step_details": None}, "next_step_details", None),
    ("closed-lost-detail", {"closed_lost_custom_detail": "Budget"}, "closed_lost_custom_detail", "Budget"),
    ("closed-won-detail", {"closed_won_custom_detail": "Signed"}, "closed_won_custom_detail", "Signed"),
    ("primary-competitor", {"primary_competitor_other": "Pipedrive"}, "primary_competitor_other", "Pipedrive"),
    ("select-api-name", {"type_id": "renewal"}, "type_id", known.TYPE_OPTION_IDS["renewal"]),
    ("select-display", {"type_id": "new business"}, "type_id", known.TYPE_OPTION_IDS["new_business"]),
    ("select-id", {"type_id": known.TYPE_OPTION_IDS["renewal"]}, "type_id", known.TYPE_OPTION_IDS["renewal"]),
    ("select-null", {"type_id": None}, "type_id", None),
    ("custom-string", {"hubspot_deal_id": "999"}, "hubspot_deal_id", "999"),
    ("custom-unique-same-record", {"pipedrive_deal_id": "123"}, "pipedrive_deal_id", "123"),
    ("custom-unique-new-value", {"stripe_customer_id": "cus_NEW"}, "stripe_customer_id", "cus_NEW"),
    ("custom-number-string", {"seats": "12"}, "seats", 12),
    ("custom-number-float", {"seats": 7.5}, "seats", 7.5),
    ("custom-boolean", {"is_strategic": False}, "is_strategic", False),
    ("custom-timestamp", {"contract_signed_at": "2026-04-29T18:59:58.000Z"}, "contract_signed_at",
     "2026-04-29T18:59:58Z"),
]


def _value(attribute):
    """The comparable value of a rendered attribute (stage/select reduced to id)."""
    value = attribute["value"]
    if attribute["value_type"] in ("opportunity_stage", "select") and value is not None:
        return value["id"]
    return value


@pytest.mark.parametrize("attributes,name,expected", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_patch_accepted_forms(api, attributes, name, expected):
    response = api.patch(OPP, attributes)
    assert response.status_code == 200, response.text
    assert _value(response.json()["data"]["attributes"][name]) == expected
    assert _value(api.attrs(OPP)[name]) == expected


ARRAY_CASES = [
    ("participants-mixed-forms",
     [ADA, {"related_record_id": GRACE}, {"related_record_match": {"email": "alan@acme.test"}},
      {"value_type": "record_reference", "value": {"related_record_id": ADA, "related_record_type": "user"}}],
     [ADA, GRACE, ALAN, ADA]),
    ("participants-empty", [], []),
    ("participants-null", None, []),
]


@pytest.mark.parametrize("value,expected_ids", [c[1:] for c in ARRAY_CASES], ids=[c[0] for c in ARRAY_CASES])
def test_participant_list_is_replaced_whole(api, value, expected_ids):
    response = api.patch(OPP, {"participant_user_id_list": value})
    assert response.status_code == 200, response.text
    rendered = api.attrs(OPP)["participant_user_id_list"]
    assert [item["value"]["related_record_id"] for item in rendered] == expected_ids
    assert all(item["value_type"] == "record_reference" for item in rendered)
    assert all(item["value"]["related_record_type"] == "user" for item in rendered)


def test_string_array_accepts_raw_and_envelopes(api):
    value = ["Gong", {"value_type": "string", "value": "Clari"}]
    assert api.patch(OPP, {"competitors_mentioned_other": value}).status_code == 200
    assert api.attrs(OPP)["competitors_mentioned_other"] == [
        {"value": "Gong", "value_type": "string"}, {"value": "Clari", "value_type": "string"}]


def test_patch_is_atomic_when_a_later_attribute_fails(api):
    before = api.get(OPP).json()["data"]
    response = api.patch(OPP, {"display_name": "Should not stick", "amount": 1,
                               "owner_user_id": {"related_record_match": {"email": "nobody@acme.test"}}})
    api.expect_error(response, 422, "target_record_not_found", "owner_user_id")
    assert api.get(OPP).json()["data"] == before


def test_patch_many_fields_at_once(api):
    response = api.patch(OPP, {"display_name": "Multi", "stage": "negotiation", "amount": "10",
                               "owner_user_id": GRACE, "seats": 3})
    assert response.status_code == 200, response.text
    attrs = response.json()["data"]["attributes"]
    assert attrs["display_name"]["value"] == "Multi"
    assert attrs["stage"]["value"]["api_name"] == "negotiation"
    assert attrs["forecast_weighted_amount"]["value"] == {"amount": "8.00"}


def test_omitted_fields_are_left_unchanged(api):
    before = api.attrs(OPP)
    api.patch(OPP, {"display_name": "Only this"})
    after = api.attrs(OPP)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"display_name", "updated_at", "updated_by_user_id"}


def test_stage_moves_set_derived_fields(api):
    won = api.patch(OPP, {"stage": "closed_won"}).json()["data"]["attributes"]
    assert won["status"]["value"] == "closed" and won["outcome"]["value"] == "won"
    assert won["closed_at"]["value"] == won["updated_at"]["value"] == won["stage_last_shifted_at"]["value"]
    assert won["closed_by_user_id"]["value"]["related_record_id"] == known.USER_IDS["integration@acme.test"]
    lost = api.patch(OPP, {"stage": "closed_lost"}).json()["data"]["attributes"]
    assert lost["status"]["value"] == "closed" and lost["outcome"]["value"] == "lost"
    reopened = api.patch(OPP, {"stage": "proposal"}).json()["data"]["attributes"]
    assert reopened["status"]["value"] == "open" and reopened["outcome"]["value"] is None
    assert reopened["closed_at"]["value"] is None and reopened["closed_by_user_id"]["value"] is None


def test_updated_at_advances_on_every_write(api):
    before = api.get(OPP).json()["data"]
    after = api.patch(OPP, {"next_step_details": "x"}).json()["data"]
    assert after["updated_at"] > before["updated_at"]
    assert after["attributes"]["updated_at"]["value"] == after["updated_at"]
    assert after["attributes"]["updated_by_user_id"]["value"]["related_record_id"] == \
        known.USER_IDS["integration@acme.test"]
    again = api.patch(OPP, {"next_step_details": "y"}).json()["data"]
    assert again["updated_at"] >= after["updated_at"]


# (case id, how to send, status, code)
BAD_BODIES = [
    ("not-json", {"data": b"{nope", "headers": {"Content-Type": "application/json"}}, 400, "invalid_json"),
    ("nan", {"data": b'{"attributes": {"amount": NaN}}', "headers": {"Content-Type": "application/json"}}, 400,
     "invalid_json"),
    ("array-body", {"json": []}, 400, "invalid_request"),
    ("no-attributes", {"json": {}}, 400, "invalid_request"),
    ("attributes-list", {"json": {"attributes": []}}, 400, "invalid_request"),
    ("attributes-string", {"json": {"attributes": "stage=won"}}, 400, "invalid_request"),
    ("extra-top-level-key", {"json": {"attributes": {"display_name": "x"}, "id": OPP}}, 400, "invalid_request"),
    ("no-content-type", {"data": b'{"attributes": {"display_name": "x"}}'}, 415, "unsupported_media_type"),
    ("form-encoded", {"data": {"attributes": "x"}}, 415, "unsupported_media_type"),
]


@pytest.mark.parametrize("kwargs,status,code", [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_malformed_bodies(api, kwargs, status, code):
    response = api.request("PATCH", f"/api/v2/opportunity/{OPP}", **kwargs)
    api.expect_error(response, status, code)


@pytest.mark.parametrize("opp_id", [known.MISSING_OPPORTUNITY_ID, "not-a-uuid", "_query"])
def test_unknown_or_malformed_id_is_404(api, opp_id):
    api.expect_error(api.patch(opp_id, {"display_name": "x"}), 404, "record_not_found")
    api.expect_error(api.get(opp_id), 404, "record_not_found")


def test_concurrent_patches_are_all_applied_consistently(api):
    from concurrent.futures import ThreadPoolExecutor

    def write(n):
        return api.patch(OPP, {"seats": n, "display_name": f"Writer {n}"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(write, range(24)))
    assert statuses == [200] * 24
    attrs = api.attrs(OPP)
    assert attrs["display_name"]["value"] == f"Writer {attrs['seats']['value']}"

