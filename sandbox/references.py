"""Write forms of record_reference fields: bare UUID, {"related_record_id"} or
{"related_record_match": {<unique field>: <value>}} (reevo-api.md §7)."""

from __future__ import annotations

from .catalog import Catalog, normalize_uuid
from .errors import ApiError, invalid
from .fields import Field

_ALLOWED_KEYS = {"related_record_id", "related_record_match", "related_record_type"}


def coerce_reference(fld: Field, raw: object, catalog: Catalog) -> str:
    """Resolve one reference write value to the target record's id (raises ApiError)."""
    if isinstance(raw, str):
        return _by_id(fld, raw, catalog)
    if not isinstance(raw, dict):
        raise invalid(fld.api_name, f"{fld.api_name}: a reference must be a UUID string or an object")
    _check_keys(fld, raw)
    if "related_record_id" in raw:
        return _by_id(fld, raw["related_record_id"], catalog)
    return _by_match(fld, raw["related_record_match"], catalog)


def _check_keys(fld: Field, raw: dict) -> None:
    extra = set(raw) - _ALLOWED_KEYS
    if extra:
        raise invalid(fld.api_name, f"{fld.api_name}: unexpected reference keys {sorted(extra)}")
    has_id, has_match = "related_record_id" in raw, "related_record_match" in raw
    if has_id == has_match:
        raise invalid(fld.api_name, f"{fld.api_name}: give exactly one of related_record_id and related_record_match")
    kind = raw.get("related_record_type", fld.target)
    if kind != fld.target:
        raise invalid(fld.api_name, f"{fld.api_name}: related_record_type must be {fld.target!r}, got {kind!r}")


def _by_id(fld: Field, value: object, catalog: Catalog) -> str:
    record_id = normalize_uuid(value)
    if record_id is None:
        raise invalid(fld.api_name, f"{fld.api_name}: {value!r} is not a UUID")
    if not catalog.related_exists(_target(fld), record_id):
        raise ApiError("target_record_not_found", f"{fld.api_name}: no {fld.target} with id {record_id}", fld.api_name)
    return record_id


def _by_match(fld: Field, match: object, catalog: Catalog) -> str:
    if not isinstance(match, dict) or len(match) != 1:
        raise invalid(fld.api_name, f"{fld.api_name}: related_record_match must be an object with exactly one key")
    (key, value), = match.items()
    unique = catalog.unique_fields(_target(fld))
    if key not in unique:
        raise ApiError("invalid_matching_field",
                       f"{fld.api_name}: {key!r} is not a unique field of {fld.target} (use one of {unique})",
                       fld.api_name)
    if not isinstance(value, str) or not value.strip():
        raise invalid(fld.api_name, f"{fld.api_name}: match value for {key!r} must be a non-empty string")
    hits = catalog.match_related(_target(fld), key, value)
    if not hits:
        raise ApiError("target_record_not_found", f"{fld.api_name}: no {fld.target} with {key} = {value!r}",
                       fld.api_name)
    if len(hits) > 1:
        raise ApiError("ambiguous_match", f"{fld.api_name}: {len(hits)} {fld.target} records have {key} = {value!r}",
                       fld.api_name)
    return hits[0]["id"]


def _target(fld: Field) -> str:
    """The record type a reference field points at (every record_reference field has one)."""
    if fld.target is None:
        raise TypeError(f"{fld.api_name} is not a record reference")
    return fld.target
