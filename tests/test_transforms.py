"""Every transform example (the README quotes the same table) runs here."""
import pytest

from bridge import transforms


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
