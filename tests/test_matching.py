"""Resource–need matching (资源需求对接): suggestions both ways, proposals, answers, actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import render_template_string
from flask_login import login_user
from sqlalchemy import select

from models import (
    Action,
    ActionStatus,
    Community,
    Match,
    MatchStatus,
    MeetingStatus,
    Need,
    NeedStatus,
    Principle,
    Resource,
    ResourceKind,
    UnitStatus,
    User,
    Visibility,
    db,
)
from models.base import today
from services import needs as svc
from tests.conftest import count
from tests.test_needs import get_need, new_need


@pytest.fixture
def community3(app, world) -> int:
    """A third community, next to community 2 (positions 1, 2, 3)."""
    with app.app_context():
        c = Community(street_id=world.street, name="书院街社区", short_name="书院街", position=3)
        db.session.add(c)
        db.session.commit()
        return c.id


def suggestion_titles(app, need_id, username="secretary1"):
    with app.test_request_context():
        need = svc.load_need(need_id)
        user = db.session.scalar(select(User).where(User.username == username))
        return [r.title for r in svc.suggested_resources(need, user)]


def test_suggestions_follow_kind_neighbourhood_visibility_and_dates(
    app, world, make_service, make_unit, community3
):
    wanted = today() + timedelta(days=10)
    need = new_need(app, world, wanted_by=wanted)  # community 1 (position 1)
    unit_far = make_unit(name="书院街银行", community_id=community3)
    unit_near_withdrawn = make_unit(
        name="已迁出公司", community_id=world.community2, status=UnitStatus.WITHDRAWN
    )
    make_service("同社区志愿队")  # unit A, community 1
    make_service("相邻社区志愿队", unit=world.unit_c)  # community 2: a neighbour
    make_service("隔一个社区的志愿队", unit=unit_far)  # community 3: too far
    make_service("另一类资源", kind=ResourceKind.VENUE)
    make_service("已下架的志愿队", active=False)
    make_service("仅和平里可见", unit=world.unit_c, visibility=Visibility.COMMUNITY)
    make_service("仅青年路可见", visibility=Visibility.COMMUNITY)
    make_service("过期的志愿队", available_until=wanted - timedelta(days=1))
    make_service("以后才有的志愿队", available_from=wanted + timedelta(days=1))
    make_service("期间可用的志愿队", available_from=today(), available_until=wanted)
    make_service("社区自己的志愿队", community=world.community1)
    make_service("退出单位的志愿队", unit=unit_near_withdrawn)
    titles = suggestion_titles(app, need)
    # Same community first, then by title.
    assert set(titles[:4]) == {"同社区志愿队", "仅青年路可见", "期间可用的志愿队", "社区自己的志愿队"}
    assert titles[4:] == ["相邻社区志愿队"]
    # A liaison of another community does not see what is visible to community 1 only.
    assert "仅青年路可见" not in suggestion_titles(app, need, "liaison_c")
    assert "仅青年路可见" in suggestion_titles(app, need, "liaison_a")


def test_without_a_date_expired_resources_are_left_out(app, world, make_service):
    need = new_need(app, world, wanted_by=None)
    make_service("长期志愿队")
    make_service("去年的志愿队", available_until=today() - timedelta(days=1))
    assert suggestion_titles(app, need) == ["长期志愿队"]


def test_needs_for_resource_is_the_reverse(app, world, make_service, make_unit, community3):
    far_need = new_need(app, world, title="书院街的需求", community_id=community3)
    near = new_need(app, world, title="和平里的需求", community_id=world.community2, wanted_by=None)
    own = new_need(app, world, title="青年路的需求", wanted_by=today() + timedelta(days=5))
    late = new_need(app, world, title="太晚的需求", wanted_by=today() + timedelta(days=90))
    new_need(app, world, title="已认领的需求", status=NeedStatus.CLAIMED, claimed_unit_id=world.unit_b)
    new_need(app, world, title="别的类别", kind=ResourceKind.VENUE)
    resource = make_service("志愿队", available_until=today() + timedelta(days=30))
    local_only = make_service("只在青年路", visibility=Visibility.COMMUNITY)
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == "secretary1"))
        rows = svc.needs_for_resource(db.session.get(Resource, resource), user)
        assert [r.need.title for r in rows] == ["青年路的需求", "和平里的需求"]
        assert all(r.match is None for r in rows)
        rows = svc.needs_for_resource(db.session.get(Resource, local_only), user)
        assert [r.need.title for r in rows] == ["青年路的需求", "太晚的需求"]
    assert far_need and near and own and late


def test_propose_accept_and_turn_into_an_action(app, client, world, login_as, make_service, make_meeting):
    need = new_need(app, world, wanted_by=today() + timedelta(days=12))
    resource = make_service("和平里派出所志愿队", unit=world.unit_c)
    # Only the need's community (or an admin) proposes.
    for who in ("liaison_a", "liaison_c", "secretary2", "archivist"):
        login_as(getattr(world, who))
        assert client.post(f"/needs/{need}/matches", data={"resource_id": resource}).status_code == 403
    login_as(world.secretary1)
    page = client.get(f"/needs/{need}").get_data(as_text=True)
    assert "和平里派出所志愿队" in page and "推荐对接" in page
    assert client.post(f"/needs/{need}/matches", data={"resource_id": resource}).status_code == 302
    with app.app_context():
        match = db.session.scalar(select(Match))
        assert (match.need_id, match.resource_id, match.status) == (need, resource, MatchStatus.PROPOSED)
        assert match.proposed_by_id == world.secretary1
        match_id = match.id
    # A second proposal of the same resource is refused; it left the suggestions anyway.
    resp = client.post(f"/needs/{need}/matches", data={"resource_id": resource}, follow_redirects=True)
    assert "已向资源方推荐过" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Match) == 1

    # The owner's liaison sees it on the dashboard and answers; nobody else may.
    login_as(world.liaison_c)
    assert "待回应的资源对接" in client.get("/").get_data(as_text=True)
    for who in ("liaison_a", "secretary1", "secretary2", "archivist"):
        login_as(getattr(world, who))
        assert client.post(f"/needs/matches/{match_id}/accept").status_code == 403
    login_as(world.liaison_c)
    assert (
        client.post(f"/needs/matches/{match_id}/accept", data={"reason": "周六派两名民警"}).status_code == 302
    )
    n = get_need(app, need)
    # Accepting for an unclaimed need makes the owner unit its (confirmed) claimant.
    assert n.status == NeedStatus.IN_PROGRESS and n.claimed_unit_id == world.unit_c
    resp = client.post(f"/needs/matches/{match_id}/decline", follow_redirects=True)
    assert "不能重复回应" in resp.get_data(as_text=True)

    # The secretary turns it into an action of one of the community's meetings.
    meeting = make_meeting(days=-3, status=MeetingStatus.HELD)
    cancelled = make_meeting(days=5, status=MeetingStatus.CANCELLED)
    other = make_meeting(days=6, community_id=world.community2, status=MeetingStatus.SCHEDULED)
    draft = make_meeting(days=7)  # not yet sent to the units: no agreed actions on it
    login_as(world.liaison_c)
    assert client.post(f"/needs/matches/{match_id}/action", data={"meeting_id": meeting}).status_code == 403
    login_as(world.secretary1)
    page = client.get(f"/needs/{need}").get_data(as_text=True)
    assert "转为议定事项" in page
    for bad in (cancelled, other, draft, 99999, "x"):
        resp = client.post(
            f"/needs/matches/{match_id}/action", data={"meeting_id": bad}, follow_redirects=True
        )
        assert "请选择本社区的一次会议" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Action) == 0
    resp = client.post(f"/needs/matches/{match_id}/action", data={"meeting_id": meeting})
    assert resp.status_code == 302 and "/actions/" in resp.headers["Location"]
    with app.app_context():
        action = db.session.scalar(select(Action))
        assert action.title == "独居老人家里换一个水龙头"
        assert action.lead_unit_id == world.unit_c and action.meeting_id == meeting
        assert action.due_on == today() + timedelta(days=12)
        assert action.principles == [Principle.SHARE] and action.status == ActionStatus.OPEN
        assert (action.need_id, action.resource_id) == (need, resource)
        assert db.session.get(Match, match_id).action_id == action.id
    resp = client.post(
        f"/needs/matches/{match_id}/action", data={"meeting_id": meeting}, follow_redirects=True
    )
    assert "已经转为议定事项" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Action) == 1


def test_declined_match_and_action_due_date_default(app, client, world, login_as, make_service, make_meeting):
    need = new_need(app, world, wanted_by=None)
    resource = make_service("志愿队", unit=world.unit_b)
    login_as(world.secretary1)
    client.post(f"/needs/{need}/matches", data={"resource_id": resource})
    with app.app_context():
        match_id = db.session.scalar(select(Match.id))
    login_as(world.liaison_b)
    resp = client.post(f"/needs/matches/{match_id}/decline", data={"reason": "本月人手紧张"})
    assert resp.status_code == 302
    with app.app_context():
        match = db.session.get(Match, match_id)
        assert match.status == MatchStatus.DECLINED and match.reason == "本月人手紧张"
        assert match.decided_by_id == world.liaison_b
    assert get_need(app, need).status == NeedStatus.OPEN
    # A declined match becomes no action.
    meeting = make_meeting(days=2, status=MeetingStatus.SCHEDULED)
    login_as(world.secretary1)
    resp = client.post(
        f"/needs/matches/{match_id}/action", data={"meeting_id": meeting}, follow_redirects=True
    )
    assert "只有已接受的对接可以转为议定事项" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Action) == 0

    # Another resource accepted for a need without a date: due in thirty days.
    second = make_service("第二支志愿队", unit=world.unit_a)
    client.post(f"/needs/{need}/matches", data={"resource_id": second})
    with app.app_context():
        match_id = db.session.scalar(select(Match.id).where(Match.resource_id == second))
    login_as(world.liaison_a)
    client.post(f"/needs/matches/{match_id}/accept")
    login_as(world.secretary1)
    client.post(f"/needs/matches/{match_id}/action", data={"meeting_id": meeting})
    with app.app_context():
        assert db.session.scalar(select(Action.due_on)) == today() + timedelta(days=30)


def test_community_resource_is_answered_by_its_secretary(app, client, world, login_as, make_service):
    need = new_need(app, world, community_id=world.community2)
    resource = make_service("青年路社区志愿队", community=world.community1)
    login_as(world.secretary2)
    assert client.post(f"/needs/{need}/matches", data={"resource_id": resource}).status_code == 302
    with app.app_context():
        match_id = db.session.scalar(select(Match.id))
    for who in ("liaison_a", "secretary2"):
        login_as(getattr(world, who))
        assert client.post(f"/needs/matches/{match_id}/accept").status_code == 403
    login_as(world.secretary1)
    assert "待回应的资源对接" in client.get("/").get_data(as_text=True)
    assert client.post(f"/needs/matches/{match_id}/accept").status_code == 302
    with app.app_context():
        assert db.session.get(Match, match_id).status == MatchStatus.ACCEPTED
    # A community resource does not claim the need for anyone.
    assert get_need(app, need).status == NeedStatus.OPEN


def test_ineligible_resources_cannot_be_proposed(
    app, client, world, login_as, make_service, make_unit, community3
):
    need = new_need(app, world)
    far = make_service("远处的志愿队", unit=make_unit(name="远处单位", community_id=community3))
    venue = make_service("礼堂", kind=ResourceKind.VENUE)
    login_as(world.secretary1)
    for resource in (far, venue):
        resp = client.post(f"/needs/{need}/matches", data={"resource_id": resource}, follow_redirects=True)
        assert "该资源不符合对接条件" in resp.get_data(as_text=True)
    for bad in ("", "abc", "99999"):
        resp = client.post(f"/needs/{need}/matches", data={"resource_id": bad}, follow_redirects=True)
        assert resp.status_code == 200 and "请选择有效的资源" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Match) == 0
        db.session.get(Need, need).status = NeedStatus.FULFILLED
        db.session.commit()
    ok = make_service("近处的志愿队")
    resp = client.post(f"/needs/{need}/matches", data={"resource_id": ok}, follow_redirects=True)
    assert "已完成或已撤回的需求不能再对接资源" in resp.get_data(as_text=True)


def test_resource_partial_lists_needs_and_proposes(app, client, world, login_as, make_service):
    need = new_need(app, world, title="周末陪老人散步")
    resource = make_service("大学生志愿队", unit=world.unit_b)
    template = '{% include "needs/_for_resource.html" %}'
    with app.test_request_context():
        r = db.session.get(Resource, resource)
        login_user(db.session.get(User, world.secretary1))
        html = render_template_string(template, resource=r)
        assert "周末陪老人散步" in html and "推荐对接" in html and 'name="next" value="resource"' in html
        login_user(db.session.get(User, world.liaison_c))
        html = render_template_string(template, resource=r)
        assert "周末陪老人散步" in html and "推荐对接" not in html
        # A view may hand over the rows itself.
        html = render_template_string(template, resource=r, resource_needs=[])
        assert "暂无可对接的需求" in html
    login_as(world.secretary1)
    resp = client.post(f"/needs/{need}/matches", data={"resource_id": resource, "next": "resource"})
    assert resp.status_code == 302
    with app.test_request_context():
        login_user(db.session.get(User, world.secretary1))
        html = render_template_string(template, resource=db.session.get(Resource, resource))
        assert "待回应" in html and "推荐对接" not in html
