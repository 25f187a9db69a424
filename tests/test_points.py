"""Unit points (积分): derived from the records with the rules as they stand, ranked per community."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import event, select

from models import (
    Action,
    ActionStatus,
    Attendance,
    AuditEvent,
    Booking,
    BookingStatus,
    Community,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Need,
    NeedStatus,
    PointRule,
    Resource,
    ResourceKind,
    Room,
    Street,
    Unit,
    db,
)
from services import points as svc
from services.periods import year_period
from tests.conftest import count

SH = ZoneInfo("Asia/Shanghai")
YEAR = 2025


def at(y: int, m: int, d: int, hour: int = 14, minute: int = 0) -> datetime:
    """A Beijing-time instant."""
    return datetime(y, m, d, hour, minute, tzinfo=SH)


class Builder:
    """Makes meetings, actions, needs, resources and bookings straight in the database."""

    def __init__(self, world):
        self.w = world

    def room(self, community_id: int | None = None) -> int:
        return db.session.scalar(
            select(Room.id).where(Room.community_id == (community_id or self.w.community1))
        )

    def meeting(
        self,
        start: datetime,
        attendance: dict[int, Attendance],
        status=MeetingStatus.HELD,
        community_id: int | None = -1,
        title: str = "季度联席会议",
    ) -> Meeting:
        cid = self.w.community1 if community_id == -1 else community_id
        room = self.room(cid or self.w.community1)
        if room is None:
            room_obj = Room(community_id=cid, name=f"会议室{cid}")
            db.session.add(room_obj)
            db.session.flush()
            room = room_obj.id
        m = Meeting(
            street_id=self.w.street,
            community_id=cid,
            kind=MeetingKind.REGULAR,
            title=title,
            start_at=start,
            end_at=start + timedelta(hours=2),
            room_id=room,
            status=status,
        )
        for unit_id, att in attendance.items():
            m.invitations.append(Invitation(unit_id=unit_id, attendance=att))
        db.session.add(m)
        db.session.flush()
        return m

    def action(
        self,
        meeting: Meeting,
        lead: int,
        due: date,
        done: date | None = None,
        status: ActionStatus | None = None,
        title: str = "开放操场",
    ) -> Action:
        a = Action(
            meeting_id=meeting.id,
            street_id=self.w.street,
            community_id=meeting.community_id,
            title=title,
            lead_unit_id=lead,
            due_on=due,
            done_on=done,
            status=status or (ActionStatus.DONE if done else ActionStatus.OPEN),
        )
        db.session.add(a)
        db.session.flush()
        return a

    def need(
        self,
        community_id: int,
        status=NeedStatus.OPEN,
        unit: int | None = None,
        fulfilled: datetime | None = None,
        created: datetime | None = None,
        title: str = "为独居老人修水管",
    ) -> Need:
        n = Need(
            street_id=self.w.street,
            community_id=community_id,
            kind=ResourceKind.VOLUNTEER,
            is_wish=True,
            title=title,
            status=status,
            claimed_unit_id=unit,
            fulfilled_at=fulfilled,
        )
        if created:
            n.created_at = created
        db.session.add(n)
        db.session.flush()
        return n

    def resource(
        self, owner: int, community_id: int, created: datetime | None = None, title: str = "多功能厅"
    ) -> Resource:
        r = Resource(
            street_id=self.w.street,
            owner_unit_id=owner,
            community_id=community_id,
            kind=ResourceKind.VENUE,
            title=title,
            bookable=True,
        )
        if created:
            r.created_at = created
        db.session.add(r)
        db.session.flush()
        return r

    def booking(
        self, resource: Resource, requester: int | None, start: datetime, status=BookingStatus.APPROVED
    ) -> Booking:
        b = Booking(
            resource_id=resource.id,
            requester_unit_id=requester,
            requester_community_id=None if requester else resource.community_id,
            start_at=start,
            end_at=start + timedelta(hours=2),
            status=status,
            purpose="活动",
        )
        db.session.add(b)
        db.session.flush()
        return b


def build_year(world) -> dict:
    """A year of records with a known score per unit under the default rules.

    unit A: attends 2 held meetings (+4), leads an action done on time (+2), fulfils a
            need (+3), its venue is booked by B (+1) and by the community (+1) = 11
    unit B: attends 1 (+2), absent without leave once (-5), an action done late (0) = -3
    unit C (community 2): absent with leave (0), a cancelled meeting (0) = 0
    """
    b = Builder(world)
    A, B, C = world.unit_a, world.unit_b, world.unit_c
    m1 = b.meeting(at(YEAR, 3, 10), {A: Attendance.PRESENT, B: Attendance.PRESENT}, title="一季度联席会议")
    b.meeting(at(YEAR, 6, 10), {A: Attendance.PRESENT, B: Attendance.ABSENT_NO_LEAVE}, title="二季度联席会议")
    b.meeting(at(YEAR, 9, 10), {A: Attendance.PRESENT}, status=MeetingStatus.CANCELLED, title="已取消的会议")
    b.meeting(at(YEAR, 4, 2), {C: Attendance.ABSENT_LEAVE}, community_id=world.community2, title="和平里例会")
    b.action(m1, A, due=date(YEAR, 4, 30), done=date(YEAR, 4, 20), title="按期完成的事项")
    b.action(m1, B, due=date(YEAR, 4, 30), done=date(YEAR, 5, 20), title="逾期完成的事项")
    b.action(m1, A, due=date(YEAR, 12, 30), status=ActionStatus.IN_PROGRESS, title="推进中的事项")
    b.need(
        world.community1,
        NeedStatus.FULFILLED,
        A,
        fulfilled=at(YEAR, 7, 1),
        created=at(YEAR, 6, 1),
        title="修缮楼道灯",
    )
    b.need(world.community1, NeedStatus.CLAIMED, B, created=at(YEAR, 6, 2))
    hall = b.resource(A, world.community1, created=at(YEAR, 1, 5), title="第一小学礼堂")
    b.booking(hall, B, at(YEAR, 5, 1))
    b.booking(hall, None, at(YEAR, 5, 8))  # the community books it
    b.booking(hall, A, at(YEAR, 5, 15))  # its own unit: no points
    b.booking(hall, B, at(YEAR, 5, 22), status=BookingStatus.PENDING)
    b.booking(hall, B, at(YEAR, 5, 29), status=BookingStatus.DECLINED)
    db.session.commit()
    return {"A": 11, "B": -3, "C": 0}


def test_default_rules_score_the_records(app, world):
    with app.app_context():
        expected = build_year(world)
        a = svc.unit_points(db.session.get(Unit, world.unit_a), YEAR)
        assert a.counts == {
            "attend": 2,
            "absent_no_leave": 0,
            "action_on_time": 1,
            "need_fulfilled": 1,
            "resource_booked": 2,
        }
        assert a.total == expected["A"]
        titles = {(e.kind, e.title) for e in a.events}
        assert ("attend", "一季度联席会议") in titles and ("action_on_time", "按期完成的事项") in titles
        assert ("need_fulfilled", "修缮楼道灯") in titles
        assert sum(e.points for e in a.events) == a.total
        b = svc.unit_points(db.session.get(Unit, world.unit_b), YEAR)
        assert (b.counts["attend"], b.counts["absent_no_leave"], b.counts["action_on_time"]) == (1, 1, 0)
        assert b.total == expected["B"]
        assert svc.unit_points(db.session.get(Unit, world.unit_c), YEAR).total == 0
        # Nothing in another year.
        assert svc.unit_points(db.session.get(Unit, world.unit_a), YEAR + 1).total == 0


def test_year_boundary_follows_beijing_time(app, world):
    with app.app_context():
        b = Builder(world)
        # 23:30 on 31 December in Beijing is still that year; 00:30 on 1 January is the next.
        b.meeting(at(YEAR, 12, 31, 23, 30), {world.unit_a: Attendance.PRESENT})
        b.meeting(at(YEAR + 1, 1, 1, 0, 30), {world.unit_a: Attendance.PRESENT})
        db.session.commit()
        unit = db.session.get(Unit, world.unit_a)
        assert svc.unit_points(unit, YEAR).counts["attend"] == 1
        assert svc.unit_points(unit, YEAR + 1).counts["attend"] == 1


def test_ranking_orders_units_and_shares_ranks(app, world, make_unit):
    extra = make_unit(name="并列单位")
    with app.app_context():
        build_year(world)
        b = Builder(world)
        # The extra unit ties with A: 11 points.
        m = b.meeting(at(YEAR, 10, 1), {extra: Attendance.PRESENT})
        for i in range(3):
            b.action(m, extra, due=date(YEAR, 11, 30), done=date(YEAR, 11, 1), title=f"事项{i}")
        resource = b.resource(extra, world.community1)
        for d in (3, 4, 5):
            b.booking(resource, world.unit_b, at(YEAR, 11, d))
        db.session.commit()
        community = db.session.get(Community, world.community1)
        rows, _ = svc.community_ranking(community, YEAR)
        table = [(r.rank, r.name, r.points) for r in rows]
        assert table == [(1, "东大街第一小学", 11), (1, "并列单位", 11), (3, "市第三人民医院", -3)]


def test_rule_change_rescores_history(app, world, client, login_as):
    with app.app_context():
        build_year(world)
    login_as("admin")
    resp = client.post(
        "/stats/points/rules",
        data={
            "attend": "5",
            "absent_no_leave": "-10",
            "action_on_time": "2",
            "need_fulfilled": "3",
            "resource_booked": "0",
        },
    )
    assert resp.status_code == 302
    assert "重新计算" in client.get(resp.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert dict(db.session.execute(select(PointRule.key, PointRule.points)).tuples().all())["attend"] == 5
        a = svc.unit_points(db.session.get(Unit, world.unit_a), YEAR)
        assert a.total == 2 * 5 + 2 + 3 + 0
        assert svc.unit_points(db.session.get(Unit, world.unit_b), YEAR).total == 5 - 10
        assert count(AuditEvent, AuditEvent.object_type == "point_rule") >= 1
    page = client.get(f"/stats/points/units/{world.unit_a}?year={YEAR}").get_data(as_text=True)
    assert 'id="points-total">15<' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("attend", "abc", "积分必须是整数"),
        ("attend", "", "请填写积分"),
        ("attend", "2.5", "积分必须是整数"),
        ("absent_no_leave", "-101", "-100 到 100"),
        ("need_fulfilled", "1000000", "-100 到 100"),
        ("need_fulfilled", "9" * 5000, "积分必须是整数"),
    ],
)
def test_bad_rule_values_are_refused(app, world, client, login_as, field, value, message):
    login_as("admin")
    data = {
        "attend": "2",
        "absent_no_leave": "-5",
        "action_on_time": "2",
        "need_fulfilled": "3",
        "resource_booked": "1",
    }
    data[field] = value
    resp = client.post("/stats/points/rules", data=data)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert count(PointRule) == 0


def test_service_refuses_absurd_values(app, world):
    with app.app_context():
        with pytest.raises(svc.StatsError):
            svc.set_point_rules(world.street, {"attend": 101})
        with pytest.raises(svc.StatsError):
            svc.set_point_rules(world.street, {"nonsense": 1})
        assert count(PointRule) == 0


@pytest.mark.parametrize("who", ["secretary1", "archivist", "liaison_a"])
def test_only_admins_change_rules(app, world, client, login_as, who):
    login_as(who)
    assert client.get("/stats/points/rules").status_code == 403
    resp = client.post("/stats/points/rules", data={k: "9" for k in svc.RULE_KEYS})
    assert resp.status_code == 403
    with app.app_context():
        assert count(PointRule) == 0


def test_ranking_page_and_export(app, world, client, login_as):
    with app.app_context():
        build_year(world)
    login_as("secretary2")
    page = client.get(f"/stats/points?year={YEAR}&community={world.community1}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.index("东大街第一小学") < text.index("市第三人民医院")
    assert "出席联席会议" in text  # the rules are shown
    resp = client.get(f"/stats/points.xlsx?year={YEAR}&community={world.community1}")
    assert resp.status_code == 200
    assert "attachment" in resp.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "名次" and rows[0][-1] == "积分"
    assert rows[1][:2] == (1, "东大街第一小学") and rows[1][-1] == 11
    assert rows[2][1] == "市第三人民医院" and rows[2][-1] == -3
    with app.app_context():
        assert count(AuditEvent, AuditEvent.action == "export") == 1


def test_ranking_defaults_and_bad_input(app, world, client, login_as):
    login_as("liaison_c")
    # A liaison sees the ranking of their unit's community by default, but may not export.
    text = client.get("/stats/points").get_data(as_text=True)
    assert "和平里社区 · " in text and "和平里派出所" in text
    assert client.get("/stats/points.xlsx").status_code == 403
    for query, message in (
        ("year=abc", "年份无效"),
        ("year=1899", "年份须在"),
        ("year=99999", "年份无效"),
        ("community=999999", "所选社区不存在"),
        ("community=abc", "所选社区不存在"),
    ):
        resp = client.get(f"/stats/points?{query}")
        assert resp.status_code == 400, query
        assert message in resp.get_data(as_text=True)


def test_unit_points_page_access(app, world, client, login_as):
    with app.app_context():
        build_year(world)
    login_as("liaison_a")
    resp = client.get(f"/stats/points/units/{world.unit_a}?year={YEAR}")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "一季度联席会议" in text and "按期完成的事项" in text and "+3" in text
    assert client.get(f"/stats/points/units/{world.unit_b}?year={YEAR}").status_code == 403
    assert client.get("/stats/points/units/999999").status_code == 404
    assert client.get(f"/stats/points/units/{world.unit_a}?year=20x5").status_code == 400
    login_as("archivist")
    assert client.get(f"/stats/points/units/{world.unit_b}?year={YEAR}").status_code == 200


def test_unit_page_panel_shows_points(app, world):
    from flask_login import login_user

    from models import User

    with app.app_context():
        b = Builder(world)
        this_year = datetime.now(SH).year
        b.meeting(datetime(this_year, 1, 1, 9, tzinfo=SH), {world.unit_a: Attendance.PRESENT})
        db.session.commit()
    with app.test_request_context():
        from flask import render_template_string

        from web import panels

        user = db.session.scalar(select(User).where(User.username == "liaison_b"))
        login_user(user)
        unit = db.session.get(Unit, world.unit_a)
        rendered = [
            p for p in panels.render(panels.UNIT_PAGE, user, unit) if p[0] == "stats/_unit_panel.html"
        ]
        assert len(rendered) == 1
        template, ctx = rendered[0]
        html = render_template_string("{% include template %}", template=template, ctx=ctx)
        assert "出席联席会议 1 次" in html and '<strong class="fs-4">2</strong>' in html
        assert "积分明细" not in html  # another unit's liaison sees totals, not the events


def _statements(app, fn) -> int:
    seen = []

    def listener(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen)


def test_points_use_a_bounded_number_of_queries(app, world, make_unit):
    with app.app_context():
        build_year(world)
        community = db.session.get(Community, world.community1)
        unit = db.session.get(Unit, world.unit_a)
        small = (
            _statements(app, lambda: svc.community_ranking(community, YEAR)),
            _statements(app, lambda: svc.unit_points(unit, YEAR)),
        )
    for i in range(15):
        make_unit(name=f"加量单位{i}")
    with app.app_context():
        build_year(world)
        b = Builder(world)
        units = list(db.session.scalars(select(Unit.id).where(Unit.community_id == world.community1)))
        for d in range(1, 20):
            b.meeting(at(YEAR, 8, d), dict.fromkeys(units, Attendance.PRESENT))
        db.session.commit()
        community = db.session.get(Community, world.community1)
        unit = db.session.get(Unit, world.unit_a)
        large = (
            _statements(app, lambda: svc.community_ranking(community, YEAR)),
            _statements(app, lambda: svc.unit_points(unit, YEAR)),
        )
        rows, _ = svc.community_ranking(community, YEAR)
        assert len(rows) == 17
    assert small == large
    assert large[0] <= 3 and large[1] <= 7


def test_street_top_units(app, world):
    with app.app_context():
        build_year(world)
        street = db.session.get(Street, world.street)
        assert svc.street_top_units(street, YEAR) == [(1, "东大街第一小学", "青年路社区", 11)]
        # Unit C draws level (4 meetings, +8; a need fulfilled, +3): both are first.
        b = Builder(world)
        for k in range(4):
            b.meeting(at(YEAR, 10, k + 1), {world.unit_c: Attendance.PRESENT}, community_id=world.community2)
        b.need(
            world.community2,
            NeedStatus.FULFILLED,
            world.unit_c,
            fulfilled=at(YEAR, 8, 1),
            created=at(YEAR, 7, 1),
        )
        db.session.commit()
        assert svc.street_top_units(street, YEAR) == [
            (1, "东大街第一小学", "青年路社区", 11),
            (1, "和平里派出所", "和平里社区", 11),
        ]


def test_utc_helper_sanity():
    # The year period's bounds are Beijing midnight, i.e. 16:00 UTC the day before.
    p = year_period(YEAR)
    assert p.start_utc == datetime(YEAR - 1, 12, 31, 16, tzinfo=UTC)
    assert p.end_utc == datetime(YEAR, 12, 31, 16, tzinfo=UTC)


def test_liaisons_see_totals_not_other_units_breakdown(app, client, world, login_as):
    """Other units' counts (unexcused absences among them) are for staff, like the export."""

    def ranking_table(persona):
        login_as(persona)
        page = client.get(f"/stats/points?community={world.community1}").get_data(as_text=True)
        return page[page.index('id="ranking"') : page.index("</table>", page.index('id="ranking"'))]

    assert "无故缺席" in ranking_table("secretary1")
    table = ranking_table("liaison_a")
    assert "无故缺席" not in table and "东大街第一小学" in table
