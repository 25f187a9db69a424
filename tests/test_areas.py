"""片区 (areas): a named group of communities across streets; its member secretaries convene
片区 meetings inviting units of the whole group, read in every member street, numbered in
the 片区's own archive series."""

from sqlalchemy import select

from models import Area, Meeting, MeetingStatus, Room, db
from services.minutes import archive_scope, format_archive_no
from tests import test_scoping
from tests.test_meetings import _form
from tests.test_scoping import S2_UNIT

two = test_scoping.two  # the two-street world, as a fixture of this module


def _make_area(client, world, two_, name="青年路片区"):
    return client.post(
        "/places/areas/new",
        data={
            "name": name,
            "note": "两个街道的青年路社区联动",
            "communities": [world.community1, two_.community3],
        },
    )


def test_the_system_administrator_groups_communities_across_streets(app, client, world, two, login_as):
    login_as("admin")
    assert _make_area(client, world, two).status_code == 302
    page = client.get("/places/areas").get_data(as_text=True)
    assert "青年路片区" in page and "青年路社区（东大街）" in page and "青年路社区（八一路）" in page
    # Bad input stays on the form.
    resp = client.post("/places/areas/new", data={"name": "一个社区", "communities": [world.community1]})
    assert resp.status_code == 400 and "片区至少包含两个社区" in resp.get_data(as_text=True)
    resp = _make_area(client, world, two)
    assert resp.status_code == 400 and "已有名为“青年路片区”的片区" in resp.get_data(as_text=True)
    # A street admin groups only their own street's communities.
    login_as("admin1")
    resp = _make_area(client, world, two, name="越界片区")
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Area.id).where(Area.name == "越界片区")) is None
    resp = client.post(
        "/places/areas/new", data={"name": "东大街片区", "communities": [world.community1, world.community2]}
    )
    assert resp.status_code == 302
    # Street 1's admin may not change the cross-street 片区 (it is not wholly theirs).
    with app.app_context():
        area_id = db.session.scalar(select(Area.id).where(Area.name == "青年路片区"))
    assert client.post(f"/places/areas/{area_id}/edit", data={"name": "x"}).status_code == 403


def test_a_member_secretary_convenes_a_meeting_of_the_whole_area(app, client, world, two, login_as):
    login_as("admin")
    _make_area(client, world, two)
    with app.app_context():
        area_id = db.session.scalar(select(Area.id).where(Area.name == "青年路片区"))
        room = db.session.scalar(select(Room.id).where(Room.community_id == world.community1))
    login_as("secretary1")
    assert "安排片区会议（青年路片区）" in client.get("/meetings").get_data(as_text=True)
    form = client.get(f"/meetings/new?area={area_id}").get_data(as_text=True)
    assert 'id="area-note"' in form and S2_UNIT in form and "东大街第一小学" in form
    data = _form(app, world, title="青年路片区联席会议", room_id=room, units=[world.unit_a, two.unit_s2])
    data["agenda-0-presenter_unit_id"] = "0"
    resp = client.post(f"/meetings/new?area={area_id}", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        meeting = db.session.scalar(select(Meeting).where(Meeting.title == "青年路片区联席会议"))
        assert meeting.area_id == area_id and meeting.community_id == world.community1
        assert {i.unit_id for i in meeting.invitations} == {world.unit_a, two.unit_s2}
        assert archive_scope(meeting) == f"area:{area_id}"
        meeting_id = meeting.id
    client.post(f"/meetings/{meeting_id}/publish")
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == MeetingStatus.SCHEDULED
    # Read in the other member street: its secretary, its admin, its invited liaison.
    for who in ("secretary2-1", "admin2", "liaison2"):
        login_as(who)
        resp = client.get(f"/meetings/{meeting_id}")
        assert resp.status_code == 200, who
        assert "青年路社区（八一路）" in resp.get_data(as_text=True)
        assert "青年路片区联席会议" in client.get("/meetings").get_data(as_text=True), who
    # The other street's member secretary and admin find it in their calendar feeds.
    for who in ("secretary2-1", "admin2"):
        login_as(who)
        user_id = test_scoping._user_id(app, who)
        client.post(f"/account/feeds/user/{user_id}")
        feed = client.get(test_scoping._feed_url(app, who)).get_data(as_text=True)
        assert "青年路片区联席会议" in feed, who
    # A secretary outside the area does not convene in it.
    login_as("secretary2")
    assert client.get(f"/meetings/new?area={area_id}").status_code == 403


def test_area_meetings_take_the_areas_own_archive_numbers(app, world, two):
    with app.app_context():
        area = Area(name="青年路片区")
        db.session.add(area)
        db.session.flush()
        meeting = db.session.get(Meeting, two.meeting1)
        assert format_archive_no(meeting, 2026, 3) == "青年路社区联席〔2026〕3号"
        meeting.area = area
        meeting.area_id = area.id
        assert archive_scope(meeting) == f"area:{area.id}"
        assert format_archive_no(meeting, 2026, 3) == "青年路片区联席〔2026〕3号"


def test_a_retired_area_convenes_no_more(app, client, world, two, login_as):
    login_as("admin")
    _make_area(client, world, two)
    with app.app_context():
        area_id = db.session.scalar(select(Area.id).where(Area.name == "青年路片区"))
    client.post(f"/places/areas/{area_id}/retire")
    login_as("secretary1")
    assert client.get(f"/meetings/new?area={area_id}").status_code == 403
    assert "安排片区会议" not in client.get("/meetings").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Area, area_id).retired_at is not None
