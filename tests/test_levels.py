"""Joint meetings above the street (四级联动): a district's or a city's observer convenes a
meeting at their level, in a room of a street below, inviting streets, communities and
units below; everyone below reads it once published; nobody in a street manages it; its
minutes take the level's own archive numbers; its open actions follow up at its next
meeting, not at the street's."""

from datetime import date

import pytest
from sqlalchemy import select

from models import (
    Action,
    District,
    Meeting,
    MeetingPlace,
    MeetingStatus,
    MinutesStatus,
    OutboxMessage,
    Role,
    Street,
    User,
    db,
)
from models.meeting import MeetingError
from services import meetings as svc
from services.minutes import archive_scope, format_archive_no, open_actions
from tests import test_scoping
from tests.test_meetings import _form
from tests.test_minutes import _approve, _revision
from tests.test_scoping import S2_UNIT

two = test_scoping.two  # the two-street world, as a fixture of this module

TITLE = "城东区共驻共建联席会议"


def _district_form(app, world, two_, **overrides):
    data = _form(
        app,
        world,
        title=TITLE,
        community_id="0",
        room_id=two_.room2,
        units=[world.unit_a, two_.unit_s2],
        invite_streets=[world.street],
        invite_communities=[two_.community3],
    )
    data["agenda-0-presenter_unit_id"] = "0"
    data.update(overrides)
    return data


def _convene(app, client, world, two_, login_as, **overrides) -> int:
    login_as("district")
    resp = client.post("/meetings/new", data=_district_form(app, world, two_, **overrides))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    with app.app_context():
        return db.session.scalar(select(Meeting.id).where(Meeting.title == overrides.get("title", TITLE)))


@pytest.fixture
def emails(app, world, two):
    """Addresses for the staff an invited place tells, and the invited liaisons."""
    with app.app_context():
        for username in ("admin1", "admin2", "secretary2-1", "secretary1"):
            user = db.session.scalar(select(User).where(User.username == username))
            user.email = f"{username}@example.cn"
        db.session.commit()


def test_a_district_observer_convenes_a_district_meeting(app, client, world, two, login_as, emails):
    login_as("district")
    listing = client.get("/meetings").get_data(as_text=True)
    assert "安排区级联席会议" in listing and "新建例会系列" not in listing
    form = client.get("/meetings/new").get_data(as_text=True)
    assert 'id="level-note"' in form and 'id="place-pickers"' in form
    assert "城东区（区级联席会议）" in form and S2_UNIT in form and "东大街第一小学" in form
    assert "八一路青年路社区会议室" in form and "东大街街道" in form
    mid = _convene(app, client, world, two, login_as)
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        assert meeting.district_id == two.district and meeting.city_id is None
        assert meeting.community_id is None and meeting.street_id == two.street2  # the room's street
        assert meeting.host_name == "城东区" and meeting.level_label == "区级"
        assert {(p.street_id, p.community_id) for p in meeting.invited_places} == {
            (world.street, None),
            (None, two.community3),
        }
        assert {i.unit_id for i in meeting.invitations} == {world.unit_a, two.unit_s2}
        assert archive_scope(meeting) == f"district:{two.district}"
        assert format_archive_no(meeting, 2026, 1) == "城东区联席〔2026〕1号"
    # A draft is the district's: the room's street admin neither sees nor manages it.
    login_as("admin2")
    assert client.get(f"/meetings/{mid}").status_code in (403, 404)
    assert TITLE not in client.get("/meetings?when=all").get_data(as_text=True)
    assert client.post(f"/meetings/{mid}/publish").status_code in (403, 404)
    # Published, the invited places' staff are told by mail, the invited liaisons invited.
    login_as("district")
    assert client.post(f"/meetings/{mid}/publish").status_code == 302
    with app.app_context():
        assert db.session.get(Meeting, mid).status == MeetingStatus.SCHEDULED
        mail = {
            m.to_addr: m
            for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.meeting_id == mid))
        }
    assert "admin1@example.cn" in mail and "secretary2-1@example.cn" in mail
    assert "admin2@example.cn" not in mail and "secretary1@example.cn" not in mail  # not invited places
    notice = mail["admin1@example.cn"]
    assert notice.ics_method is None and "现通知贵处参加" in notice.body_text
    assert "召集单位：城东区" in notice.body_text and notice.body_text.startswith("东大街街道：")
    page = client.get(f"/meetings/{mid}").get_data(as_text=True)
    assert 'id="meeting-level"' in page and "区级联席会议" in page
    assert "东大街街道" in page and "青年路社区（八一路）" in page


def test_everyone_below_reads_a_published_district_meeting_and_nobody_there_manages_it(
    app, client, world, two, login_as
):
    mid = _convene(app, client, world, two, login_as)
    client.post(f"/meetings/{mid}/publish")
    for who in ("admin1", "admin2", "secretary1", "secretary2-1", "archivist2", "city", "liaison2"):
        login_as(who)
        assert client.get(f"/meetings/{mid}").status_code == 200, who
        assert TITLE in client.get("/meetings?when=all").get_data(as_text=True), who
        assert client.get(f"/meetings/{mid}/edit").status_code == 403, who
        assert client.post(f"/meetings/{mid}/cancel", data={"reason": "越权"}).status_code == 403, who
    # A liaison whose unit is not invited does not read it.
    login_as("liaison_b")
    assert client.get(f"/meetings/{mid}").status_code in (403, 404)
    # Observers plan no 例会 series: those are a street's or a community's.
    login_as("district")
    assert client.get("/meetings/series/new").status_code == 403
    # The district edits its own meeting; the places it invites are kept or changed.
    form = client.get(f"/meetings/{mid}/edit").get_data(as_text=True)
    assert 'id="place-pickers"' in form
    with app.app_context():
        version = db.session.get(Meeting, mid).version
    data = _district_form(app, world, two, invite_streets=[world.street, two.street2], invite_communities=[])
    data["version"] = str(version)
    assert client.post(f"/meetings/{mid}/edit", data=data).status_code == 302
    with app.app_context():
        places = db.session.scalars(select(MeetingPlace).where(MeetingPlace.meeting_id == mid)).all()
        assert {(p.street_id, p.community_id) for p in places} == {(world.street, None), (two.street2, None)}


def test_a_city_meeting_is_the_citys_and_read_in_every_district(app, client, world, two, login_as):
    login_as("city")
    assert "安排市级联席会议" in client.get("/meetings").get_data(as_text=True)
    assert "西宁市（市级联席会议）" in client.get("/meetings/new").get_data(as_text=True)
    resp = client.post("/meetings/new", data=_district_form(app, world, two, title="西宁市联席会议"))
    assert resp.status_code == 302
    with app.app_context():
        meeting = db.session.scalar(select(Meeting).where(Meeting.title == "西宁市联席会议"))
        assert meeting.city_id == two.city and meeting.district_id is None
        assert archive_scope(meeting) == f"city:{two.city}"
        assert format_archive_no(meeting, 2026, 2) == "西宁市联席〔2026〕2号"
        mid = meeting.id
    # The district's observer reads the city's meeting once published, and manages none of it.
    login_as("district")
    assert client.get(f"/meetings/{mid}").status_code in (403, 404)
    login_as("city")
    client.post(f"/meetings/{mid}/publish")
    login_as("district")
    assert client.get(f"/meetings/{mid}").status_code == 200
    assert client.get(f"/meetings/{mid}/edit").status_code == 403


def test_only_places_below_the_level_are_invited(app, world, two):
    with app.app_context():
        other = District(city_id=two.city, name="城西区", short_name="城西")
        db.session.add(other)
        db.session.flush()
        far = Street(name="兴海路街道", short_name="兴海路", district_id=other.id)
        db.session.add(far)
        db.session.flush()
        meeting = db.session.get(Meeting, two.meeting1)
        with pytest.raises(MeetingError, match="社区会议和片区会议邀请驻区单位即可"):
            svc._replace_places(meeting, set(), {world.community2})
        # A street-level meeting invites its own street's communities, no street, no other street's.
        meeting.community_id = None
        with pytest.raises(MeetingError, match="不能邀请其他街道"):
            svc._replace_places(meeting, {world.street}, set())
        with pytest.raises(MeetingError, match="只能邀请本级以下的街道和社区"):
            svc._replace_places(meeting, set(), {two.community3})
        assert len(svc._replace_places(meeting, set(), {world.community2})) == 1
        meeting.invited_places.clear()
        meeting.district_id = two.district
        with pytest.raises(MeetingError, match="只能邀请本级以下的街道和社区"):
            svc._replace_places(meeting, {far.id}, set())
        with pytest.raises(MeetingError, match="只能邀请本级以下的街道和社区"):
            svc._replace_places(meeting, {999999}, set())
        svc._replace_places(meeting, {world.street}, {two.community3})
        assert len(meeting.invited_places) == 2
        # A city meeting invites any street of any of its districts.
        meeting.district_id, meeting.city_id = None, two.city
        meeting.invited_places.clear()
        svc._replace_places(meeting, {far.id, world.street}, set())
        assert len(meeting.invited_places) == 2
        db.session.rollback()


def test_district_minutes_are_numbered_in_the_districts_series_and_follow_up_there(
    app, client, world, two, login_as, held_meeting, make_meeting
):
    mid = held_meeting(community_id=None, district_id=two.district)
    street_meeting = held_meeting(community_id=None, title="东大街街道联席会议")
    login_as("district")
    assert client.get(f"/meetings/{mid}/minutes").status_code == 200
    _approve(app, client, world, mid)
    rev = _revision(app, mid)
    assert rev.status == MinutesStatus.APPROVED
    assert rev.minutes.archive_no == f"城东区联席〔{date.today().year}〕1号"
    # Street staff read the approved minutes, but not a draft, and do not approve.
    login_as("admin1")
    assert client.get(f"/meetings/{mid}/minutes").status_code == 200
    assert client.post(f"/meetings/{mid}/minutes/correct", data={"reason": "越权"}).status_code == 403
    district_next_id = make_meeting(days=5, community_id=None, district_id=two.district)
    street_next_id = make_meeting(days=6, community_id=None)
    with app.app_context():
        actions = db.session.scalars(select(Action).where(Action.meeting_id == mid)).all()
        assert actions, "the approved minutes agreed actions"
        district_next = db.session.get(Meeting, district_next_id)
        street_next = db.session.get(Meeting, street_next_id)
        assert db.session.scalar(open_actions(district_next).limit(1)) is not None
        # The street's own meetings do not carry the district's actions.
        assert all(a.meeting_id != mid for a in db.session.scalars(open_actions(street_next)))
        assert db.session.get(Meeting, street_meeting).district_id is None


def test_observers_without_a_level_convene_nothing(app, client, world, two, login_as):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "district"))
        assert user.role == Role.OBSERVER
        user.district_id = None
        db.session.commit()
    login_as("district")
    assert client.get("/meetings/new").status_code == 403


def _figure(page: str, row: str, figure: str) -> str:
    """A cell of a figures table: the row's data-community key and the figure's name."""
    import re

    row_html = re.search(rf'<tr[^>]*data-community="{row}".*?</tr>', page, re.S).group(0)
    return re.search(rf'data-figure="{figure}">([^<]*)<', row_html).group(1)


def test_the_dashboard_rolls_up_street_by_street_and_district_by_district(
    app, client, world, two, login_as, held_meeting
):
    held_meeting()  # a community meeting of street 1
    held_meeting(community_id=None)  # a street-level one of street 1
    held_meeting(community_id=None, district_id=two.district, title=TITLE)  # the district's own
    login_as("district")
    page = client.get("/stats/rollup").get_data(as_text=True)
    assert "共建汇总" in page and "城东区" in page and "各街道情况" in page
    # Street 1 held two meetings; the district's own is its own row, not street 2's (its room's).
    assert _figure(page, str(world.street), "meetings_held") == "2"
    assert _figure(page, str(two.street2), "meetings_held") == "0"
    assert _figure(page, "0", "meetings_held") == "1" and "城东区（区级层面）" in page
    assert _figure(page, "total", "meetings_held") == "3"
    assert f"/stats?street={world.street}" in page  # down to the street dashboard
    assert 'id="up-level"' not in page  # a district observer does not see the city
    # The street dashboard agrees with its row, and does not count the district's meeting.
    street_page = client.get(f"/stats?street={two.street2}").get_data(as_text=True)
    assert _figure(street_page, "total", "meetings_held") == "0"
    street_page = client.get(f"/stats?street={world.street}").get_data(as_text=True)
    assert _figure(street_page, "total", "meetings_held") == "2" and 'id="up-level"' in street_page
    # The city: one row per district, down to the district.
    login_as("city")
    page = client.get("/stats/rollup").get_data(as_text=True)
    assert "西宁市" in page and "各区情况" in page
    assert _figure(page, str(two.district), "meetings_held") == "3"
    assert f"/stats/rollup?district={two.district}" in page
    page = client.get(f"/stats/rollup?district={two.district}").get_data(as_text=True)
    assert 'id="up-level"' in page and _figure(page, "total", "meetings_held") == "3"
    # A bad period stays on the page with a message; staff of a street have no roll-up.
    resp = client.get("/stats/rollup?from=2026-05-01&to=2026-01-01")
    assert resp.status_code == 400 and "开始日期不能晚于结束日期" in resp.get_data(as_text=True)
    for who in ("admin1", "secretary1", "liaison2"):
        login_as(who)
        assert client.get("/stats/rollup").status_code == 403, who


def test_a_district_observer_does_not_open_another_district_or_the_city(app, client, world, two, login_as):
    with app.app_context():
        other = District(city_id=two.city, name="城西区", short_name="城西")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    login_as("district")
    page = client.get(f"/stats/rollup?district={other_id}&city={two.city}").get_data(as_text=True)
    assert "城东区" in page and "城西区" not in page and "各街道情况" in page


def test_the_demo_has_a_district_meeting_with_approved_minutes(app, client, login_as, seeded_demo):
    from demo.levels import HELD_TITLE
    from models import Minutes

    with app.app_context():
        meeting = db.session.scalar(select(Meeting).where(Meeting.title == HELD_TITLE))
        assert meeting.district_id is not None and meeting.status == MeetingStatus.HELD
        assert {p.name for p in meeting.invited_places} >= {"东大街街道", "八一路街道"}
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))
        assert minutes.archive_no == f"城东区联席〔{meeting.start_at.year}〕1号"
        assert minutes.approved is not None and minutes.approved.pdf.startswith(b"%PDF")
        assert db.session.scalar(select(Action.id).where(Action.meeting_id == meeting.id)) is not None
        upcoming = db.session.scalars(
            select(Meeting.title).where(
                Meeting.status == MeetingStatus.SCHEDULED, Meeting.city_id.is_not(None)
            )
        ).all()
        assert upcoming == ["西宁市城市基层党建联席会议"]
        meeting_id = meeting.id
    login_as("district", password=seeded_demo.password)
    assert "安排区级联席会议" in client.get("/meetings").get_data(as_text=True)
    assert "城东区（区级层面）" in client.get("/stats/rollup").get_data(as_text=True)
    login_as("secretary2-1", password=seeded_demo.password)
    page = client.get(f"/meetings/{meeting_id}/minutes").get_data(as_text=True)
    assert "城东区联席" in page


def test_a_street_admin_invites_the_streets_communities_to_a_street_meeting(
    app, client, world, two, login_as, emails
):
    login_as("admin1")
    form = client.get("/meetings/new").get_data(as_text=True)
    assert (
        'id="place-note"' in form
        and f'name="invite_communities" type="checkbox" value="{world.community1}"' in form
    )
    assert (
        f'name="invite_communities" type="checkbox" value="{two.community3}"' not in form
    )  # not another street's
    data = _form(
        app, world, title="东大街街道联席会议", community_id="0", invite_communities=[world.community1]
    )
    assert client.post("/meetings/new", data=data).status_code == 302
    with app.app_context():
        meeting = db.session.scalar(select(Meeting).where(Meeting.title == "东大街街道联席会议"))
        assert [(p.street_id, p.community_id) for p in meeting.invited_places] == [(None, world.community1)]
        mid = meeting.id
    client.post(f"/meetings/{mid}/publish")
    with app.app_context():
        to = set(db.session.scalars(select(OutboxMessage.to_addr).where(OutboxMessage.meeting_id == mid)))
    assert "secretary1@example.cn" in to and "admin1@example.cn" not in to
    assert 'id="meeting-places"' in client.get(f"/meetings/{mid}").get_data(as_text=True)
    # A community meeting with a community ticked is refused on the form, and nothing is saved.
    data = _form(
        app,
        world,
        title="社区会议邀请社区",
        invite_communities=[world.community2],
        start_time="08:00",
        end_time="09:00",
    )
    resp = client.post("/meetings/new", data=data)
    assert "社区会议和片区会议邀请驻区单位即可" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Meeting.id).where(Meeting.title == "社区会议邀请社区")) is None
