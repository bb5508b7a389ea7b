"""The OpenAPI of the console's admin endpoints (events, issues, opportunity history), merged into openapi.py."""
from bridge.store import STATUSES
from bridge.store.events_query import EVENT_STATUSES, ID_CONTENT_HASH, ID_SENDER, ISSUE_STATUSES, MAX_EVENT_LIMIT

_ERROR = {"$ref": "#/components/responses/Error"}
_AUTH = {"401": _ERROR, "404": _ERROR}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_ATTEMPT_OUTCOMES = ["delivered", "retrying", "dead", "paused", "superseded"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(name: str) -> dict:
    return {"description": "OK", "content": {"application/json": {"schema": _ref(name)}}}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _object(required: list[str], properties: dict) -> dict:
    return {"type": "object", "required": required, "properties": properties}


_TIME = {"type": ["number", "string"], "description": "epoch seconds or ISO 8601 (UTC when no zone is given)"}
_DRY_RUN_BODY = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"dry_run": {"type": "boolean"}}}}}}

EVENT_PARAMS = [
    _query("received_from", "received at or after", _TIME),
    _query("received_to", "received before", _TIME),
    _query("source", "the mapping file name, e.g. stripe"),
    _query("type", "the event type, e.g. invoice.paid"),
    _query("status", "accepted or ignored; repeat or comma-separate for several",
           {"type": "string", "enum": list(EVENT_STATUSES)}),
    _query("opportunity", "events with a delivery for this opportunity id (or target key such as match:[...])"),
    _query("delivery_status", "events with a delivery in this status; repeat or comma-separate for several",
           {"type": "string", "enum": list(STATUSES)}),
    _query("q", "case-insensitive text in the event id or the stored body (at most 200 characters)"),
    _query("limit", f"1–{MAX_EVENT_LIMIT}, default 50", {"type": "integer", "minimum": 1,
                                                         "maximum": MAX_EVENT_LIMIT}),
    _query("cursor", "next_cursor of the previous page"),
]

PATHS = {
    "/admin/events": {"get": {
        "summary": "Every stored event (accepted and ignored), newest first, with filters and cursor pagination",
        "description": "Filters an index serves (time, source, status, opportunity, a delivery status other than "
                       "delivered/superseded) cost what they find. The others (type, delivered/superseded, q) are "
                       "checked on at most 5000 events per call: a page may then be short, even empty, and still "
                       "have a next_cursor — follow it to go on.",
        "parameters": EVENT_PARAMS,
        "responses": {"200": _ok("EventPage"), "400": _ERROR, **_AUTH}}},
    "/admin/events/{source}/{event_id}/replay": {"post": {
        "summary": "Replay every delivery of one event (rebuilding those the mapping could not build); "
                   "dry_run only counts",
        "parameters": [_path("source"), _path("event_id")],
        "requestBody": _DRY_RUN_BODY,
        "responses": {"200": _ok("ReplayResult"), "409": _ERROR, **_AUTH}}},
    "/admin/issues": {"get": {
        "summary": "Dead deliveries and those retrying for long, grouped by (source, route, reason)",
        "parameters": [_query("retrying_for", "seconds since received after which a retrying delivery is an issue "
                                              "(default 3600)", {"type": "number", "minimum": 0})],
        "responses": {"200": _ok("IssuePage"), "400": _ERROR, **_AUTH}}},
    "/admin/issues/replay": {"post": {
        "summary": "Replay every delivery of one issue group; dry_run first shows how many would be replayed "
                   "or rebuilt",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _object(
            ["source", "route", "reason"],
            {"source": {"type": "string"}, "route": {"type": "string"}, "reason": {"type": "string"},
             "dry_run": {"type": "boolean"}, "retrying_for": {"type": "number", "minimum": 0}})}}},
        "responses": {"200": _ok("ReplayResult"), "400": _ERROR, "409": _ERROR, **_AUTH}}},
    "/admin/opportunities/{opportunity}/history": {"get": {
        "summary": "Every delivery that targeted one opportunity, the fields each set, which were superseded and "
                   "why, and the newest applied value of each field",
        "parameters": [_path("opportunity")],
        "responses": {"200": _ok("OpportunityHistory"), **_AUTH}}},
}

_COUNTS = _object(["total", *STATUSES], {name: {"type": "integer"} for name in ("total", *STATUSES)})
_ATTEMPT = _object(["at", "attempt", "outcome"], {
    "at": {"type": "number"}, "attempt": {"type": "integer"}, "outcome": {"enum": _ATTEMPT_OUTCOMES},
    "http_status": {"type": ["integer", "null"]}, "code": _NULLABLE_TEXT, "message": _NULLABLE_TEXT,
    "latency_ms": {"type": ["number", "null"]}, "opportunity_id": _NULLABLE_TEXT,
    "sent": {"type": "array", "items": {"type": "string"}}, "skipped": {"type": "array", "items": {"type": "string"}},
    "next_attempt_at": {"type": "number"}})
_ROUTE = _object(["route", "matched", "in_mapping"], {
    "route": {"type": "string"}, "matched": {"type": "boolean", "description": "the event has a delivery for it"},
    "matches_now": {"type": ["boolean", "null"], "description": "the current mapping's condition holds"},
    "when": _NULLABLE_TEXT, "delivery_id": {"type": ["integer", "null"]}, "in_mapping": {"type": "boolean"}})
_APPLIED = _object(["value", "delivery_id", "event_id"], {
    "value": {}, "delivery_id": {"type": "integer"}, "source": {"type": "string"}, "event_id": {"type": "string"},
    "occurred_at": _NULLABLE_TEXT, "applied_at": {"type": ["number", "null"]}})

SCHEMAS = {
    "EventRow": _object(
        ["source", "event_id", "type", "received_at", "status", "id_source", "duplicates", "conflicts",
         "deliveries", "opportunities"],
        {"source": {"type": "string"}, "event_id": {"type": "string"}, "type": _NULLABLE_TEXT,
         "occurred_at": _NULLABLE_TEXT, "received_at": {"type": "number"},
         "status": {"enum": list(EVENT_STATUSES)}, "reason": _NULLABLE_TEXT,
         "id_source": {"enum": [ID_SENDER, ID_CONTENT_HASH],
                       "description": "sender: the sender's event id; content_hash: sha256 of the content"},
         "duplicates": {"type": "integer"}, "conflicts": {"type": "integer"}, "deliveries": _COUNTS,
         "opportunities": {"type": "array", "items": {"type": "string"}}}),
    "EventPage": _object(["data", "next_cursor"], {"data": {"type": "array", "items": _ref("EventRow")},
                                                   "next_cursor": _NULLABLE_TEXT}),
    "Attempt": _ATTEMPT,
    "RouteMatch": _ROUTE,
    "Issue": _object(["source", "route", "reason", "count", "statuses", "first_seen", "last_seen", "sample"], {
        "source": {"type": "string"}, "route": {"type": "string"}, "reason": {"type": "string"},
        "count": {"type": "integer"},
        "statuses": _object(list(ISSUE_STATUSES), {s: {"type": "integer"} for s in ISSUE_STATUSES}),
        "first_seen": {"type": "number"}, "last_seen": {"type": "number"},
        "sample": _object(["delivery_id", "event_id"], {"delivery_id": {"type": "integer"},
                                                        "event_id": {"type": "string"},
                                                        "error": {"type": ["object", "null"]}})}),
    "IssuePage": _object(["data", "retrying_for"], {"data": {"type": "array", "items": _ref("Issue")},
                                                    "retrying_for": {"type": "number"}}),
    "OpportunityHistory": _object(["data"], {"data": _object(["opportunity", "deliveries", "fields", "truncated"], {
        "opportunity": {"type": "string"}, "truncated": {"type": "boolean"},
        "fields": {"type": "object", "additionalProperties": _APPLIED},
        "deliveries": {"type": "array", "items": _object(
            ["delivery_id", "source", "event_id", "route", "status", "fields", "applied", "skipped"],
            {"delivery_id": {"type": "integer"}, "source": {"type": "string"}, "event_id": {"type": "string"},
             "route": {"type": "string"}, "status": {"enum": list(STATUSES)}, "occurred_at": _NULLABLE_TEXT,
             "received_at": {"type": "number"}, "finished_at": {"type": ["number", "null"]},
             "target": {"type": "object"}, "opportunity_id": _NULLABLE_TEXT,
             "fields": {"type": "object"}, "applied": {"type": "object"},
             "skipped": {"type": "array", "items": {"type": "string"}},
             "superseded": {"type": ["object", "null"]}})}})}),
}

# Added to the Delivery and EventOne schemas of openapi.py.
DELIVERY_PROPERTIES = {
    "status": {"enum": list(STATUSES)},
    "next_attempt": {"type": ["number", "null"], "description": "when it is tried next; null once finished or dead"},
    "request": {"type": "object", "description": "the exact PATCH: method, path, headers, body"},
    "attempt_log": {"type": "array", "items": _ref("Attempt"),
                    "description": "the newest 20 attempts (detail views only)"},
}
EVENT_PROPERTIES = {
    "status": {"enum": list(EVENT_STATUSES)}, "duplicates": {"type": "integer"},
    "id_source": {"enum": [ID_SENDER, ID_CONTENT_HASH]},
    "routes": {"type": "array", "items": _ref("RouteMatch")},
}


def merge_into(document: dict) -> None:
    """Add these paths and schemas to the admin API's OpenAPI document."""
    document["paths"].update(PATHS)
    schemas = document["components"]["schemas"]
    schemas.update(SCHEMAS)
    schemas["Delivery"]["properties"].update(DELIVERY_PROPERTIES)
    schemas["EventOne"]["properties"]["data"]["properties"].update(EVENT_PROPERTIES)
    replay = document["paths"]["/admin/deliveries/{delivery_id}/replay"]["post"]
    replay["requestBody"] = _DRY_RUN_BODY
    replay["summary"] += "; dry_run only counts"
