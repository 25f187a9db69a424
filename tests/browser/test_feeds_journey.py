"""Calendar links on /account, as a liaison and a secretary use them, at desktop and phone width."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from models import MeetingStatus, Unit, db
from tests.browser.helpers import log_in, screenshot

EMAILS = {"unit_a": "xiaoxue@danwei.example.gov.cn", "unit_b": "yiyuan@danwei.example.gov.cn"}


def test_liaison_and_secretary_subscribe_to_their_calendars(app, world, live_server, page, make_meeting):
    app.config["BASE_URL"] = live_server
    with app.app_context():
        for attr, addr in EMAILS.items():
            db.session.get(Unit, getattr(world, attr)).liaison_email = addr
        db.session.commit()
    make_meeting(status=MeetingStatus.SCHEDULED, title="第四季度共驻共建联席会议")
    make_meeting(days=2, status=MeetingStatus.CANCELLED, title="场地维修暂停的会议", cancel_reason="场地维修")

    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        log_in(page, live_server, "liaison_a")
        page.goto(f"{live_server}/account#feeds")
        feeds = page.locator("#feeds")
        expect(feeds).to_contain_text("东大街第一小学（单位日历）")
        create = feeds.get_by_role("button", name="生成订阅链接")
        while create.count():  # the second width finds the links made at the first
            create.first.click()
            expect(page.get_by_role("alert").first).to_contain_text("订阅链接已生成")
        links = [
            page.locator(f"#feed-{kind}").input_value()
            for kind in (f"user-{world.liaison_a}", f"unit-{world.unit_a}")
        ]
        assert all(link.startswith(f"{live_server}/calendar/") for link in links), links
        screenshot(page, f"account-feeds-liaison-{width}")
        for link in links:
            resp = page.request.get(link)
            assert resp.status == 200
            text = resp.text().replace("\r\n ", "")
            assert "SUMMARY:【已取消】场地维修暂停的会议" in text
            assert EMAILS["unit_a"] in text and EMAILS["unit_b"] not in text

        page.context.clear_cookies()
        log_in(page, live_server, "secretary1")
        page.goto(f"{live_server}/account#feeds")
        create = page.locator("#feeds").get_by_role("button", name="生成订阅链接")
        while create.count():
            create.first.click()
            expect(page.get_by_role("alert").first).to_contain_text("订阅链接已生成")
        community = page.locator(f"#feed-community-{world.community1}").input_value()
        assert re.fullmatch(rf"{re.escape(live_server)}/calendar/[\w-]+\.ics", community)
        screenshot(page, f"account-feeds-secretary-{width}")
        text = page.request.get(community).text().replace("\r\n ", "")
        assert EMAILS["unit_a"] in text and EMAILS["unit_b"] in text
        assert page.console.problems() == []
        page.context.clear_cookies()


def test_an_untrusted_host_gets_a_plain_chinese_refusal(app, world, live_server, page):
    app.config["TRUSTED_HOSTS"] = ["gongjian.dongdajie.example.gov.cn"]  # not 127.0.0.1
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        resp = page.goto(f"{live_server}/login")
        assert resp.status == 400
        expect(page.locator("h1")).to_have_text("访问地址有误")
        expect(page.locator("p")).to_contain_text("请使用系统管理员告知的网址")
        screenshot(page, f"untrusted-host-{width}")
    assert page.console.problems(expected_status=(400,)) == []
