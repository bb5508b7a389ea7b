"""docs/example-mapping.yaml: it loads clean, renders its sample body as documented, and uses
every option the loader knows — so a new option cannot land undocumented."""
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from marshmallow import fields

from bridge import signatures
from bridge.mapping import file_schema, valuespec
from bridge.mapping.loader import MappingYamlLoader, load_mapping

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLE = DOCS / "example-mapping.yaml"
PAYLOAD = DOCS / "example-payload.json"
HEADERS = DOCS / "example-headers.json"


def schema_options(schema, prefix: str = "") -> set[str]:
    """Every key path the marshmallow schema of mapping files knows: `routes.opportunity.match.field` …"""
    found = set()
    for name, field in schema.fields.items():
        path = f"{prefix}{field.data_key or name}"
        found.add(path)
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            found |= schema_options(inner.schema, path + ".")
    return found


def used_options(node, prefix: str = "") -> set[str]:
    """Every key path the example uses (list items share their list's path; `set` values excluded)."""
    found = set()
    if isinstance(node, list):
        for item in node:
            found |= used_options(item, prefix)
    elif isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}{key}"
            found.add(path)
            if path != "routes.set":
                found |= used_options(value, path + ".")
    return found


def raw_example() -> dict:
    return yaml.load(EXAMPLE.read_text(), Loader=MappingYamlLoader)  # as the bridge reads it: `on:` is a key


def value_specs(raw: dict) -> list:
    return [spec for route in raw["routes"] for spec in route["set"].values()]


def test_the_example_loads_clean():
    mapping, problems = load_mapping(EXAMPLE)
    assert problems == [] and mapping is not None


def test_the_example_uses_every_key_of_the_file_schema():
    missing = schema_options(file_schema.MappingFileSchema()) - used_options(raw_example())
    assert not missing, f"document these options in docs/example-mapping.yaml: {sorted(missing)}"


def test_the_example_uses_every_option_of_its_scheme():
    verify = raw_example()["verify"]
    missing = set(signatures.REGISTRY[verify["scheme"]].options) - set(verify)
    assert not missing, f"verify options not shown in the example: {sorted(missing)}"


def test_the_example_uses_every_value_spec_key_and_form():
    specs = value_specs(raw_example())
    keys = {key for spec in specs if isinstance(spec, dict) for key in spec}
    assert valuespec.SPEC_KEYS - keys == set(), f"value spec keys not shown: {sorted(valuespec.SPEC_KEYS - keys)}"
    assert any(isinstance(spec, str) for spec in specs), "the shorthand `field: EXPR` is not shown"
    defaults = [spec["default"] for spec in specs if isinstance(spec, dict) and "default" in spec]
    assert "skip" in defaults and None in defaults, "default: skip and default: null are not both shown"
    assert any(d not in ("skip", None) for d in defaults), "a default VALUE is not shown"
    transforms = [spec["transform"] for spec in specs if isinstance(spec, dict) and "transform" in spec]
    assert any(isinstance(t, str) for t in transforms), "a single transform by name is not shown"
    assert any(isinstance(t, list) and any("(" in step for step in t) for t in transforms), (
        "a transform chain with arguments is not shown")
    lookups = [spec["lookup"] for spec in specs if isinstance(spec, dict) and "lookup" in spec]
    assert any(not isinstance(key, str) for lookup in lookups for key in lookup), (
        "a lookup key that is not text (compared as text) is not shown")


def test_the_example_shows_every_form_of_event_fields_and_targets():
    raw = raw_example()
    forms = {type(spec).__name__ for spec in raw["event"].values()}
    assert {"str", "dict", "list"} <= forms, "event fields: an expression, {header: …} and volatile"
    header_specs = [spec["header"] for spec in raw["event"].values() if isinstance(spec, dict) and "header" in spec]
    assert any(isinstance(h, list) for h in header_specs), "{header: [A, B]} (the first present) is not shown"
    joins = [spec for spec in raw["event"].values() if isinstance(spec, dict) and "join" in spec]
    assert joins and "separator" in joins[0], "{join: [...], separator: …} (a composite id) is not shown"
    targets = {key for route in raw["routes"] for key in route["opportunity"]}
    assert targets == {"id", "match"}


def test_the_example_renders_its_sample_body_as_documented():
    mapping, _ = load_mapping(EXAMPLE)
    events = mapping.read_events(json.loads(PAYLOAD.read_text()), json.loads(HEADERS.read_text()))
    rendered = [(event.id, event.type, event.occurred_at, delivery.route, delivery.target, delivery.attributes)
                for event in events for delivery in mapping.render(event)]
    assert rendered == [
        ("acme-evt-1001-2024-05-01T10:00:00+02:00", "deal.updated", "2024-05-01T08:00:00.000000Z", "deal-changed",
         {"id": "3b1f6a52-6a8e-4a43-9a39-6c1f4f0b7e11"},
         {"display_name": "Acme Corp - Platform expansion", "stage": "closed_won", "amount": 125000, "seats": 40,
          "is_strategic": True, "next_step_details": "Acme: Kick-off call (by Ada Lovelace)",
          "owner_user_id": {"related_record_match": {"email": "ada@acme.test"}},
          "anticipated_closing_at": "2024-05-01T00:00:00Z"}),
        ("acme-evt-1002-1714557600123", "deal.updated", "2024-05-01T10:00:00.123000Z", "deal-changed",
         {"id": "b88dd4ab-aa87-5616-bf91-38e0676a6f79"},
         {"display_name": "Globex - Renewal", "stage": "closed_lost", "amount": 40000, "seats": 1,
          "is_strategic": True, "next_step_details": None,
          "closed_lost_custom_detail": "Budget cut / Chose a com",
          "owner_user_id": {"related_record_match": {"email": "grace@acme.test"}}}),
        ("acme-evt-1003-1714557600", "deal.updated", "2024-05-01T10:00:00.000000Z", "contract-signed",
         {"match": {"field": "acme_deal_id", "value": "4242"}},
         {"contract_signed_at": "2024-05-01T10:00:00Z", "stage": "closed_won"}),
    ]


def test_the_preview_command_in_the_example_header_works():
    """The header's `python -m bridge preview …` line, run as written (from the repository root)."""
    root = DOCS.parent
    comments = [line.lstrip("#").strip() for line in EXAMPLE.read_text().splitlines() if line.startswith("#")]
    start = next(i for i, line in enumerate(comments) if line.startswith("See them:"))
    command = (comments[start].removeprefix("See them:").rstrip("\\") + " " + comments[start + 1]).split()
    assert command[:4] == ["BRIDGE_MAPPINGS_DIR=docs", "python", "-m", "bridge"], command
    env = {**os.environ, "BRIDGE_MAPPINGS_DIR": "docs"}
    shown = subprocess.run([sys.executable, *command[2:]], cwd=root, env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert [event["event"] for event in json.loads(shown.stdout)] == [
        "acme-evt-1001-2024-05-01T10:00:00+02:00", "acme-evt-1002-1714557600123", "acme-evt-1003-1714557600"]
