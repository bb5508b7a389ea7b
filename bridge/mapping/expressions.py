"""JMESPath expressions and `{expr}` templates, compiled once at load."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.visitor import TreeInterpreter


class ExpressionError(ValueError):
    """An expression does not parse; the message quotes it and the parser's complaint."""


def compile_expression(text: str):
    """Compile a JMESPath expression, or raise ExpressionError naming it.

    The result has `.search(data)`. Plain paths (`a.b[0].c`), most of what mapping
    files use, get a direct walker with JMESPath's semantics; anything else runs on
    jmespath's interpreter, created once rather than per call.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"expression must be a non-empty string, got {text!r}")
    try:
        parsed = jmespath.compile(text)
    except JMESPathError as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ExpressionError(f"bad expression {text!r}: {first_line}") from None
    steps = _path_steps(parsed.parsed)
    return FieldPath(text, steps) if steps is not None else Compiled(text, parsed.parsed)


class Compiled:
    """A general JMESPath expression with a reused interpreter."""

    _interpreter = TreeInterpreter()

    def __init__(self, expression: str, parsed: Any):  # jmespath's AST
        self.expression = expression
        self.parsed = parsed

    def search(self, data):
        return self._interpreter.visit(self.parsed, data)


class FieldPath:
    """`a.b[0].c`: keys and list indexes, walked directly (null on any miss, as in JMESPath)."""

    def __init__(self, expression: str, steps: list):
        self.expression = expression
        self.steps = steps

    def search(self, data):
        for step in self.steps:
            if isinstance(step, str):
                if not isinstance(data, dict):
                    return None
                data = data.get(step)
            else:
                if not isinstance(data, list):
                    return None
                try:
                    data = data[step]
                except IndexError:
                    return None
            if data is None:
                return None
        return data


def _path_steps(node: Mapping[str, Any]) -> list | None:
    """The key/index steps of a plain path AST, or None when it is anything more."""
    kind = node["type"]
    if kind == "field":
        return [node["value"]]
    if kind == "subexpression":
        steps = []
        for child in node["children"]:
            part = _path_steps(child)
            if part is None:
                return None
            steps += part
        return steps
    if kind == "index_expression":
        left, index = node["children"]
        base = _path_steps(left)
        if base is None or index["type"] != "index":
            return None
        return base + [index["value"]]
    return None


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
