"""A small unsigned mapping whose lookup can be broken and fixed, and the events it reads (rebuild tests)."""
import json
from pathlib import Path

from helpers import OPP

EVENT_AT = 1_714_557_600  # 2024-05-01T10:00:00Z


def acme_mapping(lookup: dict | None = None, created_route: bool = False, extra: str = "") -> str:
    """`acme.yaml`: deal.updated sets stage through a lookup (by default it lacks `lost`)."""
    lookup = lookup or {"won": "closed_won"}
    text = f"""verify: {{scheme: none}}
event: {{id: id, type: type, occurred_at: at}}
routes:
  - name: deal-status
    when: "type == 'deal.updated'"
    opportunity: {{id: opportunity}}
    set:
      stage: {{from: status, lookup: {json.dumps(lookup)}}}
      next_step_details: {{template: "Deal {{deal}} is {{status}}"}}
"""
    if created_route:
        text += """  - name: deal-created
    when: "type == 'deal.created'"
    opportunity: {id: opportunity}
    set:
      next_step_details: {template: "Deal {deal} was created"}
"""
    return text + extra


def write_acme(folder: Path, **options) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "acme.yaml"
    path.write_text(acme_mapping(**options))
    return path


def deal_event(event_id: str = "deal-evt-1", type: str = "deal.updated", status: str = "lost",
               opportunity: str = OPP) -> dict:
    return {"id": event_id, "type": type, "at": EVENT_AT, "opportunity": opportunity, "status": status,
            "deal": "D-1"}
