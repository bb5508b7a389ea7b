"""Mapping files: load and check them into compiled Mapping objects.

A mapping file is `<source>.yaml` in the mappings folder; the file name is the
`<source>` of `POST /webhooks/<source>`. Every problem found at load names the
file, the route and the field, so a bad mapping never surfaces first on a live event.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from bridge import signatures
from bridge.mapping import file_schema, reevo_fields
from bridge.mapping.expressions import ExpressionError, compile_expression
from bridge.mapping.model import Mapping, Route, Target
from bridge.mapping.selectors import DEFAULT_JOIN_SEPARATOR, Condition, EventReader
from bridge.mapping.valuespec import SKIP, SpecError, ValueSpec, compile_spec

class _Problems:
    """Collects problems with their location: `file: route 'x': field 'y': message`."""

    def __init__(self, path: str):
        self.path = path
        self.lines: list[str] = []

    def add(self, message: str, route: str | None = None, where: str | None = None):
        parts = [self.path]
        if route:
            parts.append(f"route '{route}'")
        if where:
            parts.append(where)
        self.lines.append(": ".join(parts + [message]))


def _compile(problems: _Problems, text, route=None, where=None):
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        problems.add(str(exc), route, where)
        return None


def _header_names(spec) -> list[str]:
    """The header names an `event:` entry reads (`{header: X}` or `{header: [X, Y]}`), else []."""
    if not (isinstance(spec, dict) and set(spec) == {"header"}):
        return []
    return [str(n) for n in (spec["header"] if isinstance(spec["header"], list) else [spec["header"]])]


def _event_reader(problems, spec, name) -> EventReader | None:
    """event.<name> as the schema let it through: {header: …}, {join: […]} or an expression."""
    if spec is None:
        return None
    names = _header_names(spec)
    if names:
        return EventReader(f"header {' or '.join(names)}", headers=tuple(names))
    if isinstance(spec, dict):
        parts = [_compile(problems, part, where=f"event.{name}.join[{i}]") for i, part in enumerate(spec["join"])]
        if None in parts:
            return None
        return EventReader(f"join of {', '.join(spec['join'])}", parts=tuple(parts),
                           separator=spec.get("separator", DEFAULT_JOIN_SEPARATOR))
    expr = _compile(problems, spec, where=f"event.{name}")
    return None if expr is None else EventReader(f"expression {spec}", expression=expr)


def _condition(problems, raw: dict, name: str, reads_type: bool) -> Condition:
    """A route's on/where/when; `on:` needs the mapping to read event.type."""
    if raw.get("on") is not None and not reads_type:
        problems.add("compares with event.type, but this mapping reads no event.type; "
                     "add event.type, or use where:", name, "on")
    where = []
    for path_text, literal in (raw.get("where") or {}).items():
        path = _compile(problems, path_text, name, f"where.{path_text}")
        if path is not None:
            where.append((path_text, path, literal))
    when = _compile(problems, raw["when"], name, "when") if raw.get("when") else None
    on = frozenset(raw["on"]) if raw.get("on") is not None else None
    return Condition(on, tuple(where), when)


def _compile_route(problems, raw: dict, custom: dict, reads_type: bool) -> Route | None:
    name = raw["name"]
    condition = _condition(problems, raw, name, reads_type)
    target_raw = raw["opportunity"]
    if ("id" in target_raw) == ("match" in target_raw):
        problems.add("needs exactly one of id or match", name, "opportunity")
        return None
    if "id" in target_raw:
        target = Target(id=_compile(problems, target_raw["id"], name, "opportunity.id"))
    else:
        match = target_raw["match"]
        target = Target(match_field=match["field"],
                        match_value=_compile(problems, match["equals"], name, "opportunity.match.equals"))
    fields_ = {}
    for field_name, spec_raw in raw["set"].items():
        where = f"field '{field_name}'"
        problem = reevo_fields.field_problem(field_name, custom)
        if problem:
            problems.add(problem, name, where)
            continue
        try:
            spec = compile_spec(spec_raw)
        except (SpecError, ExpressionError) as exc:
            problems.add(str(exc), name, where)
            continue
        _check_constants(problems, spec, field_name, custom, name, where)
        fields_[field_name] = spec
    return Route(name, condition, target, fields_, custom)


def _check_constants(problems, spec: ValueSpec, field_name, custom, route, where):
    """A constant (`value:`, lookup outputs, `default:`) of the wrong type is a load error."""
    value_type, is_array = reevo_fields.field_type(field_name, custom)
    constants = []
    if spec.constant is not SKIP:
        constants.append(("value", spec.constant))
    if spec.lookup:
        constants += [(f"lookup[{k!r}]", v) for k, v in spec.lookup.items()]
    if spec.has_default and spec.default is not SKIP:
        constants.append(("default", spec.default))
    for label, value in constants:
        problem = reevo_fields.value_problem(value_type, is_array, value)
        if problem:
            problems.add(f"{label} {problem} ({value_type})", route, where)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML keeps the last of two equal keys silently; a mapping file must not.

    YAML 1.1 reads the key `on:` (and yes/no/off) as a boolean; a key is always text here.
    """

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:bool" and getattr(key_node, "style", None) is None:
                key_node.tag = "tag:yaml.org,2002:str"
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


MappingYamlLoader = _UniqueKeyLoader  # how mapping files are read (for tools and tests that read them too)


def _read_yaml(path: Path, problems: _Problems):
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problems.add(f"not valid YAML: {getattr(exc, 'problem', None) or exc}", where=where)
    except OSError as exc:
        problems.add(f"cannot be read: {exc.strerror}")
    return None


def load_mapping(path: Path) -> tuple[Mapping | None, list[str]]:
    """Compile one mapping file; returns (mapping or None, problems)."""
    problems = _Problems(str(path))
    raw = _read_yaml(path, problems)
    if problems.lines:
        return None, problems.lines
    try:
        doc = file_schema.MappingFileSchema().load(raw if isinstance(raw, dict) else {"": raw})
    except file_schema.ValidationError as exc:
        for where, message in file_schema.flatten_errors(exc.messages):
            route = _route_name(raw, where)
            problems.add(message, route, where)
        return None, problems.lines
    custom = doc["custom_fields"]
    names = [r["name"] for r in doc["routes"]]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.add("route name is used more than once", dup)
    verify = dict(doc["verify"])
    _check_verify(problems, verify)
    mapping = Mapping(
        source=path.stem, path=str(path), scheme=verify.pop("scheme"),
        secret_names=verify.pop("secrets"), verify_options=verify,
        event_fields={k: _event_reader(problems, doc["event"].get(k), k) for k in ("id", "type", "occurred_at")},
        events=_compile(problems, doc["events"], where="events") if doc["events"] else None,
        routes=[r for r in (_compile_route(problems, raw_route, custom, doc["event"].get("type") is not None)
                            for raw_route in doc["routes"]) if r],
        volatile=[path.split(".") for path in doc["event"].get("volatile") or []],
    )
    return (None if problems.lines else mapping), problems.lines


def _check_verify(problems: _Problems, verify: dict):
    scheme = verify["scheme"]
    if scheme not in signatures.SCHEMES:
        problems.add(f"unknown scheme {scheme!r}; known: {', '.join(sorted(signatures.SCHEMES))}",
                     where="verify.scheme")
    elif scheme != "none" and not verify["secrets"]:
        problems.add("names no secret variable; list at least one under secrets", where="verify.secrets")
    if scheme in signatures.SCHEMES:
        options = {k: v for k, v in verify.items() if k not in ("scheme", "secrets")}
        for option, message in signatures.option_problems(scheme, options):
            problems.add(message, where=f"verify.{option}")


def _route_name(raw, where: str) -> str | None:
    """For an error at `routes.2.set`, the name of route 2 when it has one."""
    parts = where.split(".")
    if len(parts) >= 2 and parts[0] == "routes" and parts[1].isdigit() and isinstance(raw, dict):
        routes = raw.get("routes") or []
        index = int(parts[1])
        if index < len(routes) and isinstance(routes[index], dict):
            return routes[index].get("name")
    return None


def load_mappings(directory: str) -> tuple[dict[str, Mapping], list[str]]:
    """Every `*.yaml`/`*.yml` file in `directory` → ({source: Mapping}, problems)."""
    folder = Path(directory)
    if not folder.is_dir():
        return {}, [f"{directory}: mappings folder does not exist (BRIDGE_MAPPINGS_DIR)"]
    mappings, problems = {}, []
    for path in sorted(list(folder.glob("*.yaml")) + list(folder.glob("*.yml"))):
        mapping, found = load_mapping(path)
        problems += found
        if mapping:
            mappings[mapping.source] = mapping
    return mappings, problems


_UNSIGNED_CONSEQUENCE = {
    "id": "a captured body replayed with a new value is a new event, applied again",
    "occurred_at": "a replayed body may claim any time up to its arrival, so an old state can overwrite a "
                   "newer one; read the time from the signed body if it has one",
}


def trust_warnings(mapping: Mapping) -> list[str]:
    """One line per event id or time read from a header that the mapping's scheme does not sign."""
    signed = signatures.signed_headers(mapping.scheme, mapping.verify_options)
    lines = []
    for name, consequence in _UNSIGNED_CONSEQUENCE.items():
        unsigned = [h for h in mapping.event_headers.get(name, []) if h.lower() not in signed]
        if unsigned:
            lines.append(f"{mapping.path}: warning: event.{name} reads header {', '.join(unsigned)}, which scheme "
                         f"{mapping.scheme!r} does not sign: {consequence}")
    return lines
