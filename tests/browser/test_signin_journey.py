"""扫码签到 on a phone (issue 12, point 4): the link the QR code holds opens the sign-in page at
390 px without an account; the person picks the unit, gives name and post, and signs in; the
host's screen then counts them (its count follows by polling)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from models import Meeting, MeetingStatus, db
from models.base import utcnow
from services import signin as svc
from tests.browser.axe import AxeWatch, axe_verdict
from tests.browser.helpers import log_in, screenshot

pytestmark = pytest.mark.browser


def test_a_person_signs_in_on_a_phone_and_the_screen_counts_them(
    page, live_server, world, app, make_meeting, browser
):
    base = live_server
    start = utcnow() + timedelta(minutes=10)
    mid = make_meeting(
        days=0, status=MeetingStatus.SCHEDULED, start_at=start, end_at=start + timedelta(hours=2)
    )
    with app.app_context():
        token = svc.screen_token(db.session.get(Meeting, mid))

    # The host's screen, at desktop width, before anyone came.
    log_in(page, base, "secretary1")
    page.goto(f"{base}/meetings/{mid}/signin")
    expect(page.locator("#signin-count [data-field=people]")).to_have_text("0")

    # A phone without an account opens the link from the code.
    phone = browser.new_context(
        reduced_motion="reduce", viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True
    )
    phone_axe = AxeWatch(phone)
    try:
        p = phone.new_page()
        p.goto(f"{base}/s/{token}")
        expect(p.get_by_role("heading", name="签到")).to_be_visible()
        p.get_by_label("所在单位").select_option(label="东大街第一小学")
        p.get_by_label("姓名").fill("王丽华")
        p.get_by_label("职务").fill("副校长")
        screenshot(p, "signin-phone-390")
        p.get_by_role("button", name="签到", exact=True).click()
        expect(p.locator("#signin-done")).to_contain_text("签到成功")
        expect(p.locator("#signin-done")).to_contain_text("东大街第一小学 · 王丽华（副校长）")
        assert p.evaluate("document.documentElement.scrollWidth") <= 390
        axe_verdict(phone_axe, p, "sign-in on a phone")
    finally:
        phone.close()

    # The screen's count follows within its polling interval.
    expect(page.locator("#signin-count [data-field=people]")).to_have_text("1", timeout=8000)
    expect(page.locator("#signin-count [data-field=units]")).to_have_text("1")
