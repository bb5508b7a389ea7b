"""JMESPath expressions and `{expr}` templates, compiled once at load."""
from __future__ import annotations

import re

import jmespath
from jmespath.exceptions import JMESPathError


class ExpressionError(ValueError):
    """An expression does not parse; the message quotes it and the parser's complaint."""


def compile_expression(text: str):
    """Compile a JMESPath expression, or raise ExpressionError naming it."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"expression must be a non-empty string, got {text!r}")
    try:
        return jmespath.compile(text)
    except JMESPathError as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ExpressionError(f"bad expression {text!r}: {first_line}") from None


def truthy(value) -> bool:
    """JMESPath truthiness: false, null, "", [] and {} are false; 0 is true."""
    if value is None or value is False:
        return False
    return not (isinstance(value, (str, list, dict)) and not value)


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


class Template:
    """`"Subscription {data.object.id} is {data.object.status}"`; `{{`/`}}` are literal braces."""

    def __init__(self, text: str):
        self.parts: list = []
        last = 0
        for match in _PLACEHOLDER.finditer(text):
            self.parts.append(text[last:match.start()])
            token = match.group(0)
            if token in ("{{", "}}"):
                self.parts.append(token[0])
            else:
                self.parts.append(compile_expression(match.group(1).strip()))
            last = match.end()
        self.parts.append(text[last:])

    def render(self, data) -> str | None:
        """The filled-in text, or None when any placeholder has no value."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = part.search(data)
            if value is None:
                return None
            out.append(_as_text(value))
        return "".join(out)


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
