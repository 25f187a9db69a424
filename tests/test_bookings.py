"""Bookings of resources and community rooms: request, clash, approve, decline, cancel, concurrency."""

from __future__ import annotations

import threading
import time as time_module
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import (
    Booking,
    BookingStatus,
    MeetingStatus,
    Resource,
    ResourceKind,
    Role,
    Room,
    User,
    Visibility,
    db,
)
from services.passwords import hash_password
from tests.conftest import PASSWORD, count
from tests.test_resources import statements

SH = ZoneInfo("Asia/Shanghai")


def local(days: int, hour: int, minute: int = 0) -> datetime:
    day = (datetime.now(SH) + timedelta(days=days)).date()
    return datetime.combine(day, time(hour, minute), SH)


def slot(days: int = 2, start: int = 14, end: int = 16, purpose: str = "开展党员冬训，约 40 人") -> dict:
    return {
        "start_at": local(days, start).strftime("%Y-%m-%dT%H:%M"),
        "end_at": local(days, end).strftime("%Y-%m-%dT%H:%M"),
        "purpose": purpose,
    }


@pytest.fixture
def venue(make_resource):
    """Unit A's bookable hall (community 1, visible to all)."""
    return make_resource()


@pytest.fixture
def room_id(app, world):
    with app.app_context():
        return db.session.scalar(select(Room.id).where(Room.community_id == world.community1))


def booking_row(app, **where):
    with app.app_context():
        return db.session.scalars(select(Booking).filter_by(**where).order_by(Booking.id)).all()


# --- the whole flow -------------------------------------------------------------------------------


def test_request_approve_and_clash_named_with_next_free_slot(app, world, client, login_as, venue):
    login_as(world.liaison_c)
    resp = client.post(f"/resources/{venue}/book", data=slot())
    assert resp.status_code == 302
    [b] = booking_row(app)
    assert (b.status, b.requester_unit_id, b.requested_by_id) == (
        BookingStatus.PENDING,
        world.unit_c,
        world.liaison_c,
    )
    assert (
        b.start_at == local(2, 14) and b.start_at.tzinfo is not None
    )  # Beijing time in the form, UTC stored
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已提交预约申请" in page and "待审批" in page

    # The owner sees it on the dashboard and in the list, and approves it.
    login_as(world.liaison_a)
    assert "待我审批的预约申请" in client.get("/").get_data(as_text=True)
    todo = client.get("/bookings?tab=todo").get_data(as_text=True)
    assert "和平里派出所" in todo and "第一小学多功能厅" in todo
    resp = client.post(f"/bookings/{b.id}/approve", data={"next": "todo"}, follow_redirects=True)
    assert "已同意和平里派出所的预约申请" in resp.get_data(as_text=True)
    [b] = booking_row(app)
    assert b.status == BookingStatus.APPROVED and b.decided_by_id == world.liaison_a and b.decided_at
    assert "待我审批的预约申请" not in client.get("/").get_data(as_text=True)

    # An overlapping request is refused at once, naming the clash and the next free slot.
    login_as(world.liaison_b)
    resp = client.post(f"/resources/{venue}/book", data=slot(start=15, end=17))
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    day = local(2, 14)
    assert "在该时段已预约给和平里派出所" in text
    assert f"{day.year}年{day.month:02d}月{day.day:02d}日 14:00—16:00" in text
    assert f"最近的空闲时段从 {day.year}年{day.month:02d}月{day.day:02d}日 16:00 开始" in text
    assert len(booking_row(app)) == 1
    # Right after it is free.
    assert client.post(f"/resources/{venue}/book", data=slot(start=16, end=18)).status_code == 302


def test_decline_needs_a_reason_and_cancel_by_requester(app, world, client, login_as, venue):
    login_as(world.liaison_c)
    client.post(f"/resources/{venue}/book", data=slot())
    [b] = booking_row(app)
    login_as(world.liaison_a)
    resp = client.post(f"/bookings/{b.id}/decline", data={"reason": "  "})
    assert resp.status_code == 400 and "请填写拒绝的原因" in resp.get_data(as_text=True)
    assert booking_row(app)[0].status == BookingStatus.PENDING
    client.post(f"/bookings/{b.id}/decline", data={"reason": "当天学校有期中考试"})
    [b] = booking_row(app)
    assert (b.status, b.decline_reason) == (BookingStatus.DECLINED, "当天学校有期中考试")
    # A decided request cannot be approved any more.
    resp = client.post(f"/bookings/{b.id}/approve", follow_redirects=True)
    assert "该申请当前为“已拒绝”" in resp.get_data(as_text=True)
    assert "不能再同意" in resp.get_data(as_text=True)
    assert booking_row(app)[0].status == BookingStatus.DECLINED

    login_as(world.liaison_c)
    client.post(f"/resources/{venue}/book", data=slot(days=3))
    second = booking_row(app)[-1]
    login_as(world.liaison_b)  # not the requester
    assert client.post(f"/bookings/{second.id}/cancel").status_code == 403
    login_as(world.liaison_c)
    assert "撤回申请" in client.get(f"/bookings/{second.id}").get_data(as_text=True)
    client.post(f"/bookings/{second.id}/cancel")
    assert booking_row(app)[-1].status == BookingStatus.CANCELLED
    assert "暂无预约记录" not in client.get("/bookings?tab=mine").get_data(as_text=True)


def test_who_may_decide(app, world, client, login_as, venue, make_resource):
    login_as(world.liaison_c)
    client.post(f"/resources/{venue}/book", data=slot())
    [b] = booking_row(app)
    for user in (world.liaison_b, world.liaison_c, world.secretary1, world.secretary2, world.archivist):
        login_as(user)
        assert client.post(f"/bookings/{b.id}/approve").status_code == 403, user
        assert client.post(f"/bookings/{b.id}/decline", data={"reason": "不行"}).status_code == 403, user
    assert booking_row(app)[0].status == BookingStatus.PENDING
    login_as(world.admin)
    client.post(f"/bookings/{b.id}/approve")
    assert booking_row(app)[0].status == BookingStatus.APPROVED

    # A community-owned resource is decided by that community's secretary.
    hall = make_resource(title="青年路社区活动室", owner_community_id=world.community1)
    login_as(world.liaison_c)
    client.post(f"/resources/{hall}/book", data=slot(days=4))
    b2 = booking_row(app, resource_id=hall)[0]
    login_as(world.liaison_a)
    assert client.post(f"/bookings/{b2.id}/approve").status_code == 403
    login_as(world.secretary1)
    assert "待我审批" in client.get("/bookings").get_data(as_text=True)
    client.post(f"/bookings/{b2.id}/approve")
    assert booking_row(app, resource_id=hall)[0].status == BookingStatus.APPROVED


def test_booking_pages_are_private_to_the_parties(app, world, client, login_as, venue):
    login_as(world.liaison_c)
    client.post(f"/resources/{venue}/book", data=slot())
    [b] = booking_row(app)
    for user, status in (
        (world.liaison_a, 200),
        (world.liaison_c, 200),
        (world.liaison_b, 403),
        (world.secretary2, 200),
        (world.archivist, 200),
        (world.admin, 200),
    ):
        login_as(user)
        assert client.get(f"/bookings/{b.id}").status_code == status, user
        assert client.get("/bookings").status_code == 200
    assert client.get("/bookings/99999").status_code == 404
    login_as(world.archivist)
    assert "第一小学多功能厅" in client.get("/bookings?tab=all").get_data(as_text=True)
    assert client.post(f"/resources/{venue}/book", data=slot(days=5)).status_code == 403
    login_as(world.admin)  # no unit or community to book for
    assert client.post(f"/resources/{venue}/book", data=slot(days=5)).status_code == 403


@pytest.mark.parametrize(
    "form, message",
    [
        ({"start_at": "明天下午"}, "请填写有效的开始时间"),
        ({"end_at": ""}, "请填写有效的结束时间"),
        ({"purpose": ""}, "请填写用途"),
        ({"purpose": "长" * 501}, "用途不能超过 500 个字"),
        (slot(start=16, end=14), "结束时间必须晚于开始时间"),
        (slot(days=-1), "开始时间已过"),
        (slot(days=400), "只能预约一年以内的时段"),
        ({"end_at": local(40, 10).strftime("%Y-%m-%dT%H:%M")}, "一次预约最长 31 天"),
    ],
)
def test_bad_times_are_refused_in_chinese(app, world, client, login_as, venue, form, message):
    login_as(world.liaison_c)
    resp = client.post(f"/resources/{venue}/book", data={**slot(), **form})
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Booking) == 0


def test_only_active_bookable_resources_of_others_in_their_open_period(
    app, world, client, login_as, make_resource
):
    talk = make_resource(title="健康讲座", kind=ResourceKind.EXPERTISE, bookable=False)
    closed = make_resource(title="暑期开放的操场", available_until=local(1, 0).date())
    own = make_resource(title="派出所会议室", owner_unit_id=world.unit_c, community_id=world.community2)
    login_as(world.liaison_c)
    assert "不接受预约" in client.post(f"/resources/{talk}/book", data=slot()).get_data(as_text=True)
    assert "只开放到" in client.post(f"/resources/{closed}/book", data=slot()).get_data(as_text=True)
    assert "无需申请预约" in client.post(f"/resources/{own}/book", data=slot()).get_data(as_text=True)
    with app.app_context():
        assert count(Booking) == 0
        hidden = Resource(
            street_id=world.street,
            owner_unit_id=world.unit_b,
            community_id=world.community1,
            kind=ResourceKind.VENUE,
            title="仅本社区",
            visibility=Visibility.COMMUNITY,
            bookable=True,
        )
        db.session.add(hidden)
        db.session.commit()
        hidden_id = hidden.id
    assert client.post(f"/resources/{hidden_id}/book", data=slot()).status_code == 403


# --- one room calendar for meetings and bookings ---------------------------------------------------


def test_room_booking_refused_over_meeting_and_meeting_refused_over_booking(
    app, world, client, login_as, room_id, make_meeting
):
    make_meeting(days=2, at=time(9, 0), hours=2, status=MeetingStatus.SCHEDULED)
    login_as(world.liaison_c)
    resp = client.post(f"/rooms/{room_id}/book", data=slot(start=10, end=12))
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert (
        "已被会议“第四季度共驻共建联席会议”" in text and "最近的空闲时段从" in text and "11:00 开始" in text
    )
    assert client.post(f"/rooms/{room_id}/book", data=slot(start=14, end=16)).status_code == 302
    [b] = booking_row(app)
    assert b.room_id == room_id and b.requester_unit_id == world.unit_c

    # The room's community secretary decides; a unit liaison may not.
    login_as(world.liaison_a)
    assert client.post(f"/bookings/{b.id}/approve").status_code == 403
    login_as(world.secretary1)
    client.post(f"/bookings/{b.id}/approve")
    assert booking_row(app)[0].status == BookingStatus.APPROVED
    assert "和平里派出所" in client.get(f"/rooms/{room_id}").get_data(as_text=True)

    # Now a meeting cannot take the room then: the clash names the booking and suggests 16:00.
    from models.meeting import MeetingError
    from services import meetings as msvc
    from services.rooms import next_free_slot

    with app.app_context():
        secretary = db.session.get(User, world.secretary1)
        data = msvc.MeetingData(
            kind=msvc.MeetingKind.SPECIAL,
            title="临时协调会",
            description="",
            community_id=world.community1,
            room_id=room_id,
            start_at=local(2, 15),
            end_at=local(2, 16),
            topic_deadline=None,
            agenda=[],
            unit_ids={world.unit_a},
        )
        with pytest.raises(MeetingError) as err:
            msvc.save_meeting(None, data, secretary)
        assert "和平里派出所预约" in str(err.value) and "16:00 开始" in str(err.value)
        db.session.rollback()
        assert next_free_slot(room_id, local(2, 14), timedelta(hours=1)) == local(2, 16)


def test_meeting_form_refuses_a_booked_room(app, world, client, login_as, room_id):
    with app.app_context():
        db.session.add(
            Booking(
                room_id=room_id,
                requester_unit_id=world.unit_c,
                start_at=local(3, 14),
                end_at=local(3, 16),
                purpose="反诈宣传",
                status=BookingStatus.APPROVED,
            )
        )
        db.session.commit()
    login_as(world.secretary1)
    day = local(3, 14).date().isoformat()
    resp = client.post(
        "/meetings/new",
        data={
            "kind": "special",
            "title": "专题会",
            "community_id": world.community1,
            "room_id": room_id,
            "day": day,
            "start_time": "15:00",
            "end_time": "16:30",
            "description": "",
            "agenda-0-title": "",
            "agenda-0-minutes": "10",
            "units": [world.unit_a],
            "save": "保存",
        },
    )
    assert resp.status_code in (200, 400)
    assert "和平里派出所预约：反诈宣传" in resp.get_data(as_text=True)
    from models import Meeting

    with app.app_context():
        assert count(Meeting) == 0


def test_approval_refused_when_a_meeting_took_the_room_meanwhile(
    app, world, client, login_as, room_id, make_meeting
):
    login_as(world.liaison_c)
    client.post(f"/rooms/{room_id}/book", data=slot(start=14, end=16))
    [b] = booking_row(app)
    make_meeting(days=2, at=time(15, 0), hours=1)  # a draft still holds the room
    login_as(world.secretary1)
    assert "与草稿会议“第四季度共驻共建联席会议”重叠" in client.get("/bookings?tab=todo").get_data(
        as_text=True
    )
    resp = client.post(f"/bookings/{b.id}/approve", follow_redirects=True)
    assert "未能同意" in resp.get_data(as_text=True) and "第四季度共驻共建联席会议" in resp.get_data(
        as_text=True
    )
    assert booking_row(app)[0].status == BookingStatus.PENDING


def test_own_community_room_is_not_requested(app, world, client, login_as, room_id):
    login_as(world.secretary1)
    assert "无需申请预约" in client.post(f"/rooms/{room_id}/book", data=slot()).get_data(as_text=True)
    login_as(world.secretary2)  # another community's secretary may ask, for their community
    assert client.post(f"/rooms/{room_id}/book", data=slot()).status_code == 302
    [b] = booking_row(app)
    assert (b.requester_community_id, b.requester_unit_id) == (world.community2, None)
    assert client.get("/rooms").status_code == 200 and client.get("/rooms/99999").status_code == 404


def test_lists_issue_a_fixed_number_of_queries(app, world, client, login_as, venue, make_resource):
    login_as(world.liaison_c)
    client.post(f"/resources/{venue}/book", data=slot(days=2))
    login_as(world.liaison_a)
    with statements(app) as few:
        assert client.get("/bookings?tab=todo").status_code == 200
    login_as(world.liaison_c)
    for i in range(6):
        rid = make_resource(title=f"场地{i}", owner_unit_id=world.unit_a)
        client.post(f"/resources/{rid}/book", data=slot(days=3 + i))
    login_as(world.liaison_a)
    with statements(app) as many:
        assert client.get("/bookings?tab=todo").status_code == 200
    assert len(few) == len(many)


# --- simultaneous approvals -------------------------------------------------------------------------


N = 20


def test_twenty_simultaneous_requests_and_approvals_for_one_slot(app, world, venue, monkeypatch):
    """Twenty units ask for one slot at once; the owner's twenty approvals race: exactly one wins.

    Each approval pauses for a moment after finding the slot free, before it writes, so that
    without the lock the racing approvals would all find it free and all succeed.
    """
    with app.app_context():
        pw = hash_password(PASSWORD)
        from models import Unit, UnitCategory

        names = []
        for i in range(N):
            unit = Unit(
                street_id=world.street,
                community_id=world.community2,
                name=f"并发测试单位{i:02d}",
                category=UnitCategory.OTHER,
                registered_on=local(0, 0).date(),
            )
            db.session.add(unit)
            db.session.flush()
            db.session.add(
                User(
                    username=f"racer{i}",
                    display_name=f"联络员{i}",
                    role=Role.LIAISON,
                    unit_id=unit.id,
                    password_hash=pw,
                )
            )
            names.append(f"racer{i}")
        db.session.commit()

    def logged_in(username):
        c = app.test_client()
        assert c.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
        return c

    requesters = [logged_in(n) for n in names]
    owners = [logged_in("liaison_a") for _ in range(N)]

    def race(calls):
        barrier = threading.Barrier(len(calls))
        results: list = [None] * len(calls)

        def run(i, call):
            barrier.wait()
            try:
                results[i] = call()
            except Exception as exc:  # surfaced below
                results[i] = exc

        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        return results

    form = slot(days=5)
    made = race([lambda c=c: c.post(f"/resources/{venue}/book", data=form) for c in requesters])
    assert [getattr(r, "status_code", r) for r in made] == [302] * N
    bookings = booking_row(app, resource_id=venue)
    assert len(bookings) == N and {b.status for b in bookings} == {BookingStatus.PENDING}

    from services import resources as svc

    check_slot = svc.check_slot

    def slow_check_slot(*args, **kwargs):
        check_slot(*args, **kwargs)
        time_module.sleep(0.05)

    monkeypatch.setattr(svc, "check_slot", slow_check_slot)
    answers = race(
        [
            lambda c=c, b=b: c.post(f"/bookings/{b.id}/approve", follow_redirects=True)
            for c, b in zip(owners, bookings, strict=True)
        ]
    )
    texts = [r.get_data(as_text=True) for r in answers]
    assert all(r.status_code == 200 for r in answers), [getattr(r, "status_code", r) for r in answers]
    won = [t for t in texts if "已同意" in t and "的预约申请。" in t and "未能同意" not in t]
    lost = [
        t
        for t in texts
        if "未能同意" in t and "在该时段已预约给并发测试单位" in t and "最近的空闲时段从" in t
    ]
    assert (len(won), len(lost)) == (1, N - 1)
    with app.app_context():
        assert count(Booking, Booking.resource_id == venue, Booking.status == BookingStatus.APPROVED) == 1
        assert count(Booking, Booking.resource_id == venue, Booking.status == BookingStatus.PENDING) == N - 1
