"""Hostile and round-tripped register files, and login throttling, as a user meets them in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import log_in, log_out, screenshot
from tests.conftest import PASSWORD
from tests.test_import_limits import far_corner

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1366, 390])
def test_register_files_and_login_throttle(page, live_server, world, tmp_path, width):
    base = live_server
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, base, "admin")

    # A 1.6 KB workbook that declares A1:XFD1048576: a message on the form, at once.
    hostile = tmp_path / "名册.xlsx"
    hostile.write_bytes(far_corner())
    page.goto(f"{base}/units/import")
    page.get_by_label("登记表文件").set_input_files(str(hostile))
    page.get_by_role("button", name="检查文件").click()
    expect(page.locator("main")).to_contain_text("工作表声明的范围是 A1:XFD1048576")
    screenshot(page, f"import-refused-{width}")

    # The register exported and imported again: nothing to do.
    page.goto(f"{base}/units")
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    exported = tmp_path / "驻区单位名册.xlsx"
    info.value.save_as(exported)
    page.goto(f"{base}/units/import")
    page.get_by_label("登记表文件").set_input_files(str(exported))
    page.get_by_role("button", name="检查文件").click()
    expect(page.locator("#nothing-changed")).to_contain_text("3 个单位都已在名册中，内容完全一致，无需导入")
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)
    screenshot(page, f"import-unchanged-{width}")

    # The same as CSV, with one unit changed and one new: the change is named, the rest kept.
    with page.expect_download() as info:
        page.goto(f"{base}/units")
        page.get_by_role("link", name="导出 CSV").click()
    text = info.value.path().read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    school = next(i for i, line in enumerate(lines) if line.startswith("东大街第一小学,"))
    cells = lines[school].split(",")
    cells[8] = "010-87654321"  # 联系电话
    lines[school] = ",".join(cells)
    lines.insert(
        2, "=青年路便民超市,便民超市,非公企业,青年路社区,青年路 3 号,,2,钱多多,01088880000,,2026-03-01,,,,"
    )
    edited = tmp_path / "名册.csv"
    edited.write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    page.goto(f"{base}/units/import")
    page.get_by_label("登记表文件").set_input_files(str(edited))
    page.get_by_role("button", name="检查文件").click()
    expect(page.locator("#valid-count")).to_have_text("1")
    expect(page.locator("#rejected-count")).to_have_text("1")
    expect(page.locator("#unchanged-count")).to_have_text("2")
    expect(page.locator("#rejected")).to_contain_text("联系电话与名册不同")
    page.locator("#unchanged summary").click()
    expect(page.locator("#unchanged")).to_contain_text("市第三人民医院")
    screenshot(page, f"import-mixed-{width}")
    if width > 600:
        log_out(page, base)
    else:  # the phone layout folds the navigation away; start a fresh session instead
        page.context.clear_cookies()
        page.goto(f"{base}/login")

    # Someone guesses a password from this address: after ten tries it waits, told why.
    for _ in range(10):
        page.get_by_label("用户名", exact=True).fill("secretary1")
        page.get_by_label("密码", exact=True).fill("猜一猜共建口令")
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    page.get_by_label("用户名", exact=True).fill("secretary1")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    with page.expect_response(f"{base}/login") as response:
        page.get_by_role("button", name="登录").click()
    assert response.value.status == 429
    assert int(response.value.headers["retry-after"]) > 0
    expect(page.get_by_role("alert")).to_contain_text("登录失败次数过多，请 15 分钟后再试")
    expect(page.get_by_label("用户名", exact=True)).to_be_visible()
    screenshot(page, f"login-throttled-{width}")
    assert page.console.problems(expected_status=(429,)) == []
