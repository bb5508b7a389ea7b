"""Warnings about sample payloads: an id or type the mapping reads that a sample lacks.

`preview` shows them for its one payload; `check --samples DIR` for every sample folder
(`DIR/<source>/<case>/payload.json` with an optional `headers.json`, the fixtures' layout).
"""
from __future__ import annotations

import json
from pathlib import Path


def unread_warnings(mapping, event) -> list[str]:
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


def sample_warnings(mappings: dict, folder: str) -> list[str]:
    """Warnings for every sample under `folder`; a sample of a source with no mapping is a warning too."""
    lines = []
    for case in sorted(p for p in Path(folder).glob("*/*") if (p / "payload.json").is_file()):
        mapping = mappings.get(case.parent.name)
        if mapping is None:
            lines.append(f"{case}: warning: no mapping {case.parent.name}.yaml for this sample")
            continue
        try:
            body = json.loads((case / "payload.json").read_text(encoding="utf-8"))
            headers_file = case / "headers.json"
            headers = json.loads(headers_file.read_text(encoding="utf-8")) if headers_file.is_file() else {}
        except (OSError, ValueError) as exc:
            lines.append(f"{case}: warning: sample cannot be read: {exc}")
            continue
        for event in mapping.read_events(body, headers):
            lines += [f"{line} [{case}]" for line in unread_warnings(mapping, event)]
    return lines
