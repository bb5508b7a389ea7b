"""Mapping files: load and check them, then turn each event into deliveries (pure).

A mapping file is `<source>.yaml` in the mappings folder; the file name is the
`<source>` of `POST /webhooks/<source>`. Every problem found at load names the
file, the route and the field, so a bad mapping never surfaces first on a live event.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from jmespath.exceptions import JMESPathError

from bridge import schemas, signatures
from bridge.expressions import ExpressionError, compile_expression, truthy
from bridge.transforms import TransformError, parse_iso8601
from bridge.valuespec import SKIP, FieldError, SpecError, ValueSpec, compile_spec


class MappingError(Exception):
    """One or more problems in mapping files; `problems` lists them, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Event:
    """One event read out of a webhook body."""

    source: str
    id: str
    type: str | None
    occurred_at: str | None  # UTC `YYYY-MM-DDTHH:MM:SSZ`-style text, or None if unknown
    data: Any
    fingerprint: str = ""  # hash of the content that identifies it (volatile fields left out)
    data_json: str | None = None  # `data` as JSON text, when hashing already produced it


@dataclass
class Delivery:
    """One PATCH to make: which opportunity, which attributes."""

    route: str
    target: dict  # {"id": uuid} or {"match": {"field": name, "value": value}}
    attributes: dict


@dataclass
class Failure:
    """A route matched but cannot produce a valid PATCH; stored as a dead delivery."""

    route: str
    reason: str
    message: str
    field: str | None = None


@dataclass
class Target:
    id: Any = None
    match_field: str | None = None
    match_value: Any = None

    def resolve(self, data) -> dict:
        if self.id is not None:
            value = self.id.search(data)
            if value is None or value == "":
                raise FieldError("missing_target", "the opportunity id is missing from the event")
            if not _is_uuid(value):
                raise FieldError("invalid_target", f"opportunity id {str(value)[:60]!r} is not a UUID")
            return {"id": value}
        value = self.match_value.search(data)
        if value is None or value == "":
            raise FieldError("missing_target", f"the value to match on {self.match_field} is missing")
        return {"match": {"field": self.match_field, "value": value}}


@dataclass
class Route:
    name: str
    when: Any
    target: Target
    fields: dict[str, ValueSpec]
    custom: dict

    def render(self, data) -> Delivery | Failure:
        """This route's delivery for one event, or the reason it cannot be made."""
        try:
            target = self.target.resolve(data)
        except FieldError as exc:
            return Failure(self.name, exc.reason, exc.message, "opportunity")
        except JMESPathError as exc:
            return Failure(self.name, "expression_failed", _first_line(exc), "opportunity")
        attributes = {}
        for name, spec in self.fields.items():
            try:
                value = spec.render(data)
            except FieldError as exc:
                return Failure(self.name, exc.reason, exc.message, name)
            if value is SKIP:
                continue
            problem = schemas.value_problem(*schemas.field_type(name, self.custom), value)
            if problem:
                return Failure(self.name, "invalid_value", f"{name} {problem}", name)
            attributes[name] = value
        if not attributes:
            return Failure(self.name, "empty_patch", "no field had a value for this event")
        return Delivery(self.name, target, attributes)


@dataclass
class Mapping:
    """A compiled mapping file."""

    source: str
    path: str
    scheme: str
    secret_names: list[str]
    verify_options: dict
    event_fields: dict  # id/type/occurred_at → callable(data, headers) -> value
    events: Any
    routes: list[Route] = field(default_factory=list)
    volatile: list[list[str]] = field(default_factory=list)  # key paths a resend may change

    def read_events(self, body, headers) -> list[Event]:
        """Split a parsed body into events with their id, type and occurred_at."""
        if self.events is None:
            items = [body]
        else:
            items = self.events.search(body)
            items = items if isinstance(items, list) else ([] if items is None else [items])
        return [self.make_event(item, headers) for item in items]

    def make_event(self, data, headers) -> Event:
        """One event (an item `events` selected, or the whole body) with its id, type and occurred_at."""
        read = {k: (f(data, headers) if f else None) for k, f in self.event_fields.items()}
        hashed = _without(data, self.volatile)
        canonical = canonical_json(hashed)
        fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
        event_id = read["id"]
        if event_id in (None, ""):
            # No id in the event: identical re-sends still dedupe on the content hash.
            event_id = "sha256:" + fingerprint
        return Event(self.source, str(event_id), None if read["type"] is None else str(read["type"]),
                     normalise_time(read["occurred_at"]), data, fingerprint,
                     canonical if hashed is data else None)  # the store keeps this text: no second encoding

    def render(self, event: Event) -> list[Delivery | Failure]:
        """Every matching route's delivery (or failure); empty when no route matches."""
        rendered = []
        for route in self.routes:
            try:
                matched = route.when is None or truthy(route.when.search(event.data))
            except JMESPathError as exc:
                rendered.append(Failure(route.name, "expression_failed", _first_line(exc), "when"))
                continue
            if matched:
                rendered.append(route.render(event.data))
        return rendered


def canonical_json(data) -> str:
    """Compact JSON with sorted keys: the same content gives the same text whatever the key order."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _without(data, paths: list[list[str]]):
    """A copy of `data` without the given key paths (only the containers on the way are copied)."""
    for path in paths:
        data = _drop(data, path)
    return data


def _drop(data, path: list[str]):
    if not isinstance(data, dict) or path[0] not in data:
        return data
    copy = dict(data)
    if len(path) == 1:
        del copy[path[0]]
    else:
        copy[path[0]] = _drop(copy[path[0]], path[1:])
    return copy


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def normalise_time(value) -> str | None:
    """Unix seconds or ms, or ISO-8601 text → `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`; None if unreadable."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = value / 1000 if abs(value) >= 100_000_000_000 else value
            moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
        elif isinstance(value, str) and value.strip():
            text = value.strip()
            if text.isdigit():
                return normalise_time(int(text))
            moment = parse_iso8601(text)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        else:
            return None
    except (TransformError, ValueError, OverflowError, OSError):
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
        return isinstance(value, str)
    except ValueError:
        return False


# ---- loading ----------------------------------------------------------------------

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


def _event_reader(problems, spec, name):
    if spec is None:
        return None
    if isinstance(spec, dict) and set(spec) == {"header"}:
        names = spec["header"] if isinstance(spec["header"], list) else [spec["header"]]
        return lambda data, headers: _first_header(headers, [str(n) for n in names])
    expr = _compile(problems, spec, where=f"event.{name}")
    if expr is None:
        return None

    def read(data, headers):
        try:
            return expr.search(data)
        except JMESPathError:
            return None  # an unreadable id falls back to the content hash; type/time to unknown
    return read


def _compile_route(problems, raw: dict, custom: dict) -> Route | None:
    name = raw["name"]
    when = _compile(problems, raw["when"], name, "when") if raw.get("when") else None
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
        problem = schemas.field_problem(field_name, custom)
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
    return Route(name, when, target, fields_, custom)


def _check_constants(problems, spec: ValueSpec, field_name, custom, route, where):
    """A constant (`value:`, lookup outputs, `default:`) of the wrong type is a load error."""
    value_type, is_array = schemas.field_type(field_name, custom)
    constants = []
    if spec.constant is not SKIP:
        constants.append(("value", spec.constant))
    if spec.lookup:
        constants += [(f"lookup[{k!r}]", v) for k, v in spec.lookup.items()]
    if spec.has_default and spec.default is not SKIP:
        constants.append(("default", spec.default))
    for label, value in constants:
        problem = schemas.value_problem(value_type, is_array, value)
        if problem:
            problems.add(f"{label} {problem} ({value_type})", route, where)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML keeps the last of two equal keys silently; a mapping file must not."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


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
        doc = schemas.MappingFileSchema().load(raw if isinstance(raw, dict) else {"": raw})
    except schemas.ValidationError as exc:
        for where, message in schemas.flatten_errors(exc.messages):
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
        routes=[r for r in (_compile_route(problems, raw_route, custom) for raw_route in doc["routes"]) if r],
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


def _first_header(headers, names: list[str]):
    """The first of `names` present in the request headers (case-insensitive), or None."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    return next((lowered[n.lower()] for n in names if lowered.get(n.lower())), None)


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
