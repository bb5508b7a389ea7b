"""The console's fixtures: a bridge with console tokens, served over real HTTP, and headless Chromium.

The browser is Debian's `chromium` driven by Debian's `chromium-driver` through Selenium
(`make test` installs both); nothing is downloaded. One browser serves the whole session;
each test gets a fresh bridge on a free port and starts with no cookies.
"""
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from console_seed import ADMIN_TOKEN, VIEWER_TOKEN
from helpers import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def console(make_bridge, tmp_path):
    """A bridge with the console on (admin and viewer tokens), its own copy of the shipped mappings."""
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", folder)
    bridge = make_bridge(BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN, BRIDGE_VIEWER_TOKEN=VIEWER_TOKEN,
                         BRIDGE_MAPPINGS_DIR=folder)
    bridge.mappings = folder
    return bridge


class LiveServer:
    """The bridge's WSGI app on a free 127.0.0.1 port, in a thread, for the browser."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def live(console):
    with LiveServer(console.app) as server:
        console.url = server.url
        yield console


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """Headless Chromium with a fresh profile; quit at the end of the session."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), \
        "chromium and chromium-driver are missing: `make test` installs them (scripts/ensure-packages)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium, live):
    """The session's browser, pointed at this test's bridge with no cookies left from other tests."""
    chromium.get(f"{live.url}/console/static/console.css")
    chromium.delete_all_cookies()
    chromium.set_window_size(1400, 1000)
    return chromium


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where screenshots go: $CONSOLE_SCREENSHOTS (e.g. docs/ to refresh the README's) or a temporary folder."""
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
