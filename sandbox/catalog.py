"""Reference data from the seed: stages, select options and related records
(users, teams, contacts, accounts), with the lookups PATCH needs.
"""

from __future__ import annotations

import re

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class LookupFailed(ValueError):
    """A stage/option value did not resolve to exactly one entry."""


def normalize_uuid(value: object) -> str | None:
    """Lower-cased canonical UUID string, or None if ``value`` is not one."""
    if isinstance(value, str) and UUID_RE.match(value):
        return value.lower()
    return None


def _fold(value: object) -> str:
    return str(value).strip().casefold()


def resolve_choice(entries: list[dict], value: str, kind: str) -> dict:
    """Resolve id (exact), then api_name (exact), then display value
    (case-insensitive, trimmed) to exactly one entry; raise LookupFailed otherwise."""
    for key, wanted in (("id", normalize_uuid(value) or value), ("api_name", value)):
        hits = [e for e in entries if e[key] == wanted]
        if hits:
            return hits[0]
    hits = [e for e in entries if _fold(e["display_value"]) == _fold(value)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        names = ", ".join(e["api_name"] for e in hits)
        raise LookupFailed(f"{kind} {value!r} is ambiguous: display value shared by {names}; use the id or api_name")
    raise LookupFailed(f"{kind} {value!r} matches no {kind} id, api_name or display value")


class Catalog:
    """Stages, select options and related records loaded from the seed."""

    def __init__(self, seed: dict):
        self.organization_id = seed["organization_id"]
        self.api_user_id = seed["api_user_id"]
        self.stages = list(seed["stages"])
        self.options = {name: list(opts) for name, opts in seed.get("select_options", {}).items()}
        self.related = {name: dict(spec) for name, spec in seed["related_types"].items()}

    # --- stages and select options -------------------------------------------

    def resolve_stage(self, value: str) -> dict:
        """The stage a write value designates (id, api_name or display value)."""
        return resolve_choice(self.stages, value, "stage")

    def stage(self, stage_id: str) -> dict | None:
        """The stage with this id."""
        return next((s for s in self.stages if s["id"] == stage_id), None)

    def stage_ids_for_filter(self, value: str) -> str | None:
        """Stage id for a filter value (id or api_name only), else None."""
        hit = next((s for s in self.stages if value in (s["id"], s["api_name"])), None)
        return hit["id"] if hit else None

    def resolve_option(self, field_name: str, value: str) -> dict:
        """The select option of ``field_name`` designated by id, api_name or display value."""
        return resolve_choice(self.options.get(field_name, []), value, "option")

    def option(self, field_name: str, option_id: str) -> dict | None:
        """The select option with this id."""
        return next((o for o in self.options.get(field_name, []) if o["id"] == option_id), None)

    def option_id_for_filter(self, field_name: str, value: str) -> str | None:
        """Option id for a filter value (id or api_name only), else None."""
        opts = self.options.get(field_name, [])
        hit = next((o for o in opts if value in (o["id"], o["api_name"])), None)
        return hit["id"] if hit else None

    # --- related records ---------------------------------------------------------

    def unique_fields(self, record_type: str) -> list[str]:
        """The fields of a related type usable in related_record_match."""
        return list(self.related[record_type]["unique_fields"])

    def related_exists(self, record_type: str, record_id: str) -> bool:
        """Whether a related record with this id exists."""
        return any(r["id"] == record_id for r in self.related[record_type]["records"])

    def match_related(self, record_type: str, key: str, value: str) -> list[dict]:
        """Related records whose ``key`` equals ``value`` (case-insensitive, trimmed)."""
        wanted = _fold(value)
        return [r for r in self.related[record_type]["records"]
                if key in r and r[key] is not None and _fold(r[key]) == wanted]
