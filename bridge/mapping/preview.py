"""What a payload would become under a mapping — `python -m bridge preview` and the console's playground.

Pure: nothing is verified, stored or sent.
"""
from __future__ import annotations

from bridge.mapping.model import Mapping


def preview_events(mapping: Mapping, body, headers: dict) -> list[dict]:
    """One item per event in `body`: its id, type and time, and each matched route's delivery or failure."""
    out = []
    for event in mapping.read_events(body, headers):
        rendered = mapping.render(event)
        item: dict[str, object] = {"event": event.id, "type": event.type, "occurred_at": event.occurred_at}
        if not rendered:
            item["result"] = "ignored: no route matched"
        item["deliveries"] = [vars(r) for r in rendered]
        out.append(item)
    return out
