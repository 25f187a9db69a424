"""A secretary schedules and publishes a meeting; a liaison proposes a topic and replies;
the secretary signs units in; the invite downloads and parses, in a real Chromium.

At desktop (1366 px) and phone (390 px) width: on a phone the meeting page puts first what
the visitor must do (the liaison's reply, the secretary's sign-in once the meeting has
started); sign-in offers full labels as tap targets of at least 44 px; the series preview
and the month calendar fit the screen (issue 8, point 7)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from models import Attendance, Meeting, MeetingStatus, Reply, Topic, db
from tests.browser.helpers import click_and_confirm, log_in, screenshot

pytestmark = pytest.mark.browser
SH = ZoneInfo("Asia/Shanghai")
TITLE = "冬季安全生产共建联席会议"
PHONE = 390


def _boxes(page, *selectors: str) -> list[dict]:
    """Where the elements are on the page, measured at one moment (the page may be scrolling)."""
    page.wait_for_load_state()  # styles applied
    return page.evaluate(
        """sels => sels.map(s => {
            const r = document.querySelector(s).getBoundingClientRect();
            return {x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height};
        })""",
        list(selectors),
    )


def _fits_the_screen(page) -> None:
    """Nothing wider than the viewport: no sideways scrolling of the page."""
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _not_clipped(page, selector: str, min_height: int = 44) -> int:
    """Every element matched shows its whole text and is a tap target of at least min_height px."""
    page.wait_for_load_state()  # styles applied
    sizes = page.locator(selector).evaluate_all(
        "els => els.map(e => [e.scrollWidth, e.clientWidth, e.getBoundingClientRect().height, e.textContent])"
    )
    assert sizes, selector
    for scroll_width, client_width, height, text in sizes:
        assert scroll_width <= client_width, f"“{text}” is clipped"
        assert height >= min_height, f"“{text}” is {height}px tall"
    return len(sizes)


def _sign_out(page) -> None:
    page.context.clear_cookies()  # the menu with 退出 is folded away on a phone


@pytest.mark.parametrize("width", [1366, PHONE])
def test_schedule_publish_reply_topic_sign_in_and_invite(
    page, live_server, world, app, make_unit, tmp_path, width
):
    base = live_server
    phone = width == PHONE
    page.set_viewport_size({"width": width, "height": 844 if phone else 900})
    third = make_unit(name="青年路便民超市", liaison_name="钱经理", liaison_email="qian@bianmin.example.cn")
    day = (datetime.now(SH) + timedelta(days=8)).date()

    # The secretary schedules the meeting with an agenda and three invited units.
    log_in(page, base, "secretary1")
    page.goto(f"{base}/meetings")
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
    _fits_the_screen(page)
    screenshot(page, f"meeting-form-{width}")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_contain_text("会议已保存为草稿")
    expect(page.locator("#meeting-status")).to_have_text("草稿")
    expect(page.locator("#agenda")).to_contain_text("冬季消防安全联合检查")
    expect(page.locator("#invitations > li")).to_have_count(3)
    expect(page.locator("#draft-note")).to_contain_text("尚未发出邀请")
    screenshot(page, f"meeting-draft-{width}")
    assert "收到会议邀请邮件" in click_and_confirm(page, page.get_by_role("button", name="发布并发送邀请"))
    expect(page.locator("#meeting-status")).to_have_text("已发布")
    # No mail server in the tests: the page says the invites wait, not that they were sent.
    expect(page.get_by_role("alert").first).to_contain_text(
        "会议邀请邮件（1 封）已保存在发件箱，但尚未发出：系统未配置邮件服务器。"
    )
    meeting_url = page.url
    screenshot(page, f"meeting-published-{width}")
    _sign_out(page)

    # A liaison finds the invitation, proposes a topic and replies.
    log_in(page, base, "liaison_a")
    expect(page.locator("#owed-replies")).to_contain_text(TITLE)
    page.locator("#owed-replies").get_by_role("link", name=TITLE).click()
    expect(page.locator("#my-reply")).to_be_visible()
    reply, main = _boxes(page, "#my-reply", ".meeting-main")
    if phone:  # what the liaison must do comes first
        assert reply["y"] < main["y"]
    else:  # beside the meeting's details, at the top of the right column
        assert reply["x"] > main["x"] + main["width"] - 1 and reply["y"] < main["y"] + 50
    _not_clipped(page, "#my-reply .choice-btn")
    _fits_the_screen(page)
    screenshot(page, f"meeting-liaison-reply-{width}")
    page.get_by_label("议题", exact=True).fill("校园周边交通疏导")
    page.get_by_label("希望得到的支持与合作").fill("请派出所在放学时段协助")
    page.get_by_role("button", name="提交议题").click()
    expect(page.get_by_role("alert")).to_contain_text("议题已提交")
    expect(page.get_by_label("代表姓名")).to_be_hidden()  # asked only for a delegate
    page.get_by_text("委派代表参加", exact=True).click()
    page.get_by_label("代表姓名").fill("李明")
    page.get_by_label("代表职务").fill("副校长")
    page.get_by_role("button", name="提交回复").click()
    expect(page.get_by_role("alert")).to_contain_text("回复已提交")
    expect(page.locator("#my-reply")).to_contain_text("委派代表参加")
    _sign_out(page)

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
    sign_in, main = _boxes(page, "#attendance", ".meeting-main")
    assert sign_in["y"] < main["y"]  # the sign-in sheet comes first, on a phone and a desktop
    assert _not_clipped(page, "#attendance .choice-btn") == 3 * 5
    _not_clipped(page, ".signin-unit", min_height=0)  # unit names whole and legible
    _fits_the_screen(page)
    school = page.get_by_role("radiogroup", name="东大街第一小学")
    expect(school.get_by_text("出席", exact=True)).to_be_visible()
    expect(school.get_by_text("委派代表", exact=True)).to_be_visible()
    expect(school.get_by_text("请假", exact=True)).to_be_visible()
    expect(school.get_by_text("缺席", exact=True)).to_be_visible()
    school.get_by_text("委派代表", exact=True).click()
    row = page.locator(".signin-row", has_text="东大街第一小学")
    expect(row.get_by_label("代表姓名")).to_have_value("李明")  # from the unit's reply
    page.get_by_role("radiogroup", name="市第三人民医院").get_by_text("请假", exact=True).click()
    market = page.get_by_role("radiogroup", name="青年路便民超市")
    market.get_by_text("委派代表", exact=True).click()
    screenshot(page, f"meeting-sign-in-{width}")
    # A delegate without a name is refused, and the sheet comes back as it was filled in.
    page.get_by_role("button", name="保存签到").click()
    expect(page.get_by_role("alert").first).to_contain_text("请填写青年路便民超市委派代表的姓名")
    expect(page.locator("#att-" + _invitation_id(app, third) + "-delegate")).to_be_checked()
    with app.app_context():
        m = db.session.scalar(select(Meeting).where(Meeting.title == TITLE))
        assert {inv.attendance for inv in m.invitations} == {Attendance.UNKNOWN}
    page.get_by_role("radiogroup", name="青年路便民超市").get_by_text("缺席", exact=True).click()
    page.get_by_role("button", name="保存签到").click()
    expect(page.get_by_role("alert")).to_contain_text("签到已保存（3 个单位有变化）")

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

    # The month calendar shows the whole week; on a phone the meetings are listed below it.
    with app.app_context():
        day = db.session.scalar(select(Meeting.start_at).where(Meeting.title == TITLE)).astimezone(SH).date()
    page.goto(f"{base}/meetings/calendar?month={day:%Y-%m}")
    headers = page.locator("#month-grid thead th")
    expect(headers).to_have_count(7)
    assert headers.nth(6).bounding_box()["x"] + headers.nth(6).bounding_box()["width"] <= width
    _fits_the_screen(page)
    if phone:
        expect(page.locator("#month-list")).to_contain_text(TITLE)
        page.locator(f'a[href="#day-{day.isoformat()}"]').click()
        expect(page.locator(f"#day-{day.isoformat()}")).to_be_in_viewport()
    else:
        # The chip shows the whole title, over up to three lines (one line cut it after the host).
        chip = page.locator("#month-grid .meeting-chip", has_text=TITLE)
        expect(chip).to_be_visible()
        assert chip.evaluate(
            "a => [a, ...a.children].every(e => e.scrollHeight <= e.clientHeight + 1"
            " && e.scrollWidth <= e.clientWidth)"
        )
    screenshot(page, f"meeting-calendar-{width}")

    # The series preview: 保留 / 跳过 / 改期 as whole buttons, nothing clipped.
    page.goto(f"{base}/meetings/series/new")
    page.get_by_label("系列名称").fill("青年路社区季度例会")
    page.get_by_label("到哪天止").fill((day + timedelta(days=200)).isoformat())
    page.get_by_role("button", name="预览各次会议").click()
    expect(page.locator("#series-plan > li").first).to_be_visible()
    _not_clipped(page, "#series-plan .choice-btn")
    _fits_the_screen(page)
    first = page.get_by_role("radiogroup", name="第 1 次", exact=False)
    expect(first.get_by_text("改期", exact=True)).to_be_visible()
    screenshot(page, f"meeting-series-preview-{width}")
    assert page.console.problems(expected_status=(400,)) == []  # the refused sign-in

    with app.app_context():
        m = db.session.scalar(select(Meeting).where(Meeting.title == TITLE))
        assert m.status == MeetingStatus.SCHEDULED
        marks = {inv.unit.name: (inv.attendance, inv.by_delegate) for inv in m.invitations}
        assert marks == {
            "东大街第一小学": (Attendance.PRESENT, True),
            "市第三人民医院": (Attendance.ABSENT_LEAVE, False),
            "青年路便民超市": (Attendance.ABSENT_NO_LEAVE, False),
        }
        reply = next(inv for inv in m.invitations if inv.unit_id == world.unit_a)
        assert (reply.reply, reply.delegate_name) == (Reply.DELEGATE, "李明")
        assert db.session.scalar(select(Topic.status)).value == "accepted"
        assert third in {inv.unit_id for inv in m.invitations}


def _invitation_id(app, unit_id: int) -> str:
    from models import Invitation

    with app.app_context():
        return str(db.session.scalar(select(Invitation.id).where(Invitation.unit_id == unit_id)))
