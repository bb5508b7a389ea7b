"""_query filter trees compiled to predicates over internal records.

A filter list is ANDed; a node is a condition ``{"field", "operator", "value"}``
or a group ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": {...} | [...]}``.
"""

from __future__ import annotations

from collections.abc import Callable

from .catalog import Catalog, normalize_uuid
from .errors import ApiError, invalid
from .fields import ALL_OPERATORS, EXISTENCE, Field
from .timestamps import normalize_timestamp
from .validate import to_decimal

Predicate = Callable[[dict], bool]
_CONDITION_KEYS = {"field", "operator", "value"}


def compile_filters(filters: object, table: dict[str, Field], catalog: Catalog) -> Predicate:
    """A predicate for a top-level filter list (ANDed); ``None`` matches everything."""
    if filters is None:
        return lambda record: True
    return _all(_children(filters, "filters"), table, catalog)


def _bad(message: str) -> ApiError:
    return ApiError("invalid_request", message)


def _children(nodes: object, where: str) -> list:
    if not isinstance(nodes, list):
        raise _bad(f"{where} must be a list of filter nodes")
    return nodes


def _all(nodes: list, table, catalog) -> Predicate:
    preds = [compile_node(node, table, catalog) for node in nodes]
    return lambda record: all(pred(record) for pred in preds)


def _any(nodes: list, table, catalog) -> Predicate:
    preds = [compile_node(node, table, catalog) for node in nodes]
    return lambda record: any(pred(record) for pred in preds)


def _not(node: object, table, catalog) -> Predicate:
    inner = _all(node, table, catalog) if isinstance(node, list) else compile_node(node, table, catalog)
    return lambda record: not inner(record)


def compile_node(node: object, table: dict[str, Field], catalog: Catalog) -> Predicate:
    """Compile one condition or group node."""
    if not isinstance(node, dict):
        raise _bad("a filter node must be an object")
    groups = {"and", "or", "not"} & set(node)
    if not groups:
        return compile_condition(node, table, catalog)
    if len(node) != 1:
        raise _bad("a group node has exactly one key: and, or or not")
    key = groups.pop()
    if key == "not":
        return _not(node["not"], table, catalog)
    children = _children(node[key], key)
    return _all(children, table, catalog) if key == "and" else _any(children, table, catalog)


def compile_condition(node: dict, table: dict[str, Field], catalog: Catalog) -> Predicate:
    """Compile ``{"field", "operator", "value"}`` after checking field and operator."""
    if set(node) - _CONDITION_KEYS:
        raise _bad(f"unexpected filter keys {sorted(set(node) - _CONDITION_KEYS)}")
    name, operator = node.get("field"), node.get("operator")
    if not isinstance(name, str) or not isinstance(operator, str):
        raise _bad("a filter condition needs string 'field' and 'operator'")
    fld = table.get(name)
    if fld is None or not fld.is_filterable:
        raise ApiError("invalid_filter_field", f"{name} cannot be used in a filter", name)
    if operator not in ALL_OPERATORS or operator not in fld.filter_operators:
        raise ApiError("invalid_filter_operator",
                       f"operator {operator!r} is not allowed on {name} (allowed: {list(fld.filter_operators)})", name)
    operand = None if operator in EXISTENCE else _operand(fld, operator, node, catalog)
    return lambda record: matches(fld, operator, record.get(name), operand)


def _operand(fld: Field, operator: str, node: dict, catalog: Catalog):
    if "value" not in node:
        raise invalid(fld.api_name, f"operator {operator!r} needs a value")
    value = node["value"]
    if operator in ("in", "not_in"):
        if not isinstance(value, list):
            raise invalid(fld.api_name, f"{operator} takes a list of values")
        return [scalar_operand(fld, item, catalog) for item in value]
    if operator == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise invalid(fld.api_name, "between takes a list [low, high]")
        return [scalar_operand(fld, item, catalog) for item in value]
    return scalar_operand(fld, value, catalog)


def scalar_operand(fld: Field, value: object, catalog: Catalog):
    """Convert one filter value to the field's internal representation."""
    converted = _convert(fld, value, catalog)
    if converted is None:
        raise invalid(fld.api_name, f"{value!r} is not a valid {fld.value_type} filter value for {fld.api_name}")
    return converted


def _convert(fld: Field, value: object, catalog: Catalog):
    kind = fld.value_type
    if kind in ("string", "long_text", "enum"):
        return value if isinstance(value, str) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind in ("number", "currency"):
        if kind == "currency" and isinstance(value, dict) and set(value) == {"amount"}:
            value = value["amount"]
        return to_decimal(value)
    if kind == "timestamp":
        return normalize_timestamp(value)
    if kind in ("uuid", "record_reference"):
        return normalize_uuid(value)
    if not isinstance(value, str):
        return None
    if kind == "opportunity_stage":
        return catalog.stage_ids_for_filter(value)
    if kind == "select":
        return catalog.option_id_for_filter(fld.api_name, value)
    return None


def _eq(value, operand) -> bool:
    return value is not None and value == operand


def _in(value, operand) -> bool:
    return value is not None and value in operand


def _cmp(test):
    return lambda value, operand: value is not None and test(value, operand)


_TESTS = {
    "eq": _eq,
    "ne": lambda v, x: not _eq(v, x),
    "in": _in,
    "not_in": lambda v, x: not _in(v, x),
    "contains": lambda v, x: isinstance(v, str) and x in v,
    "starts_with": lambda v, x: isinstance(v, str) and v.startswith(x),
    "ends_with": lambda v, x: isinstance(v, str) and v.endswith(x),
    "gt": _cmp(lambda v, x: v > x),
    "gte": _cmp(lambda v, x: v >= x),
    "lt": _cmp(lambda v, x: v < x),
    "lte": _cmp(lambda v, x: v <= x),
    "between": _cmp(lambda v, x: x[0] <= v <= x[1]),
    "exists": lambda v, x: v is not None,
    "not_exists": lambda v, x: v is None,
}
_NEGATIVE = {"ne": "eq", "not_in": "in"}


def matches(fld: Field, operator: str, value, operand) -> bool:
    """Whether a record's internal value satisfies ``operator operand``.

    Array fields: exists = non-empty; ne/not_in = no element matches; others = any element matches.
    """
    if not fld.is_array:
        return _TESTS[operator](value, operand)
    items = value or []
    if operator in EXISTENCE:
        return bool(items) == (operator == "exists")
    if operator in _NEGATIVE:
        return not any(_TESTS[_NEGATIVE[operator]](item, operand) for item in items)
    return any(_TESTS[operator](item, operand) for item in items)
