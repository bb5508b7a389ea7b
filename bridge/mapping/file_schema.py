"""The mapping file's structure (marshmallow): keys, types and required parts, checked at load."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from bridge.mapping.reevo_fields import VALUE_TYPES


class EventValue(fields.Field):
    """`event.id/type/occurred_at`: an expression, `{header: NAME | [NAME, …]}` or `{join: [EXPR, …]}`."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict) and set(value) == {"header"}:
            names = value["header"] if isinstance(value["header"], list) else [value["header"]]
            if names and all(isinstance(n, str) and n.strip() for n in names):
                return value
            raise ValidationError("header: give a header name or a list of them")
        if isinstance(value, dict) and "join" in value:
            if set(value) - {"join", "separator"}:
                raise ValidationError(f"join: unknown key(s) {', '.join(sorted(set(value) - {'join', 'separator'}))}; "
                                      "only join and separator")
            parts = value["join"]
            texts = isinstance(parts, list) and all(isinstance(p, str) and p.strip() for p in parts)
            if not (texts and len(parts) >= 2):
                raise ValidationError("join: give a list of at least two paths, e.g. {join: [data.id, event]}")
            if not isinstance(value.get("separator", ":"), str):
                raise ValidationError("join: separator must be text, e.g. separator: \"-\"")
            return value
        raise ValidationError("must be an expression, {header: NAME} or {join: [path, path, …]}")


class EventTypes(fields.Field):
    """A route's `on:` — one event type or a list of them, compared with event.type."""

    def _deserialize(self, value, attr, data, **kwargs):
        types = value if isinstance(value, list) else [value]
        if types and all(isinstance(t, str) and t.strip() for t in types):
            return types
        raise ValidationError("must be an event type or a list of them, e.g. on: [invoice.paid, invoice.voided]")


def _is_literal(value) -> bool:
    if isinstance(value, (dict, list)):
        raise ValidationError("must be a literal (text, number, true/false or null); use when: for more")
    return True


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class VerifySchema(Schema):
    """`verify:` — scheme name, secret variable names, and scheme options (kept as given)."""

    class Meta:
        unknown = "include"  # scheme options (tolerance, header, …) are checked by the scheme

    scheme = fields.String(required=True)
    secrets = fields.List(fields.String(validate=validate.Regexp(r"^[A-Z_][A-Z0-9_]*$",
                          error="must be an environment variable name like STRIPE_WEBHOOK_SECRET")),
                          load_default=list)


class EventSchema(_Strict):
    """`event:` — where the id, type and occurred_at of each event are read."""

    id = EventValue(load_default=None)
    type = EventValue(load_default=None)
    occurred_at = EventValue(load_default=None)
    # Key paths a sender changes when it resends the same event (HubSpot's attemptNumber …):
    # left out of the content compared for conflicts, so a retry is a duplicate, not a conflict.
    volatile = fields.List(fields.String(validate=validate.Regexp(r"^[^.\s]+(\.[^.\s]+)*$",
                           error="must be a dotted key path like meta.attempt")), load_default=list)


class MatchSchema(_Strict):
    field = fields.String(required=True)
    equals = fields.String(required=True)


class TargetSchema(_Strict):
    id = fields.String()
    match = fields.Nested(MatchSchema)


class RouteSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1))
    on = EventTypes(load_default=None)
    where = fields.Dict(keys=fields.String(validate=validate.Length(min=1)),
                        values=fields.Raw(allow_none=True, validate=_is_literal), load_default=None)
    when = fields.String(load_default=None)
    opportunity = fields.Nested(TargetSchema, required=True)
    set = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                      validate=validate.Length(min=1, error="must set at least one field"))


class MappingFileSchema(_Strict):
    verify = fields.Nested(VerifySchema, required=True)
    event = fields.Nested(EventSchema, load_default=dict)
    events = fields.String(load_default=None)
    custom_fields = fields.Dict(keys=fields.String(),
                                values=fields.String(validate=validate.OneOf(sorted(VALUE_TYPES))),
                                load_default=dict)
    routes = fields.List(fields.Nested(RouteSchema), required=True,
                         validate=validate.Length(min=1, error="needs at least one route"))


def flatten_errors(messages, path: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested error dict → [(dotted.path, message)]."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            out += flatten_errors(value, f"{path}.{key}" if path else str(key))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(path, m) for m in messages]
    return [(path, str(messages))]


__all__ = ["MappingFileSchema", "ValidationError", "flatten_errors"]
