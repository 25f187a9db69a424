"""Going live without the demo: from an empty database, `flask create-user` makes the system
administrator; the web UI then leads through places, a room, a secretary's account and the
first unit, to the first published meeting and its invite (issue 10, point 5)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import func, select

from models import Meeting, MeetingStatus, Street, User, db
from tests.browser.helpers import click_and_confirm, log_in, log_out, screenshot

pytestmark = pytest.mark.browser
SH = ZoneInfo("Asia/Shanghai")
CHIEF_PASSWORD = "东大街党工委上线口令"
SECRETARY_PASSWORD = "青年路社区书记口令"


def _add_place(page, label: str, name: str) -> None:
    """Fill the page's "新增…" form for the level below and open the new place."""
    page.get_by_label(f"{label}名称", exact=True).fill(name)
    page.get_by_role("button", name="新增", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text(f"已新增{label}“{name}”")
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.locator("h1")).to_contain_text(name)


def test_from_an_empty_install_to_the_first_published_meeting(page, live_server, app):
    base = live_server
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        assert db.session.scalar(select(func.count()).select_from(Street)) == 0
    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--username",
            "chief",
            "--display-name",
            "街道党工委书记",
            "--password",
            CHIEF_PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "系统管理员" in result.output

    # The dashboard lists the steps to go live, none done.
    log_in(page, base, "chief", CHIEF_PASSWORD)
    expect(page.locator("#setup")).to_be_visible()
    expect(page.locator("#setup .badge")).to_have_count(0)
    screenshot(page, "going-live-dashboard")

    # Places: a city, a district, a street, a community.
    page.locator("#setup-places").get_by_role("link", name="去完成").click()
    expect(page).to_have_url(f"{base}/places")
    _add_place(page, "市", "西宁市")
    _add_place(page, "区", "城东区")
    _add_place(page, "街道", "东大街街道")
    _add_place(page, "社区", "青年路社区")
    # Its meeting room, with its size, equipment and hours.
    page.get_by_role("link", name="新增会议室").click()
    page.get_by_label("会议室名称").fill("青年路社区共驻共建会议室")
    page.get_by_label("容纳人数").fill("40")
    page.get_by_label("设备", exact=True).fill("投影仪、话筒")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").first).to_contain_text("已新增会议室“青年路社区共驻共建会议室”")
    expect(page.locator("#equipment")).to_contain_text("投影仪、话筒")

    # The community's secretary.
    page.goto(f"{base}/")
    expect(page.locator("#setup-places .badge")).to_have_text("已完成")
    expect(page.locator("#setup-rooms .badge")).to_have_text("已完成")
    page.locator("#setup-users").get_by_role("link", name="去完成").click()
    page.get_by_label("用户名").fill("qnl-shuji")
    page.get_by_label("姓名").fill("刘芳")
    page.get_by_label("角色").select_option(label="社区书记")
    page.get_by_label("所属社区（社区书记）").select_option(label="青年路社区")
    page.get_by_label("初始密码").fill(SECRETARY_PASSWORD)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").first).to_contain_text("已创建用户“qnl-shuji”")

    # The first unit.
    page.goto(f"{base}/")
    page.locator("#setup-units").get_by_role("link", name="去完成").click()
    page.get_by_label("单位名称").fill("东大街第一小学")
    page.get_by_label("单位类别").select_option(label="学校")
    page.get_by_label("所属社区").select_option(label="青年路社区")
    page.get_by_label("联络人").fill("王丽华")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记单位“东大街第一小学”")
    page.goto(f"{base}/")
    expect(page.locator("#setup-meeting a")).to_be_visible()
    screenshot(page, "going-live-dashboard-four-done")
    log_out(page, base)

    # The secretary schedules and publishes the first meeting.
    log_in(page, base, "qnl-shuji", SECRETARY_PASSWORD)
    page.goto(f"{base}/meetings/new")
    day = (datetime.now(SH) + timedelta(days=7)).date()
    page.get_by_label("会议名称").fill("青年路社区第一次共驻共建联席会议")
    page.get_by_label("日期").fill(day.isoformat())
    page.get_by_label("开始时间").fill("14:00")
    page.get_by_label("结束时间").fill("16:00")
    page.get_by_label("东大街第一小学", exact=False).check()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").first).to_contain_text("会议已保存为草稿")
    click_and_confirm(page, page.get_by_role("button", name="发布并发送邀请"))
    expect(page.locator("#meeting-status")).to_have_text("已发布")
    meeting_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    invite = page.request.get(f"{base}/meetings/{meeting_id}/invite.ics")
    assert invite.ok
    [event] = Calendar.from_ical(invite.body()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "青年路社区第一次共驻共建联席会议"
    assert "青年路社区共驻共建会议室" in str(event["LOCATION"])
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == MeetingStatus.SCHEDULED
    log_out(page, base)

    # Every step done: the guide is gone.
    log_in(page, base, "chief", CHIEF_PASSWORD)
    expect(page.locator("#setup")).to_have_count(0)
