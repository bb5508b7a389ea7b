"""In-memory, thread-safe state of one sandbox: field table, catalog and records.

Callers hold ``store.lock`` around any read-validate-write sequence so that
a PATCH is atomic with respect to concurrent requests.
"""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

from .catalog import Catalog
from .errors import ApiError
from .fields import Field, build_table
from .records import is_live, seed_record
from .validate import validate_seed

DEFAULT_SEED_PATH = Path(__file__).with_name("seed.json")


def load_seed(seed_path: str | Path | None) -> dict:
    """Read the seed JSON file (the bundled one when ``seed_path`` is None)."""
    with open(seed_path or DEFAULT_SEED_PATH, encoding="utf-8") as handle:
        return json.load(handle)


class Store:
    """Records plus the reference data they point at, reloadable from the seed."""

    def __init__(self, seed_path: str | Path | None = None):
        self.lock = threading.RLock()
        self.seed_path = seed_path
        self.table: dict[str, Field] = {}
        self.catalog: Catalog  # set by reset()
        self.records: dict[str, dict] = {}
        self.reset()

    def reset(self) -> None:
        """Reload everything from the seed file."""
        seed = load_seed(self.seed_path)
        catalog = Catalog(seed)
        table = build_table(seed.get("custom_fields", []))
        records = {}
        for spec in seed.get("opportunities", []):
            records[spec["id"]] = _build_seed_record(spec, table, catalog)
        with self.lock:
            self.table, self.catalog, self.records = table, catalog, records

    def get(self, record_id: str) -> dict | None:
        """The live record with this id (the stored dict itself; hold the lock)."""
        record = self.records.get(record_id)
        return record if record is not None and is_live(record) else None

    def live_records(self) -> list[dict]:
        """Every live record (stored dicts; hold the lock)."""
        return [r for r in self.records.values() if is_live(r)]

    def insert(self, record: dict) -> None:
        """Add a new record."""
        self.records[record["id"]] = record

    def snapshot(self, record: dict) -> dict:
        """A deep copy, safe to render outside the lock."""
        return copy.deepcopy(record)


def _build_seed_record(spec: dict, table: dict[str, Field], catalog: Catalog) -> dict:
    try:
        values = validate_seed(spec["attributes"], table, catalog)
    except ApiError as exc:
        raise ValueError(f"seed opportunity {spec.get('id')}: {exc.code}: {exc.message}") from None
    return seed_record(spec["id"], values, table, catalog)
