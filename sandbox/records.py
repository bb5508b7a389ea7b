"""Opportunity record operations on the internal representation: blank records,
applying validated changes, derived fields (status, outcome, closing, forecast),
and uniqueness of unique custom fields.

Internal values: strings for text/enum/uuid/ids, canonical ``...Z`` strings for
timestamps, ``Decimal`` for number/currency, lists for array fields.
"""

from __future__ import annotations

from decimal import Decimal

from .catalog import Catalog
from .errors import invalid
from .fields import Field

_CENT = Decimal("0.01")


def blank_record(table: dict[str, Field], record_id: str, organization_id: str) -> dict:
    """A record with every attribute empty ([] for arrays)."""
    record: dict = {name: ([] if fld.is_array else None) for name, fld in table.items()}
    record.update(id=record_id, organization_id=organization_id)
    return record


def seed_record(record_id: str, values: dict, table: dict[str, Field], catalog: Catalog) -> dict:
    """Build a seeded record from validated seed values, deriving status/outcome/forecast."""
    record = blank_record(table, record_id, catalog.organization_id)
    record.update(values)
    record["updated_at"] = record["updated_at"] or record["created_at"]
    record["created_source"] = record["created_source"] or "manual"
    outcome = _stage(catalog, record["stage"]).get("outcome")
    record["outcome"] = outcome
    record["status"] = "closed" if outcome else "open"
    if outcome and not record["closed_at"]:
        record["closed_at"] = record["updated_at"]
    record["forecast_weighted_amount"] = forecast(record, catalog)
    return record


def new_record(record_id: str, changes: dict, table: dict[str, Field], catalog: Catalog,
               now: str, actor: str) -> dict:
    """A record created through the API from validated create attributes."""
    record = blank_record(table, record_id, catalog.organization_id)
    record.update(created_at=now, updated_at=now, created_source="api", created_by_user_id=actor)
    apply_changes(record, changes, catalog, now, actor)
    return record


def apply_changes(record: dict, changes: dict, catalog: Catalog, now: str, actor: str) -> None:
    """Apply validated changes in place and update every derived field."""
    old_stage = record.get("stage")
    record.update(changes)
    if record["stage"] != old_stage:
        _shift_stage(record, catalog, now, actor)
    record["forecast_weighted_amount"] = forecast(record, catalog)
    record["updated_at"] = max(now, record["updated_at"] or now)
    record["updated_by_user_id"] = actor


def _shift_stage(record: dict, catalog: Catalog, now: str, actor: str) -> None:
    record["stage_last_shifted_at"] = now
    outcome = _stage(catalog, record["stage"]).get("outcome")
    if not outcome:
        record.update(status="open", outcome=None, closed_at=None, closed_by_user_id=None)
    elif record.get("outcome") != outcome:
        record.update(status="closed", outcome=outcome, closed_at=now, closed_by_user_id=actor)


def forecast(record: dict, catalog: Catalog) -> Decimal | None:
    """amount x the stage's closing probability, to the cent; None without an amount."""
    amount = record.get("amount")
    if amount is None or not record.get("stage"):
        return None
    probability = Decimal(_stage(catalog, record["stage"])["closing_probability"])
    return (amount * probability).quantize(_CENT)


def archive(record: dict, now: str, actor: str) -> None:
    """Archive a record (the DELETE semantics)."""
    record["archived_at"] = now
    record["updated_at"] = max(now, record["updated_at"])
    record["updated_by_user_id"] = actor


def is_live(record: dict) -> bool:
    """Whether the record is visible to the API (not archived)."""
    return record.get("archived_at") is None


def check_unique(records: list[dict], table: dict[str, Field], record_id: str | None, changes: dict) -> None:
    """Refuse a value of a unique field that another live record already holds."""
    for name, value in changes.items():
        if value is None or not table[name].is_unique:
            continue
        clash = next((r for r in records if r["id"] != record_id and is_live(r) and r.get(name) == value), None)
        if clash is not None:
            raise invalid(name, f"{name} must be unique: {value!r} is already used by opportunity {clash['id']}")


def _stage(catalog: Catalog, stage_id: str) -> dict:
    """A stage the record's (validated) stage id names; KeyError if the catalog has none."""
    stage = catalog.stage(stage_id)
    if stage is None:
        raise KeyError(stage_id)
    return stage
