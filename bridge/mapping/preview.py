"""What a payload would become under a mapping — `python -m bridge preview` and the console's playground.

Pure: nothing is verified, stored or sent.
"""
from __future__ import annotations

from bridge.mapping.model import Event, Mapping


def unread_warnings(mapping: Mapping, event: Event) -> list[str]:
    """One line per id/type the mapping reads (a header, a path, a join) that this event lacks."""
    lines = []
    for field_name, how in event.unread:
        consequence = ("the event would be stored under its content hash (resends dedupe only if byte-identical "
                       "after volatile fields)" if field_name == "id"
                       else "its type would be null, so no route with on: matches")
        hint = " (give the request headers with --headers)" if how.startswith("header ") else ""
        lines.append(f"{mapping.path}: warning: event.{field_name} reads {how}, which this sample lacks{hint}: "
                     f"{consequence}")
    return lines


def preview_events(mapping: Mapping, body, headers: dict) -> list[dict]:
    """One item per event in `body`: its id, type and time, and each matched route's delivery or failure."""
    out = []
    for event in mapping.read_events(body, headers):
        rendered = mapping.render(event)
        item: dict[str, object] = {"event": event.id, "id_source": event.id_source, "type": event.type,
                                   "occurred_at": event.occurred_at}
        warnings = unread_warnings(mapping, event)
        if warnings:
            item["warnings"] = warnings
        if not rendered:
            item["result"] = "ignored: no route matched"
        item["deliveries"] = [vars(r) for r in rendered]
        out.append(item)
    return out
