"""The admin API's OpenAPI 3.1 document, served at /admin/openapi.json (data, not logic).

Enums, bounds and required keys are the ones the handlers enforce, so a schema-driven
tester finds no value the document allows and the API refuses.
"""
from bridge import __version__
from bridge.store import STATUSES
from bridge.store.query import MAX_ID
from bridge.web.openapi_events import merge_into

MAX_IDS = 10_000  # ids in one replay request (bridge.web.admin checks it)
_STATUS = {"enum": list(STATUSES)}
_DELIVERY_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}

_ERROR = {"$ref": "#/components/responses/Error"}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_AUTH = {"401": _ERROR, "404": _ERROR}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _path(name: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _ok(schema_ref: str, description: str = "OK") -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


_FILTER_PARAMS = [
    {**_query("status", "queued, delivering, retrying, delivered, superseded or dead; repeat for several",
              {"type": "array", "items": _STATUS}), "style": "form", "explode": True},
    _query("source", "the mapping file name, e.g. stripe"),
    _query("route", "route name within the mapping"),
    _query("opportunity", "Reevo opportunity id (or a target key such as match:[...])"),
    _query("event_id", "the sender's event id"),
    _query("received_from", "Unix seconds, inclusive", {"type": "number"}),
    _query("received_to", "Unix seconds, exclusive", {"type": "number"}),
]

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "Reevo webhook bridge — admin API", "version": __version__,
             "description": "Enabled by BRIDGE_ADMIN_TOKEN; every call needs Authorization: Bearer <token>."},
    "security": [{"bearer": []}],
    "paths": {
        "/admin/deliveries": {"get": {
            "summary": "List deliveries, oldest first, with filters and cursor pagination",
            "parameters": _FILTER_PARAMS + [_query("limit", "page size, default 50; outside 1–500 clamped to it",
                                                   {"type": "integer"}),
                                            _query("cursor", "next_cursor of the previous page")],
            "responses": {"200": _ok("DeliveryPage"), "400": _ERROR, **_AUTH}}},
        "/admin/deliveries/{delivery_id}": {"get": {
            "summary": "One delivery: status, attempts, last error, history and the PATCH body",
            "parameters": [_path("delivery_id", _DELIVERY_ID)],
            "responses": {"200": _ok("DeliveryOne"), **_AUTH}}},
        "/admin/deliveries/{delivery_id}/replay": {"post": {
            "summary": "Queue one delivery again (attempts restart; its history is kept); one that died before "
                       "it had a target (the mapping could not build it) is rebuilt from its stored event with "
                       "the current mappings",
            "parameters": [_path("delivery_id", _DELIVERY_ID)],
            "responses": {"200": _ok("ReplayResult"), "409": _ERROR, **_AUTH}}},
        "/admin/replay": {"post": {
            "summary": "Queue many deliveries again, by ids or by filter, rebuilding the ones the mapping could "
                       "not build; dry_run only counts",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/ReplayRequest"}}}},
            "responses": {"200": _ok("ReplayResult"), "400": _ERROR,
                          "409": {"description": "unknown_source: a delivery to rebuild has no mapping loaded; "
                                                 "nothing changed", "content": _ERROR_CONTENT}, **_AUTH}}},
        "/admin/events/{source}/{event_id}": {"get": {
            "summary": "One event, with its stored data (the sender's payload) and all its deliveries",
            "parameters": [_path("source"), _path("event_id")],
            "responses": {"200": _ok("EventOne"), **_AUTH}}},
        "/admin/events/{source}/{event_id}/rebuild": {"post": {
            "summary": "Render a stored event again with the current mappings: routes it has no delivery for "
                       "are added (an ignored event gets a route added since), deliveries the mapping could not "
                       "build are rebuilt, the others are left alone; dry_run only shows what it would do",
            "parameters": [_path("source"), _path("event_id")],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False, "properties": {"dry_run": {"type": "boolean"}}}}}},
            "responses": {"200": _ok("RebuildResult"),
                          "409": {"description": "unknown_source (no mapping loaded) or no_data",
                                  "content": _ERROR_CONTENT}, **_AUTH}}},
        "/admin/mappings": {"get": {
            "summary": "Mappings in use, whether their secrets are set, and the last reload's result",
            "responses": {"200": _ok("Mappings"), **_AUTH}}},
        "/admin/reload": {"post": {
            "summary": "Re-read the mapping files; a bad file keeps the mappings in use",
            "responses": {"200": _ok("ReloadResult"), "422": _ok("ReloadResult", "rejected: problems listed"),
                          **_AUTH}}},
        "/admin/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OK"}}}},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "responses": {"Error": {"description": "Refused", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}}},
        "schemas": {
            "Error": {"type": "object", "required": ["status", "reason"], "properties": {
                "status": {"const": "rejected"}, "reason": {"type": "string"}, "detail": {"type": "string"}}},
            "Delivery": {"type": "object", "properties": {
                "id": {"type": "integer"}, "source": {"type": "string"}, "event_id": {"type": "string"},
                "route": {"type": "string"}, "target": {"type": "object"},
                "patch": {"type": "object", "properties": {"attributes": {"type": "object"}}},
                "status": {"type": "string"}, "attempts": {"type": "integer"},
                "next_attempt_at": {"type": "number"}, "received_at": {"type": "number"},
                "occurred_at": {"type": ["string", "null"]}, "last_error": {"type": ["object", "null"]},
                "history": {"type": "array", "items": {"type": "object"}}}},
            "DeliveryPage": {"type": "object", "properties": {
                "data": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}},
                "next_cursor": {"type": ["string", "null"]}}},
            "DeliveryOne": {"type": "object", "properties": {"data": {"$ref": "#/components/schemas/Delivery"}}},
            "EventOne": {"type": "object", "properties": {"data": {"type": "object", "properties": {
                "source": {"type": "string"}, "event_id": {"type": "string"}, "type": {"type": ["string", "null"]},
                "occurred_at": {"type": ["string", "null"]}, "outcome": {"type": "string"},
                "reason": {"type": ["string", "null"]}, "received_at": {"type": "number"},
                "conflicts": {"type": "integer"},
                "data": {"description": "the event as received (the sender's payload), null if not stored"},
                "deliveries": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}}}}}},
            "ReplayRequest": {
                "type": "object", "additionalProperties": False,
                "oneOf": [{"required": ["ids"], "not": {"required": ["filter"]}},
                          {"required": ["filter"], "not": {"required": ["ids"]}}],
                "properties": {
                    "ids": {"type": "array", "maxItems": MAX_IDS,
                            "items": {**_DELIVERY_ID, "minimum": 1}},
                    "filter": {"type": "object", "additionalProperties": False, "properties": {
                        **{p["name"]: p["schema"] for p in _FILTER_PARAMS},
                        "status": {"oneOf": [_STATUS, {"type": "array", "items": _STATUS, "minItems": 1}]}}},
                    "dry_run": {"type": "boolean"}}},
            "ReplayResult": {"type": "object", "properties": {
                "status": {"enum": ["replayed", "dry_run"]},
                "replayed": {"type": "integer", "description": "queued again as they were"},
                "rebuilt": {"type": "integer", "description": "rendered again from their event (mapping failures)"},
                "would_replay": {"type": "integer"}, "would_rebuild": {"type": "integer"},
                "still_dead": {"type": "integer", "description": "rebuilt, but the mapping still cannot build them"},
                "not_rebuilt": {"type": "integer",
                                "description": "the current mapping makes no delivery for their route"}}},
            "RebuildResult": {"type": "object", "properties": {
                "status": {"enum": ["rebuilt", "dry_run"]},
                "rebuilt": {"type": "integer", "description": "deliveries inserted or replaced"},
                "still_dead": {"type": "integer"},
                "routes": {"type": "array", "items": {"type": "object", "properties": {
                    "route": {"type": "string"}, "action": {"enum": ["insert", "replace", "keep"]},
                    "status": {"type": "string"}, "target": {"type": "object"},
                    "error": {"type": ["object", "null"]}}}}}},
            "Mappings": {"type": "object", "properties": {"data": {"type": "object", "properties": {
                "sources": {"type": "object"}, "last_reload": {"type": "object"}}}}},
            "ReloadResult": {"type": "object", "properties": {
                "status": {"enum": ["reloaded", "reloading", "rejected"]}, "at": {"type": "number"},
                "sources": {"type": "array", "items": {"type": "string"}},
                "problems": {"type": "array", "items": {"type": "string"}}}},
        },
    },
}

merge_into(OPENAPI)
