"""Every page the app serves, for every persona, at desktop and phone width, passes axe-core's
WCAG 2.0/2.1 A and AA rules — filled (the access matrix's world: meetings in every state,
minutes, actions, resources, bookings, needs), refused (403) and missing (404).

The pages are the rows of the access matrix (tests/test_access.py), so a new page is checked as
soon as it has its row. HTML only: downloads (PDF, ics, xlsx, zip, photos) and the JSON API are
not pages. The markup does not depend on the database, so this runs on SQLite only.
"""

from __future__ import annotations

from string import Formatter

import pytest

from models import City, District, Role, Street, User, db
from services.passwords import hash_password
from tests.browser.axe import AxeWatch, axe_verdict
from tests.browser.helpers import log_in
from tests.conftest import PASSWORD
from tests.test_access import LOGIN, MATRIX, PERSONAS, _build_world

WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
ERROR_PAGES_PER_STATUS = 2  # the 403 and 404 pages are one template each: a couple of each


def _pages(world, persona: str, user_id: int | None = None) -> list[tuple[str, int | None]]:
    """(url, expected status) of every GET page the matrix lists for the persona; for a persona
    the matrix has no column for, every page with the status unknown (None)."""
    ids = dict(vars(world))
    user_id = user_id or getattr(world, persona, None)
    seen: set[str] = set()
    errors: dict[int, int] = {}
    out = []
    for row in MATRIX:
        if row.method != "GET" or row.api or "{batch}" in row.url:
            continue
        needed = {name for _, name, _, _ in Formatter().parse(row.url) if name}
        if needed - set(ids) - {"me"}:
            continue  # a record this world does not have
        status = row.expect.get(persona) if persona in PERSONAS else None
        if status is not None and (status == LOGIN or status not in (200, 403, 404)):
            continue
        if status is not None and status != 200:
            if errors.get(status, 0) >= ERROR_PAGES_PER_STATUS:
                continue
            errors[status] = errors.get(status, 0) + 1
        url = row.url.format(**ids, me=user_id or 0)
        if url not in seen:
            seen.add(url)
            out.append((url, status))
    return out


def _crawl(browser, base: str, persona: str, width: str, pages, test: str) -> int:
    """Visit the pages as the persona at the width; fail on anything axe-core (or our own text
    and target rules) finds. Return the number of pages checked."""
    context = browser.new_context(
        reduced_motion="reduce", locale="zh-CN", viewport=WIDTHS[width], is_mobile=width == "phone"
    )
    context.set_default_timeout(10000)
    watch = AxeWatch(context)
    page = context.new_page()
    try:
        if persona == "anonymous":
            page.goto(f"{base}/login")
        else:
            log_in(page, base, persona)
        watch.loaded(page)
        checked = 0
        errors: dict[int, int] = {}
        for url, status in pages:
            probe = context.request.get(base + url, max_redirects=0)
            if not probe.headers.get("content-type", "").startswith("text/html"):
                continue
            if status is None:  # a persona outside the matrix: whatever the page answers
                if probe.status not in (200, 403, 404):
                    continue
                if probe.status != 200:
                    errors[probe.status] = errors.get(probe.status, 0) + 1
                    if errors[probe.status] > ERROR_PAGES_PER_STATUS:
                        continue
            elif probe.status != status:
                continue
            page.goto(base + url)
            watch.loaded(page)
            checked += 1
        axe_verdict(watch, page, test)
        return checked
    finally:
        context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_passes_axe(browser, live_server, app, postgres, request, persona, width):
    """Filled, refused and missing: the access matrix's world."""
    if postgres is not None:
        pytest.skip("the same markup as on SQLite, where it is checked")
    world = _build_world(app)
    checked = _crawl(browser, live_server, persona, width, _pages(world, persona), request.node.nodeid)
    assert checked >= (1 if persona == "anonymous" else 30)


def _add_street_admin_and_observer(app, world) -> dict[str, int]:
    """The roles the matrix has no column for: the street's own administrator, and the
    district's observer (上级党组织) above the street."""
    with app.app_context():
        city = City(name="西宁市")
        db.session.add(city)
        db.session.flush()
        district = District(city_id=city.id, name="城东区")
        db.session.add(district)
        db.session.flush()
        db.session.get(Street, world.street).district_id = district.id
        users = {
            "street_admin": User(
                username="street_admin", display_name="街道管理员", role=Role.ADMIN, street_id=world.street
            ),
            "district": User(
                username="district", display_name="区委组织部", role=Role.OBSERVER, district_id=district.id
            ),
        }
        for user in users.values():
            user.password_hash = hash_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
        return {name: user.id for name, user in users.items()}


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("persona", ["street_admin", "district"])
def test_every_page_passes_axe_for_the_other_roles(
    browser, live_server, app, postgres, request, persona, width
):
    """The street administrator and the district's observer, on every page of the matrix."""
    if postgres is not None:
        pytest.skip("the same markup as on SQLite, where it is checked")
    world = _build_world(app)
    ids = _add_street_admin_and_observer(app, world)
    pages = _pages(world, persona, ids[persona])
    checked = _crawl(browser, live_server, persona, width, pages, request.node.nodeid)
    assert checked >= 30


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("persona", ["admin", "secretary1", "liaison_a"])
def test_empty_lists_pass_axe(browser, live_server, world, postgres, request, persona, width):
    """Empty: a street with units and people but no meetings, actions, resources or needs yet —
    every page of the matrix that needs no record of its own."""
    if postgres is not None:
        pytest.skip("the same markup as on SQLite, where it is checked")
    pages = [(url, status) for url, status in _pages(world, persona) if status == 200]
    checked = _crawl(browser, live_server, persona, width, pages, request.node.nodeid)
    assert checked >= 10


ZOOM_PAGES = (
    "/",
    "/meetings",
    "/meetings/{scheduled}",
    "/meetings/{archived}/minutes",
    "/units",
    "/actions",
    "/resources",
    "/needs",
    "/stats",
    "/account",
)


@pytest.mark.parametrize("persona", ["admin", "secretary1"])
def test_text_at_200_percent_loses_nothing(browser, live_server, app, postgres, persona):
    """WCAG 1.4.4: with the text twice as large (the root font size doubled, as a reader's
    browser setting does), no page scrolls sideways and no text is cut off at 1366 px."""
    if postgres is not None:
        pytest.skip("the same markup as on SQLite, where it is checked")
    world = _build_world(app)
    context = browser.new_context(reduced_motion="reduce", locale="zh-CN", viewport=WIDTHS["desktop"])
    page = context.new_page()
    try:
        log_in(page, live_server, persona)
        problems = []
        for path in ZOOM_PAGES:
            page.goto(live_server + path.format(**vars(world)))
            # Through the CSSOM, which the pages' CSP allows (a style element it would not).
            page.evaluate("document.documentElement.style.setProperty('font-size', '200%', 'important')")
            found = page.evaluate(
                """() => {
                  const out = [];
                  if (document.documentElement.scrollWidth > window.innerWidth + 1)
                    out.push('page ' + document.documentElement.scrollWidth + ' px wide');
                  for (const el of document.querySelectorAll('main *, nav *')) {
                    const s = getComputedStyle(el);
                    if (!el.getClientRects().length || s.visibility === 'hidden') continue;
                    if (el.closest('.table-responsive, .chart-figure, .collapse:not(.show), .dropdown-menu, .visually-hidden')) continue;
                    if ((s.overflowX === 'hidden' || s.textOverflow === 'ellipsis') && el.scrollWidth > el.clientWidth + 1)
                      out.push('clipped: ' + el.outerHTML.slice(0, 120));
                  }
                  return out;
                }"""
            )
            problems += [f"{path}: {p}" for p in found]
        assert problems == [], "\n".join(problems[:20])
    finally:
        context.close()


def test_links_in_running_text_keep_the_lines_height_on_a_phone(page, live_server, world):
    """At 390 px a link that stands alone is a 44-px target; a link inside a sentence stays an
    inline link the height of its line (the inline exception), so the text keeps its rhythm."""
    page.set_viewport_size(WIDTHS["phone"])
    log_in(page, live_server, "liaison_a")
    page.goto(f"{live_server}/account")
    in_text = page.locator("main p").get_by_role("link", name="开放接口")
    alone = page.locator("main dd").get_by_role("link", name="东大街第一小学")
    assert in_text.evaluate("a => getComputedStyle(a).display") == "inline"
    assert in_text.bounding_box()["height"] < 30
    assert alone.evaluate("a => getComputedStyle(a).display") == "inline-flex"
    assert alone.bounding_box()["height"] >= 44


def test_the_audit_reports_what_it_finds(browser, live_server, world):
    """The checks above cannot pass by not looking: an image without alternative text and
    text under 12 px put on a page are reported."""
    context = browser.new_context(reduced_motion="reduce", locale="zh-CN", viewport=WIDTHS["desktop"])
    watch = AxeWatch(context)
    page = context.new_page()
    try:
        log_in(page, live_server, "secretary1")
        page.evaluate("() => window.__axeLoaded")
        assert watch.pages >= 1 and watch.found == {}
        page.evaluate(
            """() => {
              const main = document.querySelector('main');
              const img = document.createElement('img');
              img.src = '/static/favicon.svg';
              const tiny = document.createElement('p');
              tiny.style.fontSize = '10px';
              tiny.textContent = '小字';
              main.append(img, tiny);
            }"""
        )
        watch.check(page)
        rules = {rule for _, rule, _ in watch.found}
        assert {"image-alt", "text-under-12px"} <= rules, rules
    finally:
        context.close()
