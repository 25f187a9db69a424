"""Every page the app serves, for every persona, at desktop and phone width, passes axe-core's
WCAG 2.0/2.1 A and AA rules — filled (the access matrix's world: meetings in every state,
minutes, actions, resources, bookings, needs), refused (403) and missing (404).

The pages are the rows of the access matrix (tests/test_access.py), so a new page is checked as
soon as it has its row. HTML only: downloads (PDF, ics, xlsx, zip, photos) and the JSON API are
not pages. The markup does not depend on the database, so this runs on SQLite only.
"""

from __future__ import annotations

import pytest

from tests.browser.axe import AxeWatch, axe_verdict
from tests.browser.helpers import log_in
from tests.test_access import LOGIN, MATRIX, PERSONAS, _build_world

WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
ERROR_PAGES_PER_STATUS = 2  # the 403 and 404 pages are one template each: a couple of each


def _pages(world, persona: str) -> list[tuple[str, int]]:
    """(url, expected status) of every GET page the matrix lists for the persona."""
    ids = dict(vars(world))
    user_id = getattr(world, persona, None)
    seen: set[str] = set()
    errors: dict[int, int] = {}
    out = []
    for row in MATRIX:
        if row.method != "GET" or row.api or "{batch}" in row.url:
            continue
        status = row.status(persona)
        if status == LOGIN or status not in (200, 403, 404):
            continue
        if status != 200:
            if errors.get(status, 0) >= ERROR_PAGES_PER_STATUS:
                continue
            errors[status] = errors.get(status, 0) + 1
        url = row.url.format(**ids, me=user_id or 0)
        if url not in seen:
            seen.add(url)
            out.append((url, status))
    return out


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_passes_axe(browser, live_server, app, postgres, request, persona, width):
    if postgres is not None:
        pytest.skip("the same markup as on SQLite, where it is checked")
    world = _build_world(app)
    context = browser.new_context(
        reduced_motion="reduce", locale="zh-CN", viewport=WIDTHS[width], is_mobile=width == "phone"
    )
    context.set_default_timeout(10000)
    watch = AxeWatch(context)
    page = context.new_page()
    try:
        if persona == "anonymous":
            page.goto(f"{live_server}/login")
            watch.loaded(page)
        else:
            log_in(page, live_server, persona)
            watch.loaded(page)
        checked = 0
        for url, status in _pages(world, persona):
            probe = context.request.get(live_server + url, max_redirects=0)
            if probe.status != status or not probe.headers.get("content-type", "").startswith("text/html"):
                continue
            page.goto(live_server + url)
            watch.loaded(page)
            checked += 1
        print(f"{persona} {width}: {checked} pages, {watch.pages} audits")
        assert checked >= (1 if persona == "anonymous" else 10)
        axe_verdict(watch, page, request.node.nodeid)
    finally:
        context.close()
