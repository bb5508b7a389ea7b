"""Error codes, HTTP statuses and every undocumented choice of the Reevo sandbox.

The public Reevo API v2 docs leave many behaviours open (reevo-api.md §13).
The sandbox decides each of them exactly once, here. ``CHOICES`` is the
human-readable list (also in docs/sandbox.md, kept equal by a test); the constants below are what the
code actually uses. A bridge must not depend on any of these choices.
"""

from __future__ import annotations

# --- HTTP status per error code ------------------------------------------------

STATUS_BY_CODE = {
    # request shape
    "invalid_json": 400,
    "invalid_request": 400,
    "invalid_cursor": 400,
    # auth
    "unauthorized": 401,
    "forbidden": 403,
    # routing
    "record_not_found": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "unsupported_media_type": 415,
    # validation (documented code strings)
    "unknown_field": 422,
    "field_not_creatable": 422,
    "field_not_updatable": 422,
    "field_required_missing": 422,
    "field_value_invalid": 422,
    "ambiguous_match": 422,
    "target_record_not_found": 422,
    "invalid_matching_field": 422,
    "invalid_filter_field": 422,
    "invalid_filter_operator": 422,
    # server side
    "internal_error": 500,
}

# --- success statuses ---------------------------------------------------------

PATCH_SUCCESS_STATUS = 200
CREATE_SUCCESS_STATUS = 201
DELETE_SUCCESS_STATUS = 204

# --- _query -------------------------------------------------------------------

QUERY_DEFAULT_LIMIT = 50
QUERY_MAX_LIMIT = 100

# --- value limits ---------------------------------------------------------------

STRING_MAX_LENGTH = 255
LONG_TEXT_MAX_LENGTH = 65535
CURRENCY_DECIMAL_PLACES = 2

STATUS_VALUES = ("open", "closed")
OUTCOME_VALUES = ("won", "lost")
CREATED_SOURCE_VALUES = ("api", "manual", "import", "integration")

# --- scripted faults: default error code by status ------------------------------

FAULT_CODE_BY_STATUS = {
    408: "request_timeout",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}
DROPPED_WITHOUT_SOCKET_STATUS = 599  # only under the Flask test client

CHOICES = [
    "Error body: {\"error\": {\"code\": \"<code>\", \"message\": \"<text>\","
    " \"field\": \"<attribute or null>\"}}."
    " One error per response: the first failing attribute in request-body order.",
    "401 unauthorized: key missing, unknown, or Authorization header not 'Bearer <key>'."
    " If an Authorization header is present it wins; X-Api-Key is used only when Authorization is absent.",
    "403 forbidden: read-only key on PATCH, POST create or DELETE (message names 'Opportunities: Write')."
    " Read-only keys may GET, _query and read _schema.",
    "Order of checks: scripted fault (consumed before anything else), auth (401/403), body JSON and shape"
    " (415/400), record exists (404), then attributes (422).",
    "404 record_not_found: unknown, archived or malformed opportunity id. 404 not_found: unknown route or a record"
    " type other than opportunity (the sandbox serves opportunities only).",
    "405 method_not_allowed, 415 unsupported_media_type (write/_query bodies must be Content-Type application/json).",
    "400 invalid_json: body is not valid JSON (NaN/Infinity refused). 400 invalid_request: body not an object,"
    " 'attributes' missing or not an object, PATCH/create body keys other than 'attributes', unknown top-level keys"
    " in a _query body or a filter/sort node, malformed filter node.",
    "422 for every validation code: unknown_field, field_not_creatable, field_not_updatable, field_required_missing,"
    " field_value_invalid, ambiguous_match, target_record_not_found, invalid_matching_field,"
    " invalid_filter_field, invalid_filter_operator.",
    "Empty attributes {} on PATCH -> 422 field_value_invalid, field null.",
    "Check order per attribute: unknown_field, then field_not_updatable / field_not_creatable, then the value."
    " On create, field_required_missing is checked after all supplied attributes are valid.",
    "PATCH success 200 {\"data\": record}; create 201; DELETE (archive) 204, after which the record is 404 and"
    " absent from _query.",
    "null clears a nullable field; null on a non-nullable field (display_name, stage, account_id)"
    " -> field_value_invalid. null on an array field stores [] (renders as []).",
    "Array fields are replaced whole and stored exactly as given (order and duplicates kept).",
    "Non-nullable string fields (display_name) must not be blank. string <= 255 chars, long_text <= 65535.",
    "Envelopes {\"value_type\", \"value\"} accepted wherever a raw value is; value_type must equal the field's,"
    " and the envelope must have exactly those two keys. Array fields take an array of raw values or envelopes.",
    "stage: exact stage id, then exact api_name, then display value compared case-insensitively after trimming;"
    " a display value shared by two stages -> field_value_invalid (message says ambiguous)."
    " A read-shape stage object {\"id\": ...} is accepted (resolved by id).",
    "type_id (select): option id, api_name or display value, same rules as stage.",
    "References: bare UUID, {\"related_record_id\"}, or {\"related_record_match\": {<one unique field>: <string>}}."
    " Optional related_record_type must equal the target type. Both/neither id and match, several match keys,"
    " or malformed UUID -> field_value_invalid. Match values compare case-insensitively after trimming.",
    "Unique fields of targets: user id/email, team id/name, contact id/primary_email, account id/domain_name."
    " Two seeded contacts share primary_email jordan@initech.test on purpose (dirty data) to exercise ambiguous_match.",
    "Timestamps: full ISO-8601 date-time with Z or +HH:MM offset required (naive, date-only and epoch numbers refused);"
    " fractions truncated; stored and rendered as UTC YYYY-MM-DDTHH:MM:SSZ.",
    "number: JSON number or numeric string (booleans refused); rendered as a JSON number.",
    "currency: JSON number, numeric string or {\"amount\": number|string}; at most 2 decimal places (more ->"
    " field_value_invalid); read shape {\"amount\": \"<string with exactly 2 decimals>\"}. No currency code.",
    "boolean: JSON true/false only.",
    "Custom fields marked unique: writing a value another live opportunity holds -> field_value_invalid.",
    "updated_at advances on every successful write to max(clock now, previous updated_at); updated_by_user_id is"
    " the seed's api_user_id.",
    "Stage change sets stage_last_shifted_at; a stage with outcome won/lost sets status closed, outcome,"
    " closed_at, closed_by_user_id; any other stage sets status open and clears them."
    " forecast_weighted_amount = amount x stage closing_probability (2 decimals). No stage entrance criteria.",
    "Enums: status open|closed; outcome won|lost|null; created_source api|manual|import|integration.",
    "_query: default limit 50, max 100, limit outside 1..100 -> field_value_invalid (field 'limit')."
    " Response {\"data\": [...], \"next_cursor\": str|null} with next_cursor at the top level, null on the last page.",
    "_query cursor: opaque signed keyset cursor bound to the filters+sort; tampered, foreign or other-query cursor"
    " -> 400 invalid_cursor. limit may change between pages.",
    "_query default sort created_at asc; id asc is always the final tie-breaker; nulls sort last in both directions."
    " Sorting on a non-sortable field -> invalid_filter_field.",
    "_query operators: eq ne in not_in (ids, strings, enums, select, stage, references, numbers, timestamps, booleans"
    " eq/ne only); contains starts_with ends_with (strings, case-sensitive); gt gte lt lte between (number, currency,"
    " timestamp; between is [low, high] inclusive); exists not_exists (nullable fields; arrays: non-empty)."
    " long_text is not filterable. Array fields match if any element matches (ne/not_in: no element matches).",
    "_query values: in/not_in take a list, between a 2-item list; a value of the wrong type -> field_value_invalid."
    " stage and select filter values are id or api_name (display value not accepted); unknown -> field_value_invalid."
    " ne/not_in also match null values.",
    "_schema: bare object; only documented attribute keys (no nullability flag); relationships [].",
    "Health GET /api/v2/health needs no key and is not logged and never faulted.",
    "Idempotency-Key is ignored (logged only). Unknown headers ignored.",
    "Request log never holds the Authorization/X-Api-Key value: only auth_scheme and auth_result; configured key"
    " strings are redacted anywhere else (query, body).",
]


class ApiError(Exception):
    """An API error that renders as the sandbox error body with its HTTP status."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status or STATUS_BY_CODE.get(code, 422)

    def body(self) -> dict:
        """Return the JSON error body."""
        return error_body(self.code, self.message, self.field)


def error_body(code: str, message: str, field: str | None = None) -> dict:
    """Build the sandbox's error body shape."""
    return {"error": {"code": code, "message": message, "field": field}}


def invalid(field: str | None, message: str) -> ApiError:
    """Shorthand for a 422 field_value_invalid error."""
    return ApiError("field_value_invalid", message, field)
