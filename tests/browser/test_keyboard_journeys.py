"""Keyboard alone (issue 14, point 2): no mouse, no clicks — Tab, Shift+Tab, Space, Enter and
typing. Log in (skip link first), reply to an invitation, record minutes in the rich-text
editor, book a venue, and invite units with the picker (live count, removing one unit). axe-core
checks every page on the way (the `page` fixture)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from models import (
    Booking,
    Invitation,
    Meeting,
    MeetingStatus,
    Minutes,
    Reply,
    Unit,
    UnitStatus,
    db,
)
from models.base import today
from tests.conftest import PASSWORD

SH = ZoneInfo("Asia/Shanghai")
MAX_TABS = 120


def tab_to(page, locator, backwards: bool = False) -> int:
    """Press Tab (or Shift+Tab) until the locator's element has the focus; return the presses.
    Fails if it is never reached: the control is not in the keyboard's order."""
    # After a page change, the page as loaded (its scripts run); the locator is asked again at
    # each press, so an element a script put in place of another is still the one sought.
    page.wait_for_load_state("load")
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if locator.evaluate("e => document.activeElement === e"):
            return presses
    raise AssertionError(f"not reachable by Tab: {locator}")


def focused_outline(page) -> str:
    """The focus ring as drawn: outline and box-shadow of the focused element."""
    return page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return s.outlineStyle + ' ' + s.outlineWidth + ' | ' + s.boxShadow; }"
    )


def type_date(page, day) -> None:
    """Type a date into the focused date field as Chromium's zh-CN field takes it."""
    page.keyboard.type(f"{day.month:02d}{day.day:02d}{day.year}")


def type_date_and_time(page, field, day, clock: str) -> None:
    """Tab to a date-and-time field and type both parts (the clock as Chromium takes it: 0200P)."""
    tab_to(page, field)
    type_date(page, day)
    page.keyboard.press("Tab")
    page.keyboard.type(clock)


def keyboard_log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    expect(page.locator(".skip-link")).to_be_in_viewport()  # shown once focused
    page.keyboard.press("Enter")  # to the main content: the next Tab is the first field
    assert page.evaluate("document.activeElement.id") == "main"
    tab_to(page, page.get_by_label("用户名", exact=True))
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/")


def test_log_in_by_keyboard_with_a_skip_link_and_a_visible_focus_ring(page, live_server, world):
    page.goto(f"{live_server}/login")
    tab_to(page, page.get_by_label("用户名", exact=True))
    outline = focused_outline(page)
    assert outline.startswith("solid 3px") and "255, 214, 10" in outline, outline  # dark ring in yellow
    keyboard_log_in(page, live_server, "secretary1")
    # On the red menu bar the ring is the same, and the skip link is still first.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    tab_to(page, page.locator("#mainnav").get_by_role("link", name="联席会议"))
    assert focused_outline(page).startswith("solid 3px")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/meetings")


def test_reply_to_an_invitation_by_keyboard(page, live_server, world, make_meeting, app):
    mid = make_meeting(days=5, status=MeetingStatus.SCHEDULED, units=[world.unit_a])
    keyboard_log_in(page, live_server, "liaison_a")
    page.goto(f"{live_server}/meetings/{mid}")
    # A radio group is one Tab stop; the arrow keys choose within it.
    tab_to(page, page.get_by_role("radio", name="参加", exact=True))
    delegate = page.get_by_role("radio", name="委派代表参加")
    for _ in range(4):
        if delegate.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(delegate).to_be_checked()
    expect(page.get_by_label("代表姓名")).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.type("李明")
    page.keyboard.press("Tab")
    page.keyboard.type("副校长")
    tab_to(page, page.get_by_role("button", name="提交回复"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("回复已提交")
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).where(Invitation.meeting_id == mid))
        assert invitation.reply == Reply.DELEGATE and invitation.delegate_name == "李明"


def test_a_refused_form_moves_the_focus_to_the_first_field_in_error(page, live_server, world):
    keyboard_log_in(page, live_server, "secretary1")
    page.goto(f"{live_server}/units/new")
    tab_to(page, page.get_by_role("button", name="保存"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert").first).to_contain_text("请修正")
    expect(page.locator("#name")).to_be_focused()  # once the page's script has run
    focused = page.evaluate(
        "() => [document.activeElement.id, document.activeElement.getAttribute('aria-invalid'),"
        " document.activeElement.getAttribute('aria-describedby')]"
    )
    assert focused == ["name", "true", "name-error"], focused
    expect(page.locator("#name-error")).to_contain_text("请填写单位名称")


def test_record_minutes_by_keyboard(page, live_server, world, held_meeting, app):
    mid = held_meeting()
    keyboard_log_in(page, live_server, "secretary1")
    page.goto(f"{live_server}/meetings/{mid}/minutes")
    tab_to(page, page.get_by_role("button", name="开始记录会议纪要"))
    page.keyboard.press("Enter")
    # The rich-text editor replaces the plain textarea once its script has run: wait for it.
    expect(page.locator("textarea[data-rich]").first).to_be_hidden()
    editor = page.get_by_role("textbox", name="会议概况")
    expect(editor).to_be_visible()
    tab_to(page, editor)
    page.keyboard.type("会议由社区书记主持。")
    page.keyboard.press("Enter")
    page.keyboard.press("Control+b")
    page.keyboard.type("各单位一致同意")
    page.keyboard.press("Control+b")
    page.keyboard.type("联合开展冬季巡查。")
    page.keyboard.press("Tab")  # Tab leaves the editor instead of inserting a tab
    assert page.evaluate("document.activeElement.getAttribute('contenteditable')") != "true"
    tab_to(page, page.get_by_role("button", name="保存草稿"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert").first).to_contain_text("纪要草稿已保存")
    with app.app_context():
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
        assert minutes.current.summary == (
            "<p>会议由社区书记主持。</p><p><strong>各单位一致同意</strong>联合开展冬季巡查。</p>"
        )


def test_book_a_venue_by_keyboard(page, live_server, world, app, make_resource):
    venue_id = make_resource(title="学校风雨操场", description="标准篮球场两块")
    with app.app_context():
        db.session.get(Unit, world.unit_a).status = UnitStatus.ACTIVE
        db.session.get(Unit, world.unit_c).status = UnitStatus.ACTIVE
        db.session.commit()
    keyboard_log_in(page, live_server, "liaison_c")
    page.goto(f"{live_server}/resources/{venue_id}")
    day = today() + timedelta(days=3)
    type_date_and_time(page, page.get_by_label("开始时间"), day, "0200P")
    type_date_and_time(page, page.get_by_label("结束时间"), day, "0400P")
    tab_to(page, page.get_by_label("用途"))
    page.keyboard.type("警民篮球友谊赛")
    tab_to(page, page.get_by_role("button", name="提交预约申请"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("已提交预约申请")
    with app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.resource_id == venue_id))
        local = booking.start_at.astimezone(SH)
        assert (local.date(), local.hour, booking.purpose) == (day, 14, "警民篮球友谊赛")


def test_invite_units_with_the_picker_by_keyboard(page, live_server, world, app, make_unit):
    bank = make_unit(name="青年路银行", status=UnitStatus.ACTIVE, category="finance")
    with app.app_context():
        for uid in (world.unit_a, world.unit_b):
            db.session.get(Unit, uid).status = UnitStatus.ACTIVE
        db.session.commit()
    keyboard_log_in(page, live_server, "secretary1")
    page.goto(f"{live_server}/meetings/new")
    count = page.locator("#invite-count")
    expect(count).to_have_text("将邀请 0 个单位")
    tab_to(page, page.get_by_role("checkbox", name="青年路社区"))
    page.keyboard.press("Space")  # the whole community: its three registered units
    expect(count).to_have_text("将邀请 3 个单位")
    expect(page.locator("#invite-match")).to_contain_text("符合所选社区和类别的在册单位 3 个")
    tab_to(page, page.get_by_role("checkbox", name="金融"))
    page.keyboard.press("Space")  # and of them the banks only
    expect(count).to_have_text("将邀请 1 个单位")
    page.keyboard.press("Space")  # not the banks after all
    expect(count).to_have_text("将邀请 3 个单位")
    remove = page.get_by_role("button", name="移除 市第三人民医院", exact=False)
    tab_to(page, remove)
    page.keyboard.press("Enter")
    expect(count).to_have_text("将邀请 2 个单位")
    expect(page.locator("#invite-list")).not_to_contain_text("市第三人民医院")
    assert page.evaluate("document.activeElement.textContent") == "移除"  # the focus stays in the list
    # The rest of the form, by keyboard too.
    tab_to(page, page.get_by_label("会议名称"), backwards=True)
    page.keyboard.type("键盘安排的联席会议")
    day = today() + timedelta(days=9)
    tab_to(page, page.get_by_label("日期"))
    type_date(page, day)
    tab_to(page, page.get_by_label("开始时间"))
    page.keyboard.type("0200P")
    tab_to(page, page.get_by_label("结束时间"))
    page.keyboard.type("0400P")
    tab_to(page, page.get_by_label("第1项议题"))
    page.keyboard.type("冬季消防安全")
    tab_to(page, page.get_by_role("button", name="保存", exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert").first).to_contain_text("会议已保存为草稿")
    with app.app_context():
        meeting = db.session.scalar(select(Meeting).where(Meeting.title == "键盘安排的联席会议"))
        assert {inv.unit_id for inv in meeting.invitations} == {world.unit_a, bank}


def test_menus_selects_calendar_and_confirms_by_keyboard(page, live_server, world, app, make_meeting):
    mid = make_meeting(days=2, status=MeetingStatus.SCHEDULED, title="键盘日历会议")
    keyboard_log_in(page, live_server, "admin")
    # The 系统管理 menu opens with Enter and is walked with the arrow keys.
    tab_to(page, page.locator("#mainnav").get_by_role("button", name="系统管理"))
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == "用户管理"
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/admin/users")
    # The month calendar: each meeting is a link in the Tab order.
    month = (today() + timedelta(days=2)).strftime("%Y-%m")
    page.goto(f"{live_server}/meetings/calendar?month={month}")
    tab_to(page, page.locator("#month-grid").get_by_role("link", name="键盘日历会议"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/meetings/{mid}")
    # A select chosen with the arrow keys, then a confirmation answered by keyboard.
    page.goto(f"{live_server}/units/{world.unit_b}")
    status = page.get_by_label("变更为")
    tab_to(page, status)
    for _ in range(4):
        if status.evaluate("s => s.options[s.selectedIndex].text") == "退出":
            break
        page.keyboard.press("ArrowDown")
    assert status.evaluate("s => s.options[s.selectedIndex].text") == "退出"
    tab_to(page, page.get_by_label("原因"))
    page.keyboard.type("单位搬迁出本辖区")
    tab_to(page, page.get_by_role("button", name="变更状态"))
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="返回")).to_be_focused()  # the safe choice first
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="确认退出")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert").first).to_be_visible()
    with app.app_context():
        assert db.session.get(Unit, world.unit_b).status == UnitStatus.WITHDRAWN
