"""What a mapping reads to identify an event and to choose its routes.

Event readers fill `event.id`, `event.type` and `event.occurred_at`: a JMESPath expression,
`{header: X-Name}` (or a list, the first present), or `{join: [path, …], separator: "-"}` for
composite ids. Route conditions are `on:` (event types), `where:` (path → literal) and `when:`
(an expression); a route matches when all it has hold.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jmespath.exceptions import JMESPathError

from bridge.mapping.expressions import failure_reason, truthy

CONTENT_HASH_PREFIX = "sha256:"  # an event id made from the content (bridge.store.id_source reads it back)
DEFAULT_JOIN_SEPARATOR = ":"


@dataclass(frozen=True)
class EventReader:
    """One of event.id/type/occurred_at: from headers, from an expression, or a join of expressions."""

    describe: str  # how it reads, for warnings: "header X-GitHub-Delivery", "expression id", …
    headers: tuple[str, ...] = ()
    expression: Any = None
    parts: tuple = ()
    separator: str = DEFAULT_JOIN_SEPARATOR

    def __call__(self, data, headers):
        """The value read, or None when the event (or request) does not have it."""
        if self.headers:
            return first_header(headers, self.headers)
        if self.parts:
            return self._join(data)
        try:
            return self.expression.search(data)
        except JMESPathError:
            return None  # an unreadable id falls back to the content hash; type/time to unknown

    def _join(self, data):
        """Every part as text (numbers as JSON, like JMESPath's to_string); any part missing → None."""
        texts = []
        for part in self.parts:
            try:
                value = part.search(data)
            except JMESPathError:
                return None
            if value is None:
                return None
            texts.append(value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
        return self.separator.join(texts)


def first_header(headers, names) -> str | None:
    """The first of `names` present in the request headers (case-insensitive), or None."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    return next((lowered[n.lower()] for n in names if lowered.get(n.lower())), None)


@dataclass(frozen=True)
class Condition:
    """A route's `on:`, `where:` and `when:` together."""

    on: frozenset | None = None  # event types; None: any
    where: tuple = ()  # ((path text, compiled path, literal), …)
    when: Any = None

    def describe(self) -> str | None:
        """The condition as text, for operators: `on: a, b; where: x == 'y'; when: EXPR`; None when there is none."""
        parts = []
        if self.on is not None:
            parts.append("on: " + ", ".join(sorted(self.on)))
        if self.where:
            parts.append("where: " + ", ".join(f"{text} == {json.dumps(literal)}" for text, _, literal in self.where))
        if self.when is not None:
            parts.append("when: " + (getattr(self.when, "expression", None) or str(self.when)))
        return "; ".join(parts) or None

    def holds(self, event) -> bool:
        """True when the event passes all three; raises ConditionError when an expression fails."""
        if self.on is not None and event.type not in self.on:
            return False
        for text, path, literal in self.where:
            try:
                value = path.search(event.data)
            except JMESPathError as exc:
                raise ConditionError(f"where.{text}", exc) from None
            if not same_value(value, literal):
                return False
        try:
            return self.when is None or truthy(self.when.search(event.data))
        except JMESPathError as exc:
            raise ConditionError("when", exc) from None


class ConditionError(Exception):
    """An expression of a route's condition failed on this event; `where` names which."""

    def __init__(self, where: str, cause: JMESPathError):
        super().__init__(str(cause).strip().splitlines()[0])
        self.where, self.reason = where, failure_reason(cause)


def same_value(value, literal) -> bool:
    """Literal equality as JMESPath's `==`: no coercion between text, numbers and booleans."""
    if isinstance(value, bool) or isinstance(literal, bool):
        return type(value) is type(literal) and value == literal
    if isinstance(literal, (int, float)):
        return isinstance(value, (int, float)) and value == literal
    return type(value) is type(literal) and value == literal
