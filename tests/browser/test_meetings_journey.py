"""A secretary schedules and publishes a meeting; a liaison proposes a topic and replies;
the secretary signs units in; the invite downloads and parses, in a real Chromium."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from models import Attendance, Meeting, MeetingStatus, Reply, Topic, db
from tests.browser.helpers import log_in, log_out, screenshot

pytestmark = pytest.mark.browser
SH = ZoneInfo("Asia/Shanghai")
TITLE = "冬季安全生产共建联席会议"


def test_schedule_publish_reply_topic_sign_in_and_invite(page, live_server, world, app, make_unit, tmp_path):
    base = live_server
    third = make_unit(name="青年路便民超市", liaison_name="钱经理")
    day = (datetime.now(SH) + timedelta(days=8)).date()

    # The secretary schedules the meeting with an agenda and three invited units.
    log_in(page, base, "secretary1")
    page.get_by_role("link", name="联席会议").first.click()
    page.get_by_role("link", name="安排会议").click()
    page.get_by_label("会议名称").fill(TITLE)
    page.get_by_label("日期").fill(day.isoformat())
    page.get_by_label("开始时间").fill("14:00")
    page.get_by_label("结束时间").fill("16:00")
    page.get_by_label("第1项议题").fill("冬季消防安全联合检查")
    page.get_by_label("第1项分钟").fill("40")
    page.get_by_label("第1项汇报单位").select_option(label="东大街第一小学")
    page.get_by_label("第2项议题").fill("供暖保障共建")
    page.get_by_label("第2项分钟").fill("30")
    for name in ("东大街第一小学", "市第三人民医院", "青年路便民超市"):
        page.get_by_label(name, exact=False).check()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_contain_text("会议已保存为草稿")
    expect(page.locator("#meeting-status")).to_have_text("草稿")
    expect(page.locator("#agenda")).to_contain_text("冬季消防安全联合检查")
    expect(page.locator("#invitations tbody tr")).to_have_count(3)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="发布并发送邀请").click()
    expect(page.locator("#meeting-status")).to_have_text("已发布")
    meeting_url = page.url
    screenshot(page, "meeting-published")
    log_out(page, base)

    # A liaison proposes a topic and replies.
    log_in(page, base, "liaison_a")
    expect(page.locator("#owed-replies")).to_contain_text(TITLE)
    page.locator("#owed-replies").get_by_role("link", name=TITLE).click()
    page.get_by_label("议题", exact=True).fill("校园周边交通疏导")
    page.get_by_label("希望得到的支持与合作").fill("请派出所在放学时段协助")
    page.get_by_role("button", name="提交议题").click()
    expect(page.get_by_role("alert")).to_contain_text("议题已提交")
    page.get_by_label("委派代表参加").check()
    page.get_by_label("代表姓名").fill("李明")
    page.get_by_label("代表职务").fill("副校长")
    page.get_by_role("button", name="提交回复").click()
    expect(page.get_by_role("alert")).to_contain_text("回复已提交")
    expect(page.locator("#my-reply")).to_contain_text("委派代表参加")
    log_out(page, base)

    # The secretary puts the topic on the agenda.
    log_in(page, base, "secretary1")
    page.goto(meeting_url)
    page.get_by_role("button", name="列入议程").click()
    expect(page.locator("#agenda")).to_contain_text("校园周边交通疏导")

    # Time passes: the meeting starts, and the secretary signs units in.
    with app.app_context():
        m = db.session.scalar(select(Meeting).where(Meeting.title == TITLE))
        duration = m.end_at - m.start_at
        m.start_at = datetime.now(SH) - timedelta(minutes=10)
        m.end_at = m.start_at + duration
        db.session.commit()
    page.goto(meeting_url)
    page.get_by_label("东大街第一小学签到").select_option(label="出席")
    page.get_by_label("市第三人民医院签到").select_option(label="请假缺席")
    page.get_by_label("青年路便民超市签到").select_option(label="无故缺席")
    page.get_by_role("button", name="保存签到").click()
    expect(page.get_by_role("alert")).to_contain_text("签到已保存")

    # The invite downloads and parses.
    with page.expect_download() as info:
        page.get_by_role("link", name="下载日历邀请（.ics）").click()
    path = tmp_path / "invite.ics"
    info.value.save_as(path)
    cal = Calendar.from_ical(path.read_bytes())
    assert str(cal["METHOD"]) == "REQUEST"
    event = cal.walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == TITLE
    assert len(event.get("ATTENDEE")) == 3
    assert "校园周边交通疏导" in str(event["DESCRIPTION"])
    assert page.console.problems() == []

    with app.app_context():
        m = db.session.scalar(select(Meeting).where(Meeting.title == TITLE))
        assert m.status == MeetingStatus.SCHEDULED
        marks = {inv.unit.name: inv.attendance for inv in m.invitations}
        assert marks == {
            "东大街第一小学": Attendance.PRESENT,
            "市第三人民医院": Attendance.ABSENT_LEAVE,
            "青年路便民超市": Attendance.ABSENT_NO_LEAVE,
        }
        reply = next(inv for inv in m.invitations if inv.unit_id == world.unit_a)
        assert (reply.reply, reply.delegate_name) == (Reply.DELEGATE, "李明")
        assert db.session.scalar(select(Topic.status)).value == "accepted"
        assert third in {inv.unit_id for inv in m.invitations}
