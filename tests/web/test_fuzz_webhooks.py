"""Issue 12: a fuzz suite over every shipped source — never a 5xx, never a traceback, nothing lost.

Hypothesis takes each source's fixture payloads, replaces a value anywhere in them with
something hostile (huge, non-finite or out-of-range numbers, dates past 9999, lone
surrogates, deep nesting, wrong types), may add raw bytes that are not UTF-8, rewrites
the headers the mapping reads, signs the result as the sender would and posts it. Every
answer must be a 2xx whose events are all in the store, or a 4xx with a reason (503
only with Retry-After). A second test posts unsigned junk to every route.

The examples are bounded and derandomized (the suite stays a few seconds per source on a
loaded machine, and a failure reproduces); BRIDGE_FUZZ_EXAMPLES raises the count for a
longer hunt.
"""
import functools
import json
import logging
import os
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.mapping.loader import load_mapping
from helpers import FIXTURES, ROOT
from admin_client import TOKEN
from signing import post_signed

settings.register_profile("bridge-fuzz", max_examples=int(os.environ.get("BRIDGE_FUZZ_EXAMPLES", "25")),
                          deadline=None, derandomize=True, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
FUZZ = settings.get_profile("bridge-fuzz")

SOURCES = sorted(p.stem for p in (ROOT / "mappings").glob("*.yaml"))
MARK = "\u2063fuzz-raw\u2063"  # replaced by raw bytes after encoding


@functools.cache
def mapping_of(source: str):
    return load_mapping(ROOT / "mappings" / f"{source}.yaml")[0]


EXPRESSION_KEYS = {"from", "id", "type", "occurred_at", "when", "equals", "template", "events", "email"}


@functools.cache
def names_read(source: str) -> frozenset:
    """The names in the mapping's expressions: the keys of the payload it reads are among them."""
    found = set()

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str) and key in EXPRESSION_KEYS:
            found.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", node))
    walk(yaml.safe_load((ROOT / "mappings" / f"{source}.yaml").read_text()))
    return frozenset(found)


@functools.cache
def cases(source: str) -> list[tuple[object, dict]]:
    found = []
    for folder in sorted((FIXTURES / source).iterdir()):
        headers = folder / "headers.json"
        found.append((json.loads((folder / "payload.json").read_text()),
                      json.loads(headers.read_text()) if headers.is_file() else {}))
    return found


def nested(depth: int):
    value = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


HOSTILE_NUMBERS = st.one_of(
    st.integers(min_value=-(10 ** 4000), max_value=10 ** 4000),
    st.sampled_from([10 ** 21, -(10 ** 21), 2 ** 63, 2 ** 64 + 1, 10 ** 300, 0, -1, 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0, 1.7976931348623157e308]),
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["1e999999", "-1e999999", "1e400", "1e5000", "NaN", "sNaN", "Infinity", "-Infinity", "nan",
                     "9" * 5000, "0E-999999", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+14:00",
                     "9999-12-31", "2024-13-45T99:99:99Z", "253402300800", "-62135596801", "1" * 30,
                     "\ud800", "a\udfffb", "\ud83d", "", " ", "x" * 20_000, MARK, f"evt_{MARK}",
                     "paid", "active", "closed_won", "3b1f6a52-6a8e-4a43-9a39-6c1f4f0b7e11"]),
)
# Each of these once gave a 500 or a stalled worker (issue 12).
BREAKING_VALUES = ["1e999999", "Infinity", "sNaN", "NaN", "1e5000", "9999-12-31T23:59:59-01:00", "\ud800",
                   10 ** 4000, 1e308, 10 ** 25, "253402300800000", {"a": [1]}]
BREAKING = st.sampled_from(BREAKING_VALUES)
HOSTILE_LEAF = st.one_of(HOSTILE_NUMBERS, HOSTILE_TEXT)
HOSTILE = st.recursive(
    st.one_of(st.none(), st.booleans(), HOSTILE_NUMBERS, HOSTILE_TEXT,
              st.integers(min_value=1, max_value=120).map(nested)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8,
)


def paths(value, prefix=()):
    """Every path into a JSON value (the value itself included)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, prefix + (index,))


def _at(value, path):
    for step in path:
        value = value[step]
    return value


def replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(copy[path[0]], path[1:], new)
    return copy


@st.composite
def webhooks(draw, source: str):
    """(body bytes, headers) for `source`: a fixture with some values made hostile."""
    payload, headers = draw(st.sampled_from(cases(source)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        every_path = list(paths(payload))
        # Mostly where the mapping reads (ids, times, amounts, statuses), sometimes anywhere.
        read = read_leaves(source, payload) or every_path
        path = draw(st.sampled_from(read) if draw(st.integers(0, 4)) else st.sampled_from(every_path))
        payload = replaced(payload, path, draw(st.one_of(BREAKING, BREAKING, HOSTILE_LEAF, HOSTILE)))
    text = json.dumps(payload, ensure_ascii=draw(st.booleans()))
    body = text.encode("utf-8", "surrogatepass")
    raw = draw(st.sampled_from([b"\xed\xa0\x80", b"\xff", b"\xc3", b"\xf4\x90\x80\x80", b"ok"]))
    body = body.replace(MARK.encode(), raw).replace(json.dumps(MARK).strip('"').encode(), raw)
    mapping = mapping_of(source)
    header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=60)
    for name in [n for names in mapping.event_headers.values() for n in names]:
        if draw(st.booleans()):
            headers = {**headers, name: draw(st.one_of(header_text, st.sampled_from(
                ["2099-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00", "1e999999", "", "NaN"])))}
    return body, headers


def read_leaves(source: str, payload) -> list[tuple]:
    """Paths to the scalars of `payload` whose key the mapping's expressions name."""
    return [p for p in paths(payload) if p and str(p[-1]) in names_read(source)
            and not isinstance(_at(payload, p), (dict, list))]


def check_answer(bridge, source: str, answer, caplog, first_record: int):
    assert answer.status_code < 500 or (answer.status_code == 503 and answer.headers.get("Retry-After")), \
        (answer.status_code, answer.get_data(as_text=True)[:300])
    text = answer.get_data(as_text=True)
    assert "Traceback" not in text
    reply = answer.json
    if answer.status_code >= 400:
        assert reply["status"] == "rejected" and reply["reason"], reply
    else:
        for event in reply["events"]:
            stored = bridge.store.get_event(source, event["id"])
            assert stored is not None, f"acknowledged but not stored: {event}"
            json.dumps(stored["data"], allow_nan=False).encode("utf-8")  # stored safely: JSON and UTF-8
    tracebacks = [r for r in caplog.records[first_record:] if r.exc_info or r.levelno >= logging.CRITICAL]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


@pytest.mark.parametrize("source", SOURCES)
def test_signed_hostile_webhooks_never_get_a_5xx(source, make_bridge, caplog):
    caplog.set_level(logging.INFO)
    bridge = make_bridge()

    @FUZZ
    @given(webhook=webhooks(source))
    def post(webhook):
        body, headers = webhook
        first = len(caplog.records)
        answer = post_signed(bridge, source, body, headers)
        check_answer(bridge, source, answer, caplog, first)

    post()


@pytest.mark.parametrize("source", SOURCES)
def test_every_value_the_mapping_reads_set_to_each_breaking_value_never_gets_a_5xx(source, make_bridge, caplog):
    """The systematic half: every read leaf of one fixture x every value that once broke the bridge."""
    caplog.set_level(logging.INFO)
    bridge = make_bridge()
    payload, headers = cases(source)[0]
    one_per_key = {path[-1]: path for path in reversed(read_leaves(source, payload))}  # first path per key
    for path in one_per_key.values():
        for value in BREAKING_VALUES:
            body = json.dumps(replaced(payload, path, value)).encode("utf-8", "surrogatepass")
            first = len(caplog.records)
            check_answer(bridge, source, post_signed(bridge, source, body, headers), caplog, first)


ROUTES = ["/webhooks/{}", "/webhooks/{}/extra", "/healthz", "/readyz", "/readyz?scope={}", "/metrics",
          "/admin/deliveries?{}", "/admin/deliveries/{}", "/admin/deliveries/{}/replay", "/admin/replay",
          "/admin/events/{}/{}", "/admin/events/stripe/{}/rebuild", "/admin/mappings", "/admin/reload",
          "/admin/openapi.json", "/admin/events?{}", "/admin/events?cursor={}", "/admin/events/stripe/{}/replay",
          "/admin/issues?retrying_for={}", "/admin/issues/replay", "/admin/opportunities/{}/history",
          "/console/", "/console/{}", "/{}"]
SEGMENT = st.one_of(st.sampled_from(SOURCES + ["9" * 30, "-1", "0", "%ED%A0%80", "%FF", "..", "a%2Fb",
                                               "status=nan", "cursor=zz", "limit=1e999", "received_from=inf",
                                               "nan", "inf", "received_to=nan",
                                               "ZDE6MWUzMDA6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ"]),
                    st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%"),
                            max_size=12))


@settings(FUZZ, max_examples=FUZZ.max_examples * 4)  # cheap: no signing, mostly refused early
@given(route=st.sampled_from(ROUTES), segments=st.lists(SEGMENT, min_size=2, max_size=2),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
       body=st.one_of(st.binary(max_size=200), HOSTILE.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")),
                      st.integers(min_value=1, max_value=3000).map(lambda n: b"[" * n + b"]" * n)),
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
       token=st.booleans())
def test_unsigned_junk_on_any_route_never_gets_a_5xx(fuzz_bridge, route, segments, method, body, content_type, token):
    bridge, caplog = fuzz_bridge
    first = len(caplog.records)
    path = route.format(*segments)
    headers = {"Content-Type": content_type, **({"Authorization": f"Bearer {TOKEN}"} if token else {})}
    answer = bridge.client.open(path, method=method, data=body, headers=headers)
    if path.startswith("/admin/reload") and answer.status_code == 200:
        return
    assert answer.status_code < 500 or (answer.status_code == 503 and "Retry-After" in answer.headers) \
        or path.startswith("/readyz"), (method, path, answer.status_code, answer.get_data(as_text=True)[:300])
    assert "Traceback" not in answer.get_data(as_text=True)
    assert not [r for r in caplog.records[first:] if r.exc_info], method + " " + path


@pytest.fixture(scope="module")
def fuzz_bridge_factory(tmp_path_factory, sandbox_server):
    """One bridge for the whole unsigned run (Hypothesis calls the test many times)."""
    from bridge import create_app
    from helpers import SANDBOX_KEY, SOURCE_SECRETS, STRIPE_SECRET, Bridge, Clock
    folder = tmp_path_factory.mktemp("fuzz")
    clock = Clock()
    env = {"REEVO_API_URL": sandbox_server.url, "REEVO_API_KEY": SANDBOX_KEY,
           "BRIDGE_STORE_URL": f"sqlite:///{folder}/bridge.db", "BRIDGE_MAPPINGS_DIR": str(ROOT / "mappings"),
           "BRIDGE_DELIVERY_THREADS": "0", "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET, **SOURCE_SECRETS,
           "BRIDGE_ADMIN_TOKEN": TOKEN}
    bridge = Bridge(create_app(env, clock=clock), clock)
    yield bridge
    bridge.worker.client.close()
    bridge.store.close()


@pytest.fixture
def fuzz_bridge(fuzz_bridge_factory, caplog):
    caplog.set_level(logging.INFO)
    return fuzz_bridge_factory, caplog
