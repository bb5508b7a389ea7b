"""Rendering speed: one event through a 10-field mapping, next to json.loads of the same body.

Prints microseconds per event for each and their ratio. Both run in this process,
in this run, so the ratio is comparable across machines; the absolute numbers are not.
"""
from __future__ import annotations

import json
import tempfile
import textwrap
import timeit
from pathlib import Path

from bridge.mapping.loader import load_mapping

ROOT = Path(__file__).resolve().parents[1]
BODY = (ROOT / "tests/fixtures/stripe/subscription-active/payload.json").read_bytes()

TEN_FIELDS = textwrap.dedent("""
    verify: {scheme: none}
    event: {id: id, type: type, occurred_at: created}
    routes:
      - name: ten-fields
        when: "type == 'customer.subscription.updated'"
        opportunity: {id: data.object.metadata.reevo_opportunity_id}
        set:
          stage: {from: data.object.status, lookup: {active: closed_won, canceled: closed_lost}, default: skip}
          amount: {from: "data.object.items.data[0].price.unit_amount", transform: cents_to_decimal}
          next_step_details: {template: "Subscription {data.object.id} is {data.object.status}"}
          next_step_due_at: {from: data.object.cancel_at, transform: unix_to_iso8601}
          next_meeting_date: {from: "data.object.items.data[0].current_period_end", transform: unix_to_iso8601}
          target_go_live_date: {from: data.object.billing_cycle_anchor, transform: unix_to_iso8601}
          anticipated_closing_at: {from: data.object.created, transform: unix_to_iso8601}
          closed_won_custom_detail: {from: data.object.cancellation_details.reason, transform: [strip, upper]}
          primary_competitor_other: {from: data.object.customer, transform: "truncate(10)"}
          display_name: {template: "Stripe {data.object.customer}"}
""")


def measure(fn, number: int) -> float:
    """Best of 5 runs, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main(number: int = 5000) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(TEN_FIELDS)
        mapping, problems = load_mapping(path)
    assert not problems, problems
    body = json.loads(BODY)
    (event,) = mapping.read_events(body, {})
    (delivery,) = mapping.render(event)
    assert len(delivery.attributes) == 10, delivery
    parse = measure(lambda: json.loads(BODY), number)
    render = measure(lambda: mapping.render(mapping.read_events(body, {})[0]), number)
    print(f"render   10-field mapping: {render:8.1f} µs/event")
    print(f"baseline json.loads body : {parse:8.1f} µs/event ({len(BODY)} bytes)")
    print(f"ratio render / json.loads: {render / parse:8.2f}x")
    return {"render_us": render, "json_loads_us": parse, "ratio": render / parse}


if __name__ == "__main__":
    main()
