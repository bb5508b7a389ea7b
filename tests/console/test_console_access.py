"""Console access without a browser: on/off, sign-in, cookie, expiry, lockout, Bearer, CSRF, viewer, headers."""
import logging
import re
from html.parser import HTMLParser

from console_seed import ADMIN_TOKEN, VIEWER_TOKEN, DEAD_ID, MARKUP_ID, csrf_of, seed

PAGES = ("/console/events", "/console/issues", "/console/mappings", "/console/opportunities",
         "/console/mappings/playground", "/console/mappings/backtest")


def sign_in(client, token: str, base_url: str = "http://localhost", next_page: str | None = None):
    form = client.get("/console/sign-in", base_url=base_url)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)
    data = {"token": token, "nonce": nonce}
    if next_page:
        data["next"] = next_page
    return client.post("/console/sign-in", data=data, base_url=base_url)


def test_off_without_an_admin_token(make_bridge):
    bridge = make_bridge(BRIDGE_VIEWER_TOKEN=VIEWER_TOKEN)
    for path in PAGES + ("/console/sign-in", "/console/static/console.js"):
        response = bridge.client.get(path, headers={"Authorization": f"Bearer {VIEWER_TOKEN}"})
        assert response.status_code == 404, path


def test_every_page_asks_to_sign_in(console):
    for path in PAGES:
        response = console.client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/console/sign-in?next=")
    assert console.client.get("/console/events?fragment=rows").status_code == 401
    assert console.client.post("/console/events/stripe/x/replay").status_code == 401


def test_sign_in_sets_an_http_only_strict_expiring_cookie(console):
    response = sign_in(console.client, ADMIN_TOKEN, next_page="/console/issues")
    assert (response.status_code, response.headers["Location"]) == (303, "/console/issues")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("bridge_console="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console/" in cookie
    assert "Max-Age=28800" in cookie and "Secure" not in cookie
    assert console.client.get("/console/mappings").status_code == 200
    # Eight hours later the same cookie no longer works, whatever the browser keeps.
    console.clock.advance(8 * 3600 + 1)
    assert console.client.get("/console/mappings").status_code == 302


def test_the_cookie_is_secure_over_https(console):
    response = sign_in(console.client, ADMIN_TOKEN, base_url="https://localhost")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("bridge_console="))
    assert "Secure" in cookie


def test_sign_in_never_redirects_off_the_console(console):
    for target in ("https://evil.example/", "//evil.example/console/", "/admin/deliveries", "/console/\\evil"):
        response = sign_in(console.client, ADMIN_TOKEN, next_page=target)
        assert response.headers["Location"] == "/console/events", target


def test_sign_in_needs_the_form_it_was_given(console):
    response = console.client.post("/console/sign-in", data={"token": ADMIN_TOKEN})
    assert response.status_code == 403
    assert "bridge_console=" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_wrong_tokens_are_logged_and_then_locked_out(console, caplog):
    caplog.set_level(logging.WARNING, logger="bridge.console")
    for _ in range(5):
        assert sign_in(console.client, "guess").status_code == 401
    sixth = sign_in(console.client, "guess-again")
    assert (sixth.status_code, sixth.headers["Retry-After"]) == (401, "2")
    # Locked out: even the right token is not checked until the wait is over.
    locked = sign_in(console.client, ADMIN_TOKEN)
    assert (locked.status_code, locked.headers["Retry-After"]) == (429, "2")
    console.clock.advance(2)
    assert sign_in(console.client, ADMIN_TOKEN).status_code == 303
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged.count("console sign-in failed: wrong token") == 6
    assert "console sign-in refused: too many wrong tokens" in logged
    assert "guess" not in caplog.text and ADMIN_TOKEN not in caplog.text


def test_lockouts_double_and_are_per_client(console):
    for _ in range(9):
        response = sign_in(console.client, "guess")
        console.clock.advance(float(response.headers.get("Retry-After", 0)))
    assert response.headers["Retry-After"] == "16"  # 2, 4, 8, 16 after the five free tries
    other = console.app.test_client()
    form = other.get("/console/sign-in", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)
    answer = other.post("/console/sign-in", data={"token": ADMIN_TOKEN, "nonce": nonce},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert answer.status_code == 303


def test_a_bearer_token_reads_pages_without_a_session(console):
    for token in (ADMIN_TOKEN, VIEWER_TOKEN):
        response = console.client.get("/console/mappings", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    wrong = console.client.get("/console/mappings", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 302


def test_security_headers_on_every_answer(console):
    sign_in(console.client, ADMIN_TOKEN)
    for path in PAGES + ("/console/sign-in",):
        headers = console.client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"


class InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts, styles, handlers."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if (tag == "script" and "src" not in names) or tag == "style":
            self.found.append(tag)
        self.found += [f"{tag}[{name}]" for name in names if name == "style" or name.startswith("on")]


def test_pages_have_no_inline_script_or_style(console, reevo):
    seed(console, reevo)
    sign_in(console.client, ADMIN_TOKEN)
    for path in PAGES + (f"/console/events/stripe/{DEAD_ID}", f"/console/events/stripe/{MARKUP_ID}"):
        parser = InlineCode()
        parser.feed(console.client.get(path).text)
        assert parser.found == [], path


def test_a_replay_without_its_csrf_token_is_refused(console, reevo):
    seed(console, reevo)
    sign_in(console.client, ADMIN_TOKEN)
    (dead,) = console.deliveries("stripe", DEAD_ID)
    for form in ({}, {"csrf_token": "forged"}):
        response = console.client.post(f"/console/events/stripe/{DEAD_ID}/replay", data=form)
        assert (response.status_code, response.headers["X-Console-Reason"]) == (403, "csrf_failed")
    assert console.store.get_delivery(dead.id).status == "dead"
    token = csrf_of(console.client.get(f"/console/events/stripe/{DEAD_ID}/replay").text)
    done = console.client.post(f"/console/events/stripe/{DEAD_ID}/replay", data={"csrf_token": token})
    assert done.status_code == 200
    assert console.store.get_delivery(dead.id).status == "queued"


def test_a_viewer_looks_but_cannot_replay_or_rebuild(console, reevo):
    seed(console, reevo)
    sign_in(console.client, VIEWER_TOKEN)
    (dead,) = console.deliveries("stripe", DEAD_ID)
    dry_run = console.client.get(f"/console/events/stripe/{DEAD_ID}/replay")
    assert dry_run.status_code == 200 and 'id="confirm-replay"' not in dry_run.text
    token = csrf_of(console.client.get("/console/mappings").text)
    for path in (f"/console/events/stripe/{DEAD_ID}/replay", f"/console/events/stripe/{DEAD_ID}/rebuild"):
        response = console.client.post(path, data={"csrf_token": token})
        assert (response.status_code, response.headers["X-Console-Reason"]) == (403, "read_only"), path
    group = {"source": "stripe", "route": dead.route, "reason": "invalid_field_value", "csrf_token": token}
    assert console.client.post("/console/issues/replay", data=group).status_code == 403
    assert console.store.get_delivery(dead.id).status == "dead"


def test_a_script_acts_with_bearer_and_the_csrf_token_its_pages_show(console, reevo):
    seed(console, reevo)
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    page = console.client.get(f"/console/events/stripe/{DEAD_ID}/replay", headers=auth)
    refused = console.client.post(f"/console/events/stripe/{DEAD_ID}/replay", headers=auth)
    assert refused.status_code == 403
    done = console.client.post(f"/console/events/stripe/{DEAD_ID}/replay", headers=auth,
                               data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200


def _session_cookie(response) -> str:
    header = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("bridge_console="))
    return header.split(";", 1)[0].split("=", 1)[1]


def test_every_worker_honours_a_session_and_a_new_token_ends_it(make_bridge):
    """Two apps with the same tokens stand for two gunicorn workers (or replicas): no shared state needed."""
    first, second = (make_bridge(BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN) for _ in range(2))
    cookie = _session_cookie(sign_in(first.client, ADMIN_TOKEN))
    second.client.set_cookie("bridge_console", cookie, path="/console/")
    assert second.client.get("/console/mappings").status_code == 200
    rotated = make_bridge(BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN + "-rotated")
    rotated.client.set_cookie("bridge_console", cookie, path="/console/")
    assert rotated.client.get("/console/mappings").status_code == 302


def test_a_viewer_session_ends_when_the_viewer_token_is_unset(make_bridge):
    with_viewer = make_bridge(BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN, BRIDGE_VIEWER_TOKEN=VIEWER_TOKEN)
    cookie = _session_cookie(sign_in(with_viewer.client, VIEWER_TOKEN))
    without = make_bridge(BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN)
    without.client.set_cookie("bridge_console", cookie, path="/console/")
    assert without.client.get("/console/mappings").status_code == 302
    assert sign_in(without.client, VIEWER_TOKEN).status_code == 401
