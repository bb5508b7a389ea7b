"""The fast path walker agrees with jmespath itself on every kind of plain path."""
import jmespath
import pytest

from bridge.mapping.expressions import Compiled, FieldPath, Template, compile_expression, truthy

DATA = {"a": {"b": [{"c": 1}, {"c": False}, None], "zero": 0, "s": "text"}, "x-y": {"z": "q"}, "l": [1, 2]}
EXPRESSIONS = ["a", "a.b", "a.b[0].c", "a.b[1].c", "a.b[-1]", "a.b[5]", "a.b[2].c", "a.zero", "a.s.c",
               "a.s[0]", "l[0]", "l.c", '"x-y".z', "missing.path", "a.b[0]"]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_plain_paths_match_jmespath(expression):
    compiled = compile_expression(expression)
    assert isinstance(compiled, FieldPath)
    assert compiled.search(DATA) == jmespath.search(expression, DATA)


@pytest.mark.parametrize("expression", ["a.b[*].c", "length(a.b)", "a.b[?c == `1`]", "a.zero || 'x'",
                                        "type(a.s)", "l[0:1]"])
def test_other_expressions_use_the_interpreter(expression):
    compiled = compile_expression(expression)
    assert isinstance(compiled, Compiled)
    assert compiled.search(DATA) == jmespath.search(expression, DATA)


@pytest.mark.parametrize("value,expected", [(None, False), (False, False), ("", False), ([], False),
                                            ({}, False), (0, True), ("x", True), ([0], True), (True, True)])
def test_truthiness_is_jmespaths(value, expected):
    assert truthy(value) is expected


def test_template_renders_values_as_text():
    assert Template("{a.zero} {a.b[1].c} {a.s}").render(DATA) == "0 false text"
