"""Bookings respect the opening hours of resources and rooms (issue 8, point 12)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import Booking, BookingStatus, ResourceKind, Room, db
from models.resource import Resource
from tests.conftest import count
from tests.test_resources import resource_form

SH = ZoneInfo("Asia/Shanghai")


def next_weekday(iso_weekday: int, weeks_ahead: int = 1) -> datetime:
    """Midnight (Beijing) of the given weekday, at least a week ahead."""
    day = (datetime.now(SH) + timedelta(days=7 * weeks_ahead)).date()
    day += timedelta(days=(iso_weekday - day.isoweekday()) % 7)
    return datetime.combine(day, time(0, 0), SH)


def form(start: datetime, end: datetime, purpose: str = "开展党员冬训，约 40 人") -> dict:
    return {
        "start_at": start.strftime("%Y-%m-%dT%H:%M"),
        "end_at": end.strftime("%Y-%m-%dT%H:%M"),
        "purpose": purpose,
    }


def at(day: datetime, hour: int, minute: int = 0, days: int = 0) -> datetime:
    return day + timedelta(days=days, hours=hour, minutes=minute)


@pytest.fixture
def room_id(app, world):
    with app.app_context():
        return db.session.scalar(select(Room.id).where(Room.community_id == world.community1))


def test_default_hours_are_shown_and_enforced(app, world, client, login_as, make_resource):
    venue = make_resource()
    login_as(world.liaison_c)
    page = client.get(f"/resources/{venue}").get_data(as_text=True)
    assert "每天 08:00–21:00" in page
    monday = next_weekday(1)

    resp = client.post(f"/resources/{venue}/book", data=form(at(monday, 7), at(monday, 9)))
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "开始时间 07:00 不在“第一小学多功能厅”的开放时间内，开放时间为每天 08:00–21:00。" in text
    assert 'value="开展党员冬训，约 40 人"' in text or "开展党员冬训，约 40 人</textarea>" in text

    resp = client.post(f"/resources/{venue}/book", data=form(at(monday, 19), at(monday, 22)))
    assert resp.status_code == 400
    assert "结束时间 22:00 已过“第一小学多功能厅”的关闭时间" in resp.get_data(as_text=True)

    resp = client.post(f"/resources/{venue}/book", data=form(at(monday, 20), at(monday, 9, days=1)))
    assert resp.status_code == 400
    assert "预约不能跨过午夜" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Booking) == 0

    # Exactly the opening hours are fine.
    resp = client.post(f"/resources/{venue}/book", data=form(at(monday, 8), at(monday, 21)))
    assert resp.status_code == 302


def test_closed_weekday_is_named(app, world, client, login_as, make_resource):
    venue = make_resource(open_days="12345", opens_at=time(8, 30), closes_at=time(17, 30))
    login_as(world.liaison_c)
    sunday = next_weekday(7)
    resp = client.post(f"/resources/{venue}/book", data=form(at(sunday, 9), at(sunday, 11)))
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "星期日不开放，开放时间为星期一至星期五 08:30–17:30。" in text
    friday = next_weekday(5)
    assert (
        client.post(f"/resources/{venue}/book", data=form(at(friday, 9), at(friday, 11))).status_code == 302
    )


def test_overnight_resource_may_run_past_midnight_within_hours(app, world, client, login_as, make_resource):
    tents = make_resource(
        kind=ResourceKind.EQUIPMENT, title="户外帐篷（10 顶）", overnight=True, capacity=None
    )
    late_hall = make_resource(title="青年之家", opens_at=time(18, 0), closes_at=time(2, 0), overnight=True)
    login_as(world.liaison_c)
    saturday = next_weekday(6)
    # Collected Saturday morning, returned Sunday afternoon.
    resp = client.post(f"/resources/{tents}/book", data=form(at(saturday, 9), at(saturday, 17, days=1)))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    # Returned at 23:00 is outside the hours even so.
    resp = client.post(
        f"/resources/{tents}/book", data=form(at(saturday, 9, days=7), at(saturday, 23, days=8))
    )
    assert resp.status_code == 400
    assert "请在开放时间内归还" in resp.get_data(as_text=True)
    # Open 18:00 to 02:00: a party from 20:00 to 01:00 fits.
    resp = client.post(f"/resources/{late_hall}/book", data=form(at(saturday, 20), at(saturday, 1, days=1)))
    assert resp.status_code == 302
    assert "每天 18:00–次日 02:00，可跨午夜使用" in client.get(f"/resources/{late_hall}").get_data(
        as_text=True
    )


def test_room_booking_respects_room_hours_and_approval_rechecks(app, world, client, login_as, room_id):
    monday = next_weekday(1)
    login_as(world.liaison_a)
    resp = client.post(f"/rooms/{room_id}/book", data=form(at(monday, 18), at(monday, 20)))
    assert resp.status_code == 302
    [booking] = db_bookings(app)

    # The community shortens the room's hours; approving the request now refuses with the reason.
    login_as(world.secretary1)
    resp = client.post(
        f"/rooms/{room_id}/edit",
        data={
            "name": "青年路社区共驻共建会议室",
            "capacity": "30",
            "bookable": "y",
            "opens_at": "08:30",
            "closes_at": "17:30",
            "open_days": list("12345"),
            "open_days_shown": "1",
        },
    )
    assert resp.status_code == 302
    room_page = client.get(f"/rooms/{room_id}").get_data(as_text=True)
    assert "星期一至星期五 08:30–17:30" in room_page
    resp = client.post(f"/bookings/{booking.id}/approve", data={}, follow_redirects=True)
    assert "开始时间 18:00 不在“青年路社区共驻共建会议室”的开放时间内" in resp.get_data(as_text=True)
    [booking] = db_bookings(app)
    assert booking.status == BookingStatus.PENDING

    # A new request outside the room's hours is refused on the form.
    login_as(world.liaison_c)
    resp = client.post(f"/rooms/{room_id}/book", data=form(at(monday, 17), at(monday, 18)))
    assert resp.status_code == 400
    assert "结束时间 18:00 已过“青年路社区共驻共建会议室”的关闭时间" in resp.get_data(as_text=True)
    assert len(db_bookings(app)) == 1


def db_bookings(app):
    with app.app_context():
        return db.session.scalars(select(Booking).order_by(Booking.id)).all()


ROOM = {"name": "青年路社区共驻共建会议室", "capacity": "30"}


def test_room_hours_form_refuses_bad_input_and_changes_nothing(app, world, client, login_as, room_id):
    login_as(world.secretary1)
    page = client.get(f"/rooms/{room_id}/edit").get_data(as_text=True)
    assert 'value="08:00"' in page and 'value="21:00"' in page
    cases = [
        ({"opens_at": "21:00", "closes_at": "08:00", "open_days": ["1"]}, "请勾选“允许跨午夜使用”"),
        ({"opens_at": "09:00", "closes_at": "09:00", "open_days": ["1"]}, "关闭时间不能与开放时间相同"),
        ({"opens_at": "09:00", "closes_at": "17:00"}, "请至少选择一个开放日"),
        ({"opens_at": "25:00", "closes_at": "17:00", "open_days": ["1"]}, "开放"),
        ({"opens_at": "09:00", "closes_at": "17:00", "open_days": ["8"]}, "开放日"),
    ]
    for data, message in cases:
        resp = client.post(
            f"/rooms/{room_id}/edit", data={**ROOM, **data, "open_days_shown": "1", "bookable": "y"}
        )
        assert resp.status_code == 400, data
        assert message in resp.get_data(as_text=True), data
    with app.app_context():
        room = db.session.get(Room, room_id)
        assert (room.opens_at, room.closes_at, room.open_days, room.overnight) == (
            time(8, 0),
            time(21, 0),
            "1234567",
            False,
        )
    # Open to midnight is a same-day closing, no overnight flag needed.
    resp = client.post(
        f"/rooms/{room_id}/edit",
        data={
            **ROOM,
            "opens_at": "14:00",
            "closes_at": "00:00",
            "open_days": ["6", "7"],
            "open_days_shown": "1",
        },
    )
    assert resp.status_code == 302
    assert "星期六、星期日 14:00–24:00" in client.get(f"/rooms/{room_id}").get_data(as_text=True)


def test_resource_form_edits_hours(app, world, client, login_as, make_resource):
    venue = make_resource()
    login_as(world.liaison_a)
    page = client.get(f"/resources/{venue}/edit").get_data(as_text=True)
    assert "每周开放时间" in page
    data = resource_form(
        opens_at="09:00",
        closes_at="18:00",
        open_days=list("67"),
        open_days_shown="1",
        version="1",
        original="",
    )
    data["owner"] = f"u:{world.unit_a}"
    data["bookable"] = "y"
    resp = client.post(f"/resources/{venue}/edit", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    with app.app_context():
        resource = db.session.get(Resource, venue)
        assert (resource.opens_at, resource.closes_at, resource.open_days) == (time(9), time(18), "67")
    assert "星期六、星期日 09:00–18:00" in client.get(f"/resources/{venue}").get_data(as_text=True)


def test_demo_shows_opening_hours_and_its_bookings_respect_them(app, seeded_demo):
    with app.app_context():
        generator = db.session.scalar(select(Resource).where(Resource.title == "应急发电车"))
        assert generator.overnight and generator.hours_text == "每天 00:00–24:00，可跨午夜使用"
        hall = db.session.scalar(select(Resource).where(Resource.title == "一小风雨操场"))
        assert hall.hours_text == "每天 08:00–18:00"
        for booking in db.session.scalars(select(Booking)):
            target = booking.resource or booking.room
            assert target.hours_problem(target.name, booking.start_at, booking.end_at) is None, (
                target.name,
                booking.start_at,
            )


def test_new_forms_show_no_lost_update_warning(client, world, login_as):
    """Found while looking at the resource form: a blank form warned of someone else's edit."""
    login_as("admin")
    for url in ("/resources/new", "/units/new", "/needs/new"):
        assert "在您编辑期间" not in client.get(url).get_data(as_text=True), url
