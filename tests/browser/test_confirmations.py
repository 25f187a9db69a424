"""Confirm before what cannot be undone (issue 8, point 11): withdrawing a unit, marking an
action done, claiming a need. The question opens in a dialog that says what will happen;
cancelling changes nothing, confirming does it. At desktop and phone width."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import (
    Action,
    ActionStatus,
    Meeting,
    MeetingStatus,
    Need,
    NeedStatus,
    ResourceKind,
    Unit,
    UnitStatus,
    UnitStatusChange,
    db,
)
from models.base import today
from tests.browser.helpers import answer_confirmation, click_and_confirm, log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1366, 390])
def test_confirmations_ask_first_and_cancel_changes_nothing(
    page, live_server, world, app, make_meeting, width
):
    base = live_server
    page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
    held = make_meeting(days=-3, status=MeetingStatus.HELD)
    with app.app_context():
        meeting = db.session.get(Meeting, held)
        action = Action(
            meeting_id=meeting.id,
            street_id=meeting.street_id,
            community_id=meeting.community_id,
            title="开放学校操场供居民晨练",
            lead_unit_id=world.unit_a,
            due_on=date.today() + timedelta(days=10),
            status=ActionStatus.OPEN,
        )
        need = Need(
            street_id=world.street,
            community_id=world.community1,
            kind=ResourceKind.VOLUNTEER,
            is_wish=False,
            title="为社区老年食堂招募周末志愿者",
            description="每周六、周日中午需要 4 名志愿者协助配餐。",
            people_served=60,
            wanted_by=today() + timedelta(days=20),
            posted_by_id=world.secretary1,
        )
        db.session.add_all([action, need])
        db.session.commit()
        action_id, need_id = action.id, need.id

    # A secretary withdraws a unit: asked only when 退出 is chosen.
    log_in(page, base, "secretary1")
    page.goto(f"{base}/units/{world.unit_b}")
    page.get_by_label("变更为").select_option(label="退出")
    page.get_by_label("原因").fill("单位搬迁出本辖区")
    page.get_by_role("button", name="变更状态").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("确定将“市第三人民医院”设为退出？")
    expect(dialog).to_contain_text("不能撤销")
    expect(dialog.get_by_role("button", name="确认退出")).to_be_visible()
    expect(dialog.get_by_role("button", name="返回")).to_be_focused()  # the safe choice
    screenshot(page, f"confirm-unit-withdraw-{width}")
    answer_confirmation(page, accept=False)
    expect(page).to_have_url(f"{base}/units/{world.unit_b}")
    expect(page.get_by_label("原因")).to_have_value("单位搬迁出本辖区")  # nothing typed is lost
    with app.app_context():
        assert db.session.get(Unit, world.unit_b).status == UnitStatus.REGISTERED
        assert db.session.scalars(select(UnitStatusChange)).all() == []
    # Esc cancels too.
    page.get_by_role("button", name="变更状态").click()
    expect(page.get_by_role("dialog").get_by_role("button", name="返回")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    with app.app_context():
        assert db.session.get(Unit, world.unit_b).status == UnitStatus.REGISTERED
    click_and_confirm(page, page.get_by_role("button", name="变更状态"))
    expect(page.get_by_role("alert").first).to_be_visible()
    with app.app_context():
        assert db.session.get(Unit, world.unit_b).status == UnitStatus.WITHDRAWN
    # Moving to another status asks nothing.
    page.get_by_label("变更为").select_option(label="报到")
    page.get_by_role("button", name="变更状态").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    with app.app_context():
        assert db.session.get(Unit, world.unit_b).status == UnitStatus.REGISTERED
    page.context.clear_cookies()  # sign out (the menu is folded away on a phone)

    # The lead unit's liaison marks the action done.
    log_in(page, base, "liaison_a")
    page.goto(f"{base}/actions/{action_id}")
    page.get_by_label("完成情况").fill("操场已于每天 6:00—7:30 向居民开放。")
    page.get_by_role("button", name="标记为已完成").click()
    expect(page.get_by_role("dialog")).to_contain_text("确定将“开放学校操场供居民晨练”标记为已完成？")
    screenshot(page, f"confirm-action-done-{width}")
    answer_confirmation(page, accept=False)
    expect(page.get_by_label("完成情况")).to_have_value("操场已于每天 6:00—7:30 向居民开放。")
    with app.app_context():
        assert db.session.get(Action, action_id).status == ActionStatus.OPEN
    click_and_confirm(page, page.get_by_role("button", name="标记为已完成"))
    expect(page.locator("body")).to_contain_text("操场已于每天 6:00—7:30 向居民开放。")
    with app.app_context():
        assert db.session.get(Action, action_id).status == ActionStatus.DONE

    # ... and claims a need for the unit.
    page.goto(f"{base}/needs/{need_id}")
    page.get_by_role("button", name="为本单位认领").click()
    expect(page.get_by_role("dialog")).to_contain_text(
        "确定为“东大街第一小学”认领“为社区老年食堂招募周末志愿者”？"
    )
    screenshot(page, f"confirm-need-claim-{width}")
    answer_confirmation(page, accept=False)
    with app.app_context():
        assert db.session.get(Need, need_id).status == NeedStatus.OPEN
    click_and_confirm(page, page.get_by_role("button", name="为本单位认领"))
    expect(page.get_by_role("button", name="为本单位认领")).to_have_count(0)
    with app.app_context():
        claimed = db.session.get(Need, need_id)
        assert (claimed.status, claimed.claimed_unit_id) == (NeedStatus.CLAIMED, world.unit_a)
    assert page.console.problems() == []
