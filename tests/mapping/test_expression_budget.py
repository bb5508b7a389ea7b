"""Issue 12.5: a mapping's JMESPath expressions run on a budget per webhook, never a stalled worker."""
import json
import time

import jmespath
import pytest

from bridge.mapping.expressions import ExpressionTooCostly, compile_expression, expression_budget
from helpers import OPP

# Each level copies every item four times: 4**6 = 4,096 results per item.
FAN_OUT = "items[*]" + ".[@, @, @, @][]" * 6

MAPPING = f"""
verify: {{scheme: stripe, secrets: [STRIPE_WEBHOOK_SECRET]}}
event: {{id: id, type: type, occurred_at: created}}
routes:
  - name: costly
    opportunity: {{id: opp}}
    set:
      next_step_details: {{from: "join(',', {FAN_OUT}[].to_string(@))"}}
  - name: cheap
    opportunity: {{id: opp}}
    set:
      next_step_details: {{template: "{{length(items)}} items"}}
"""


@pytest.fixture
def costly(make_bridge, tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "costly.yaml").write_text(MAPPING)
    return make_bridge(BRIDGE_MAPPINGS_DIR=folder)


def test_a_fan_out_over_a_crafted_body_makes_its_delivery_dead_and_keeps_the_event(costly, reevo):
    body = json.dumps({"id": "evt_fan_out", "type": "t", "created": 1, "opp": OPP,
                       "items": list(range(200))})
    started = time.process_time()
    answer = costly.post("costly", body.encode())
    cpu = time.process_time() - started
    assert (answer.status_code, answer.json["status"]) == (202, "accepted"), answer.json
    dead = {d.route: d.last_error["code"] for d in costly.deliveries("costly", "evt_fan_out") if d.status == "dead"}
    assert dead == {"costly": "expression_too_costly"}
    assert costly.store.get_event("costly", "evt_fan_out")["data"]["items"][:3] == [0, 1, 2]
    # Unbudgeted, jmespath would build 200 * 4,096 strings; the budget stops it early. Not a timing
    # assertion on speed: a bound 50x above what the budget allows on a loaded core.
    assert cpu < 30


def test_the_budget_is_shared_by_one_webhooks_expressions():
    expression = compile_expression("[*].[@, @]")
    data = list(range(1000))
    with expression_budget(steps=5_000):  # less than MAX_STEPS
        expression.search(data)  # ~3,000 steps
        with pytest.raises(ExpressionTooCostly):
            expression.search(data)
    expression.search(data)  # outside a webhook, each search has its own budget


def test_a_cheap_expression_is_unchanged_by_the_budget():
    data = {"items": [{"n": i, "tags": [{"v": j} for j in range(5)]} for i in range(100)]}
    text = "items[?n > `50`].tags[].v"
    with expression_budget():
        assert compile_expression(text).search(data) == jmespath.search(text, data)


def test_an_expression_that_overflows_fails_instead_of_raising():
    with pytest.raises(jmespath.exceptions.JMESPathError, match="cannot be evaluated"):
        compile_expression("ceil(sum(@))").search([1e308, 1e308])


def test_an_events_split_over_budget_is_refused_with_its_reason(make_bridge, tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "split.yaml").write_text(MAPPING.replace("routes:", f'events: "{FAN_OUT}"\nroutes:', 1))
    bridge = make_bridge(BRIDGE_MAPPINGS_DIR=folder)
    answer = bridge.post("split", json.dumps({"items": list(range(200))}).encode())
    assert (answer.status_code, answer.json["reason"]) == (422, "expression_too_costly")
    small = bridge.post("split", json.dumps({"items": [], "id": "evt_small"}).encode())
    assert small.status_code == 202, small.json
