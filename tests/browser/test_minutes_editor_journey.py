"""The minutes editor and 会签 in a real Chromium, on a desktop (1366 px) and a phone (390 px).

Point 4: the rich-text editor shows formatted text, never a tag, after a save, a refused save
and a lost update, and is usable by keyboard. Point 6: a liaison finds the pending 会签 on the
dashboard, 签发 names the unit that has not confirmed, and the record shows who did what.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import AgendaItem, Attendance, Meeting, MeetingStatus, Minutes, MinutesRevision, MinutesStatus, db
from models.base import today
from tests.browser.helpers import SCREENSHOTS, click_and_confirm, log_in, screenshot
from tests.test_pdf import pdftotext, squeezed

pytestmark = pytest.mark.browser

WIDTHS = [1366, 390]


def _held_meeting(app, world, make_meeting) -> int:
    mid = make_meeting(days=-1, status=MeetingStatus.HELD, title="十一月共驻共建联席会议")
    with app.app_context():
        m = db.session.get(Meeting, mid)
        m.agenda_items.append(
            AgendaItem(position=1, title="冬季供暖保障", minutes=30, presenter_unit_id=world.unit_a)
        )
        for inv in m.invitations:
            inv.attendance = Attendance.PRESENT
        db.session.commit()
    return mid


def _log_out(page, base: str) -> None:
    toggler = page.locator(".navbar-toggler")
    # The menu folds below Bootstrap's xl breakpoint (1200 px). Decided by the viewport, not
    # by the button: during a page change it can look visible for a moment at 1366 px.
    if page.viewport_size["width"] < 1200:
        toggler.click()
        # Bootstrap animates the menu open ("collapsing"); a click while it still moves can
        # land beside the button on a busy machine. Wait until it has settled as "show".
        expect(page.locator("#mainnav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
        expect(page.locator("#mainnav")).not_to_have_class(re.compile(r"collapsing"))
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{base}/login")


def _stored(app, mid) -> MinutesRevision:
    with app.app_context():
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
        revision = minutes.current
        db.session.expunge_all()
        return revision


def _no_sideways_scroll(page) -> None:
    page.wait_for_load_state("load")  # the whole page laid out, not a page half parsed
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    if width > viewport:  # name what sticks out, for whoever reads the failure
        wide = page.evaluate(
            """v => [...document.querySelectorAll('body *')]
                 .filter(e => e.getBoundingClientRect().right > v + 1)
                 .slice(-5).map(e => e.outerHTML.slice(0, 200))""",
            viewport,
        )
        raise AssertionError(f"page {width} px wide at {viewport} px: {wide}")


def _expect_formatted(editor) -> None:
    """The editor shows bold text and a list as such, and no markup as text."""
    expect(editor.locator("strong")).to_have_text("锅炉检修")
    expect(editor.locator("li")).to_have_count(2)
    expect(editor.locator("li").nth(1)).to_have_text("错峰用气")
    text = editor.inner_text()
    assert "<" not in text and "&lt;" not in text, text


@pytest.mark.parametrize("width", WIDTHS)
def test_rich_editor_save_refusal_and_lost_update(page, live_server, world, app, make_meeting, width):
    base = live_server
    page.set_viewport_size({"width": width, "height": 900})
    shot = f"{width}-editor"
    mid = _held_meeting(app, world, make_meeting)
    log_in(page, base, "secretary1")
    page.goto(f"{base}/meetings/{mid}/minutes")
    page.get_by_role("button", name="开始记录会议纪要").click()

    editor = page.get_by_label("（一）冬季供暖保障")
    expect(editor).to_have_attribute("contenteditable", "true")
    expect(page.locator("textarea[data-rich]").first).to_be_hidden()
    expect(page.locator("#rich-nojs-hint")).to_have_count(0)  # the no-script hint is for no-script only
    toolbar = page.locator(".rich-editor", has=editor).get_by_role("toolbar", name="文字格式")
    for name in ("加粗（Ctrl+B）", "项目符号列表", "编号列表"):
        expect(toolbar.get_by_role("button", name=name)).to_be_visible()

    # Type by keyboard only: bold with Ctrl+B, a bulleted list from the toolbar.
    editor.click()
    page.keyboard.press("Control+b")
    page.keyboard.type("锅炉检修")
    page.keyboard.press("Control+b")
    page.keyboard.type("已完成。")
    page.keyboard.press("Enter")
    toolbar.get_by_role("button", name="项目符号列表").click()
    expect(toolbar.get_by_role("button", name="项目符号列表")).to_have_attribute("aria-pressed", "true")
    page.keyboard.type("供暖管网巡查")
    page.keyboard.press("Enter")
    page.keyboard.type("错峰用气")
    _expect_formatted(editor)
    # Tab leaves the editor for the next field instead of typing a tab.
    editor.focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('ql-editor')") is False
    assert "\t" not in editor.inner_text()
    # The toolbar is reachable by keyboard: Shift+Tab from the editor lands on its last button.
    editor.focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "1. 编号列表"

    page.get_by_label("事项", exact=True).nth(0).fill("锅炉房安全检查")
    page.get_by_label("牵头单位").nth(0).select_option(label="东大街第一小学")
    page.get_by_label("完成时限").nth(0).fill((date.today() + timedelta(days=20)).isoformat())
    row = page.locator("fieldset.action-row").nth(0)
    row.get_by_label("市第三人民医院").check()  # a co-unit: a checkbox, no Ctrl-click
    screenshot(page, f"{shot}-1-typed")
    page.get_by_role("button", name="保存草稿").click()

    # 1. After a save: formatted, and the stored HTML is the sanitised subset.
    expect(page.get_by_role("alert").first).to_contain_text("纪要草稿已保存")
    editor = page.get_by_label("（一）冬季供暖保障")
    _expect_formatted(editor)
    stored = _stored(app, mid).discussion[0]["html"]
    assert stored == (
        "<p><strong>锅炉检修</strong>已完成。</p><ul><li>供暖管网巡查</li><li>错峰用气</li></ul>"
    ), stored
    _no_sideways_scroll(page)
    screenshot(page, f"{shot}-2-saved")

    # 2. A refused save (no recorder): the page again, the text still formatted, not saved.
    page.get_by_label("记录人").fill("")
    summary = page.get_by_label("会议概况")
    summary.click()
    page.keyboard.type("会议由社区书记主持。")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("请填写记录人。")).to_be_visible()
    _expect_formatted(page.get_by_label("（一）冬季供暖保障"))
    expect(page.get_by_label("会议概况")).to_have_text("会议由社区书记主持。")
    assert _stored(app, mid).summary == ""
    screenshot(page, f"{shot}-3-refused")

    # 3. A lost update: someone else saves meanwhile; our text stays, formatted.
    page.get_by_label("记录人").fill("刘芳")
    with app.app_context():
        revision = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid)).current
        revision.recorder = "王强"
        revision.summary = "<p>另一位书记写的<strong>概况</strong></p>"
        revision.version += 1
        db.session.commit()
    page.get_by_role("button", name="保存草稿").click()
    alert = page.locator(".alert-warning", has_text="未保存")
    expect(alert).to_contain_text("另一位书记写的概况")
    assert "<" not in alert.inner_text()
    _expect_formatted(page.get_by_label("（一）冬季供暖保障"))
    expect(page.get_by_label("会议概况")).to_have_text("会议由社区书记主持。")
    screenshot(page, f"{shot}-4-conflict")
    # Saving again keeps the user's version.
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("alert").first).to_contain_text("纪要草稿已保存")
    revision = _stored(app, mid)
    assert revision.summary == "<p>会议由社区书记主持。</p>" and revision.recorder == "刘芳"
    _expect_formatted(page.get_by_label("（一）冬季供暖保障"))
    assert page.console.problems() == []


@pytest.mark.parametrize("width", WIDTHS)
def test_confirmation_reaches_the_liaison_and_the_record(
    page, live_server, world, app, make_meeting, width, tmp_path
):
    base = live_server
    page.set_viewport_size({"width": width, "height": 900})
    shot = f"{width}-confirm"
    mid = _held_meeting(app, world, make_meeting)
    log_in(page, base, "secretary1")
    page.goto(f"{base}/meetings/{mid}/minutes")
    page.get_by_role("button", name="开始记录会议纪要").click()
    expect(page.get_by_role("textbox", name="（一）冬季供暖保障")).to_be_visible()  # the editor is ready
    # Until the editor script has run, the labelled textbox is the plain textarea it then hides.
    page.locator("textarea[data-rich]").first.wait_for(state="hidden")
    page.get_by_label("（一）冬季供暖保障").click()
    page.keyboard.type("各单位同意错峰用气。")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("alert").first).to_contain_text("纪要草稿已保存")
    page.get_by_label("会签期限（天）").fill("3")
    page.get_by_role("button", name="提交签发").click()
    expect(page.locator("#minutes-status")).to_have_text("待签发")
    _log_out(page, base)

    # The liaison of an attending unit finds it on the dashboard, with its due date.
    log_in(page, base, "liaison_a")
    panel = page.locator("#pending-confirmations")
    expect(panel).to_contain_text("十一月共驻共建联席会议")
    due = today() + timedelta(days=3)  # Beijing time, as the app counts
    expect(panel).to_contain_text(f"{due.year}年{due.month:02d}月{due.day:02d}日 前会签")
    _no_sideways_scroll(page)
    screenshot(page, f"{shot}-1-dashboard")
    panel.get_by_role("link", name="去会签").click()
    expect(page.locator("#my-confirmation")).to_be_visible()
    page.get_by_label("确认无误").check()
    page.get_by_label("意见", exact=True).fill("同意，无补充意见。")
    page.get_by_role("button", name="提交会签").click()
    expect(page.get_by_role("alert").first).to_contain_text("会签意见已提交")
    page.goto(f"{base}/")
    expect(page.locator("#pending-confirmations")).to_have_count(0)
    _log_out(page, base)

    # 签发 names the unit that has not confirmed; approving needs the box ticked.
    log_in(page, base, "secretary1")
    page.goto(f"{base}/meetings/{mid}/minutes")
    warning = page.locator("#unconfirmed-warning")
    expect(warning).to_contain_text("尚未会签的单位：市第三人民医院")
    _no_sideways_scroll(page)
    screenshot(page, f"{shot}-2-warning")
    click_and_confirm(page, page.get_by_role("button", name="签发", exact=True))
    expect(page.get_by_text("请确认后勾选“仍然签发”")).to_be_visible()
    assert _stored(app, mid).status == MinutesStatus.SUBMITTED
    screenshot(page, f"{shot}-3-refused")
    page.get_by_label("已知悉上述单位未完成会签，仍然签发").check()
    click_and_confirm(page, page.get_by_role("button", name="签发", exact=True))
    expect(page.locator("#minutes-status")).to_have_text("已签发")

    # The record: who confirmed, when, their comment; who did not respond.
    card = page.locator("#confirmations")
    first = card.locator("li.confirmation").nth(0)
    expect(first).to_contain_text("东大街第一小学")
    expect(first).to_contain_text("已确认")
    expect(first).to_contain_text("liaison_a")
    expect(first).to_contain_text("意见：同意，无补充意见。")
    second = card.locator("li.confirmation").nth(1)
    expect(second).to_contain_text("市第三人民医院")
    expect(second).to_contain_text("未回复")
    _no_sideways_scroll(page)
    screenshot(page, f"{shot}-4-approved")
    revision = _stored(app, mid)
    assert revision.status == MinutesStatus.APPROVED
    if width == WIDTHS[0]:
        with app.app_context():
            pdf = db.session.scalar(select(MinutesRevision.pdf).where(MinutesRevision.id == revision.id))
        text = squeezed(pdftotext(tmp_path, pdf))
        assert "东大街第一小学已确认liaison_a" in text and "市第三人民医院未回复" in text
        if SCREENSHOTS:  # kept beside the screenshots, to be rendered and looked at
            Path(SCREENSHOTS, "approved-minutes.pdf").write_bytes(pdf)
    assert page.console.problems(expected_status=(400,)) == []


def test_without_javascript_the_editor_is_a_textarea_that_keeps_the_formatting(
    browser, live_server, world, app, make_meeting
):
    """No script: the textarea is the editor; saving it again keeps bold and lists."""
    base = live_server
    mid = _held_meeting(app, world, make_meeting)
    context = browser.new_context(
        java_script_enabled=False, locale="zh-CN", viewport={"width": 390, "height": 900}
    )
    context.set_default_timeout(5000)
    page = context.new_page()
    try:
        log_in(page, base, "secretary1")
        page.goto(f"{base}/meetings/{mid}/minutes")
        page.get_by_role("button", name="开始记录会议纪要").click()
        # The form posts and comes back to the editor: reloading before it has would race.
        expect(page.get_by_label("会议概况")).to_be_visible()
        with app.app_context():
            minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
            entry = dict(minutes.current.discussion[0])
            entry["html"] = (
                "<p><strong>锅炉检修</strong>已完成。</p><ul><li>供暖管网巡查</li><li>错峰用气</li></ul>"
            )
            minutes.current.discussion = [entry]
            db.session.commit()
        page.reload()
        area = page.get_by_label("（一）冬季供暖保障")
        expect(area).to_have_value(entry["html"])
        expect(page.get_by_text("浏览器未启用脚本")).to_be_visible()
        page.get_by_label("会议概况").fill("会议由社区书记主持。\n各单位代表参加。")
        screenshot(page, "390-editor-nojs")
        page.get_by_role("button", name="保存草稿").click()
        expect(page.get_by_role("alert").first).to_contain_text("纪要草稿已保存")
        revision = _stored(app, mid)
        assert revision.discussion[0]["html"] == entry["html"]
        assert revision.summary == "<p>会议由社区书记主持。</p><p>各单位代表参加。</p>"
    finally:
        context.close()
