"""A secretary registers, finds and exports a unit; its liaison edits the profile, in a real Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Unit, db
from tests.browser.helpers import log_in, log_out, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

NEW_UNIT = "东大街共建测试科技有限公司"


def test_secretary_registers_unit_and_liaison_edits_it(page, live_server, world, app, tmp_path):
    base = live_server

    # secretary1 registers a unit through the form.
    log_in(page, base, "secretary1")
    page.locator("#mainnav").get_by_role("link", name="驻区单位").click()
    expect(page).to_have_url(f"{base}/units")
    page.get_by_role("link", name="登记单位").click()
    expect(page.get_by_role("heading", name="登记驻区单位")).to_be_visible()
    page.get_by_label("单位名称", exact=True).fill(NEW_UNIT)
    page.get_by_label("简称", exact=True).fill("共建科技")
    page.get_by_label("单位类别", exact=True).select_option(label="非公企业")
    expect(page.get_by_label("所属社区", exact=True)).to_have_value(str(world.community1))
    page.get_by_label("地址", exact=True).fill("东大街 88 号")
    page.get_by_label("党组织名称", exact=True).fill("共建科技党支部")
    page.get_by_label("党员人数", exact=True).fill("12")
    page.get_by_label("联络人", exact=True).fill("王晓梅")
    page.get_by_label("联系电话", exact=True).fill("010-6512 3456")
    page.get_by_label("电子邮箱", exact=True).fill("wangxm@example.cn")
    page.get_by_label("单位简介与共建优势", exact=True).fill("软件研发，可为社区提供信息化志愿服务。")
    page.get_by_role("button", name="保存").click()

    expect(page).to_have_url(re.compile(rf"{re.escape(base)}/units/\d+$"))
    unit_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("alert")).to_contain_text(f"已登记单位“{NEW_UNIT}”")
    expect(page.get_by_role("heading", level=1)).to_contain_text(NEW_UNIT)
    expect(page.locator("main")).to_contain_text("王晓梅")
    expect(page.locator("main")).to_contain_text("青年路社区")
    with app.app_context():
        unit = db.session.get(Unit, unit_id)
        assert (unit.name, unit.community_id, unit.party_member_count) == (NEW_UNIT, world.community1, 12)

    # ... finds it by search on the register ...
    page.goto(f"{base}/units")
    page.get_by_role("searchbox").fill("共建测试科技")
    page.get_by_role("searchbox").press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name=NEW_UNIT)).to_be_visible()

    # ... and exports the whole register, Chinese intact.
    page.get_by_role("link", name="重置").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    xlsx = info.value
    assert xlsx.suggested_filename == "驻区单位名册.xlsx"
    xlsx.save_as(tmp_path / "register.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "register.xlsx").active
    cells = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
    assert {NEW_UNIT, "东大街第一小学", "王晓梅"} <= cells

    with page.expect_download() as info:
        page.get_by_role("link", name="导出 CSV").click()
    csv_download = info.value
    assert csv_download.suggested_filename == "驻区单位名册.csv"
    csv_text = Path(csv_download.path()).read_bytes().decode("utf-8-sig")
    assert NEW_UNIT in csv_text and "和平里派出所" in csv_text
    log_out(page, base)

    # The admin gives the unit a liaison account.
    log_in(page, base, "admin")
    page.goto(f"{base}/admin/users/new")
    page.get_by_label("用户名", exact=True).fill("liaison_new")
    page.get_by_label("姓名", exact=True).fill("王晓梅")
    page.get_by_label("角色", exact=True).select_option(label="单位联络员")
    page.get_by_label("所属单位（单位联络员）", exact=True).select_option(label=NEW_UNIT)
    page.get_by_label("初始密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(f"{base}/admin/users")
    expect(page.get_by_role("alert")).to_contain_text("已创建用户“liaison_new”")
    log_out(page, base)

    # The liaison maintains the unit's profile, but not its name or community.
    log_in(page, base, "liaison_new")
    page.goto(f"{base}/units/{unit_id}")
    page.get_by_role("link", name="维护本单位资料").click()
    expect(page).to_have_url(f"{base}/units/{unit_id}/edit")
    expect(page.get_by_label("单位名称", exact=True)).to_have_count(0)
    expect(page.get_by_label("所属社区", exact=True)).to_have_count(0)
    page.get_by_label("联系电话", exact=True).fill("139 1000 2026")
    page.get_by_label("单位简介与共建优势", exact=True).fill(
        "软件研发。\n每月第二个周六到社区开展助老上网课。"
    )
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(f"{base}/units/{unit_id}")
    expect(page.get_by_role("alert")).to_contain_text("单位资料已保存")
    expect(page.get_by_role("link", name="139 1000 2026")).to_be_visible()
    expect(page.locator("main")).to_contain_text("每月第二个周六到社区开展助老上网课")
    screenshot(page, "unit-page-desktop")
    with app.app_context():
        unit = db.session.get(Unit, unit_id)
        assert unit.liaison_phone == "139 1000 2026"
        assert unit.name == NEW_UNIT and unit.community_id == world.community1

    # Another unit's edit page is refused with the friendly 403 page.
    with app.app_context():
        before = db.session.scalars(select(Unit.version).where(Unit.id == world.unit_a)).one()
    response = page.goto(f"{base}/units/{world.unit_a}/edit")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("没有权限")
    with app.app_context():
        assert db.session.scalars(select(Unit.version).where(Unit.id == world.unit_a)).one() == before

    assert page.console.problems(expected_status=(403,)) == []


def test_register_on_a_phone(page, live_server, world):
    base = live_server
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, base, "secretary1")

    nav_link = page.locator("#mainnav").get_by_role("link", name="驻区单位")
    toggler = page.get_by_role("button", name="展开菜单")
    expect(toggler).to_be_visible()
    expect(nav_link).to_be_hidden()
    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    nav_link.click()
    expect(page).to_have_url(f"{base}/units")
    expect(page.locator("table tbody tr")).to_have_count(3)
    screenshot(page, "unit-register-phone")

    page.get_by_role("searchbox").fill("医院")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    # The page itself never scrolls sideways; a wide table scrolls inside its own box.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("link", name="市第三人民医院").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("市第三人民医院")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    assert page.console.problems() == []
