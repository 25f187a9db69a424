"""A secretary posts a 微心愿, a unit claims it, the secretary confirms, the unit fulfils it with a
photo, in a real Chromium (partly at phone width)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from demo.needs import _png
from models import Need, NeedStatus, db
from models.base import today
from tests.browser.helpers import click_and_confirm, log_in, log_out, screenshot

pytestmark = pytest.mark.browser

WISH = "独居的刘奶奶想要一台老年收音机"
RESIDENT = "刘秀珍"
PHONE = "010-6521 3301"
PHONE_SIZE = {"width": 390, "height": 844}


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")


def test_secretary_posts_a_wish_and_a_unit_claims_and_fulfils_it(page, live_server, world, app, tmp_path):
    base = live_server

    # The community secretary posts the wish.
    log_in(page, base, "secretary1")
    page.locator("#mainnav").get_by_role("link", name="需求清单").click()
    expect(page).to_have_url(f"{base}/needs")
    page.get_by_role("link", name="发布微心愿").click()
    expect(page.get_by_label("居民微心愿")).to_be_checked()
    page.get_by_label("需求类别", exact=True).select_option(label="资金物资")
    page.get_by_label("标题", exact=True).fill(WISH)
    page.get_by_label("具体内容", exact=True).fill("刘奶奶今年 86 岁，视力不好，想每天听听戏曲和新闻。")
    page.get_by_label("受益人数", exact=True).fill("1")
    page.get_by_label("期望完成日期", exact=True).fill((today() + timedelta(days=20)).isoformat())
    page.get_by_label("居民姓名", exact=True).fill(RESIDENT)
    page.get_by_label("居民电话", exact=True).fill(PHONE)
    page.get_by_role("button", name="发布").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(base)}/needs/\d+$"))
    need_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("alert")).to_contain_text(f"已发布微心愿“{WISH}”")
    expect(page.locator("#need-status")).to_have_text("待认领")
    expect(page.locator("#resident")).to_contain_text(RESIDENT)
    screenshot(page, "needs-1-posted")
    log_out(page, base)

    # A unit's liaison finds it on the board (without the resident's details) and claims it, on a phone.
    page.set_viewport_size(PHONE_SIZE)
    log_in(page, base, "liaison_a")
    page.goto(f"{base}/needs?type=wish")
    board = page.locator("#needs")
    expect(board).to_contain_text(WISH)
    expect(board).not_to_contain_text(RESIDENT)
    assert no_horizontal_scroll(page)
    board.get_by_role("link", name=WISH).click()
    page.wait_for_url(re.compile(r".*/needs/\d+$"))  # click_and_confirm waits for it to load
    expect(page.locator("#resident")).to_have_count(0)
    click_and_confirm(page, page.get_by_role("button", name="为本单位认领"))
    expect(page.get_by_role("alert").first).to_contain_text("认领成功")
    expect(page.locator("#need-status")).to_have_text("已认领待确认")
    expect(page.locator("main")).to_contain_text("贵单位已认领，等待社区确认")
    assert no_horizontal_scroll(page)
    screenshot(page, "needs-2-claimed-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    log_out(page, base)

    # The secretary sees the claim on the dashboard and confirms it.
    log_in(page, base, "secretary1")
    panel = page.locator("#needs-panel")
    expect(panel).to_contain_text("待确认的认领")
    panel.get_by_role("link", name=WISH).click()
    expect(page.locator("#claimed-unit")).to_contain_text("东大街第一小学")
    page.get_by_role("button", name="确认认领").click()
    expect(page.locator("#need-status")).to_have_text("落实中")
    log_out(page, base)

    # The unit reports progress with a photo, then fulfilment.
    photo = tmp_path / "收音机.png"
    photo.write_bytes(_png())
    log_in(page, base, "liaison_a")
    page.goto(f"{base}/needs/{need_id}")
    expect(page.locator("#resident")).to_contain_text(PHONE)  # the claiming unit may call her
    progress = page.locator("#progress-card")
    progress.get_by_label("进展情况").fill("已选购一台大按键收音机，周六上门送达。")
    progress.get_by_label("照片").set_input_files(str(photo))
    progress.get_by_role("button", name="报送进展").click()
    expect(page.get_by_role("alert").first).to_contain_text("进展已报送")
    image = page.locator("#updates img").first
    expect(image).to_be_visible()
    # The photo really loads (served as an image, allowed by the page's CSP).
    page.wait_for_function(
        "() => { const i = document.querySelector('#updates img'); return i && i.complete && i.naturalWidth > 0; }"
    )

    # A document instead of a photo is refused with a message, nothing lost.
    fulfil = page.locator("#fulfil-card")
    bad = tmp_path / "说明.pdf"
    bad.write_bytes(b"%PDF-1.7\n")
    fulfil.get_by_label("完成情况").fill("收音机已送到，刘奶奶很高兴。")
    fulfil.get_by_label("照片").set_input_files(str(bad))
    fulfil.get_by_role("button", name="登记完成").click()
    expect(page.locator("#fulfil-card")).to_contain_text("不是图片")
    expect(page.locator("#fulfil-card").get_by_label("完成情况")).to_have_value(
        "收音机已送到，刘奶奶很高兴。"
    )
    expect(page.locator("#need-status")).to_have_text("落实中")

    page.locator("#fulfil-card").get_by_label("照片").set_input_files(str(photo))
    page.locator("#fulfil-card").get_by_role("button", name="登记完成").click()
    expect(page.get_by_role("alert").first).to_contain_text("已登记完成")
    expect(page.locator("#need-status")).to_have_text("已完成")
    expect(page.locator("main")).to_contain_text("收音机已送到，刘奶奶很高兴。")
    expect(page.locator("#updates img")).to_have_count(2)
    screenshot(page, "needs-3-fulfilled")

    # The unit page lists the fulfilled claim.
    page.goto(f"{base}/units/{world.unit_a}")
    expect(page.locator("#unit-needs")).to_contain_text(WISH)
    expect(page.locator("#unit-needs")).to_contain_text("已完成")

    with app.app_context():
        need = db.session.scalar(select(Need).where(Need.id == need_id))
        assert need.status == NeedStatus.FULFILLED and need.claimed_unit_id == world.unit_a
        assert need.fulfilment_note == "收音机已送到，刘奶奶很高兴。"
    assert page.console.problems(expected_status=(400,)) == []
