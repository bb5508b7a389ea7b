"""Reevo's opportunity PATCH surface: which fields a mapping may set, and their value types.

The PATCH surface is the bridge's own reading of the Reevo reference page; it is
deliberately not shared with the sandbox, so the sandbox can catch our mistakes.
"""
from __future__ import annotations

import math
import re
import uuid
from datetime import datetime

# Writable opportunity attributes → (value_type, is_array). From reevo-api.md §5.
PATCH_SURFACE: dict[str, tuple[str, bool]] = {
    "display_name": ("string", False),
    "stage": ("opportunity_stage", False),
    "owner_user_id": ("record_reference", False),
    "participant_user_id_list": ("record_reference", True),
    "owner_team_id": ("record_reference", False),
    "primary_contact_id": ("record_reference", False),
    "next_step_details": ("long_text", False),
    "next_step_due_at": ("timestamp", False),
    "next_meeting_date": ("timestamp", False),
    "target_go_live_date": ("timestamp", False),
    "anticipated_closing_at": ("timestamp", False),
    "amount": ("currency", False),
    "closed_lost_custom_detail": ("long_text", False),
    "closed_won_custom_detail": ("long_text", False),
    "competitors_mentioned_other": ("string", True),
    "primary_competitor_other": ("string", False),
    "type_id": ("select", False),
}

# Attributes that exist but Reevo refuses in a PATCH (field_not_updatable).
NOT_UPDATABLE = frozenset({
    "account_id", "status", "outcome", "closed_at", "stage_last_shifted_at",
    "archived_at", "expires_at", "forecast_weighted_amount", "created_source",
    "id", "organization_id", "created_at", "updated_at",
    "created_by_user_id", "updated_by_user_id", "closed_by_user_id",
    "last_activity_at", "last_voice_call", "last_meeting", "last_global_thread",
    "last_engaged_at", "last_outreached_at", "last_inbound_meeting_at",
    "last_inbound_voice_call_at", "last_inbound_global_thread_at",
    "last_outbound_meeting_at", "last_outbound_voice_call_at",
    "last_outbound_global_thread_at",
})

VALUE_TYPES = frozenset({
    "string", "long_text", "rich_text", "number", "percent", "currency", "boolean",
    "timestamp", "date", "uuid", "email", "url", "select", "opportunity_stage",
    "record_reference",
})

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def field_problem(name: str, custom: dict) -> str | None:
    """Why `name` cannot be a PATCH target, or None when it can."""
    if name in PATCH_SURFACE or name in custom:
        return None
    if name in NOT_UPDATABLE:
        return f"'{name}' is not updatable through the Reevo API (field_not_updatable)"
    return (f"'{name}' is not on the opportunity PATCH surface; if it is a custom field, "
            f"declare it under custom_fields with its value type")


def is_uuid(value) -> bool:
    """A text uuid.UUID reads (Reevo's record ids are UUIDs)."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _reference_problem(value) -> str | None:
    if isinstance(value, str):
        return None if is_uuid(value) else "is not a UUID"
    if isinstance(value, dict) and len(value) == 1:
        if "related_record_id" in value:
            return None if is_uuid(value["related_record_id"]) else "related_record_id is not a UUID"
        match = value.get("related_record_match")
        if isinstance(match, dict) and len(match) == 1:
            return None
    return "must be a UUID, {related_record_id} or {related_record_match: {field: value}}"


# A PATCH number: finite (NaN and Infinity are not JSON) and below 10^21 in magnitude, so an int
# straight from a body (up to Python's 4,300 digits) cannot reach Reevo or the JSON encoder.
_NUMBER_LIMIT = 10 ** 21


def _number_problem(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "must be a number"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if not -_NUMBER_LIMIT < value < _NUMBER_LIMIT:
        return "is out of range (at most 10^21 in magnitude)"
    return None


def _text_problem(value) -> str | None:
    return None if isinstance(value, str) else "must be text"


def _timestamp_problem(value) -> str | None:
    if isinstance(value, str) and _TIMESTAMP.match(value):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return None
        except ValueError:
            pass
    return "must be an ISO-8601 timestamp like 2024-05-01T08:00:00Z"


_CHECKS = {
    "record_reference": _reference_problem,
    "number": _number_problem, "percent": _number_problem, "currency": _number_problem,
    "timestamp": _timestamp_problem,
    "boolean": lambda v: None if isinstance(v, bool) else "must be true or false",
    "uuid": lambda v: None if is_uuid(v) else "must be a UUID",
    "opportunity_stage": lambda v: None if isinstance(v, str) and v.strip() else "must be a stage id, api_name or name",
    "select": lambda v: None if isinstance(v, str) and v.strip() else "must be an option id, api_name or name",
}


def value_problem(value_type: str, is_array: bool, value) -> str | None:
    """Why `value` is not acceptable for a field of this type, or None. `None` (clear) is fine."""
    if value is None:
        return None
    check = _CHECKS.get(value_type, _text_problem)
    if is_array:
        if not isinstance(value, list):
            return "must be a list"
        problems = [check(item) for item in value]
        return next((f"item {i}: {p}" for i, p in enumerate(problems) if p), None)
    return check(value)


def field_type(name: str, custom: dict) -> tuple[str, bool]:
    """(value_type, is_array) of a PATCH target, standard or declared custom."""
    if name in PATCH_SURFACE:
        return PATCH_SURFACE[name]
    return custom[name], False
