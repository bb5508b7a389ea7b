"""The opportunity field table: one row per attribute, driving validation, rendering,
filtering and ``GET /api/v2/_schema/opportunity``.

Standard attributes follow the "Patch one opportunity" reference page; custom
fields come from the seed file and are appended with ``is_custom`` true.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import CREATED_SOURCE_VALUES, OUTCOME_VALUES, STATUS_VALUES

EQUALITY = ("eq", "ne", "in", "not_in")
TEXT = ("contains", "starts_with", "ends_with")
RANGE = ("gt", "gte", "lt", "lte", "between")
EXISTENCE = ("exists", "not_exists")
ALL_OPERATORS = EQUALITY + TEXT + RANGE + EXISTENCE

OPERATORS_BY_TYPE = {
    "uuid": EQUALITY,
    "string": EQUALITY + TEXT,
    "enum": EQUALITY,
    "select": EQUALITY,
    "opportunity_stage": EQUALITY,
    "record_reference": EQUALITY,
    "number": EQUALITY + RANGE,
    "currency": EQUALITY + RANGE,
    "timestamp": EQUALITY + RANGE,
    "boolean": ("eq", "ne"),
    "long_text": (),
}
SORTABLE_TYPES = {"uuid", "string", "enum", "number", "currency", "timestamp", "boolean"}
CUSTOM_VALUE_TYPES = {"string", "long_text", "number", "currency", "boolean", "timestamp"}

LAST_ACTIVITY_FIELDS = (
    "last_activity_at", "last_voice_call", "last_meeting", "last_global_thread",
    "last_engaged_at", "last_outreached_at", "last_inbound_meeting_at",
    "last_inbound_voice_call_at", "last_inbound_global_thread_at",
    "last_outbound_meeting_at", "last_outbound_voice_call_at",
    "last_outbound_global_thread_at",
)


@dataclass(frozen=True)
class Field:
    """One opportunity attribute and everything the sandbox knows about it."""

    api_name: str
    display_name: str
    value_type: str
    is_array: bool = False
    is_updatable: bool = False
    is_creatable: bool = False
    nullable: bool = True
    is_unique: bool = False
    is_custom: bool = False
    is_filterable: bool = True
    is_sortable: bool = False
    filter_operators: tuple = ()
    is_required_on_create: bool = False
    target: str | None = None  # related record type of a record_reference
    choices: tuple = ()  # allowed values of an enum
    description: str = ""


def _display(api_name: str) -> str:
    words = api_name.replace("_id", "").split("_")
    return " ".join(w.upper() if w == "id" else w.capitalize() for w in words) or "ID"


def default_operators(value_type: str, is_array: bool, nullable: bool) -> tuple:
    """The filter operators the sandbox allows for a value type."""
    ops = OPERATORS_BY_TYPE.get(value_type, ())
    if is_array:
        ops = tuple(op for op in ops if op in EQUALITY)
    if ops and (nullable or is_array):
        ops = ops + EXISTENCE
    return ops


def make_field(api_name: str, value_type: str, *, updatable: bool = False,
               creatable: bool | None = None, nullable: bool = True, array: bool = False,
               required: bool = False, unique: bool = False, target: str | None = None,
               choices: tuple = (), display_name: str | None = None, custom: bool = False,
               description: str = "", filter_operators: tuple | None = None) -> Field:
    """Build a Field, deriving filterability, sortability and operators from its type."""
    ops = default_operators(value_type, array, nullable) if filter_operators is None else tuple(filter_operators)
    return Field(
        api_name=api_name,
        display_name=display_name or _display(api_name),
        value_type=value_type,
        is_array=array,
        is_updatable=updatable,
        is_creatable=updatable if creatable is None else creatable,
        nullable=nullable,
        is_unique=unique,
        is_custom=custom,
        is_filterable=bool(ops),
        is_sortable=(not array) and value_type in SORTABLE_TYPES,
        filter_operators=ops,
        is_required_on_create=required,
        target=target,
        choices=choices,
        description=description,
    )


def _ts(name: str, updatable: bool = False) -> Field:
    return make_field(name, "timestamp", updatable=updatable)


def _ref(name: str, target: str, updatable: bool = False, **kw) -> Field:
    return make_field(name, "record_reference", updatable=updatable, target=target, **kw)


def standard_fields() -> list[Field]:
    """The standard opportunity attributes, in reference-page order."""
    return [
        make_field("id", "uuid", nullable=False, unique=True, display_name="ID"),
        make_field("organization_id", "uuid", nullable=False, display_name="Organization ID"),
        make_field("created_at", "timestamp", nullable=False),
        make_field("display_name", "string", updatable=True, nullable=False, required=True, display_name="Name"),
        make_field("status", "enum", nullable=False, choices=STATUS_VALUES),
        make_field("stage", "opportunity_stage", updatable=True, nullable=False, required=True),
        _ref("owner_user_id", "user", True, display_name="Owner"),
        _ref("account_id", "account", creatable=True, nullable=False, required=True, display_name="Account"),
        _ref("participant_user_id_list", "user", True, array=True, display_name="Participants"),
        _ref("created_by_user_id", "user", display_name="Created By"),
        make_field("updated_at", "timestamp", nullable=False),
        make_field("next_step_details", "long_text", updatable=True),
        _ts("next_step_due_at", True),
        _ts("next_meeting_date", True),
        _ts("target_go_live_date", True),
        make_field("amount", "currency", updatable=True),
        make_field("forecast_weighted_amount", "currency"),
        make_field("outcome", "enum", choices=OUTCOME_VALUES),
        make_field("created_source", "enum", nullable=False, choices=CREATED_SOURCE_VALUES),
        _ts("anticipated_closing_at", True),
        _ts("closed_at"),
        _ts("archived_at"),
        _ts("expires_at"),
        *[_ts(name) for name in LAST_ACTIVITY_FIELDS],
        _ts("stage_last_shifted_at"),
        _ref("owner_team_id", "team", True, display_name="Owner Team"),
        _ref("closed_by_user_id", "user", display_name="Closed By"),
        _ref("primary_contact_id", "contact", True, display_name="Primary Contact"),
        _ref("updated_by_user_id", "user", display_name="Updated By"),
        make_field("closed_lost_custom_detail", "long_text", updatable=True),
        make_field("closed_won_custom_detail", "long_text", updatable=True),
        make_field("competitors_mentioned_other", "string", updatable=True, array=True),
        make_field("primary_competitor_other", "string", updatable=True),
        make_field("type_id", "select", updatable=True, display_name="Type"),
    ]


def custom_field(spec: dict) -> Field:
    """Build a custom Field from a seed-file declaration (raises ValueError if malformed)."""
    value_type = spec.get("value_type")
    if value_type not in CUSTOM_VALUE_TYPES:
        raise ValueError(f"custom field {spec.get('api_name')!r}: unsupported value_type {value_type!r}")
    nullable = spec.get("nullable", True)
    allowed = default_operators(value_type, False, nullable)
    ops = spec.get("filter_operators")
    if ops is not None and not set(ops) <= set(allowed):
        raise ValueError(f"custom field {spec['api_name']!r}: operators {sorted(set(ops) - set(allowed))} not allowed")
    if not spec.get("is_filterable", True):
        ops = ()
    return make_field(spec["api_name"], value_type, updatable=spec.get("is_updatable", True),
                      nullable=nullable, unique=spec.get("is_unique", False), custom=True,
                      display_name=spec.get("display_name"), description=spec.get("description", ""),
                      filter_operators=None if ops is None else tuple(ops))


def build_table(custom_specs: list[dict]) -> dict[str, Field]:
    """The full field table (standard then custom), keyed by api_name."""
    table = {f.api_name: f for f in standard_fields()}
    for spec in custom_specs:
        fld = custom_field(spec)
        if fld.api_name in table:
            raise ValueError(f"custom field {fld.api_name!r} clashes with a standard field")
        table[fld.api_name] = fld
    return table


def schema_attribute(fld: Field) -> dict:
    """One attribute entry of the _schema document (documented keys only)."""
    return {
        "api_name": fld.api_name,
        "display_name": fld.display_name,
        "description": fld.description,
        "is_creatable": fld.is_creatable,
        "is_updatable": fld.is_updatable,
        "type_info": {"is_array": fld.is_array, "value_type": fld.value_type},
        "is_required_on_create": fld.is_required_on_create,
        "is_unique": fld.is_unique,
        "is_custom": fld.is_custom,
        "is_sortable": fld.is_sortable,
        "is_filterable": fld.is_filterable,
        "filter_operators": list(fld.filter_operators),
    }


def schema_document(table: dict[str, Field]) -> dict:
    """The bare ``GET /api/v2/_schema/opportunity`` object."""
    return {
        "api_name": "opportunity",
        "display_name": "Opportunity",
        "description": "A deal in the pipeline (internal name: pipeline).",
        "is_custom": False,
        "is_junction": False,
        "supports_custom_fields": True,
        "attributes": [schema_attribute(f) for f in table.values()],
        "relationships": [],
    }
