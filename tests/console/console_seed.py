"""Events for the console tests, sent as senders send them (signed) and delivered to the sandbox."""
import json
import re

from helpers import FIXTURES, INITECH_OPP, OPP
from signing import signed_headers

ADMIN_TOKEN = "console-admin-token-for-tests"
VIEWER_TOKEN = "console-viewer-token-for-tests"
SUBSCRIPTION_ID = "evt_1MqqbKLt4dXK03v5qaIbiNCC"
INVOICE_ID = "evt_1SVC8JHOQNg4XnOM2WgGoBj8"
IGNORED_ID = "evt_1NCustomerCreated000001"
DEAD_ID = "evt_console_dead_0001"
MARKUP_ID = "evt_console_markup_0001"
GITHUB_ID = "a1b2c3d4-0b7d-11ef-9a2e-8f1c2d3e4f50"
MARKUP = '<script>window.pwned=1</script>"><img src=x onerror="window.pwned=2">'


def post(bridge, source: str, body: bytes, headers: dict | None = None):
    """Post a body signed with the source's test secret; assert the bridge took it."""
    url, signed = signed_headers(source, body, headers or {}, int(bridge.clock()))
    response = bridge.client.post(url, data=body, headers={"Content-Type": "application/json", **signed})
    assert response.status_code in (200, 202), response.json
    return response


def fixture(case: str) -> tuple[bytes, dict]:
    folder = FIXTURES / case
    headers = folder / "headers.json"
    return (folder / "payload.json").read_bytes(), json.loads(headers.read_text()) if headers.is_file() else {}


def subscription(event_id: str, **object_fields) -> bytes:
    """The subscription-active fixture with another event id (and object fields changed)."""
    body = json.loads(fixture("stripe/subscription-active")[0])
    body["id"] = event_id
    body["data"]["object"].update(object_fields)
    return json.dumps(body).encode()


def seed(bridge, reevo) -> None:
    """A delivered subscription and invoice, an ignored event, a GitHub deployment, a dead delivery,
    and an ignored event whose body carries markup."""
    post(bridge, "stripe", *fixture("stripe/subscription-active"))
    bridge.clock.advance(1)
    post(bridge, "stripe", *fixture("stripe/invoice-paid"))
    bridge.clock.advance(1)
    post(bridge, "github", *fixture("github/production-deployed"))
    bridge.deliver()
    bridge.clock.advance(1)
    post(bridge, "stripe", *fixture("stripe/unrelated-event-type"))
    bridge.clock.advance(1)
    reevo.fault(count=1, status=422, method="PATCH",
                body={"error": {"code": "invalid_field_value", "message": "stage is not allowed here"}})
    post(bridge, "stripe", subscription(DEAD_ID))
    bridge.deliver()
    bridge.clock.advance(1)
    markup = json.loads(fixture("stripe/unrelated-event-type")[0])
    markup.update(id=MARKUP_ID, type="customer.updated" + MARKUP)
    markup["data"]["object"]["description"] = MARKUP
    post(bridge, "stripe", json.dumps(markup).encode())


__all__ = ["OPP", "INITECH_OPP"]  # re-exported from helpers for the console tests (the rest is defined here)


def csrf_of(html: str) -> str:
    """The CSRF token a console form carries."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
