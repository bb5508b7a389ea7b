"""Render an internal opportunity record in the Reevo read shape: every attribute
present as a ``{"value", "value_type"}`` envelope, arrays as arrays of envelopes.
"""

from __future__ import annotations

from decimal import Decimal

from .catalog import Catalog
from .fields import Field

_STAGE_KEYS = ("id", "display_value", "api_name", "color", "closing_probability", "expected_days")
_OPTION_KEYS = ("id", "display_value", "api_name", "color")


def render_record(record: dict, table: dict[str, Field], catalog: Catalog) -> dict:
    """The record as the API returns it inside ``data``."""
    return {
        "id": record["id"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "attributes": {name: render_attribute(fld, record.get(name), catalog) for name, fld in table.items()},
        "record_type": "opportunity",
    }


def render_attribute(fld: Field, value, catalog: Catalog):
    """One attribute: an envelope, or a list of envelopes for array fields."""
    if fld.is_array:
        return [envelope(fld, render_value(fld, item, catalog)) for item in (value or [])]
    return envelope(fld, None if value is None else render_value(fld, value, catalog))


def envelope(fld: Field, value) -> dict:
    """Wrap a rendered value with the field's value_type."""
    return {"value": value, "value_type": fld.value_type}


def render_value(fld: Field, value, catalog: Catalog):
    """Render one non-null internal value for the field's value_type."""
    kind = fld.value_type
    if kind == "record_reference":
        return {"related_record_id": value, "related_record_type": fld.target}
    if kind == "opportunity_stage":
        return _pick(catalog.stage(value), _STAGE_KEYS)
    if kind == "select":
        return _pick(catalog.option(fld.api_name, value), _OPTION_KEYS)
    if kind == "currency":
        return {"amount": format_amount(value)}
    if kind == "number":
        return _number(value)
    return value


def format_amount(amount: Decimal) -> str:
    """A currency amount as a string with exactly two decimals."""
    return f"{amount.quantize(Decimal('0.01')):f}"


def _number(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)


def _pick(entry: dict | None, keys: tuple) -> dict | None:
    return None if entry is None else {key: entry[key] for key in keys}
