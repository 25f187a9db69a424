"""Joint meetings: scheduling, clashes, lost updates, series, topics, replies and attendance."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import (
    AgendaItem,
    Attendance,
    AuditEvent,
    Invitation,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Reply,
    Room,
    Topic,
    TopicStatus,
    Unit,
    UnitStatus,
    db,
)
from tests.conftest import count

SH = ZoneInfo("Asia/Shanghai")


def _day(days: int) -> date:
    return (datetime.now(SH) + timedelta(days=days)).date()


def _room(app, world) -> int:
    with app.app_context():
        return db.session.scalar(select(Room.id).where(Room.community_id == world.community1))


def _form(app, world, **overrides):
    data = {
        "kind": "regular",
        "title": "2026年第四季度联席会议",
        "community_id": world.community1,
        "room_id": _room(app, world),
        "day": _day(10).isoformat(),
        "start_time": "14:00",
        "end_time": "16:00",
        "description": "",
        "agenda-0-title": "通报共建项目进展",
        "agenda-0-minutes": "30",
        "agenda-0-presenter_unit_id": str(world.unit_a),
        "agenda-1-title": "",
        "units": [world.unit_a, world.unit_b],
        "save": "保存",
    }
    data.update(overrides)
    return data


def _meeting(app, meeting_id) -> Meeting:
    with app.app_context():
        m = db.session.get(Meeting, meeting_id)
        m.invitations, m.agenda_items, m.topics  # noqa: B018  load before detaching
        db.session.expunge_all()
        return m


def _activate(app, *unit_ids):
    with app.app_context():
        for uid in unit_ids:
            db.session.get(Unit, uid).status = UnitStatus.ACTIVE
        db.session.commit()


def test_secretary_schedules_meeting_with_agenda_and_invitations(app, client, world, login_as):
    login_as("secretary1")
    resp = client.post("/meetings/new", data=_form(app, world))
    assert resp.status_code == 302
    meeting_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    m = _meeting(app, meeting_id)
    assert m.status == MeetingStatus.DRAFT
    assert m.community_id == world.community1
    assert m.start_at == datetime.combine(_day(10), time(14, 0), SH)
    assert m.start_at.tzinfo is not None
    assert [(i.title, i.presenter_unit_id, i.minutes) for i in m.agenda_items] == [
        ("通报共建项目进展", world.unit_a, 30)
    ]
    assert {inv.unit_id for inv in m.invitations} == {world.unit_a, world.unit_b}
    assert m.topic_deadline == m.start_at - timedelta(days=3)
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "通报共建项目进展" in page and "东大街第一小学" in page
    with app.app_context():
        assert count(AuditEvent, AuditEvent.object_type == "meeting", AuditEvent.action == "create") == 1


def test_invite_whole_community_or_category(app, client, world, login_as, make_unit):
    extra = make_unit(name="青年路银行", status=UnitStatus.ACTIVE, category="finance")
    withdrawn = make_unit(name="已退出单位", status=UnitStatus.WITHDRAWN)
    _activate(app, world.unit_a, world.unit_b)
    login_as("admin")
    resp = client.post(
        "/meetings/new", data=_form(app, world, units=[], invite_community=str(world.community1))
    )
    m = _meeting(app, int(resp.headers["Location"].rsplit("/", 1)[1]))
    assert {inv.unit_id for inv in m.invitations} == {world.unit_a, world.unit_b, extra}
    assert withdrawn not in {inv.unit_id for inv in m.invitations}
    resp = client.post(
        "/meetings/new",
        data=_form(app, world, units=[], invite_category="finance", day=_day(11).isoformat()),
    )
    m = _meeting(app, int(resp.headers["Location"].rsplit("/", 1)[1]))
    assert {inv.unit_id for inv in m.invitations} == {extra}


def test_invite_several_communities_and_categories_less_removed_units(
    app, client, world, login_as, make_unit
):
    """Within communities and within categories any may match; across the two, both must; the
    units removed from the list are not invited; units picked one by one always are."""
    bank1 = make_unit(name="青年路银行", status=UnitStatus.ACTIVE, category="finance")
    bank2 = make_unit(
        name="和平里银行", status=UnitStatus.ACTIVE, category="finance", community_id=world.community2
    )
    school2 = make_unit(
        name="和平里小学", status=UnitStatus.ACTIVE, category="school", community_id=world.community2
    )
    make_unit(name="未在册银行", status=UnitStatus.REGISTERED, category="finance")
    _activate(app, world.unit_a, world.unit_b, world.unit_c)
    login_as("admin")
    data = _form(app, world, units=[world.unit_b])
    data.update(
        invite_community=[str(world.community1), str(world.community2)],
        invite_category=["finance", "school"],
        invite_exclude=[str(bank2)],
    )
    resp = client.post("/meetings/new", data=data)
    m = _meeting(app, int(resp.headers["Location"].rsplit("/", 1)[1]))
    # unit A is community 1's school, unit B (a hospital) was picked by hand.
    assert {inv.unit_id for inv in m.invitations} == {world.unit_a, world.unit_b, bank1, school2}


def test_the_invitation_picker_lists_every_unit_with_what_its_script_needs(app, client, world, login_as):
    login_as("secretary1")
    page = client.get("/meetings/new").get_data(as_text=True)
    assert 'id="invite-picker"' in page and "js/invite-picker.js" in page
    assert f'value="{world.unit_a}" data-community="{world.community1}" data-category="school"' in page
    assert 'name="invite_category" id="invite-category-0"' in page


def test_secretary_cannot_use_other_community_room_or_units(app, client, world, login_as):
    with app.app_context():
        room2 = Room(community_id=world.community2, name="和平里会议室", capacity=20)
        db.session.add(room2)
        db.session.commit()
        room2_id = room2.id
    login_as("secretary1")
    resp = client.post("/meetings/new", data=_form(app, world, room_id=room2_id))
    assert resp.status_code == 200
    with app.app_context():
        assert count(Meeting) == 0
    # A unit of another community is silently not invitable by this secretary.
    resp = client.post("/meetings/new", data=_form(app, world, units=[world.unit_a, world.unit_c]))
    m = _meeting(app, int(resp.headers["Location"].rsplit("/", 1)[1]))
    assert {inv.unit_id for inv in m.invitations} == {world.unit_a}


def test_bad_times_and_long_agenda_are_refused(app, client, world, login_as):
    login_as("secretary1")
    resp = client.post("/meetings/new", data=_form(app, world, start_time="16:00", end_time="15:00"))
    assert "结束时间必须晚于开始时间" in resp.get_data(as_text=True)
    resp = client.post(
        "/meetings/new",
        data=_form(
            app, world, **{"agenda-0-minutes": "100", "agenda-1-title": "议题二", "agenda-1-minutes": "30"}
        ),
    )
    text = resp.get_data(as_text=True)
    assert "议程共 130 分钟，超过了会议时长 120 分钟" in text
    assert "议题二" in text  # what the user typed is kept
    resp = client.post("/meetings/new", data=_form(app, world, day="2026-13-45", title=""))
    text = resp.get_data(as_text=True)
    assert "请填写会议名称" in text and "请填写有效的日期" in text
    with app.app_context():
        assert count(Meeting) == 0


def test_double_booking_names_the_clash_and_suggests_a_slot(app, client, world, login_as, make_meeting):
    make_meeting(days=10, at=time(14, 0), hours=2, title="已有的专题会")
    login_as("secretary1")
    resp = client.post("/meetings/new", data=_form(app, world, start_time="15:00", end_time="16:30"))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "已被“已有的专题会”" in text
    expected = _day(10)
    assert f"{expected.year}年{expected.month:02d}月{expected.day:02d}日 16:00" in text
    with app.app_context():
        assert count(Meeting) == 1
    # Back to back is fine.
    resp = client.post("/meetings/new", data=_form(app, world, start_time="16:00", end_time="17:00"))
    assert resp.status_code == 302
    # A cancelled meeting frees its slot.
    with app.app_context():
        m = db.session.scalar(select(Meeting).where(Meeting.title == "已有的专题会"))
        m.status = MeetingStatus.CANCELLED
        db.session.commit()
    resp = client.post("/meetings/new", data=_form(app, world, start_time="14:00", end_time="15:00"))
    assert resp.status_code == 302


def test_next_free_slot_skips_evening_to_next_morning(app, world, make_meeting):
    from services.rooms import next_free_slot

    make_meeting(days=5, at=time(19, 0), hours=2)
    with app.app_context():
        room = _room(app, world)
        start = datetime.combine(_day(5), time(19, 30), SH)
        slot = next_free_slot(room, start, timedelta(hours=1))
    assert slot == datetime.combine(_day(6), time(8, 30), SH)


def test_past_meeting_cannot_be_published(app, client, world, login_as, make_meeting):
    past = make_meeting(days=-1)
    login_as("secretary1")
    client.post(f"/meetings/{past}/publish")
    assert _meeting(app, past).status == MeetingStatus.DRAFT
    page = client.get(f"/meetings/{past}").get_data(as_text=True)
    assert "会议开始时间已过，不能发布" in page


def test_publish_then_lost_update_is_refused_with_changes(app, client, world, login_as, make_meeting):
    mid = make_meeting(days=7)
    login_as("secretary1")
    assert client.post(f"/meetings/{mid}/publish").status_code == 302
    m = _meeting(app, mid)
    assert m.status == MeetingStatus.SCHEDULED and m.sequence == 1
    form_page = client.get(f"/meetings/{mid}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form_page).group(1)
    original = re.search(r'name="original" type="hidden" value="([^"]*)"', form_page).group(1)
    import html

    original = html.unescape(original)
    # secretary saves another change first (as admin here)
    with app.app_context():
        other = db.session.get(Meeting, mid)
        other.title = "改名后的联席会议"
        other.version += 1
        db.session.commit()
    day = m.start_at.astimezone(SH).date().isoformat()
    data = _form(app, world, day=day, version=version, original=original, description="我的说明")
    resp = client.post(f"/meetings/{mid}/edit", data=data)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "其他人修改了这次会议" in text and "改名后的联席会议" in text
    assert "我的说明" in text
    assert _meeting(app, mid).description == ""


def test_edit_one_occurrence_and_states(app, client, world, login_as, make_meeting):
    mid = make_meeting(days=7, status=MeetingStatus.HELD)
    login_as("secretary1")
    resp = client.get(f"/meetings/{mid}/edit")
    assert resp.status_code == 302  # held meetings are no longer editable
    resp = client.post(f"/meetings/{mid}/cancel", data={"reason": "改期"})
    assert _meeting(app, mid).status == MeetingStatus.HELD


def test_cancel_needs_reason_and_is_audited(app, client, world, login_as, make_meeting):
    mid = make_meeting(days=7, status=MeetingStatus.SCHEDULED)
    login_as("secretary1")
    client.post(f"/meetings/{mid}/cancel", data={"reason": ""})
    assert _meeting(app, mid).status == MeetingStatus.SCHEDULED
    client.post(f"/meetings/{mid}/cancel", data={"reason": "与区里会议冲突"})
    m = _meeting(app, mid)
    assert m.status == MeetingStatus.CANCELLED and m.cancel_reason == "与区里会议冲突"
    assert "与区里会议冲突" in client.get(f"/meetings/{mid}").get_data(as_text=True)
    with app.app_context():
        assert count(AuditEvent, AuditEvent.object_type == "meeting", AuditEvent.action == "status") == 1


def test_other_community_secretary_cannot_manage(app, client, world, login_as, make_meeting):
    mid = make_meeting(days=7, status=MeetingStatus.SCHEDULED)
    login_as("secretary2")
    assert client.get(f"/meetings/{mid}").status_code == 200  # reads the street's published meetings
    assert client.get(f"/meetings/{mid}/edit").status_code == 403
    assert client.post(f"/meetings/{mid}/held").status_code == 403
    assert client.post(f"/meetings/{mid}/cancel", data={"reason": "x"}).status_code == 403
    assert _meeting(app, mid).status == MeetingStatus.SCHEDULED


def test_liaison_sees_only_published_meetings_of_their_unit(app, client, world, login_as, make_meeting):
    draft = make_meeting(days=3, title="草稿会议")
    mine = make_meeting(days=4, title="我单位受邀的会议", status=MeetingStatus.SCHEDULED)
    other = make_meeting(days=5, title="别的单位的会议", status=MeetingStatus.SCHEDULED, units=[world.unit_c])
    login_as("liaison_a")
    listing = client.get("/meetings").get_data(as_text=True)
    assert "我单位受邀的会议" in listing
    assert "草稿会议" not in listing and "别的单位的会议" not in listing
    assert client.get(f"/meetings/{draft}").status_code == 403
    assert client.get(f"/meetings/{other}").status_code == 403
    assert client.get(f"/meetings/{mine}").status_code == 200
    cal = client.get(f"/meetings/calendar?month={_day(4):%Y-%m}").get_data(as_text=True)
    assert "我单位受邀的会议" in cal and "别的单位的会议" not in cal


def test_list_filters_and_calendar(app, client, world, login_as, make_meeting):
    make_meeting(days=3, title="例会甲", status=MeetingStatus.SCHEDULED)
    make_meeting(days=4, title="专题乙", kind="special", units=[world.unit_c])
    login_as("admin")
    assert "专题乙" not in client.get("/meetings?kind=regular").get_data(as_text=True)
    assert "专题乙" in client.get("/meetings?kind=special").get_data(as_text=True)
    assert "例会甲" not in client.get("/meetings?status=draft").get_data(as_text=True)
    by_unit = client.get(f"/meetings?unit={world.unit_c}").get_data(as_text=True)
    assert "专题乙" in by_unit and "例会甲" not in by_unit
    assert client.get("/meetings?kind=x&status=y&community=z&page=q").status_code == 200
    assert client.get("/meetings/calendar?month=bogus").status_code == 200
    cal = client.get(f"/meetings/calendar?month={_day(3):%Y-%m}").get_data(as_text=True)
    if _day(3).month == _day(4).month:
        assert "例会甲" in cal and "专题乙" in cal
    # Each chip names its host: communities' meetings often share a title.
    assert "青年路·例会甲" in cal


def test_replies_with_reason_and_delegate(app, client, world, login_as, make_meeting):
    mid = make_meeting(days=7, status=MeetingStatus.SCHEDULED)
    login_as("liaison_a")
    client.post(f"/meetings/{mid}/reply", data={"reply": "decline", "reason": ""})
    m = _meeting(app, mid)
    inv_a = next(i for i in m.invitations if i.unit_id == world.unit_a)
    assert inv_a.reply == Reply.PENDING
    client.post(f"/meetings/{mid}/reply", data={"reply": "delegate", "delegate_name": "张三"})
    assert next(i for i in _meeting(app, mid).invitations if i.unit_id == world.unit_a).reply == Reply.PENDING
    client.post(
        f"/meetings/{mid}/reply",
        data={"reply": "delegate", "delegate_name": "张三", "delegate_post": "副校长"},
    )
    inv_a = next(i for i in _meeting(app, mid).invitations if i.unit_id == world.unit_a)
    assert (inv_a.reply, inv_a.delegate_name, inv_a.delegate_post) == (Reply.DELEGATE, "张三", "副校长")
    login_as("liaison_b")
    client.post(f"/meetings/{mid}/reply", data={"reply": "decline", "reason": "外出培训"})
    login_as("liaison_c")  # not invited
    assert client.post(f"/meetings/{mid}/reply", data={"reply": "accept"}).status_code == 403
    login_as("secretary1")
    page = client.get(f"/meetings/{mid}").get_data(as_text=True)
    assert "张三（副校长）" in page and "外出培训" in page
    assert re.search(r"待回复 <strong>0</strong>", page)


def test_attendance_from_start_and_rates(app, client, world, login_as, make_meeting):
    future = make_meeting(days=2, status=MeetingStatus.SCHEDULED)
    login_as("secretary1")
    m = _meeting(app, future)
    inv = {i.unit_id: i.id for i in m.invitations}
    client.post(f"/meetings/{future}/attendance", data={f"att-{inv[world.unit_a]}": "present"})
    assert all(i.attendance == Attendance.UNKNOWN for i in _meeting(app, future).invitations)

    started = make_meeting(days=0, at=time(0, 0), hours=0.5, status=MeetingStatus.SCHEDULED)
    m = _meeting(app, started)
    inv = {i.unit_id: i.id for i in m.invitations}
    resp = client.post(
        f"/meetings/{started}/attendance",
        data={f"att-{inv[world.unit_a]}": "present", f"att-{inv[world.unit_b]}": "absent_no_leave"},
    )
    assert resp.status_code == 302
    marks = {i.unit_id: i.attendance for i in _meeting(app, started).invitations}
    assert marks == {world.unit_a: Attendance.PRESENT, world.unit_b: Attendance.ABSENT_NO_LEAVE}
    assert client.post(f"/meetings/{started}/held").status_code == 302
    assert _meeting(app, started).status == MeetingStatus.HELD
    unit_page = client.get(f"/units/{world.unit_a}").get_data(as_text=True)
    assert "100%（1/1）" in unit_page
    assert "0%（0/1）" in client.get(f"/units/{world.unit_b}").get_data(as_text=True)
    register = client.get("/units").get_data(as_text=True)
    assert "100%" in register


def test_topic_collection_accept_and_decline(app, client, world, login_as, make_meeting):
    mid = make_meeting(days=10, status=MeetingStatus.SCHEDULED)
    login_as("liaison_a")
    client.post(f"/meetings/{mid}/topics", data={"title": "校园周边交通安全", "cooperation": "请派出所支持"})
    client.post(f"/meetings/{mid}/topics", data={"title": "共建图书角"})
    client.post(f"/meetings/{mid}/topics", data={"title": ""})
    with app.app_context():
        topics = db.session.scalars(select(Topic).order_by(Topic.id)).all()
        assert [t.title for t in topics] == ["校园周边交通安全", "共建图书角"]
        first, second = topics[0].id, topics[1].id
    login_as("liaison_b")  # another invited unit does not see A's topics
    assert "校园周边交通安全" not in client.get(f"/meetings/{mid}").get_data(as_text=True)
    login_as("secretary1")
    client.post(f"/meetings/{mid}/topics/{first}/accept")
    client.post(f"/meetings/{mid}/topics/{second}/decline", data={"reason": ""})
    with app.app_context():
        assert db.session.get(Topic, second).status == TopicStatus.SUBMITTED
    client.post(f"/meetings/{mid}/topics/{second}/decline", data={"reason": "下次专题会讨论"})
    m = _meeting(app, mid)
    assert [i.title for i in m.agenda_items] == ["校园周边交通安全"]
    assert m.agenda_items[0].presenter_unit_id == world.unit_a
    login_as("liaison_a")
    page = client.get(f"/meetings/{mid}").get_data(as_text=True)
    assert "已采纳" in page and "下次专题会讨论" in page


def test_topics_close_at_the_deadline(app, client, world, login_as, make_meeting):
    mid = make_meeting(days=2, status=MeetingStatus.SCHEDULED)  # deadline 3 days before: passed
    login_as("liaison_a")
    page = client.get(f"/meetings/{mid}").get_data(as_text=True)
    assert "已截止" in page and "提交议题" not in page
    client.post(f"/meetings/{mid}/topics", data={"title": "迟到的议题"})
    with app.app_context():
        assert count(Topic) == 0


def _series_form(app, world, **overrides):
    data = {
        "title": "季度例会",
        "community_id": world.community1,
        "room_id": _room(app, world),
        "rule": "quarterly",
        "nth": "1",
        "weekday": "1",
        "interval": "2",
        "start_time": "15:00",
        "duration": "90",
        "first_date": date(2027, 1, 1).isoformat(),
        "until": date(2027, 12, 31).isoformat(),
        "units": [world.unit_a],
    }
    data.update(overrides)
    return data


def test_series_lists_clashes_before_saving_and_creates_occurrences(app, client, world, login_as):
    # The first Tuesday of April 2027 is the 6th; block the room then.
    with app.app_context():
        blocker = Meeting(
            street_id=world.street,
            community_id=world.community1,
            kind="special",
            title="占用会议室的专题会",
            start_at=datetime(2027, 4, 6, 14, 0, tzinfo=SH),
            end_at=datetime(2027, 4, 6, 16, 0, tzinfo=SH),
            room_id=_room(app, world),
        )
        db.session.add(blocker)
        db.session.commit()
    login_as("secretary1")
    resp = client.post("/meetings/series/new", data=_series_form(app, world))
    text = resp.get_data(as_text=True)
    assert "共 4 次" in text
    for d in ("2027年01月05日 15:00", "2027年04月06日 15:00", "2027年07月06日 15:00", "2027年10月05日 15:00"):
        assert d in text
    assert "与“占用会议室的专题会”" in text
    with app.app_context():
        assert count(Meeting) == 1  # nothing saved yet
    # Keeping the clashing occurrence is refused; nothing is dropped silently.
    decisions = {
        "occ-0-action": "keep",
        "occ-1-action": "keep",
        "occ-2-action": "keep",
        "occ-3-action": "keep",
    }
    resp = client.post("/meetings/series/new", data={**_series_form(app, world), "confirm": "1", **decisions})
    assert "第 2 次会议与“占用会议室的专题会”冲突" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Meeting) == 1
    decisions.update({"occ-1-action": "move", "occ-1-start": "2027-04-07T15:00", "occ-3-action": "skip"})
    resp = client.post("/meetings/series/new", data={**_series_form(app, world), "confirm": "1", **decisions})
    assert resp.status_code == 302
    with app.app_context():
        series = db.session.scalar(select(MeetingSeries))
        meetings = db.session.scalars(
            select(Meeting).where(Meeting.series_id == series.id).order_by(Meeting.start_at)
        ).all()
        starts = [m.start_at.astimezone(SH).strftime("%m-%d %H:%M") for m in meetings]
        assert starts == ["01-05 15:00", "04-07 15:00", "07-06 15:00"]
        assert all(m.status == MeetingStatus.DRAFT for m in meetings)
        assert all({i.unit_id for i in m.invitations} == {world.unit_a} for m in meetings)
        first_id, second = meetings[0].id, meetings[1]
        second_title, second_start = second.title, second.start_at
    # Editing one occurrence leaves the others alone.
    edit = client.get(f"/meetings/{first_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', edit).group(1)
    data = _form(
        app,
        world,
        title="季度例会（一月，改为专题）",
        day="2027-01-05",
        start_time="15:00",
        end_time="16:30",
        version=version,
        units=[world.unit_a],
        **{"agenda-0-minutes": "20"},
    )
    assert client.post(f"/meetings/{first_id}/edit", data=data).status_code == 302
    with app.app_context():
        other = db.session.get(Meeting, second.id)
        assert (other.title, other.start_at) == (second_title, second_start)


def test_weekly_series_dates(app, world):
    from services.series import SeriesRule, occurrence_dates

    rule = SeriesRule("weekly", 2, 2, None, time(9, 0), 60, date(2027, 3, 1), date(2027, 4, 1))
    assert occurrence_dates(rule) == [date(2027, 3, 3), date(2027, 3, 17), date(2027, 3, 31)]
    last = SeriesRule("monthly_nth", 1, 4, -1, time(9, 0), 60, date(2027, 1, 1), date(2027, 3, 31))
    assert occurrence_dates(last) == [date(2027, 1, 29), date(2027, 2, 26), date(2027, 3, 26)]


def test_sequence_rises_on_time_room_title_and_status(app, world, make_meeting):
    mid = make_meeting(days=9)
    with app.app_context():
        m = db.session.get(Meeting, mid)
        seq = m.sequence
        m.description = "只改说明"
        db.session.commit()
        assert m.sequence == seq
        m.start_at = m.start_at + timedelta(hours=1)
        m.end_at = m.end_at + timedelta(hours=1)
        db.session.commit()
        assert m.sequence == seq + 1
        m.title = "新标题"
        db.session.commit()
        assert m.sequence == seq + 2
        m.status = MeetingStatus.SCHEDULED
        db.session.commit()
        assert m.sequence == seq + 3
        inv = db.session.scalar(select(Invitation).where(Invitation.meeting_id == mid).limit(1))
        inv.reply = Reply.ACCEPT
        db.session.commit()
        assert m.sequence == seq + 3


def test_no_agenda_item_rows_are_lost_when_adding_rows(app, client, world, login_as):
    login_as("secretary1")
    data = _form(app, world, **{"agenda-1-title": "第二项", "agenda-1-minutes": "15"})
    data.pop("save")
    data["add_row"] = "增加议程行"
    resp = client.post("/meetings/new", data=data)
    text = resp.get_data(as_text=True)
    assert "第二项" in text and 'name="agenda-3-title"' in text
    with app.app_context():
        assert count(Meeting) == 0
        assert count(AgendaItem) == 0


def test_dashboard_shows_next_meetings_and_owed_replies(app, client, world, login_as, make_meeting):
    mid = make_meeting(days=5, title="下周的联席会议", status=MeetingStatus.SCHEDULED)
    make_meeting(days=6, title="别的社区会议", community_id=world.community2, units=[world.unit_c])
    login_as("liaison_a")
    page = client.get("/").get_data(as_text=True)
    assert "待回复的会议邀请" in page and "下周的联席会议" in page
    client.post(f"/meetings/{mid}/reply", data={"reply": "accept"})
    assert "待回复的会议邀请" not in client.get("/").get_data(as_text=True)
    login_as("secretary1")
    page = client.get("/").get_data(as_text=True)
    assert "下周的联席会议" in page and "1 个单位未回复" in page
    assert "别的社区会议" not in page


def test_refused_reply_or_topic_keeps_what_was_typed(app, client, world, login_as, make_meeting):
    mid = make_meeting(days=10, status=MeetingStatus.SCHEDULED)
    login_as("liaison_a")
    resp = client.post(f"/meetings/{mid}/reply", data={"reply": "delegate", "delegate_name": "王五"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "委派代表时请填写代表的姓名和职务" in page and 'value="王五"' in page
    long_detail = "详细说明" * 600  # over the 2,000-character limit
    resp = client.post(f"/meetings/{mid}/topics", data={"title": "社区图书角共建", "detail": long_detail})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "说明不能超过 2000 个字" in page
    assert 'value="社区图书角共建"' in page and long_detail in page
    with app.app_context():
        assert count(Topic) == 0


# --- drafts are drafts (issue 8, point 8) ------------------------------------------------------


def test_draft_is_seen_only_by_its_hosts(app, client, world, login_as, make_meeting):
    draft = make_meeting(days=3, title="筹备中的专题会")
    month = _day(3).strftime("%Y-%m")
    pages = [
        f"/meetings/{draft}",
        f"/meetings/{draft}/invite.ics",
        f"/meetings/{draft}/minutes",
    ]
    listings = ["/meetings", "/meetings?status=draft", f"/meetings/calendar?month={month}", "/"]
    listings += [f"/units/{world.unit_a}", f"/meetings?unit={world.unit_a}&when=all"]
    # Another community's secretary, the archivist and the invited unit's liaison: nothing.
    for who in ("secretary2", "archivist", "liaison_a"):
        login_as(who)
        for url in pages:
            assert client.get(url).status_code == 403, (who, url)
        for url in listings:
            assert "筹备中的专题会" not in client.get(url).get_data(as_text=True), (who, url)
    # The host community's secretary and the admin see and open it.
    for who in ("secretary1", "admin"):
        login_as(who)
        assert client.get(f"/meetings/{draft}").status_code == 200
        assert client.get(f"/meetings/{draft}/invite.ics").status_code == 200
        for url in listings[:3]:
            assert "筹备中的专题会" in client.get(url).get_data(as_text=True), (who, url)
    # Whoever created it keeps seeing it after moving to another community.
    with app.app_context():
        db.session.get(Meeting, draft).created_by_id = world.secretary1
        from models import User

        db.session.get(User, world.secretary1).community_id = world.community2
        db.session.commit()
    login_as("secretary1")
    assert client.get(f"/meetings/{draft}").status_code == 200
    assert "筹备中的专题会" in client.get("/meetings").get_data(as_text=True)


def test_no_replies_are_owed_on_a_draft(app, client, world, login_as, make_meeting):
    draft = make_meeting(days=3, title="尚未发布的例会")
    make_meeting(days=4, title="已发布的例会", status=MeetingStatus.SCHEDULED)
    login_as("secretary1")
    dashboard = client.get("/").get_data(as_text=True)
    # The published meeting's two units owe a reply; the draft's were never asked.
    assert dashboard.count("2 个单位未回复") == 1
    draft_row = next(r for r in dashboard.split("border-bottom py-2") if "尚未发布的例会" in r)
    assert "未回复" not in draft_row
    page = client.get(f"/meetings/{draft}").get_data(as_text=True)
    assert "待回复" not in page and "尚未发出邀请" in page
    unit_page = client.get(f"/units/{world.unit_a}").get_data(as_text=True)
    line = next(li for li in unit_page.split("<li") if "尚未发布的例会" in li)
    assert "待回复" not in line
    login_as("liaison_a")
    owed = client.get("/").get_data(as_text=True)
    assert "已发布的例会" in owed and "尚未发布的例会" not in owed


def test_booking_request_over_a_draft_goes_through_and_its_host_sees_it(
    app, client, world, login_as, make_meeting
):
    from models import Booking, BookingStatus

    room_id = _room(app, world)
    draft = make_meeting(days=6, at=time(14, 0), hours=2, title="筹备中的议事会")
    day = _day(6)
    login_as("liaison_c")
    # The draft is invisible to the liaison and must not silently refuse the request.
    room_page = client.get(f"/rooms/{room_id}").get_data(as_text=True)
    assert "筹备中的议事会" not in room_page and "会议占用" not in room_page
    resp = client.post(
        f"/rooms/{room_id}/book",
        data={"start_at": f"{day}T15:00", "end_at": f"{day}T17:00", "purpose": "反诈宣传讲座"},
    )
    assert resp.status_code == 302
    booking_page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "筹备中的议事会" not in booking_page
    with app.app_context():
        booking = db.session.scalar(select(Booking))
        assert booking.status == BookingStatus.PENDING
        booking_id = booking.id

    # The host sees the pending request where they choose a meeting's slot.
    login_as("secretary1")
    for url in ("/meetings/new", f"/meetings/{draft}/edit", "/meetings/series/new"):
        page = client.get(url).get_data(as_text=True)
        assert 'id="pending-requests"' in page and "和平里派出所" in page and "反诈宣传讲座" in page, url
    # ... and is told which draft holds the room when deciding.
    page = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert 'id="draft-hold"' in page and "筹备中的议事会" in page
    assert "筹备中的议事会" in client.get(f"/rooms/{room_id}").get_data(as_text=True)
    resp = client.post(f"/bookings/{booking_id}/approve", follow_redirects=True)
    assert "草稿会议“筹备中的议事会”" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == BookingStatus.PENDING

    # Moving the draft frees the slot: then the request can be approved.
    resp = client.post(
        f"/meetings/{draft}/edit",
        data=_form(
            app,
            world,
            title="筹备中的议事会",
            day=_day(7).isoformat(),
            version="1",
            original="",
            **{"agenda-0-presenter_unit_id": "0"},
        ),
    )
    assert resp.status_code == 302
    client.post(f"/bookings/{booking_id}/approve")
    with app.app_context():
        assert db.session.get(Booking, booking_id).status == BookingStatus.APPROVED


def test_saving_a_meeting_over_a_pending_request_warns_the_secretary(app, client, world, login_as):
    from models import Booking, BookingStatus

    room_id = _room(app, world)
    day = _day(10)
    with app.app_context():
        db.session.add(
            Booking(
                room_id=room_id,
                requester_unit_id=world.unit_c,
                start_at=datetime.combine(day, time(15, 0), SH),
                end_at=datetime.combine(day, time(16, 0), SH),
                purpose="社区普法讲座",
                status=BookingStatus.PENDING,
            )
        )
        db.session.commit()
    login_as("secretary1")
    resp = client.post("/meetings/new", data=_form(app, world), follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "该时段还有 1 项待审批的会议室预约申请：和平里派出所" in text
    assert "会议占用后这些申请将无法同意" in text
    # A slot clear of requests gets no warning.
    resp = client.post(
        "/meetings/new", data=_form(app, world, day=_day(11).isoformat()), follow_redirects=True
    )
    assert "待审批的会议室预约申请" not in resp.get_data(as_text=True)


# --- messages tell the truth about the mail (issue 8, point 9) ---------------------------------


def _flash(resp) -> str:
    """The text of the page's alerts (flash messages), tags stripped."""
    alerts = re.findall(
        r'<div class="alert alert-[a-z]+ alert-dismissible[^>]*>(.*?)<button',
        resp.get_data(as_text=True),
        re.S,
    )
    return " ".join(re.sub(r"\s+", " ", a).strip() for a in alerts)


def _with_addresses(app, world) -> None:
    with app.app_context():
        db.session.get(Unit, world.unit_a).liaison_email = "xiaoxue@school.example.cn"
        db.session.commit()  # unit B keeps no address


def test_publish_without_mail_server_says_the_invites_wait(app, client, world, login_as, make_meeting):
    _with_addresses(app, world)
    assert not app.config.get("MAIL_SERVER")
    mid = make_meeting(days=7)
    login_as("secretary1")
    text = _flash(client.post(f"/meetings/{mid}/publish", follow_redirects=True))
    assert "会议已发布。会议邀请邮件（1 封）已保存在发件箱，但尚未发出：系统未配置邮件服务器。" in text
    assert "请联系系统管理员" in text and "已发送" not in text
    assert "另有 1 个受邀单位未登记联络员邮箱，未能通知：市第三人民医院。" in text
    # An admin gets the outbox one click away instead.
    mid2 = make_meeting(days=8)
    login_as("admin")
    resp = client.post(f"/meetings/{mid2}/publish", follow_redirects=True)
    assert '<a href="/admin/outbox">查看邮件发送</a>' in resp.get_data(as_text=True)
    assert "请联系系统管理员" not in _flash(resp)


def test_mail_delivery_off_and_the_sender_thread_are_told_apart(
    app, client, world, login_as, make_meeting, monkeypatch
):
    from web import mail as mail_glue

    _with_addresses(app, world)
    monkeypatch.setattr(mail_glue, "wake", lambda app: None)  # no real sender thread in this test
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_DELIVERY="off")
    mid = make_meeting(days=7)
    login_as("secretary1")
    text = _flash(client.post(f"/meetings/{mid}/publish", follow_redirects=True))
    assert "已保存在发件箱，但尚未发出：邮件发送已关闭。" in text
    app.config["MAIL_DELIVERY"] = "thread"
    text = _flash(client.post(f"/meetings/{mid}/cancel", data={"reason": "场地维修"}, follow_redirects=True))
    assert "会议已取消。取消通知邮件（1 封）已加入发送队列，将在后台发出。" in text
    assert "已发送" not in text
    draft = make_meeting(days=9)
    text = _flash(client.post(f"/meetings/{draft}/cancel", data={"reason": "不开了"}, follow_redirects=True))
    assert "这份草稿没有发布过，受邀单位不会收到通知" in text


def test_inline_delivery_says_sent_or_failed(app, client, world, login_as, make_meeting):
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Inbox.received += 1
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _with_addresses(app, world)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DELIVERY="inline", MAIL_TIMEOUT=5)
    mid = make_meeting(days=7)
    login_as("secretary1")
    # Nobody listens yet: the attempt fails, and the page says so.
    text = _flash(client.post(f"/meetings/{mid}/publish", follow_redirects=True))
    assert "会议邀请邮件 1 封中 0 封已发出，1 封发送失败，系统会自动重试。" in text
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        data = _form(app, world, day=_day(12).isoformat(), version="2", original="")
        text = _flash(client.post(f"/meetings/{mid}/edit", data=data, follow_redirects=True))
    finally:
        controller.stop()
    assert "会议已保存。通知已发送给 1 个受邀单位的联络员。" in text
    assert Inbox.received == 1


# --- sign-in (issue 8, point 7) -------------------------------------------------------------


def test_sign_in_by_delegate_needs_a_name_and_counts_as_present(app, client, world, login_as, make_meeting):
    from services.meetings import attendance_rates
    from services.minutes import snapshot_attendance

    started = make_meeting(days=0, at=time(0, 0), hours=0.5, status=MeetingStatus.SCHEDULED)
    inv = {i.unit_id: i.id for i in _meeting(app, started).invitations}
    login_as("secretary1")
    page = client.get(f"/meetings/{started}").get_data(as_text=True)
    for label in ("出席", "委派代表", "请假", "缺席", "未签到"):
        assert f">{label}</label>" in page
    # A delegate without a name is refused; nothing is saved and the sheet keeps the marks.
    a, b = f"att-{inv[world.unit_a]}", f"att-{inv[world.unit_b]}"
    resp = client.post(f"/meetings/{started}/attendance", data={a: "delegate", b: "absent_leave"})
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "请填写东大街第一小学委派代表的姓名" in text
    assert f'id="{a}-delegate" value="delegate" autocomplete="off" checked' in text
    assert f'id="{b}-absent_leave" value="absent_leave" autocomplete="off" checked' in text
    assert {i.attendance for i in _meeting(app, started).invitations} == {Attendance.UNKNOWN}
    resp = client.post(
        f"/meetings/{started}/attendance",
        data={
            a: "delegate",
            f"{a}-delegate_name": "王晓明",
            f"{a}-delegate_post": "办公室主任",
            b: "absent_leave",
        },
    )
    assert resp.status_code == 302
    m = _meeting(app, started)
    marks = {i.unit_id: (i.attendance, i.by_delegate, i.delegate_name) for i in m.invitations}
    assert marks == {
        world.unit_a: (Attendance.PRESENT, True, "王晓明"),
        world.unit_b: (Attendance.ABSENT_LEAVE, False, ""),
    }
    page = client.get(f"/meetings/{started}").get_data(as_text=True)
    assert f'id="{a}-delegate" value="delegate" autocomplete="off" checked' in page
    # A delegate counts as attending, and the minutes name the delegate.
    client.post(f"/meetings/{started}/held")
    with app.app_context():
        assert attendance_rates([world.unit_a])[world.unit_a] == (1, 1)
        rows = {r["unit"]: r["delegate"] for r in snapshot_attendance(db.session.get(Meeting, started))}
    assert rows == {"东大街第一小学": "王晓明（办公室主任）", "市第三人民医院": ""}
    # Corrected after the meeting: signed in in person after all, no longer a delegate.
    client.post(f"/meetings/{started}/attendance", data={a: "present"})
    assert {i.unit_id: i.by_delegate for i in _meeting(app, started).invitations}[world.unit_a] is False
    with app.app_context():
        rows = {r["unit"]: r["delegate"] for r in snapshot_attendance(db.session.get(Meeting, started))}
    assert rows["东大街第一小学"] == ""


def test_non_ascii_digits_in_a_posted_topic_id_are_ignored_not_a_500(app, client, world, login_as):
    """'²'.isdigit() is true but int('²') fails: a forged agenda topic id must not crash the save."""
    login_as("secretary1")
    resp = client.post("/meetings/new", data=_form(app, world, **{"agenda-0-topic_id": "²"}))
    assert resp.status_code == 302
    with app.app_context():
        meeting = db.session.scalar(select(Meeting).where(Meeting.title == "2026年第四季度联席会议"))
        assert [(a.title, a.topic_id) for a in meeting.agenda_items] == [("通报共建项目进展", None)]
