"""Attribute validation and coercion per value_type, for PATCH, create and the seed.

Every function raises ``ApiError`` on the first problem; nothing is applied
here, so callers can validate all attributes before changing a record.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from .catalog import Catalog, LookupFailed, normalize_uuid
from .errors import (CURRENCY_DECIMAL_PLACES, LONG_TEXT_MAX_LENGTH, STRING_MAX_LENGTH,
                     ApiError, invalid)
from .fields import Field
from .references import coerce_reference
from .timestamps import normalize_timestamp

_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ENVELOPE_KEYS = {"value_type", "value"}
_CENT = Decimal(1).scaleb(-CURRENCY_DECIMAL_PLACES)
_MAX_MAGNITUDE = Decimal("1e15")


# --- entry points ---------------------------------------------------------------


def validate_patch(attributes: object, table: dict[str, Field], catalog: Catalog) -> dict:
    """Validate a PATCH ``attributes`` object; return {api_name: internal value}."""
    attributes = _require_object(attributes)
    if not attributes:
        raise ApiError("field_value_invalid", "attributes must name at least one field", None)
    changes = {}
    for name, raw in attributes.items():
        fld = _known(table, name)
        if not fld.is_updatable:
            raise ApiError("field_not_updatable", f"{name} cannot be updated", name)
        changes[name] = coerce(fld, raw, catalog)
    return changes


def validate_create(attributes: object, table: dict[str, Field], catalog: Catalog) -> dict:
    """Validate a create ``attributes`` object; return {api_name: internal value}."""
    attributes = _require_object(attributes)
    changes = {}
    for name, raw in attributes.items():
        fld = _known(table, name)
        if not fld.is_creatable:
            raise ApiError("field_not_creatable", f"{name} cannot be set on create", name)
        changes[name] = coerce(fld, raw, catalog)
    for fld in table.values():
        if fld.is_required_on_create and fld.api_name not in changes:
            raise ApiError("field_required_missing", f"{fld.api_name} is required on create", fld.api_name)
    return changes


def validate_seed(attributes: dict, table: dict[str, Field], catalog: Catalog) -> dict:
    """Validate seed attributes: any known field may be set, system fields included."""
    return {name: coerce(_known(table, name), raw, catalog) for name, raw in attributes.items()}


def _require_object(attributes: object) -> dict:
    if not isinstance(attributes, dict):
        raise ApiError("invalid_request", "'attributes' must be a JSON object", None)
    return attributes


def _known(table: dict[str, Field], name: str) -> Field:
    fld = table.get(name)
    if fld is None:
        raise ApiError("unknown_field", f"{name} is not an attribute of opportunity", name)
    return fld


# --- one value ------------------------------------------------------------------------


def coerce(fld: Field, raw: object, catalog: Catalog):
    """Coerce one write value (raw or envelope) to the field's internal value."""
    value = unwrap(fld, raw)
    if fld.is_array:
        return _coerce_array(fld, value, catalog)
    if value is None:
        if not fld.nullable:
            raise invalid(fld.api_name, f"{fld.api_name} cannot be null")
        return None
    return COERCERS[fld.value_type](fld, value, catalog)


def unwrap(fld: Field, raw: object) -> object:
    """Return the inner value of a {"value_type", "value"} envelope, or ``raw`` itself."""
    if not (isinstance(raw, dict) and "value_type" in raw):
        return raw
    if set(raw) != _ENVELOPE_KEYS:
        raise invalid(fld.api_name, f"{fld.api_name}: an envelope has exactly the keys value_type and value")
    if raw["value_type"] != fld.value_type:
        raise invalid(fld.api_name, f"{fld.api_name}: envelope value_type {raw['value_type']!r} "
                                    f"does not match the field's {fld.value_type!r}")
    return raw["value"]


def _coerce_array(fld: Field, value: object, catalog: Catalog) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(fld.api_name, f"{fld.api_name} must be an array")
    items = []
    for index, item in enumerate(value):
        inner = unwrap(fld, item)
        if inner is None:
            raise invalid(fld.api_name, f"{fld.api_name}[{index}] cannot be null")
        items.append(COERCERS[fld.value_type](fld, inner, catalog))
    return items


def _text(limit: int):
    def coerce_text(fld: Field, value: object, _catalog: Catalog) -> str:
        if not isinstance(value, str):
            raise invalid(fld.api_name, f"{fld.api_name} must be a string")
        if len(value) > limit:
            raise invalid(fld.api_name, f"{fld.api_name} is longer than {limit} characters")
        if not fld.nullable and not value.strip():
            raise invalid(fld.api_name, f"{fld.api_name} cannot be blank")
        return value
    return coerce_text


def to_decimal(value: object) -> Decimal | None:
    """A finite Decimal (|x| < 1e15) from a JSON number or numeric string; None otherwise."""
    number = _raw_decimal(value)
    if number is None or abs(number) >= _MAX_MAGNITUDE:
        return None
    return number


def _raw_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMERIC.match(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def _number(fld: Field, value: object, _catalog: Catalog) -> Decimal:
    number = to_decimal(value)
    if number is None:
        raise invalid(fld.api_name, f"{fld.api_name} must be a number, got {value!r}")
    return number


def _currency(fld: Field, value: object, _catalog: Catalog) -> Decimal:
    if isinstance(value, dict):
        if set(value) != {"amount"}:
            raise invalid(fld.api_name, f"{fld.api_name}: a currency object has exactly the key 'amount'")
        value = value["amount"]
    amount = to_decimal(value)
    if amount is None:
        raise invalid(fld.api_name, f"{fld.api_name} must be an amount, got {value!r}")
    if amount != amount.quantize(_CENT):
        raise invalid(fld.api_name, f"{fld.api_name}: at most {CURRENCY_DECIMAL_PLACES} decimal places")
    return amount.quantize(_CENT)


def _boolean(fld: Field, value: object, _catalog: Catalog) -> bool:
    if not isinstance(value, bool):
        raise invalid(fld.api_name, f"{fld.api_name} must be true or false")
    return value


def _timestamp(fld: Field, value: object, _catalog: Catalog) -> str:
    normalized = normalize_timestamp(value)
    if normalized is None:
        raise invalid(fld.api_name, f"{fld.api_name} must be an ISO-8601 date-time with Z or offset, got {value!r}")
    return normalized


def _stage(fld: Field, value: object, catalog: Catalog) -> str:
    key = _choice_key(fld, value)
    try:
        return catalog.resolve_stage(key)["id"]
    except LookupFailed as exc:
        raise invalid(fld.api_name, str(exc)) from None


def _select(fld: Field, value: object, catalog: Catalog) -> str:
    key = _choice_key(fld, value)
    try:
        return catalog.resolve_option(fld.api_name, key)["id"]
    except LookupFailed as exc:
        raise invalid(fld.api_name, str(exc)) from None


def _choice_key(fld: Field, value: object) -> str:
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]  # the read-shape object
    if not isinstance(value, str):
        raise invalid(fld.api_name, f"{fld.api_name} must be an id, api_name or display value string")
    return value


def _enum(fld: Field, value: object, _catalog: Catalog) -> str:
    if not isinstance(value, str) or value not in fld.choices:
        raise invalid(fld.api_name, f"{fld.api_name} must be one of {list(fld.choices)}")
    return value


def _uuid(fld: Field, value: object, _catalog: Catalog) -> str:
    normalized = normalize_uuid(value)
    if normalized is None:
        raise invalid(fld.api_name, f"{fld.api_name} must be a UUID")
    return normalized


COERCERS = {
    "string": _text(STRING_MAX_LENGTH),
    "long_text": _text(LONG_TEXT_MAX_LENGTH),
    "number": _number,
    "currency": _currency,
    "boolean": _boolean,
    "timestamp": _timestamp,
    "opportunity_stage": _stage,
    "select": _select,
    "record_reference": coerce_reference,
    "enum": _enum,
    "uuid": _uuid,
}
