"""Console pages without a browser: mappings and secrets, backtest, playground input, filters, the strip."""
import re

import pytest

from console_seed import ADMIN_TOKEN, DEAD_ID, OPP, SUBSCRIPTION_ID, csrf_of, seed
from helpers import SOURCE_SECRETS, STRIPE_SECRET
from redis_server import RedisServer

from bridge.ops.backtest import ADDED, CHANGED, REMOVED, compare
from bridge.store import DEAD, NewDelivery

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def get(bridge, path: str):
    return bridge.client.get(path, headers=AUTH)


def test_mappings_say_whether_secrets_are_set_never_their_values(make_bridge, tmp_path):
    bridge = make_bridge(BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN, GITHUB_WEBHOOK_SECRET="None")
    html = get(bridge, "/console/mappings").text
    github = re.search(r'<tr id="source-github">(.*?)</tr>', html, re.S).group(1)
    assert "GITHUB_WEBHOOK_SECRET</code> <span class=\"tag bad\">not set" in github
    assert "disabled: secret unset" in github and "production-deployed" in github
    for value in [STRIPE_SECRET, ADMIN_TOKEN, *SOURCE_SECRETS.values()]:
        assert value not in html


def test_mappings_show_the_problems_of_the_files_on_disk(console):
    (console.mappings / "broken.yaml").write_text("verify: {scheme: stripe, secrets: [S]}\nroutes: [\n")
    html = get(console, "/console/mappings").text
    assert 'id="disk-problems"' in html and "broken.yaml: line" in html
    console.runtime.reload()  # refused: the mappings in use stay, and the page says why
    html = get(console, "/console/mappings").text
    assert "The last reload was refused" in html and 'id="source-stripe"' in html


def test_backtest_lists_where_the_patch_would_differ(console, reevo):
    seed(console, reevo)
    stripe = console.mappings / "stripe.yaml"
    stripe.write_text(stripe.read_text().replace("active: closed_won", "active: negotiation"))
    assert console.runtime.reload()["status"] == "reloaded"
    html = get(console, "/console/mappings/backtest?source=stripe&n=10").text
    assert re.search(r'<b id="backtest-changed">2</b>', html)  # the two subscription events
    assert SUBSCRIPTION_ID in html and DEAD_ID in html
    assert '<code>stage</code>: <code>"closed_won"</code> → <code>"negotiation"</code>' in html
    assert re.search(r"<b>5</b> event\(s\) examined: <b>3</b> the same", html)
    few = get(console, "/console/mappings/backtest?source=stripe&n=1").text
    assert re.search(r"<b>1</b> event\(s\) examined", few)


def test_backtest_compares_route_by_route():
    from bridge.store import DeliveryRecord

    def stored(route, target, attributes, status="delivered", error=None):
        return DeliveryRecord(1, "s", "e", route, target, attributes, status, 1, 0, 0, None, last_error=error)

    then = [stored("a", {"id": "x"}, {"stage": "won"}), stored("b", {"id": "x"}, {"amount": 1}),
            stored("c", {}, {}, DEAD, {"code": "missing_target"})]
    now = [NewDelivery("a", {"id": "x"}, {"stage": "won"}), NewDelivery("c", {"id": "y"}, {"stage": "lost"}),
           NewDelivery("d", {}, {}, status=DEAD, error={"code": "empty_patch"})]
    changes = {c.route: c for c in compare(then, now)}
    assert set(changes) == {"b", "c", "d"}
    assert (changes["b"].kind, changes["b"].then) == (REMOVED, "PATCH")
    assert (changes["c"].kind, changes["c"].then, changes["c"].now) == (CHANGED, "dead: missing_target", "PATCH")
    assert changes["c"].fields == [("stage", None, "lost")]
    assert (changes["d"].kind, changes["d"].now) == (ADDED, "dead: empty_patch")


def test_the_playground_reads_header_lines_and_explains_bad_input(console):
    page = get(console, "/console/mappings/playground?source=github").text
    token = csrf_of(page)
    form = {"csrf_token": token, "source": "github", "payload": '{"deployment_status": {}}',
            "headers": "X-GitHub-Event: deployment_status\nX-GitHub-Delivery: delivery-from-the-header"}
    shown = console.client.post("/console/mappings/playground", data=form, headers=AUTH)
    assert shown.status_code == 200 and "delivery-from-the-header" in shown.text
    bad = console.client.post("/console/mappings/playground", headers=AUTH,
                              data={**form, "payload": "{not json"})
    assert bad.status_code == 422 and "the payload is not valid JSON" in bad.text
    deep = console.client.post("/console/mappings/playground", headers=AUTH,
                               data={**form, "payload": "[" * 100_000 + "]" * 100_000})
    assert deep.status_code == 422
    lines = console.client.post("/console/mappings/playground", headers=AUTH,
                                data={**form, "headers": "no colon here"})
    assert lines.status_code == 422 and "header line 1" in lines.text


def test_a_filter_it_cannot_use_is_explained(console):
    response = get(console, "/console/events?from=yesterday")
    assert response.status_code == 400 and "expected a time like" in response.text
    assert get(console, "/console/events?status=lost").status_code == 400
    assert get(console, "/console/events?cursor=garbage").status_code == 400


def test_the_strip_says_when_the_store_is_unreachable(make_bridge, tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    try:
        bridge = make_bridge(BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN, BRIDGE_STORE_URL=server.url)
        assert 'id="strip-store">Store reachable' in get(bridge, "/console/mappings").text
    finally:
        server.stop()
    html = get(bridge, "/console/mappings").text
    assert "Store unreachable" in html and 'id="strip-queue"' not in html
    assert get(bridge, "/console/events").status_code == 503


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
def test_every_page_reads_every_store_backend(backend, make_bridge, reevo, tmp_path):
    server = RedisServer(tmp_path / "redis").start() if backend == "redis" else None
    try:
        url = {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path}/console.db"}.get(backend) or server.url
        bridge = make_bridge(BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN, BRIDGE_STORE_URL=url)
        seed(bridge, reevo)
        listed = get(bridge, "/console/events?source=stripe&delivery_status=dead").text
        assert re.findall(r'data-key="([^"]+)"', listed) == [f"stripe:{DEAD_ID}"]
        detail = get(bridge, f"/console/events/stripe/{DEAD_ID}").text
        assert "invalid_field_value" in detail and 'class="grid timeline"' in detail
        issues = get(bridge, "/console/issues").text
        assert issues.count('class="issue"') == 1
        history = get(bridge, f"/console/opportunities/{OPP}").text
        assert SUBSCRIPTION_ID in history and DEAD_ID in history
        assert re.search(r'id="strip-dead"[^>]*>Dead <b>1</b>', get(bridge, "/console/mappings").text)
    finally:
        if server:
            server.stop()
