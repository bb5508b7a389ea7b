"""Warnings about sample payloads: an id or type the mapping reads that a sample lacks.

`preview` shows them for its one payload; `check --samples DIR` for every sample folder
(`DIR/<source>/<case>/payload.json` with an optional `headers.json`, the fixtures' layout).
"""
from __future__ import annotations

import json
from pathlib import Path

from bridge.mapping.preview import unread_warnings


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
