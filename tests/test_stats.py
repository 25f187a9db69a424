"""The street dashboard /stats, its SVG charts and the annual report PDF."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from exports import charts
from models import Attendance, AuditEvent, BookingStatus, Community, Need, NeedStatus, Street, db
from services import dashboard, periods, points
from tests.conftest import count
from tests.test_pdf import pdftotext, squeezed
from tests.test_points import SH, YEAR, Builder, _statements, at, build_year


def figures(html: str, community: int | str) -> dict[str, str]:
    """The figures of one community's row (or "total") in the page's table."""
    row = re.search(rf'<tr[^>]*data-community="{community}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"no row for {community}"
    return dict(re.findall(r'data-figure="(\w+)">([^<]*)<', row.group(1)))


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("secretary1", 200), ("archivist", 200), ("liaison_a", 403)],
)
def test_dashboard_access(world, client, login_as, who, status):
    login_as(who)
    assert client.get("/stats").status_code == status
    assert client.get(f"/stats/report.pdf?year={YEAR}").status_code in (
        (status,) if status == 403 else (200,)
    )


def test_anonymous_is_sent_to_login(world, client):
    for url in ("/stats", "/stats/report.pdf", "/stats/points", "/stats/points.xlsx", "/stats/points/rules"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url


def test_dashboard_figures_per_community(app, world, client, login_as):
    with app.app_context():
        build_year(world)
        b = Builder(world)
        # An action of last year's meeting does not count this period; an overdue one does.
        old = b.meeting(at(YEAR - 1, 11, 1), {world.unit_a: Attendance.PRESENT})
        b.action(old, world.unit_a, due=date(YEAR - 1, 12, 1))
        m = b.meeting(at(YEAR, 2, 1), {world.unit_c: Attendance.PRESENT}, community_id=world.community2)
        b.action(m, world.unit_c, due=date(YEAR, 3, 1), title="逾期事项")
        b.need(world.community2, NeedStatus.OPEN, created=at(YEAR, 8, 1))
        b.need(world.community2, NeedStatus.WITHDRAWN, created=at(YEAR, 8, 1))
        db.session.commit()
    login_as("secretary1")
    html = client.get(f"/stats?from={YEAR}-01-01&to={YEAR}-12-31").get_data(as_text=True)
    c1 = figures(html, world.community1)
    assert c1 == {
        "meetings_held": "2",  # the cancelled one does not count
        "attendance_rate": "75%",  # 3 present of 4 invitations
        "actions_total": "3",
        "actions_done": "2",
        "actions_done_late": "1",  # 逾期完成的事项: done 20 May, due 30 April
        "actions_open": "0",
        "actions_overdue": "1",  # the one in progress is due 30 December, overdue by now
        "needs_posted": "2",
        "needs_open": "1",
        "needs_fulfilled": "1",
        "resources": "1",
        "bookings": "3",  # approved only (the pending and the declined are left out)
    }
    c2 = figures(html, world.community2)
    assert (c2["meetings_held"], c2["attendance_rate"], c2["actions_overdue"]) == ("2", "50%", "1")
    assert (c2["needs_posted"], c2["needs_open"]) == ("1", "1")  # the withdrawn one is left out
    total = figures(html, "total")
    assert total["meetings_held"] == "4" and total["bookings"] == "3"
    # The secretary's own community is highlighted, the others are shown too.
    assert re.search(rf'class="table-warning own-community"[^>]*data-community="{world.community1}"', html)
    assert "本社区" in html and "和平里社区" in html
    # Charts: inline SVG, no script, no inline style (the CSP forbids both).
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    assert main.count("<svg") == 5
    assert "<script" not in main and " style=" not in main
    # The period before: nothing happened.
    html = client.get(f"/stats?from={YEAR - 3}-01-01&to={YEAR - 2}-12-31").get_data(as_text=True)
    assert figures(html, "total")["meetings_held"] == "0"


def test_street_level_meetings_get_their_own_row(app, world, client, login_as):
    with app.app_context():
        Builder(world).meeting(at(YEAR, 5, 5), {world.unit_a: Attendance.PRESENT}, community_id=None)
        db.session.commit()
    login_as("admin")
    html = client.get(f"/stats?from={YEAR}-01-01&to={YEAR}-12-31").get_data(as_text=True)
    assert "东大街街道（街道层面）" in html
    assert figures(html, dashboard.STREET_ROW)["meetings_held"] == "1"
    assert figures(html, "total")["meetings_held"] == "1"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-05-01&to=2026-01-01", "开始日期不能晚于结束日期"),
        ("from=2026-13-01&to=2026-12-31", "开始日期无效"),
        ("from=2026-01-01&to=abc", "结束日期无效"),
        ("from=2026-01-01", "同时填写开始日期和结束日期"),
        ("from=0001-01-01&to=2026-01-01", "开始日期须在"),
        ("from=2000-01-01&to=2099-12-31", "不能超过十年"),
        ("period=forever", "未知的统计时段"),
        ("from=%00&to=%ff", "开始日期无效"),
    ],
)
def test_bad_periods_get_a_message(world, client, login_as, query, message):
    login_as("admin")
    resp = client.get(f"/stats?{query}")
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert message in text
    assert 'id="community-figures"' in text  # the default period is still shown


@pytest.mark.parametrize("preset", ["year", "last_year", "quarter", "12m"])
def test_presets(world, client, login_as, preset):
    login_as("archivist")
    resp = client.get(f"/stats?period={preset}")
    assert resp.status_code == 200
    assert f'<option value="{preset}" selected>' in resp.get_data(as_text=True)


def test_preset_periods():
    day = date(2026, 5, 10)
    assert periods.preset_period("year", day) == periods.Period(date(2026, 1, 1), date(2026, 12, 31), "year")
    assert periods.preset_period("last_year", day).start == date(2025, 1, 1)
    assert (periods.preset_period("quarter", day).start, periods.preset_period("quarter", day).end) == (
        date(2026, 4, 1),
        date(2026, 6, 30),
    )
    q4 = periods.preset_period("quarter", date(2026, 11, 2))
    assert (q4.start, q4.end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert periods.preset_period("12m", day).start == date(2025, 6, 1)
    assert periods.preset_period("12m", date(2026, 12, 5)).start == date(2026, 1, 1)
    assert len(periods.preset_period("12m", day).months()) == 12


def test_dashboard_queries_do_not_grow_with_data(app, world, make_unit):
    with app.app_context():
        street = db.session.get(Street, world.street)
        period = periods.year_period(YEAR)
        small = _statements(app, lambda: dashboard.street_dashboard(street, period))
    units = [make_unit(name=f"加量单位{i}", community_id=world.community2) for i in range(10)]
    with app.app_context():
        build_year(world)
        b = Builder(world)
        for d in range(1, 28):
            m = b.meeting(
                at(YEAR, 3, d), dict.fromkeys(units, Attendance.PRESENT), community_id=world.community2
            )
            b.action(m, units[d % 10], due=date(YEAR, 6, 1), done=date(YEAR, 5, 1))
            r = b.resource(units[d % 10], world.community2)
            b.booking(r, units[(d + 1) % 10], at(YEAR, 7, d))
        db.session.commit()
        street = db.session.get(Street, world.street)
        large = _statements(app, lambda: dashboard.street_dashboard(street, period))
        assert dashboard.street_dashboard(street, period).total.meetings_held == 2 + 1 + 27
    assert small == large <= 10


def test_annual_report_pdf(app, world, client, login_as, tmp_path):
    with app.app_context():
        build_year(world)
    login_as("archivist")
    resp = client.get(f"/stats/report.pdf?year={YEAR}")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    assert "attachment" in resp.headers["Content-Disposition"]
    text = squeezed(pdftotext(tmp_path, resp.data))
    assert f"东大街街道{YEAR}年度共建工作报告" in text
    assert "青年路社区" in text and "和平里社区" in text
    assert "共召开联席会议3次" in text
    # An action 推进中 past its due date counts as overdue, not as 未到期 (not done, not yet due).
    assert "已完成2项，未到期0项，逾期未完成1项" in text
    assert "东大街第一小学" in text  # the points table
    assert "各社区议定事项落实情况" in text  # a chart's own text (SVG drawn into the PDF)
    assert "第1页共" in text
    with app.app_context():
        assert count(AuditEvent, AuditEvent.action == "export") == 1


@pytest.mark.parametrize("year", ["abc", "1999", "2101", "20266", "-1", "%00"])
def test_annual_report_bad_year(world, client, login_as, year):
    login_as("admin")
    resp = client.get(f"/stats/report.pdf?year={year}")
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "年份" in page


def test_secretary_sees_own_street_only(app, world, client, login_as):
    with app.app_context():
        other = Street(name="西大街街道", short_name="西大街")
        db.session.add(other)
        db.session.add(Community(street=other, name="西城社区", short_name="西城", position=1))
        db.session.commit()
        other_id = other.id
    login_as("secretary1")
    html = client.get(f"/stats?street={other_id}").get_data(as_text=True)
    assert "青年路社区" in html and "西城社区" not in html
    login_as("admin")
    html = client.get(f"/stats?street={other_id}").get_data(as_text=True)
    assert "西城社区" in html and "青年路社区" not in html
    assert client.get("/stats?street=abc").status_code == 200


def test_charts_are_pure_and_escape_text():
    svg = charts.hbar_chart(["<b>社区</b>", "和平里"], [("会议", [3, 0])], "标题 & <x>", highlight=0)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "&amp;" in svg
    assert 'font-weight="bold"' in svg
    assert "style=" not in svg and "<script" not in svg
    empty = charts.hbar_chart([], [("会议", [])], "空")
    assert empty.startswith("<svg")
    col = charts.column_chart(["1月", "2月"], [("会议", [0, 0]), ("需求", [1, 5])], "逐月")
    assert col.count("<rect") >= 4
    assert charts.month_labels(["2025-12", "2026-01"]) == ["25年12月", "26年1月"]
    assert charts.month_labels(["2026-01", "2026-02"]) == ["1月", "2月"]
    pct = charts.hbar_chart(["甲"], [("出席率", [0.5])], "出席率", percent=True)
    assert "50%" in pct and "100%" in pct


def test_fulfilled_need_changes_the_figures(app, world, client, login_as):
    """The dashboard half of the 微心愿 journey, without the browser."""
    this_year = datetime.now(SH).year
    with app.app_context():
        need = Builder(world).need(world.community1, NeedStatus.OPEN)
        db.session.commit()
        need_id = need.id
    login_as("admin")
    before = figures(client.get("/stats").get_data(as_text=True), world.community1)
    assert (before["needs_open"], before["needs_fulfilled"]) == ("1", "0")
    with app.app_context():
        need = db.session.get(Need, need_id)
        need.status, need.claimed_unit_id = NeedStatus.FULFILLED, world.unit_a
        need.fulfilled_at = datetime.now(SH)
        db.session.commit()
    after = figures(client.get("/stats").get_data(as_text=True), world.community1)
    assert (after["needs_open"], after["needs_fulfilled"]) == ("0", "1")
    with app.app_context():
        from models import Unit

        assert points.unit_points(db.session.get(Unit, world.unit_a), this_year).counts["need_fulfilled"] == 1


def test_bookings_of_community_rooms_count(app, world):
    """A booking of a community room counts for the room's community (no unit gets points)."""
    from datetime import timedelta

    from models import Booking, Room

    with app.app_context():
        room = db.session.scalar(select(Room).where(Room.community_id == world.community1))
        start = at(YEAR, 4, 4)
        db.session.add(
            Booking(
                room_id=room.id,
                requester_unit_id=world.unit_c,
                start_at=start,
                end_at=start + timedelta(hours=1),
                status=BookingStatus.APPROVED,
            )
        )
        db.session.commit()
        street = db.session.get(Street, world.street)
        d = dashboard.street_dashboard(street, periods.year_period(YEAR))
        assert {r.key: r.bookings for r in d.rows}[world.community1] == 1
        assert points.event_counts(periods.year_period(YEAR)) == {}
        assert sum(d.trend["bookings"]) == 1


def test_demo_seed_is_idempotent_and_gives_last_year_a_ranking(app, world):
    from demo import stats as demo
    from models import Meeting

    with app.app_context():
        street = db.session.get(Street, world.street)
        demo.seed(street)
        db.session.commit()
        meetings = count(Meeting)
        demo.seed(street)
        db.session.commit()
        assert count(Meeting) == meetings == 1  # only community 1 has a room in the fixture
        last_year = datetime.now(SH).year - 1
        rows, rules = points.community_ranking(db.session.get(Community, world.community1), last_year)
        assert rows[0].points > 0 and rules == {r.key: r.default for r in points.RULES}
        d = dashboard.street_dashboard(street, periods.year_period(last_year))
        assert d.total.meetings_held == 1 and d.total.actions_done == 2
