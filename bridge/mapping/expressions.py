"""JMESPath expressions and `{expr}` templates, compiled once at load.

The data is the sender's, so general expressions run on a budget: each step of
jmespath's interpreter costs one unit; one evaluation may take MAX_STEPS, and one
webhook's expressions together WEBHOOK_STEPS (see `expression_budget`). A fan-out
projection over a crafted body then fails with ExpressionTooCostly (a dead delivery,
`expression_too_costly`) instead of holding a worker for seconds and hundreds of MB,
and the webhook's cheap expressions still run.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.visitor import TreeInterpreter

from bridge.reasons import MappingFailure


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


# Real mappings take a few to a few thousand steps per expression; ~300,000 steps are a second
# of one loaded core.
MAX_STEPS = 50_000  # one evaluation
WEBHOOK_STEPS = 500_000  # all of one webhook's evaluations


class ExpressionFailed(JMESPathError):
    """The interpreter could not evaluate an expression on this data (e.g. ceil of an overflow)."""

    reason = MappingFailure.EXPRESSION_FAILED


class ExpressionTooCostly(JMESPathError):
    """One evaluation exceeded MAX_STEPS, or one webhook's evaluations WEBHOOK_STEPS."""

    reason = MappingFailure.EXPRESSION_TOO_COSTLY


def failure_reason(exc: JMESPathError) -> MappingFailure:
    """The dead-delivery reason for an expression that raised `exc`."""
    return getattr(exc, "reason", MappingFailure.EXPRESSION_FAILED)


class _BudgetedInterpreter(TreeInterpreter):
    """jmespath's interpreter, charging one step per node it visits (one per thread)."""

    def __init__(self):
        super().__init__()
        self.left = 0  # steps this evaluation may still take
        self.webhook_left: int | None = None  # inside expression_budget(): what the webhook has left

    def visit(self, node, *args, **kwargs):
        self.left -= 1
        if self.left < 0:
            raise ExpressionTooCostly("the expression took more steps than its budget on this event "
                                      f"({MAX_STEPS} per expression, {WEBHOOK_STEPS} per webhook)")
        return super().visit(node, *args, **kwargs)

    def evaluate(self, parsed: dict, data):
        """Visit `parsed` within this evaluation's budget, charging the webhook for what it took."""
        allowed = MAX_STEPS if self.webhook_left is None else min(MAX_STEPS, self.webhook_left)
        self.left = allowed
        try:
            return self.visit(parsed, data)
        finally:
            if self.webhook_left is not None:
                self.webhook_left -= allowed - max(self.left, 0)


_local = threading.local()


def _interpreter() -> _BudgetedInterpreter:
    interpreter = getattr(_local, "interpreter", None)
    if interpreter is None:
        interpreter = _local.interpreter = _BudgetedInterpreter()
    return interpreter


@contextmanager
def expression_budget(steps: int = WEBHOOK_STEPS):
    """The general expressions evaluated inside (in this thread) share `steps`, MAX_STEPS at most each."""
    interpreter = _interpreter()
    interpreter.webhook_left = steps
    try:
        yield
    finally:
        interpreter.webhook_left = None


class Compiled:
    """A general JMESPath expression, run on this thread's budgeted interpreter."""

    def __init__(self, expression: str, parsed: Any):  # jmespath's AST
        self.expression = expression
        self.parsed = parsed

    def search(self, data):
        try:
            return _interpreter().evaluate(self.parsed, data)
        except JMESPathError:
            raise
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            raise ExpressionFailed(f"{self.expression!r} cannot be evaluated on this event: "
                                   f"{type(exc).__name__}") from None


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
