"""POST /api/v2/opportunity/_query: body parsing, sorting and keyset paging."""

from __future__ import annotations

from functools import cmp_to_key, partial

from .catalog import Catalog
from .cursor import CursorCodec, query_hash
from .errors import QUERY_DEFAULT_LIMIT, QUERY_MAX_LIMIT, ApiError, invalid
from .fields import Field
from .filters import compile_filters

_BODY_KEYS = {"filters", "sort", "limit", "cursor"}
_SORT_KEYS = {"field", "direction"}
DEFAULT_SORT = [("created_at", "asc")]


def run_query(body: object, records: list[dict], table: dict[str, Field], catalog: Catalog,
              codec: CursorCodec) -> tuple[list[dict], str | None]:
    """Filter, sort and page ``records``; return (page, next_cursor or None)."""
    if not isinstance(body, dict):
        raise ApiError("invalid_request", "the _query body must be a JSON object")
    if set(body) - _BODY_KEYS:
        raise ApiError("invalid_request", f"unexpected _query keys {sorted(set(body) - _BODY_KEYS)}")
    predicate = compile_filters(body.get("filters"), table, catalog)
    spec = parse_sort(body.get("sort"), table)
    limit = parse_limit(body.get("limit", QUERY_DEFAULT_LIMIT))
    qhash = query_hash(body.get("filters"), spec)
    ordered = sorted((r for r in records if predicate(r)), key=cmp_to_key(partial(compare, spec=spec)))
    if body.get("cursor") is not None:
        after = codec.decode(body["cursor"], qhash, len(spec))
        ordered = [r for r in ordered if compare_keys(sort_key(r, spec), after, spec) > 0]
    page = ordered[:limit]
    next_cursor = codec.encode(qhash, sort_key(page[-1], spec)) if len(ordered) > limit else None
    return page, next_cursor


def parse_limit(limit: object) -> int:
    """Validate the page size (1..QUERY_MAX_LIMIT)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= QUERY_MAX_LIMIT:
        raise invalid("limit", f"limit must be an integer from 1 to {QUERY_MAX_LIMIT}")
    return limit


def parse_sort(sort: object, table: dict[str, Field]) -> list[tuple[str, str]]:
    """Normalize the sort list to [(field, direction)], with id asc as final tie-breaker."""
    if sort is None or sort == []:
        spec = list(DEFAULT_SORT)
    elif isinstance(sort, list):
        spec = [_sort_item(item, table) for item in sort]
    else:
        raise ApiError("invalid_request", "sort must be a list of {field, direction}")
    if "id" not in [name for name, _ in spec]:
        spec.append(("id", "asc"))
    return spec


def _sort_item(item: object, table: dict[str, Field]) -> tuple[str, str]:
    if not isinstance(item, dict) or set(item) - _SORT_KEYS or not isinstance(item.get("field"), str):
        raise ApiError("invalid_request", "a sort item is {\"field\": <name>, \"direction\": \"asc\"|\"desc\"}")
    name, direction = item["field"], item.get("direction", "asc")
    fld = table.get(name)
    if fld is None or not fld.is_sortable:
        raise ApiError("invalid_filter_field", f"{name} is not sortable", name)
    if direction not in ("asc", "desc"):
        raise invalid("sort", f"sort direction must be 'asc' or 'desc', got {direction!r}")
    return name, direction


def sort_key(record: dict, spec: list[tuple[str, str]]) -> list:
    """The record's values for each sort field."""
    return [record.get(name) for name, _ in spec]


def compare(a: dict, b: dict, spec: list[tuple[str, str]]) -> int:
    """Three-way comparison of two records under the sort spec."""
    return compare_keys(sort_key(a, spec), sort_key(b, spec), spec)


def compare_keys(left: list, right: list, spec: list[tuple[str, str]]) -> int:
    """Three-way comparison of sort keys; nulls sort last in either direction."""
    for x, y, (_, direction) in zip(left, right, spec, strict=False):  # a cursor's key may be short
        if x == y:
            continue
        if x is None or y is None:
            return 1 if x is None else -1
        result = (x > y) - (x < y)
        return -result if direction == "desc" else result
    return 0
