"""Every transform example (docs/mapping.md quotes the same table) runs here."""
import pytest

from bridge.mapping import transforms


@pytest.mark.parametrize("spec,value,expected", transforms.EXAMPLES)
def test_transform_examples(spec, value, expected):
    name, args = transforms.parse_transform(spec)
    assert transforms.apply(name, args, value) == expected


@pytest.mark.parametrize("spec,value", [
    ("cents_to_decimal", "ten"), ("cents_to_decimal", True), ("iso8601", "next tuesday"),
    ("lower", 5), ("to_string", {"a": 1}), ("unix_to_iso8601", [1]),
])
def test_transform_failures_are_clear_errors(spec, value):
    with pytest.raises(transforms.TransformError):
        transforms.apply(*transforms.parse_transform(spec), value)


@pytest.mark.parametrize("spec", ["nope", "truncate(x)", "lower(", "123"])
def test_unknown_or_malformed_transform_names(spec):
    with pytest.raises(transforms.TransformError):
        transforms.parse_transform(spec)


def documented_examples() -> list[tuple[str, object, object]]:
    """Every `SPEC`: `INPUT` → `OUTPUT` example in the Transforms section of docs/mapping.md."""
    import json
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "docs" / "mapping.md").read_text()
    section = text.split("\n## Transforms\n", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"`([^`]+)`: `([^`]+)` → `([^`]+)`", section)
    return [(spec, json.loads(given), json.loads(expected)) for spec, given, expected in found], section


def test_the_documented_examples_run_and_cover_every_transform():
    examples, section = documented_examples()
    assert len(examples) >= len(transforms.TRANSFORMS)
    for spec, given, expected in examples:
        name, args = transforms.parse_transform(spec)
        assert transforms.apply(name, args, given) == expected, spec
    for name in transforms.TRANSFORMS:
        assert f"`{name}" in section, f"transform {name} is not documented in docs/mapping.md"
