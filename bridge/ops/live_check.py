"""`check --live`: compare mapping files with the workspace's real opportunity schema.

The offline check knows Reevo's documented PATCH surface; a live workspace adds
custom fields and may differ in what is updatable. This reads
`GET /api/v2/_schema/opportunity` and reports, per file, route and field, every
target that does not exist, is not updatable, or has another value type.
"""
from __future__ import annotations

from bridge.mapping import reevo_fields
from bridge.mapping.model import Mapping


def schema_fields(schema: dict) -> dict[str, dict]:
    """`_schema` response → {api_name: attribute entry}."""
    return {a["api_name"]: a for a in schema.get("attributes", []) if isinstance(a, dict) and "api_name" in a}


def _type_of(entry: dict) -> tuple[str | None, bool]:
    info = entry.get("type_info") or {}
    return info.get("value_type"), bool(info.get("is_array"))


def _field_problem(name: str, entry: dict | None, expected: tuple[str, bool]) -> str | None:
    if entry is None:
        return "does not exist on this workspace's opportunity (unknown_field)"
    if not entry.get("is_updatable"):
        return "is not updatable on this workspace (field_not_updatable)"
    actual = _type_of(entry)
    if actual != expected:
        shown = lambda t: f"{t[0]}{'[]' if t[1] else ''}"  # noqa: E731
        return f"has value type {shown(actual)} here, but the mapping treats it as {shown(expected)}"
    return None


def _match_problem(field: str, entry: dict | None) -> str | None:
    if entry is None:
        return f"match field '{field}' does not exist on this workspace's opportunity"
    if not entry.get("is_filterable") or "eq" not in (entry.get("filter_operators") or []):
        return f"match field '{field}' cannot be filtered with eq (invalid_filter_operator)"
    return None


def live_problems(mappings: dict[str, Mapping], schema: dict) -> list[str]:
    """Every mismatch between the mappings and the live schema, one line each."""
    fields = schema_fields(schema)
    problems = []
    for mapping in mappings.values():
        for route in mapping.routes:
            where = f"{mapping.path}: route '{route.name}'"
            for name in route.fields:
                problem = _field_problem(name, fields.get(name), reevo_fields.field_type(name, route.custom))
                if problem:
                    problems.append(f"{where}: field '{name}': {problem}")
            if route.target.match_field:
                problem = _match_problem(route.target.match_field, fields.get(route.target.match_field))
                if problem:
                    problems.append(f"{where}: opportunity: {problem}")
    return problems
