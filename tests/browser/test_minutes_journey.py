"""Minutes with two actions, confirmation by a liaison, approval and the PDF; a liaison
reports progress and the action is closed, in a real Chromium."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import AgendaItem, Attendance, Meeting, MeetingStatus, Minutes, MinutesStatus, db
from tests.browser.helpers import click_and_confirm, log_in, log_out, save_as

pytestmark = pytest.mark.browser


def test_minutes_confirm_approve_pdf_and_follow_up(page, live_server, world, app, make_meeting, tmp_path):
    base = live_server
    mid = make_meeting(days=-1, status=MeetingStatus.HELD, title="十一月共驻共建联席会议")
    with app.app_context():
        m = db.session.get(Meeting, mid)
        m.agenda_items.append(
            AgendaItem(position=1, title="冬季供暖保障", minutes=30, presenter_unit_id=world.unit_a)
        )
        for inv in m.invitations:
            inv.attendance = Attendance.PRESENT
        db.session.commit()
    due = (date.today() + timedelta(days=20)).isoformat()

    log_in(page, base, "secretary1")
    page.goto(f"{base}/meetings/{mid}")
    page.get_by_role("link", name="会议纪要").click()
    page.get_by_role("button", name="开始记录会议纪要").click()
    expect(page.get_by_role("textbox", name="（一）冬季供暖保障")).to_be_visible()  # the editor is ready
    # Until the editor script has run, the labelled textbox is the plain textarea it then hides.
    page.locator("textarea[data-rich]").first.wait_for(state="hidden")
    page.get_by_role("textbox", name="（一）冬季供暖保障").fill(
        "一小介绍了锅炉检修情况。\n各单位同意错峰用气。"
    )
    page.get_by_label("事项", exact=True).nth(0).fill("锅炉房安全检查")
    page.get_by_label("牵头单位").nth(0).select_option(label="东大街第一小学")
    page.get_by_label("完成时限").nth(0).fill(due)
    page.locator("fieldset.action-row").nth(0).get_by_text("共建共驻").click()
    page.get_by_label("事项", exact=True).nth(1).fill("为居民开放取暖点")
    page.get_by_label("牵头单位").nth(1).select_option(label="市第三人民医院")
    page.get_by_label("完成时限").nth(1).fill(due)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("alert")).to_contain_text("纪要草稿已保存")
    page.get_by_label("会签期限（天）").fill("3")
    page.get_by_role("button", name="提交签发").click()
    expect(page.locator("#minutes-status")).to_have_text("待签发")
    log_out(page, base)

    log_in(page, base, "liaison_a")
    page.goto(f"{base}/meetings/{mid}/minutes")
    page.get_by_label("确认无误").check()
    page.get_by_role("button", name="提交会签").click()
    expect(page.locator("#confirmations")).to_contain_text("已确认")
    log_out(page, base)

    log_in(page, base, "secretary1")
    page.goto(f"{base}/meetings/{mid}/minutes")
    expect(page.locator("#unconfirmed-warning")).to_contain_text("市第三人民医院")  # did not confirm
    page.get_by_label("已知悉上述单位未完成会签，仍然签发").check()
    click_and_confirm(page, page.get_by_role("button", name="签发", exact=True))
    expect(page.locator("#minutes-status")).to_have_text("已签发")
    expect(page.locator("#archive-no")).to_contain_text("青年路社区联席〔")
    download = save_as(page, f"{base}/meetings/{mid}/minutes.pdf")
    pdf = tmp_path / "minutes.pdf"
    download.save_as(pdf)
    with app.app_context():
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
        assert minutes.current.status == MinutesStatus.APPROVED
        assert pdf.read_bytes() == minutes.current.pdf
    log_out(page, base)

    # The lead unit's liaison reports progress, then closes the action.
    log_in(page, base, "liaison_a")
    page.get_by_role("link", name="议定事项").first.click()
    page.get_by_role("link", name="锅炉房安全检查").click()
    page.get_by_label("进展情况").fill("已请专业公司完成检查。")
    page.get_by_role("button", name="报送进展").click()
    expect(page.locator("#action-status")).to_have_text("推进中")
    page.get_by_label("完成情况").fill("检查合格，已出具报告。")
    click_and_confirm(page, page.get_by_role("button", name="标记为已完成"))
    expect(page.locator("#action-status")).to_have_text("已完成")
    expect(page.locator("#progress")).to_contain_text("已请专业公司完成检查")
    assert page.console.problems() == []
