"""A hand-off nobody has to find by chance (issue 11): a secretary asks for 会签, the liaison
sees the bell, opens the request from it and confirms; the secretary's bell then says so.
At desktop and phone width (the bell sits beside the menu button on a phone)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import log_in, screenshot
from tests.browser.helpers import log_out as _log_out
from tests.test_notifications import _minutes_to_submit

pytestmark = pytest.mark.browser


def log_out(page, base: str) -> None:
    """On a phone the menu is folded behind its button: open it first."""
    # Below Bootstrap's xl breakpoint (1200 px) the menu folds; decided by the width, not by
    # whether the button looks visible during a page change.
    if page.viewport_size["width"] < 1200:
        page.wait_for_load_state("load")  # the button works once Bootstrap's script has run
        page.get_by_role("button", name="展开菜单").click()
        # Wait for the menu to finish opening: a click during the animation may miss.
        page.locator("#mainnav.show").wait_for()
        page.locator("#mainnav.collapsing").wait_for(state="detached")
    _log_out(page, base)


@pytest.mark.parametrize("width", [1366, 390])
def test_confirmation_request_reaches_the_liaison_and_the_answer_the_secretary(
    page, live_server, world, app, held_meeting, width
):
    base = live_server
    page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
    mid = _minutes_to_submit(app, world, held_meeting)

    log_in(page, base, "secretary1")
    page.goto(f"{base}/meetings/{mid}/minutes")
    page.get_by_label("会签期限（天）").fill("3")
    page.get_by_role("button", name="提交签发").click()
    expect(page.locator("#minutes-status")).to_have_text("待签发")
    expect(page.locator("#bell")).to_have_attribute("aria-label", "提醒，没有未读")
    log_out(page, base)

    log_in(page, base, "liaison_a")
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("aria-label", "提醒，1 条未读")
    expect(page.locator("#bell-count")).to_have_text("1")
    screenshot(page, f"bell-liaison-{width}")
    bell.click()
    item = page.locator("#notification-list .notice-text")
    expect(item).to_contain_text("会签“第四季度共驻共建联席会议”的会议纪要")
    screenshot(page, f"notifications-liaison-{width}")
    item.click()
    expect(page).to_have_url(f"{base}/meetings/{mid}/minutes")
    expect(page.locator("#bell-count")).to_have_count(0)  # read on opening
    page.get_by_label("确认无误").check()
    page.get_by_role("button", name="提交会签").click()
    expect(page.locator("#confirmations")).to_contain_text("已确认")
    log_out(page, base)

    log_in(page, base, "secretary1")
    expect(page.locator("#bell-count")).to_have_text("1")
    page.locator("#bell").click()
    expect(page.locator("#notification-list")).to_contain_text(
        "东大街第一小学已会签确认“第四季度共驻共建联席会议”的会议纪要"
    )
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.locator("#bell")).to_have_attribute("aria-label", "提醒，没有未读")
