"""Roles scoped to a place: two streets of one district in one deployment, their admins, an
observer of the district and one of the city, and the system administrator.

A street admin, archivist, secretary or liaison reads and writes only their own street; an
observer reads (never writes) every street below them; the system administrator everything.
Another street's objects do not exist for a user (404); lists, filters, exports, feeds, the
dashboard, point rules, the audit log and the user list hold nothing of it.
"""

import io
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy import select

from models import (
    Action,
    Booking,
    BookingStatus,
    CalendarFeed,
    City,
    Community,
    District,
    Grid,
    Meeting,
    MeetingStatus,
    Need,
    PointRule,
    Resource,
    ResourceKind,
    Role,
    Room,
    Street,
    Unit,
    UnitCategory,
    User,
    Visibility,
    db,
)
from models.base import today, utcnow
from services import tokens
from services.passwords import hash_password
from tests.conftest import PASSWORD


@dataclass
class Two:
    street1: int
    street2: int
    district: int
    city: int
    community3: int  # street 2's 青年路社区: the same name as street 1's
    unit_s2: int
    meeting1: int
    meeting2: int
    action2: int
    need2: int
    resource2: int
    room2: int
    booking2: int
    user_s2: int  # secretary of street 2


S2_UNIT = "八一路派出所"
S2_MEETING = "八一路街道第四季度联席会议"
S2_ACTION = "八一路辖区夜间巡逻"
S2_NEED = "八一路社区需要法律讲座"
S2_RESOURCE = "八一路派出所会议室"


@pytest.fixture
def two(app, world, make_meeting) -> Two:
    """The world's street (东大街街道) and a second one (八一路街道) in one district of one city."""
    with app.app_context():
        city = City(name="西宁市", short_name="西宁")
        db.session.add(city)
        db.session.flush()
        district = District(city_id=city.id, name="城东区", short_name="城东")
        db.session.add(district)
        db.session.flush()
        street1 = db.session.get(Street, world.street)
        street1.district_id = district.id
        street2 = Street(name="八一路街道", short_name="八一路", district_id=district.id)
        db.session.add(street2)
        db.session.flush()
        c3 = Community(street_id=street2.id, name="青年路社区", short_name="青年路", position=1)
        db.session.add(c3)
        db.session.flush()
        room = Room(community_id=c3.id, name="八一路青年路社区会议室", capacity=20)
        unit = Unit(
            street_id=street2.id,
            community_id=c3.id,
            name=S2_UNIT,
            category=UnitCategory.AGENCY,
            registered_on=date(2026, 1, 5),
            liaison_name="王警官",
        )
        db.session.add_all([room, unit])
        db.session.flush()
        pw = hash_password(PASSWORD)
        for username, role, fields in (
            ("admin1", Role.ADMIN, {"street_id": world.street}),
            ("admin2", Role.ADMIN, {"street_id": street2.id}),
            ("archivist2", Role.ARCHIVIST, {"street_id": street2.id}),
            ("secretary2-1", Role.SECRETARY, {"community_id": c3.id}),
            ("liaison2", Role.LIAISON, {"unit_id": unit.id}),
            ("district", Role.OBSERVER, {"district_id": district.id}),
            ("city", Role.OBSERVER, {"city_id": city.id}),
        ):
            db.session.add(
                User(username=username, display_name=username, role=role, password_hash=pw, **fields)
            )
        db.session.commit()
        ids = (street2.id, district.id, city.id, c3.id, unit.id, room.id)
        s2_secretary = db.session.scalar(select(User.id).where(User.username == "secretary2-1"))
    street2_id, district_id, city_id, c3_id, unit_id, room_id = ids
    meeting1 = make_meeting(status=MeetingStatus.SCHEDULED)
    meeting2 = make_meeting(
        status=MeetingStatus.SCHEDULED,
        street_id=street2_id,
        community_id=c3_id,
        room_id=room_id,
        units=[unit_id],
        title=S2_MEETING,
    )
    with app.app_context():
        action = Action(
            meeting_id=meeting2,
            street_id=street2_id,
            community_id=c3_id,
            title=S2_ACTION,
            lead_unit_id=unit_id,
            due_on=today() + timedelta(days=30),
        )
        need = Need(
            street_id=street2_id,
            community_id=c3_id,
            kind=ResourceKind.EXPERTISE,
            title=S2_NEED,
            posted_by_id=s2_secretary,
        )
        resource = Resource(
            street_id=street2_id,
            owner_unit_id=unit_id,
            community_id=c3_id,
            kind=ResourceKind.VENUE,
            title=S2_RESOURCE,
            capacity=30,
            visibility=Visibility.ALL,
            bookable=True,
        )
        db.session.add_all([action, need, resource])
        db.session.flush()
        start = utcnow() + timedelta(days=5)
        booking = Booking(
            room_id=room_id,
            start_at=start,
            end_at=start + timedelta(hours=2),
            purpose="社区普法",
            requester_unit_id=unit_id,
            requested_by_id=db.session.scalar(select(User.id).where(User.username == "liaison2")),
            status=BookingStatus.PENDING,
        )
        db.session.add(booking)
        db.session.commit()
        return Two(
            world.street,
            street2_id,
            district_id,
            city_id,
            c3_id,
            unit_id,
            meeting1,
            meeting2,
            action.id,
            need.id,
            resource.id,
            room_id,
            booking.id,
            s2_secretary,
        )


STREET1_ONLY = ("admin1", "archivist", "secretary1", "liaison_a")
STREET2_ONLY = ("admin2", "archivist2", "secretary2-1", "liaison2")
ABOVE = ("admin", "district", "city")  # the system administrator, and the observers


def _objects(two: Two, world) -> dict[str, tuple[str, str]]:
    """Pages of street 2's objects, and what they show."""
    return {
        "unit": (f"/units/{two.unit_s2}", S2_UNIT),
        "meeting": (f"/meetings/{two.meeting2}", S2_MEETING),
        "minutes": (f"/meetings/{two.meeting2}/minutes", S2_MEETING),
        "invite": (f"/meetings/{two.meeting2}/invite.ics", S2_MEETING),
        "action": (f"/actions/{two.action2}", S2_ACTION),
        "need": (f"/needs/{two.need2}", S2_NEED),
        "resource": (f"/resources/{two.resource2}", S2_RESOURCE),
        "room": (f"/rooms/{two.room2}", "八一路青年路社区会议室"),
        "booking": (f"/bookings/{two.booking2}", "社区普法"),
        "points": (f"/stats/points/units/{two.unit_s2}", S2_UNIT),
    }


@pytest.mark.parametrize("who", STREET1_ONLY)
def test_another_streets_objects_do_not_exist_for_a_street_user(client, world, two, login_as, who):
    login_as(who)
    for name, (url, _) in _objects(two, world).items():
        assert client.get(url).status_code == 404, (who, name)
    # Nor can anything be done to them.
    for url in (
        f"/units/{two.unit_s2}/edit",
        f"/meetings/{two.meeting2}/edit",
        f"/meetings/{two.meeting2}/cancel",
        f"/actions/{two.action2}/progress",
        f"/needs/{two.need2}/claim",
        f"/resources/{two.resource2}/book",
        f"/rooms/{two.room2}/book",
        f"/bookings/{two.booking2}/approve",
    ):
        assert client.post(url, data={}).status_code == 404, (who, url)


def test_a_street_admin_changes_nothing_in_another_street(app, client, world, two, login_as):
    login_as("admin1")
    client.post(f"/units/{two.unit_s2}/edit", data={"name": "改名", "category": "agency"})
    client.post(f"/meetings/{two.meeting2}/cancel", data={"reason": "x"})
    client.post(f"/rooms/new?community={two.community3}", data={"name": "越权会议室", "capacity": "10"})
    client.post(f"/places/community/{two.community3}/retire")
    with app.app_context():
        assert db.session.get(Unit, two.unit_s2).name == S2_UNIT
        assert db.session.get(Meeting, two.meeting2).status == MeetingStatus.SCHEDULED
        assert db.session.scalar(select(Room.id).where(Room.name == "越权会议室")) is None
        assert db.session.get(Community, two.community3).retired_at is None


@pytest.mark.parametrize("who", ABOVE + STREET2_ONLY)
def test_who_reads_street_twos_pages(client, world, two, login_as, who):
    login_as(who)
    objects = _objects(two, world)
    for name in ("meeting", "action", "unit"):
        url, text = objects[name]
        resp = client.get(url)
        assert resp.status_code == 200, (who, name)
        assert text in resp.get_data(as_text=True)


def _lists() -> list[str]:
    return [
        "/",
        "/units",
        "/meetings",
        "/meetings/calendar",
        "/actions",
        "/resources",
        "/needs",
        "/rooms",
        "/bookings?tab=all",
        "/stats",
        "/stats/points",
    ]


@pytest.mark.parametrize("who", STREET1_ONLY)
def test_street_ones_lists_hold_nothing_of_street_two(client, world, two, login_as, who):
    login_as(who)
    for url in _lists():
        resp = client.get(url)
        if resp.status_code == 403:
            continue
        body = resp.get_data(as_text=True)
        for text in (S2_UNIT, S2_MEETING, S2_ACTION, S2_NEED, S2_RESOURCE, "八一路"):
            assert text not in body, (who, url, text)


@pytest.mark.parametrize("url", ["/meetings", "/meetings/calendar"])
def test_the_meeting_filters_offer_only_the_users_streets(client, world, two, login_as, url):
    # Street two's community has a name street one also uses: its id tells it apart.
    login_as("admin1")
    body = client.get(url).get_data(as_text=True)
    assert f'<option value="{world.community1}"' in body
    assert f'<option value="{two.community3}"' not in body
    login_as("district")
    body = client.get(url).get_data(as_text=True)
    assert f'<option value="{world.community1}"' in body and f'<option value="{two.community3}"' in body


def test_the_district_observer_reads_both_streets_and_writes_nothing(app, client, world, two, login_as):
    login_as("district")
    body = client.get("/meetings").get_data(as_text=True)
    assert S2_MEETING in body and "第四季度共驻共建联席会议" in body
    body = client.get("/actions").get_data(as_text=True)
    assert S2_ACTION in body
    body = client.get("/units").get_data(as_text=True)
    assert S2_UNIT in body and "东大街第一小学" in body
    # The two 青年路社区 are told apart by their street.
    assert "青年路社区（八一路）" in body and "青年路社区（东大街）" in body
    # The dashboard offers both streets.
    body = client.get(f"/stats?street={two.street2}").get_data(as_text=True)
    assert "八一路街道" in body
    # Read-only below their level: no form to create or change anything of a street (their own
    # district's joint meetings are theirs to convene: tests/test_levels.py).
    for url in (
        "/units/new",
        "/meetings/series/new",
        "/needs/new",
        "/admin/users",
        "/places",
        "/stats/points/rules",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/meetings/{two.meeting2}/cancel", data={"reason": "x"}).status_code == 403
    assert client.post(f"/units/{two.unit_s2}/edit", data={}).status_code == 403


def test_an_observer_of_another_district_sees_neither_street(app, client, world, two, login_as):
    with app.app_context():
        other = District(city_id=two.city, name="城西区")
        db.session.add(other)
        db.session.flush()
        db.session.add(
            User(
                username="west",
                display_name="城西区委组织部",
                role=Role.OBSERVER,
                district_id=other.id,
                password_hash=hash_password(PASSWORD),
            )
        )
        db.session.commit()
    login_as("west")
    assert client.get(f"/meetings/{two.meeting2}").status_code == 404
    assert client.get(f"/meetings/{two.meeting1}").status_code == 404
    body = client.get("/meetings").get_data(as_text=True)
    assert S2_MEETING not in body and "第四季度共驻共建联席会议" not in body
    login_as("city")
    assert client.get(f"/meetings/{two.meeting2}").status_code == 200
    assert client.get(f"/meetings/{two.meeting1}").status_code == 200


def test_exports_and_feeds_are_scoped(app, client, world, two, login_as):
    login_as("admin1")
    resp = client.get("/units/export.xlsx")
    assert resp.status_code == 200
    names = [
        row[0] for row in load_workbook(io.BytesIO(resp.data)).active.iter_rows(min_row=2, values_only=True)
    ]
    assert "东大街第一小学" in names and S2_UNIT not in names
    resp = client.get("/actions/export.xlsx")
    if resp.status_code == 200:
        cells = [
            c for row in load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True) for c in row
        ]
        assert S2_ACTION not in cells
    # The admin's own calendar feed lists their street's meetings, not the other's.
    client.post(f"/account/feeds/user/{_user_id(app, 'admin1')}")
    feed_url = _feed_url(app, "admin1")
    cal = Calendar.from_ical(client.get(feed_url).data)
    summaries = [str(e.get("summary")) for e in cal.walk("VEVENT")]
    assert "第四季度共驻共建联席会议" in summaries and S2_MEETING not in summaries
    login_as("district")
    client.post(f"/account/feeds/user/{_user_id(app, 'district')}")
    cal = Calendar.from_ical(client.get(_feed_url(app, "district")).data)
    summaries = [str(e.get("summary")) for e in cal.walk("VEVENT")]
    assert "第四季度共驻共建联席会议" in summaries and S2_MEETING in summaries


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def _feed_url(app, username: str) -> str:
    with app.app_context():
        token = db.session.scalar(
            select(CalendarFeed.token).where(CalendarFeed.user_id == _user_id(app, username))
        )
    assert token, "no feed was made"
    return f"/calendar/{token}.ics"


def test_point_rules_are_per_street(app, client, world, two, login_as):
    login_as("admin1")
    resp = client.post(
        "/stats/points/rules",
        data={
            "attend": "5",
            "absent_no_leave": "-5",
            "action_on_time": "2",
            "need_fulfilled": "3",
            "resource_booked": "1",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        rules = dict(
            db.session.execute(
                select(PointRule.street_id, PointRule.points).where(PointRule.key == "attend")
            ).all()
        )
    assert rules == {two.street1: 5}
    login_as("admin2")
    assert 'value="2"' in client.get("/stats/points/rules").get_data(
        as_text=True
    )  # street 2 keeps the default


def test_users_and_audit_are_per_street(app, client, world, two, login_as):
    login_as("admin2")
    body = client.get("/admin/users").get_data(as_text=True)
    assert "secretary2-1" in body and "liaison2" in body
    assert "secretary1" not in body and "liaison_a" not in body and "district" not in body
    assert client.get(f"/admin/users/{world.secretary1}/edit").status_code == 404
    assert client.get(f"/admin/users/{two.user_s2}/edit").status_code == 200
    # A street admin gives the roles of a street, in their own street only.
    form = client.get("/admin/users/new").get_data(as_text=True)
    assert "系统管理员" not in form and "上级党组织" not in form.split('id="role"')[1].split("</select>")[0]
    # The audit log: street 1's events are not street 2's.
    login_as("admin1")
    client.post(f"/units/{world.unit_a}/edit", data={})  # anything that leaves a trace
    login_as("admin2")
    body = client.get("/admin/audit").get_data(as_text=True)
    assert "admin1" not in body


def test_a_street_admin_manages_places_in_their_street_only(app, client, world, two, login_as):
    login_as("admin1")
    resp = client.get("/places")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/places/street/{world.street}")
    assert client.get(f"/places/street/{two.street2}").status_code == 404
    assert client.get(f"/places/community/{two.community3}").status_code == 404
    assert client.post("/places/city/new", data={"new-name": "某市"}).status_code == 403
    assert client.post(f"/places/street/{world.street}/retire").status_code == 403
    resp = client.post(f"/places/community/new?parent={world.street}", data={"new-name": "新建社区"})
    assert resp.status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(select(Community.street_id).where(Community.name == "新建社区")) == world.street
        )
    # The other street's admin cannot add under street 1.
    login_as("admin2")
    assert (
        client.post(f"/places/community/new?parent={world.street}", data={"new-name": "x"}).status_code == 404
    )


def test_the_system_administrator_tells_same_named_communities_apart_in_forms(client, world, two, login_as):
    login_as("admin")
    for url in ("/units/new", "/meetings/new", "/needs/new", "/admin/users/new"):
        body = client.get(url).get_data(as_text=True)
        assert "青年路社区（八一路）" in body and "青年路社区（东大街）" in body, url


def test_the_apis_place_lists_are_scoped(app, client, world, two):
    """/streets and /grids hold what the user's pages show: a street's staff their street, the
    district's observer both streets with their district and city."""
    with app.app_context():
        db.session.add_all(
            [
                Grid(community_id=world.community1, name="青年路第一网格"),
                Grid(community_id=two.community3, name="八一路青年路第一网格"),
            ]
        )
        db.session.commit()
        users = {u.username: u for u in db.session.scalars(select(User))}
        secrets = {
            name: tokens.issue(users[name], "同步", "read", None)[1]
            for name in ("admin1", "district", "liaison2")
        }
        db.session.commit()

    def names(username: str, url: str) -> list[str]:
        resp = client.get("/api/v1" + url, headers={"Authorization": f"Bearer {secrets[username]}"})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return [item["name"] for item in resp.get_json()["items"]]

    assert names("admin1", "/streets") == ["东大街街道"]
    assert names("admin1", "/grids") == ["青年路第一网格"]
    assert names("liaison2", "/grids") == ["八一路青年路第一网格"]
    assert names("district", "/streets") == ["东大街街道", "八一路街道"]
    assert names("district", f"/grids?community_id={two.community3}") == ["八一路青年路第一网格"]
    street = client.get(
        "/api/v1/streets", headers={"Authorization": f"Bearer {secrets['district']}"}
    ).get_json()["items"][1]
    assert (street["district_name"], street["city_name"], street["city_id"]) == ("城东区", "西宁市", two.city)
