"""A liaison publishes a venue, another unit books it, the owner approves, a clashing request is refused."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Booking, BookingStatus, Resource, db
from tests.browser.helpers import log_in, log_out, screenshot

pytestmark = pytest.mark.browser

VENUE = "东大街第一小学风雨操场"


def _local(days: int, hour: int) -> str:
    sh = ZoneInfo("Asia/Shanghai")
    day = (datetime.now(sh) + timedelta(days=days)).date()
    return datetime.combine(day, time(hour, 0), sh).strftime("%Y-%m-%dT%H:%M")


def test_publish_book_approve_and_refuse_a_clash(page, live_server, world, app):
    base = live_server

    # The school's liaison publishes its playground as a bookable venue.
    log_in(page, base, "liaison_a")
    page.locator("#mainnav").get_by_role("link", name="资源清单").click()
    expect(page).to_have_url(f"{base}/resources")
    page.get_by_role("link", name="发布资源").click()
    expect(page.get_by_role("heading", name="发布资源")).to_be_visible()
    page.get_by_label("资源类别", exact=True).select_option(label="场地")
    page.get_by_label("资源名称", exact=True).fill(VENUE)
    page.get_by_label("资源说明", exact=True).fill("标准篮球场两块，带风雨棚，可开展群众性体育活动。")
    page.get_by_label("容纳人数", exact=True).fill("200")
    page.get_by_label("开放时间说明", exact=True).fill("周末及节假日 8:00—18:00")
    page.get_by_label("联系人", exact=True).fill("赵老师")
    page.get_by_label("联系电话", exact=True).fill("010-6512 8899")
    page.get_by_label("开放预约（场地、设施设备可在线申请使用）").check()
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(base)}/resources/\d+$"))
    expect(page.get_by_role("alert")).to_contain_text(f"已发布资源“{VENUE}”")
    resource_id = int(page.url.rsplit("/", 1)[1])
    with app.app_context():
        r = db.session.get(Resource, resource_id)
        assert (r.owner_unit_id, r.bookable, r.capacity) == (world.unit_a, True, 200)
    log_out(page, base)

    # The police station (another community) finds it and asks for Saturday afternoon.
    log_in(page, base, "liaison_c")
    page.goto(f"{base}/resources")
    page.get_by_role("searchbox").fill("风雨操场")
    page.get_by_role("searchbox").press("Enter")
    page.get_by_role("link", name=VENUE).click()
    page.get_by_label("开始时间").fill(_local(3, 14))
    page.get_by_label("结束时间").fill(_local(3, 17))
    page.get_by_label("用途").fill("警民篮球友谊赛，约 60 人")
    page.get_by_role("button", name="提交预约申请").click()
    expect(page.get_by_role("alert")).to_contain_text("已提交预约申请")
    expect(page.locator("main")).to_contain_text("待审批")
    screenshot(page, "booking-requested")
    log_out(page, base)

    # The school's liaison sees it on the dashboard and approves it.
    log_in(page, base, "liaison_a")
    panel = page.locator("#pending-bookings")
    expect(panel).to_contain_text(VENUE)
    expect(panel).to_contain_text("和平里派出所")
    panel.get_by_role("link", name="去处理").click()
    expect(page).to_have_url(f"{base}/bookings?tab=todo")
    page.locator("#bookings").get_by_role("button", name="同意").click()
    expect(page.get_by_role("alert")).to_contain_text("已同意和平里派出所的预约申请")
    with app.app_context():
        [b] = db.session.scalars(select(Booking)).all()
        assert b.status == BookingStatus.APPROVED
    log_out(page, base)

    # The hospital asks for an overlapping slot, on a phone: refused, with the clash and the next free slot.
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, base, "liaison_b")
    page.goto(f"{base}/resources/{resource_id}")
    page.get_by_label("开始时间").fill(_local(3, 16))
    page.get_by_label("结束时间").fill(_local(3, 18))
    page.get_by_label("用途").fill("职工健步走")
    page.get_by_role("button", name="提交预约申请").click()
    form = page.locator("#booking-form")
    expect(form).to_contain_text("在该时段已预约给和平里派出所")
    expect(form).to_contain_text("最近的空闲时段从")
    expect(form).to_contain_text("17:00 开始")
    expect(page.get_by_label("用途")).to_have_value("职工健步走")  # nothing typed is lost
    screenshot(page, "booking-clash-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # no sideways scrolling on a phone
    with app.app_context():
        assert len(db.session.scalars(select(Booking)).all()) == 1
    assert page.console.problems(expected_status=(400,)) == []
