"""Opening hours, the Chinese audit log, the resident's privacy and the 资源对接 panel, in a browser,
at desktop (1366 px) and phone (390 px) width."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Resource, ResourceKind, Room, db
from tests.browser.helpers import click_and_confirm, log_in, log_out, screenshot
from tests.test_needs import RESIDENT, new_need

pytestmark = pytest.mark.browser

SH = ZoneInfo("Asia/Shanghai")
WIDTHS = {"desktop": 1366, "phone": 390}


def _weekday(iso_weekday: int, hour: int) -> str:
    day = (datetime.now(SH) + timedelta(days=7)).date()
    day += timedelta(days=(iso_weekday - day.isoweekday()) % 7)
    return datetime.combine(day, time(hour, 0), SH).strftime("%Y-%m-%dT%H:%M")


def _both_widths(page, name: str) -> None:
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{label}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": 1366, "height": 900})


def test_hours_on_forms_pages_and_booking_refusal(page, live_server, world, app):
    base = live_server
    log_in(page, base, "liaison_a")
    page.goto(f"{base}/resources/new")
    page.get_by_label("资源类别", exact=True).select_option(label="场地")
    page.get_by_label("资源名称", exact=True).fill("第一小学多功能厅")
    page.get_by_label("开放预约（场地、设施设备可在线申请使用）").check()
    page.get_by_label("每天开放").fill("08:30")
    page.locator("#closes_at").fill("17:30")
    for day in ("星期六", "星期日"):
        page.locator("#opening-hours").get_by_text(day, exact=True).click()
    _both_widths(page, "resource-form-hours")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(base)}/resources/\d+$"))
    expect(page.locator("#opening-hours")).to_have_text("星期一至星期五 08:30–17:30")
    resource_id = int(page.url.rsplit("/", 1)[1])
    with app.app_context():
        r = db.session.get(Resource, resource_id)
        assert (r.opens_at, r.closes_at, r.open_days) == (time(8, 30), time(17, 30), "12345")
    log_out(page, base)

    # Another unit asks for a Saturday: refused with the reason, what they typed kept.
    log_in(page, base, "liaison_c")
    page.goto(f"{base}/resources/{resource_id}")
    expect(page.locator("#booking-form")).to_contain_text("开放时间：星期一至星期五 08:30–17:30")
    page.get_by_label("开始时间").fill(_weekday(6, 9))
    page.get_by_label("结束时间").fill(_weekday(6, 11))
    page.get_by_label("用途").fill("派出所警民联欢会，约 60 人")
    page.get_by_role("button", name="提交预约申请").click()
    expect(page.locator("#booking-form")).to_contain_text("星期六不开放")
    expect(page.get_by_label("用途")).to_have_value("派出所警民联欢会，约 60 人")
    _both_widths(page, "booking-refused-hours")
    log_out(page, base)

    # The community sets its room's hours; the room page shows them.
    with app.app_context():
        room_id = db.session.scalar(select(Room.id).where(Room.community_id == world.community1))
    log_in(page, base, "secretary1")
    page.goto(f"{base}/rooms/{room_id}")
    page.get_by_role("link", name="修改会议室与开放时间").click()
    page.get_by_label("每天开放").fill("08:30")
    page.locator("#closes_at").fill("20:00")
    page.locator("#opening-hours").get_by_text("星期日", exact=True).click()
    _both_widths(page, "room-form-hours")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#opening-hours")).to_contain_text("星期一至星期六 08:30–20:00")
    _both_widths(page, "room-page-hours")
    page.goto(f"{base}/rooms")
    expect(page.locator("#rooms")).to_contain_text("星期一至星期六 08:30–20:00")
    _both_widths(page, "rooms-hours")


def test_audit_log_reads_as_chinese_for_admin_and_archivist(page, live_server, world, app):
    base = live_server
    log_in(page, base, "admin")
    page.goto(f"{base}/units/{world.unit_a}/edit")
    page.get_by_label("地址", exact=True).fill("青年路 1 号\n东门")
    page.get_by_label("所属社区", exact=True).select_option(label="和平里社区")
    page.get_by_role("button", name="保存").click()
    page.goto(f"{base}/admin/audit?object_type=unit")
    log = page.locator("#audit-log")
    expect(log).to_contain_text("所属社区")
    expect(log).to_contain_text("青年路社区")
    expect(log).to_contain_text("和平里社区")
    expect(log).not_to_contain_text("community_id")
    _both_widths(page, "audit-admin")
    log_out(page, base)

    log_in(page, base, "archivist")
    page.locator("#mainnav").get_by_role("link", name="操作日志").click()
    expect(page.get_by_role("heading", name="操作日志")).to_be_visible()
    expect(page.locator("#audit-log")).to_contain_text("登录")
    _both_widths(page, "audit-archivist")


def test_resident_appears_after_confirmation_and_panel_is_coherent(
    page,
    live_server,
    world,
    app,
    make_resource,
):
    base = live_server
    need = new_need(app, world, title="独居老人家里换一个水龙头")
    make_resource(
        kind=ResourceKind.VOLUNTEER,
        title="和平里派出所志愿队",
        owner_unit_id=world.unit_c,
        community_id=world.community2,
        bookable=False,
        capacity=None,
    )
    log_in(page, base, "secretary1")
    page.goto(f"{base}/needs/{need}")
    page.locator("#matches").get_by_role("button", name="推荐对接").click()
    expect(page.locator("#matches")).to_contain_text("已推荐的资源")
    expect(page.locator("#matches")).to_contain_text("除上面已推荐的资源外，暂无其他符合条件的资源。")
    _both_widths(page, "need-matches")
    log_out(page, base)

    log_in(page, base, "liaison_a")
    page.goto(f"{base}/needs/{need}")
    click_and_confirm(page, page.get_by_role("button", name="为本单位认领"))
    expect(page.locator("#resident-pending")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(RESIDENT)
    _both_widths(page, "need-claimed-pending")
    log_out(page, base)

    log_in(page, base, "secretary1")
    page.goto(f"{base}/needs/{need}")
    page.get_by_role("button", name="确认认领").click()
    log_out(page, base)
    log_in(page, base, "liaison_a")
    page.goto(f"{base}/needs/{need}")
    expect(page.locator("#resident")).to_contain_text(RESIDENT)
    _both_widths(page, "need-claim-confirmed")


def test_calendar_month_out_of_range_falls_back_with_a_message(page, live_server, world):
    base = live_server
    log_in(page, base, "secretary1")
    page.goto(f"{base}/meetings/calendar?month=9999-12")
    expect(page.get_by_role("alert")).to_contain_text("月份须在 1900 年到 2100 年之间。已显示本月。")
    expect(page.locator("#month-grid")).to_be_visible()
    _both_widths(page, "calendar-out-of-range")
