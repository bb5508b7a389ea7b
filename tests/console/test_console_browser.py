"""The console in a real headless Chromium: sign in, find events, read them, replay, audit, preview.

Every test signs in through the form as a person would; screenshots of each page go to
$CONSOLE_SCREENSHOTS (`docs/` refreshes the README's) or a temporary folder.
"""
import base64
import json

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from console_seed import (ADMIN_TOKEN, DEAD_ID, GITHUB_ID, IGNORED_ID, MARKUP, MARKUP_ID, OPP, SUBSCRIPTION_ID,
                          VIEWER_TOKEN, post, seed, subscription)
from helpers import FIXTURES, bridge_cli

WAIT = 30  # seconds: a generous deadline on a loaded machine; each wait returns as soon as the page is there


def wait(browser, predicate, what: str):
    return WebDriverWait(browser, WAIT).until(lambda d: predicate(d), message=f"waiting for {what}")


def sign_in(browser, url: str, token: str) -> None:
    browser.get(f"{url}/console/sign-in")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "signin-submit").click()
    wait(browser, lambda d: "/console/sign-in" not in d.current_url or d.find_elements(By.ID, "signin-error"),
         "the answer to the sign-in")


def shot(browser, screenshots, name: str) -> None:
    """A screenshot of the whole page, beyond the window (Chromium's DevTools capture)."""
    image = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    (screenshots / f"console-{name}.png").write_bytes(base64.b64decode(image["data"]))


def rows(browser) -> list[str]:
    return [row.get_attribute("data-key") for row in browser.find_elements(By.CSS_SELECTOR, "#event-rows tr")]


def text(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def test_sign_in_filter_and_open_an_ignored_and_a_dead_event(browser, live, reevo, screenshots):
    seed(live, reevo)
    sign_in(browser, live.url, ADMIN_TOKEN)
    assert browser.current_url.endswith("/console/events")
    assert rows(browser)[0] == f"stripe:{MARKUP_ID}" and f"github:{GITHUB_ID}" in rows(browser)
    strip = browser.find_element(By.ID, "strip").text
    assert "Deliveries running" in strip and "Dead 1" in strip and "Store reachable" in strip
    shot(browser, screenshots, "events")

    Select(browser.find_element(By.ID, "f-source")).select_by_value("stripe")
    Select(browser.find_element(By.ID, "f-status")).select_by_value("ignored")
    browser.find_element(By.ID, "filter-submit").click()
    wait(browser, lambda d: "status=ignored" in d.current_url, "the filtered page")
    assert "source=stripe" in browser.current_url  # the filters are the URL: bookmarkable
    assert rows(browser) == [f"stripe:{MARKUP_ID}", f"stripe:{IGNORED_ID}"]

    browser.find_element(By.LINK_TEXT, IGNORED_ID).click()
    wait(browser, lambda d: d.find_elements(By.ID, "event-id"), "the ignored event")
    assert "no_route_matched" in browser.find_element(By.ID, "event-status").text
    assert "No delivery: no route matched this event" in text(browser)
    assert "not matched" in browser.find_element(By.ID, "routes").text
    assert '"customer.created"' in browser.find_element(By.ID, "event-body").text
    shot(browser, screenshots, "event-ignored")

    browser.get(f"{live.url}/console/events?source=stripe&delivery_status=dead")
    assert rows(browser) == [f"stripe:{DEAD_ID}"]
    browser.find_element(By.LINK_TEXT, DEAD_ID).click()
    wait(browser, lambda d: d.find_elements(By.ID, "event-id"), "the dead event")
    delivery = browser.find_element(By.CSS_SELECTOR, "section.delivery").text
    assert "dead" in delivery and "invalid_field_value" in delivery and "stage is not allowed here" in delivery
    assert f"PATCH /api/v2/opportunity/{OPP}" in delivery and "Idempotency-Key" in delivery
    timeline = browser.find_element(By.CSS_SELECTOR, "table.timeline").text
    assert "422" in timeline and "invalid_field_value" in timeline
    shot(browser, screenshots, "event-dead")


def test_a_wrong_token_is_refused(browser, live):
    sign_in(browser, live.url, "not-the-token")
    assert "/console/sign-in" in browser.current_url
    assert browser.find_element(By.ID, "signin-error").text == "That token is not right."
    browser.get(f"{live.url}/console/events")
    assert "/console/sign-in" in browser.current_url


def test_replay_a_group_from_the_issues_page_after_its_dry_run(browser, live, reevo, screenshots):
    seed(live, reevo)
    (dead,) = live.deliveries("stripe", DEAD_ID)
    sign_in(browser, live.url, ADMIN_TOKEN)
    browser.find_element(By.LINK_TEXT, "Issues").click()
    group = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "tr.issue"), "the issue groups")
    assert len(group) == 1 and "invalid_field_value" in group[0].text and DEAD_ID in group[0].text
    shot(browser, screenshots, "issues")

    group[0].find_element(By.PARTIAL_LINK_TEXT, "Replay all in this group").click()
    wait(browser, lambda d: d.find_elements(By.ID, "dry-run"), "the dry run")
    assert browser.find_element(By.ID, "would-replay").text == "1"
    assert live.store.get_delivery(dead.id).status == "dead"  # a dry run changes nothing
    shot(browser, screenshots, "replay-dry-run")

    browser.find_element(By.ID, "confirm-replay").click()
    wait(browser, lambda d: d.find_elements(By.ID, "done"), "the replay's result")
    assert browser.find_element(By.ID, "replayed").text == "1"
    assert live.store.get_delivery(dead.id).status == "queued"
    live.deliver()
    assert live.store.get_delivery(dead.id).status == "delivered"
    browser.get(f"{live.url}/console/issues")
    assert browser.find_elements(By.ID, "no-issues")


def test_follow_an_opportunitys_history(browser, live, reevo, screenshots):
    seed(live, reevo)
    live.clock.advance(5)
    post(live, "stripe", subscription("evt_console_later_0001", status="past_due"))
    live.deliver()
    sign_in(browser, live.url, ADMIN_TOKEN)
    browser.get(f"{live.url}/console/events/stripe/{SUBSCRIPTION_ID}")
    browser.find_element(By.CSS_SELECTOR, f"section.delivery a[href$='{OPP}']").click()
    wait(browser, lambda d: d.find_elements(By.ID, "opportunity"), "the opportunity's history")
    assert browser.find_element(By.ID, "opportunity").text == OPP
    values = browser.find_element(By.ID, "field-values").text
    assert "stage" in values and "evt_console_later_0001" in values
    history = browser.find_element(By.ID, "opportunity-deliveries").text
    for event_id in (SUBSCRIPTION_ID, GITHUB_ID, DEAD_ID, "evt_console_later_0001"):
        assert event_id in history
    shot(browser, screenshots, "opportunity")


def test_a_playground_preview_shows_what_the_preview_command_prints(browser, live, screenshots):
    payload = FIXTURES / "stripe/subscription-active/payload.json"
    sign_in(browser, live.url, ADMIN_TOKEN)
    browser.find_element(By.LINK_TEXT, "Mappings").click()
    wait(browser, lambda d: d.find_elements(By.ID, "sources"), "the mappings")
    assert "STRIPE_WEBHOOK_SECRET set" in browser.find_element(By.ID, "source-stripe").text
    shot(browser, screenshots, "mappings")
    browser.find_element(By.CSS_SELECTOR, "#source-stripe a[href*='playground']").click()
    wait(browser, lambda d: d.find_elements(By.ID, "payload"), "the playground")
    field = browser.find_element(By.ID, "payload")
    browser.execute_script("arguments[0].value = arguments[1]", field, payload.read_text())
    browser.find_element(By.ID, "preview-submit").click()
    wait(browser, lambda d: d.find_elements(By.ID, "preview-result"), "the preview")
    assert "Route subscription-status" in browser.find_element(By.ID, "preview-result").text
    shown = browser.execute_script("return document.getElementById('preview-json').textContent")
    printed = bridge_cli("--mappings", str(live.mappings), "preview", "stripe", str(payload))
    assert json.loads(shown) == json.loads(printed.stdout)
    shot(browser, screenshots, "playground")


def test_a_payload_with_markup_is_shown_as_text(browser, live, reevo, screenshots):
    seed(live, reevo)
    sign_in(browser, live.url, ADMIN_TOKEN)
    for path in ("/console/events", f"/console/events/stripe/{MARKUP_ID}"):
        browser.get(live.url + path)
        assert MARKUP in text(browser).replace("\n", "")
        assert browser.execute_script("return window.pwned === undefined")
        assert browser.find_elements(By.TAG_NAME, "img") == []
        assert browser.execute_script("return document.scripts.length") == 1  # console.js only
        try:
            opened = browser.switch_to.alert.text
        except NoAlertPresentException:
            opened = None
        assert opened is None, f"an alert opened: {opened}"
    shot(browser, screenshots, "event-markup")


def _post_from_the_page(browser, path: str, csrf: bool) -> int:
    """POST a form from the page's own origin and session, as a forged or a scripted request would."""
    return browser.execute_async_script("""
        const [path, csrf, done] = arguments;
        const body = new URLSearchParams();
        if (csrf) { body.set('csrf_token', document.querySelector('input[name=csrf_token]').value); }
        fetch(path, {method: 'POST', body, credentials: 'same-origin'}).then(r => done(r.status));
    """, path, csrf)


def test_a_replay_post_without_the_csrf_token_is_refused(browser, live, reevo):
    seed(live, reevo)
    (dead,) = live.deliveries("stripe", DEAD_ID)
    sign_in(browser, live.url, ADMIN_TOKEN)
    browser.get(f"{live.url}/console/events/stripe/{DEAD_ID}/replay")
    assert _post_from_the_page(browser, f"/console/events/stripe/{DEAD_ID}/replay", csrf=False) == 403
    assert live.store.get_delivery(dead.id).status == "dead"


def test_a_viewer_can_look_but_not_replay(browser, live, reevo, screenshots):
    seed(live, reevo)
    (dead,) = live.deliveries("stripe", DEAD_ID)
    sign_in(browser, live.url, VIEWER_TOKEN)
    assert "viewer · read-only" in browser.find_element(By.CSS_SELECTOR, ".top .role").text
    browser.get(f"{live.url}/console/events/stripe/{DEAD_ID}/replay")
    assert browser.find_element(By.ID, "would-replay").text == "1"
    assert browser.find_elements(By.ID, "confirm-replay") == []
    assert "read-only" in browser.find_element(By.ID, "read-only-note").text
    shot(browser, screenshots, "viewer-dry-run")
    assert _post_from_the_page(browser, f"/console/events/stripe/{DEAD_ID}/replay", csrf=True) == 403
    assert live.store.get_delivery(dead.id).status == "dead"


def test_live_mode_shows_new_events_as_they_arrive(browser, live, reevo):
    seed(live, reevo)
    sign_in(browser, live.url, ADMIN_TOKEN)
    browser.get(f"{live.url}/console/events?source=stripe")
    browser.find_element(By.ID, "live-toggle").click()
    wait(browser, lambda d: "live=1" in d.current_url, "live mode")
    before = rows(browser)
    post(live, "stripe", subscription("evt_console_live_0001"))
    wait(browser, lambda d: rows(d)[0] == "stripe:evt_console_live_0001", "the new event's row")
    assert rows(browser)[1:] == before
    assert "fresh" in browser.find_element(By.CSS_SELECTOR, "#event-rows tr").get_attribute("class")


NEW_ROUTE = f"""
  - name: customer-created
    when: "type == 'customer.created'"
    opportunity: {{id: "'{OPP}'"}}
    set:
      closed_lost_custom_detail: {{template: "New Stripe customer {{data.object.email}}"}}
"""


def test_fix_a_mapping_backtest_it_and_rebuild_an_ignored_event(browser, live, reevo, screenshots):
    seed(live, reevo)
    stripe = live.mappings / "stripe.yaml"
    stripe.write_text(stripe.read_text() + NEW_ROUTE)
    assert live.runtime.reload()["status"] == "reloaded"
    sign_in(browser, live.url, ADMIN_TOKEN)
    browser.get(f"{live.url}/console/mappings")
    browser.find_element(By.CSS_SELECTOR, "#source-stripe a[href*='backtest']").click()
    wait(browser, lambda d: d.find_elements(By.ID, "backtest-submit"), "the backtest form")
    submit = browser.find_element(By.ID, "backtest-submit")
    submit.click()
    wait(browser, staleness_of(submit), "the backtest's answer page to replace the form")
    result = wait(browser, lambda d: d.find_elements(By.ID, "backtest-result"), "the backtest")[0].text
    assert "customer-created" in result and "matches now" in result and IGNORED_ID in result
    assert browser.find_element(By.ID, "backtest-changed").text == "1"
    shot(browser, screenshots, "backtest")

    browser.get(f"{live.url}/console/events/stripe/{IGNORED_ID}")
    assert "yes" in browser.find_element(By.ID, "routes").text  # matches now, not matched then
    browser.find_element(By.ID, "rebuild-event").click()
    plan = wait(browser, lambda d: d.find_elements(By.ID, "rebuild-plan"), "the rebuild's dry run")[0].text
    assert "customer-created" in plan and "adds it" in plan and "New Stripe customer buyer@example.com" in plan
    assert live.deliveries("stripe", IGNORED_ID) == []  # a dry run changes nothing
    shot(browser, screenshots, "rebuild-dry-run")
    browser.find_element(By.ID, "confirm-rebuild").click()
    wait(browser, lambda d: d.find_elements(By.ID, "done"), "the rebuild's result")
    assert browser.find_element(By.ID, "rebuilt").text == "1"
    live.deliver()
    (delivery,) = live.deliveries("stripe", IGNORED_ID)
    assert delivery.status == "delivered"
    assert reevo.opportunity(OPP)["closed_lost_custom_detail"]["value"] == "New Stripe customer buyer@example.com"
