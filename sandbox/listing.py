"""What the sandbox holds, in words: its opportunities (id, name, stage, the ids a bridge matches on)
and its stages' api_names. Printed by `python -m bridge sandbox --list` and by the sandbox-mode banner."""

from __future__ import annotations

from pathlib import Path

from .store import load_seed

# Custom fields the shipped mappings match on: worth showing beside each opportunity.
MATCH_FIELDS = ("stripe_customer_id", "hubspot_deal_id", "pipedrive_deal_id")


def describe(seed_path: str | Path | None = None) -> str:
    """The seed's opportunities and stages as aligned text (the bundled seed when `seed_path` is None)."""
    seed = load_seed(seed_path)
    rows = [_row(opportunity) for opportunity in seed.get("opportunities", [])]
    name_width = max((len(name) for _, name, _, _ in rows), default=0)
    stage_width = max((len(stage) for _, _, stage, _ in rows), default=0)
    lines = ["Sandbox opportunities (id, name, stage, ids a mapping can match on):"]
    lines += [f"  {opp_id}  {name:<{name_width}}  {stage:<{stage_width}}  {keys}".rstrip()
              for opp_id, name, stage, keys in rows]
    stages = seed.get("stages", [])
    lines.append("Stages (api_name = display value), in pipeline order:")
    lines += [f"  {stage['api_name']} = {stage['display_value']}" for stage in stages]
    return "\n".join(lines)


def _row(opportunity: dict) -> tuple[str, str, str, str]:
    attributes = opportunity.get("attributes", {})
    keys = ", ".join(f"{name} {attributes[name]}" for name in MATCH_FIELDS if attributes.get(name))
    return (opportunity["id"], str(attributes.get("display_name", "")), str(attributes.get("stage", "")), keys)
