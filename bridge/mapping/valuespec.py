"""One `set:` entry of a route: how a PATCH field's value is computed from an event.

Forms (see docs/mapping.md and docs/example-mapping.yaml):
  field: data.object.status                 # shorthand for {from: …}
  field: {from: EXPR, transform: [..], lookup: {..}, default: skip|null|VALUE, required: true}
  field: {value: CONSTANT}
  field: {template: "text {expr} text"}
  field: {match: {email: EXPR}}              # reference by a unique field → related_record_match
Order of work: read (from/value/template/match) → transforms → lookup → default.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jmespath.exceptions import JMESPathError

from bridge.mapping import transforms
from bridge.mapping.expressions import Template, compile_expression, failure_reason
from bridge.reasons import MappingFailure

SKIP = object()  # the field is left out of the PATCH
_SOURCES = ("from", "value", "template", "match")
# Every key a value spec may have; docs/example-mapping.yaml must show each (a test checks).
SPEC_KEYS = frozenset(_SOURCES + ("transform", "lookup", "default", "required"))


class SpecError(ValueError):
    """The spec itself is wrong (found at load)."""


class FieldError(ValueError):
    """This event cannot produce this field; `reason` is a short code."""

    def __init__(self, reason: MappingFailure, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class ValueSpec:
    """A compiled `set:` entry; `render(event)` returns the value or SKIP."""

    read: Any  # callable(event) -> value or None
    steps: list = field(default_factory=list)  # [(name, args)]
    lookup: dict | None = None
    has_default: bool = False
    default: Any = None
    required: bool = False
    constant: Any = SKIP  # for `value:` specs, checked against the field type at load

    def render(self, event):
        """The field's value for this event, SKIP to leave it out, or raise FieldError."""
        try:
            value = self.read(event)
        except JMESPathError as exc:  # e.g. a function given the wrong type by this event
            raise FieldError(failure_reason(exc), str(exc).strip().splitlines()[0]) from None
        if value is not None:
            value = self._transform(value)
        if value is not None and self.lookup is not None:
            value = self._look_up(value, self.lookup)
        if value is None or value is SKIP:
            return self._missing()
        return value

    def _transform(self, value):
        for name, args in self.steps:
            if value is None:
                break
            try:
                value = transforms.apply(name, args, value)
            except transforms.TransformError as exc:
                raise FieldError(MappingFailure.TRANSFORM_FAILED, f"{name}: {exc}") from None
        return value

    def _look_up(self, value, lookup: dict):
        key = _lookup_key(value)
        if key is not None and key in lookup:
            return lookup[key]
        if self.has_default:
            return SKIP
        raise FieldError(MappingFailure.NO_LOOKUP_MATCH,
                         f"value {str(value)[:60]!r} is not in the lookup and there is no default")

    def _missing(self):
        if self.has_default:
            return self.default
        if self.required:
            raise FieldError(MappingFailure.REQUIRED_FIELD_MISSING, "required value is missing from the event")
        return SKIP


def _lookup_key(value) -> str | None:
    """Lookup tables are keyed by text: 2 and "2" and true and "true" find the same row."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return transforms.to_string(value)
    return None


def _reader_for(raw: dict):
    if "from" in raw:
        expr = compile_expression(raw["from"])
        return expr.search
    if "value" in raw:
        constant = raw["value"]
        return lambda event: constant
    if "template" in raw:
        if not isinstance(raw["template"], str):
            raise SpecError("template must be a string")
        return Template(raw["template"]).render
    return _match_reader(raw["match"])


def _match_reader(match):
    if not isinstance(match, dict) or len(match) != 1:
        raise SpecError("match needs exactly one unique field, e.g. {match: {email: EXPR}}")
    (key, text), = match.items()
    expr = compile_expression(text)

    def read(event):
        value = expr.search(event)
        return None if value is None else {"related_record_match": {key: value}}
    return read


def _steps(raw) -> list:
    if raw is None:
        return []
    names = raw if isinstance(raw, list) else [raw]
    try:
        return [transforms.parse_transform(n) for n in names]
    except transforms.TransformError as exc:
        raise SpecError(str(exc)) from None


def _default(raw: dict):
    if "default" not in raw:
        return False, None
    value = raw["default"]
    return True, (SKIP if value == "skip" else value)


def compile_spec(raw) -> ValueSpec:
    """Compile one `set:` entry; raises SpecError or ExpressionError with a clear message."""
    if isinstance(raw, str):
        raw = {"from": raw}
    if not isinstance(raw, dict):
        raise SpecError("must be an expression string or a mapping like {from: …}")
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise SpecError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(SPEC_KEYS))}")
    sources = [k for k in _SOURCES if k in raw]
    if len(sources) != 1:
        raise SpecError("needs exactly one of from, value, template, match")
    lookup = raw.get("lookup")
    if lookup is not None and not isinstance(lookup, dict):
        raise SpecError("lookup must be a mapping of input value → output value")
    has_default, default = _default(raw)
    return ValueSpec(
        read=_reader_for(raw), steps=_steps(raw.get("transform")),
        lookup={_lookup_key(k): v for k, v in lookup.items()} if lookup else lookup,
        has_default=has_default, default=default, required=bool(raw.get("required")),
        constant=raw.get("value", SKIP),
    )
