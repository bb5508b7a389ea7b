"""Well-known values of the bundled seed (``seed.json``), for tests and demos.

A test in ``tests/sandbox`` checks that each of these matches the seed file.
"""

API_KEY = "sandbox-key"
READ_ONLY_API_KEY = "sandbox-readonly-key"

# Opportunities
# Acme, stage proposal, hubspot 18412345678, pipedrive 123 (the bridge demo's target)
DEMO_OPPORTUNITY_ID = "3b1f6a52-6a8e-4a43-9a39-6c1f4f0b7e11"
STRIPE_OPPORTUNITY_ID = "b88dd4ab-aa87-5616-bf91-38e0676a6f79"   # Globex, negotiation, stripe cus_Na6dX7aXxi11N4
INITECH_OPPORTUNITY_ID = "7555083e-80fd-5795-b931-7b665298abd4"  # discovery, stripe cus_TS6KX04w045BN9, no amount
CLOSED_WON_OPPORTUNITY_ID = "7c1b811e-eba4-5ac3-b6a1-0bdf7ddd647d"  # closed_won, hubspot 20240001
DUPLICATE_HUBSPOT_OPPORTUNITY_ID = "8a69c65d-bb19-5e4a-abfa-1408c0d2e1b1"  # evaluation_technical, hubspot 20240001
OPPORTUNITY_IDS = (DEMO_OPPORTUNITY_ID, STRIPE_OPPORTUNITY_ID, INITECH_OPPORTUNITY_ID,
                   CLOSED_WON_OPPORTUNITY_ID, DUPLICATE_HUBSPOT_OPPORTUNITY_ID)
MISSING_OPPORTUNITY_ID = "00000000-0000-4000-8000-000000000000"  # never seeded

# Custom-field values
STRIPE_CUSTOMER_ID = "cus_Na6dX7aXxi11N4"        # -> STRIPE_OPPORTUNITY_ID
STRIPE_CUSTOMER_ID_2 = "cus_TS6KX04w045BN9"      # -> INITECH_OPPORTUNITY_ID
HUBSPOT_DEAL_ID = "18412345678"                  # -> DEMO_OPPORTUNITY_ID
DUPLICATE_HUBSPOT_DEAL_ID = "20240001"           # -> two opportunities (ambiguous for a bridge match)
PIPEDRIVE_DEAL_ID = "123"                        # -> DEMO_OPPORTUNITY_ID

# Stages (api_name -> id); "Evaluation" is the display value of two stages on purpose.
STAGE_IDS = {
    "qualification": "b1496c02-acca-52bb-958a-0d1661103119",
    "discovery": "9e85550c-62bf-5dc1-889d-fdaf72a7840e",
    "evaluation_technical": "a3d9e0f7-7ad0-5986-b41e-451b06d6819a",
    "evaluation_commercial": "7a01f3c3-b771-5a11-8dde-c4f8165e000f",
    "proposal": "64faeb7b-0a5f-546f-8e9a-4df1592907f2",
    "negotiation": "a0487551-96eb-57ce-b7a4-80e587d99089",
    "closed_won": "521f890a-1ddb-5b2f-8a7f-44c526a3ef67",
    "closed_lost": "ea33ed94-4e12-5f4e-b102-85c19947c78f",
}
AMBIGUOUS_STAGE_DISPLAY_VALUE = "Evaluation"

# Related records
USER_IDS = {
    "ada@acme.test": "60a7644f-4fd1-5dfe-a566-a1cd2d582663",
    "grace@acme.test": "3437ce3b-9e36-55ac-b2c7-4973fee2f38a",
    "alan@acme.test": "d38496a1-639b-599c-ad9e-13d00fb9e6c5",
    "integration@acme.test": "fa235e4a-306f-5eda-a46b-70fa73aafa1b",  # the API key's user
}
TEAM_IDS = {"Enterprise": "c3daac18-2ee2-5235-978d-9e8490400e04",
            "Mid-Market": "e1be927b-b2e6-5098-a60c-4a14454957ba"}
CONTACT_IDS = {"sarah.chen@acme.com": "d0cca9a2-167c-5e9d-b916-a3e7a181d71c",
               "li.wei@globex.test": "f1402c22-2ba1-526a-9d45-d84ed431dde7"}
DUPLICATE_CONTACT_EMAIL = "jordan@initech.test"  # two contacts: related_record_match -> ambiguous_match
ACCOUNT_IDS = {"acme.com": "d61159c2-7f6e-51c6-86d6-64ec3e698d1f",
               "globex.test": "7904013e-04f7-5351-be99-c884b8014451",
               "initech.test": "be3948d8-feb4-57d0-937a-fa790a68517b",
               "umbrella.test": "37de07b5-fd13-5b8e-8070-3683ffe2fc87"}
TYPE_OPTION_IDS = {"new_business": "8e6b43d1-a7c2-54a7-878c-4e00104865a8",
                   "renewal": "65be32fa-fbf4-58c2-96c4-1a471cb1e3ae",
                   "expansion": "cce686f2-0e6c-5802-b13e-55c9e4f6c6fe"}
CUSTOM_FIELDS = ("stripe_customer_id", "hubspot_deal_id", "pipedrive_deal_id", "seats", "contract_signed_at",
                 "is_strategic")
