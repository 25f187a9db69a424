"""Real-browser fixtures: the app on a live server, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.browser.axe import AxeWatch, axe_verdict

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# We run as root in a closed network: no sandbox, no GPU, nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Mark every test in this folder as a browser test."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_server(app):
    """Serve the test app (same database as `world`) on a free port; yield its base URL."""
    # A real browser sends the CSRF token, so check it as production does.
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server(host="127.0.0.1", port=0, app=app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(the browser tests need Debian's Chromium; never `playwright install`).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleWatch:
    """Console errors (CSP violations included) and uncaught exceptions seen by a page."""

    def __init__(self, page):
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))

    def _console(self, msg) -> None:
        if msg.type in ("error", "warning"):
            url = (msg.location or {}).get("url", "")
            self.messages.append(f"console.{msg.type}: {msg.text} [{url}]")

    def problems(self, expected_status: tuple[int, ...] = ()) -> list[str]:
        """Messages other than the browser's note about an expected error status."""
        allowed = tuple(f"status of {code} " for code in expected_status)
        return [
            m for m in self.messages if not ("Failed to load resource" in m and any(a in m for a in allowed))
        ]


@pytest.fixture
def page(browser, request):
    """A fresh context (cookies, downloads) and page per test; `page.console` collects problems,
    `page.axe` the accessibility violations on every page it loads (checked when the test ends)."""
    # Reduced motion: Bootstrap then opens and closes dialogs without a fade, so axe-core
    # never audits a dialog or backdrop half way through a transition.
    context = browser.new_context(
        accept_downloads=True,
        locale="zh-CN",
        viewport={"width": 1280, "height": 900},
        reduced_motion="reduce",
    )
    context.set_default_timeout(5000)
    watch = AxeWatch(context)
    page = context.new_page()
    page.console = ConsoleWatch(page)
    page.axe = watch
    yield page
    try:
        axe_verdict(watch, page, request.node.nodeid)
    finally:
        context.close()
