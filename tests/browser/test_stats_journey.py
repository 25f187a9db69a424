"""The dashboard end of the 微心愿 journey: a need is fulfilled and the street figures change."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from models import Need, NeedStatus, ResourceKind, db
from tests.browser.axe import AxeWatch, axe_verdict
from tests.browser.helpers import log_in, screenshot

pytestmark = pytest.mark.browser

SH = ZoneInfo("Asia/Shanghai")


def _figure(page, community_id: int, name: str):
    return page.locator(f'#community-figures tr[data-community="{community_id}"] [data-figure="{name}"]')


def test_fulfilled_wish_changes_the_dashboard(page, live_server, world, app):
    base = live_server
    with app.app_context():
        need = Need(
            street_id=world.street,
            community_id=world.community1,
            kind=ResourceKind.VOLUNTEER,
            is_wish=True,
            title="为独居老人更换门锁",
            resident_name="张奶奶",
        )
        db.session.add(need)
        db.session.commit()
        need_id = need.id

    log_in(page, base, "secretary1")
    page.locator("#mainnav").get_by_role("link", name="共建概况").click()
    expect(page).to_have_url(f"{base}/stats")
    expect(page.get_by_role("heading", level=1)).to_contain_text("共建概况")
    own = page.locator("#community-figures tr.own-community")
    expect(own).to_contain_text("青年路社区")
    expect(own).to_contain_text("本社区")
    expect(_figure(page, world.community1, "needs_open")).to_have_text("1")
    expect(_figure(page, world.community1, "needs_fulfilled")).to_have_text("0")
    expect(page.locator("#total-needs-fulfilled")).to_have_text("0")
    expect(page.locator("#chart-sharing svg")).to_be_visible()
    screenshot(page, "stats-before")

    # The unit claims and fulfils the wish (straight in the database: the needs board has its own journey).
    with app.app_context():
        need = db.session.get(Need, need_id)
        need.status = NeedStatus.FULFILLED
        need.claimed_unit_id = world.unit_a
        need.claimed_at = need.fulfilled_at = datetime.now(SH)
        need.fulfilment_note = "已上门更换门锁。"
        db.session.commit()

    page.reload()
    expect(_figure(page, world.community1, "needs_open")).to_have_text("0")
    expect(_figure(page, world.community1, "needs_fulfilled")).to_have_text("1")
    expect(page.locator("#total-needs-fulfilled")).to_have_text("1")
    expect(page.locator("#chart-sharing svg rect > title").first).to_have_text("青年路 完成需求：1")

    # The unit earns its points: +3 in this year's ranking, with the wish behind them.
    page.locator("#mainnav").get_by_role("link", name="积分排行").click()
    row = page.locator("#ranking tbody tr").first
    expect(row).to_contain_text("东大街第一小学")
    expect(row.locator("td").last).to_have_text("3")
    page.goto(f"{base}/stats/points/units/{world.unit_a}")
    expect(page.locator("#point-events")).to_contain_text("为独居老人更换门锁")
    expect(page.locator("#points-total")).to_have_text("3")

    # A bad period gets a message in Chinese, and the page still works.
    page.goto(f"{base}/stats")
    page.get_by_label("自定义：开始日期").fill("2026-06-01")
    page.get_by_label("结束日期").fill("2026-01-01")
    page.get_by_role("button", name="统计").click()
    expect(page.get_by_role("alert")).to_contain_text("开始日期不能晚于结束日期")
    assert page.console.problems(expected_status=(400,)) == []


def test_dashboard_fits_a_phone(browser, live_server, world, request):
    context = browser.new_context(
        reduced_motion="reduce", locale="zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    watch = AxeWatch(context)
    page = context.new_page()
    try:
        log_in(page, live_server, "admin")
        for path in ("/stats", "/stats/points", f"/stats/points/units/{world.unit_a}", "/stats/points/rules"):
            page.goto(f"{live_server}{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, overflow)
            watch.loaded(page)
        screenshot(page, "stats-phone")
        axe_verdict(watch, page, request.node.nodeid)
    finally:
        context.close()
