"""The shortcuts pages take for speed give the same answers as the long way.

web.pagination counts with the rows, web.templating remembers built paths, the meeting page
loads its collections from prebuilt statements, and the lists print names from plain rows.
Each test compares with what Flask, Flask-SQLAlchemy or the ORM would have given.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import func, select

from models import (
    Action,
    ActionStatus,
    ActionTag,
    AgendaItem,
    Invitation,
    Principle,
    Unit,
    UnitStatus,
    User,
    db,
)
from services.meetings import load_meeting
from web.pagination import paginate
from web.templating import cached_url_for


def _units(app, make_unit, n: int) -> None:
    for i in range(n):
        make_unit(name=f"分页单位{i:02d}", status=UnitStatus.ACTIVE)


@pytest.mark.parametrize("page, per_page", [(1, 3), (2, 3), (4, 3), (1, 50)])
def test_pagination_counts_with_the_rows_as_flask_sqlalchemy_does(app, world, make_unit, page, per_page):
    _units(app, make_unit, 8)  # 3 units in the world + 8 = 11
    stmt = select(Unit).order_by(Unit.name, Unit.id)
    with app.test_request_context(f"/?page={page}"):
        ours = paginate(stmt, per_page=per_page)
        theirs = db.paginate(stmt, per_page=per_page, error_out=False)
        assert [u.id for u in ours.items] == [u.id for u in theirs.items]
        assert ours.total == theirs.total == 11
        assert (ours.pages, ours.has_next, ours.has_prev) == (theirs.pages, theirs.has_next, theirs.has_prev)


def test_a_page_past_the_end_still_knows_the_total(app, world):
    with app.test_request_context("/?page=9"):
        p = paginate(select(Unit).order_by(Unit.id), per_page=2)
        assert p.items == [] and p.total == 3 and p.pages == 2


def test_an_empty_list_counts_nothing_without_asking_again(app, world):
    with app.test_request_context("/"):
        p = paginate(select(Unit).where(Unit.name == "无此单位"), per_page=5)
        assert p.items == [] and p.total == 0


def test_distinct_statements_are_counted_the_long_way(app, world, make_meeting):
    make_meeting(units=[world.unit_a, world.unit_b])
    make_meeting(days=2, units=[world.unit_a])
    # Units invited somewhere: A twice, B once; DISTINCT must count 2, not 3 joined rows.
    stmt = select(Unit).join(Invitation, Invitation.unit_id == Unit.id).distinct().order_by(Unit.id)
    with app.test_request_context("/"):
        p = paginate(stmt, per_page=1)
        assert p.total == 2 and [u.id for u in p.items] == [world.unit_a]


def test_rows_mode_gives_whole_rows(app, world):
    stmt = select(Unit.id, Unit.name).order_by(Unit.id)
    with app.test_request_context("/?page=2"):
        p = paginate(stmt, per_page=2, rows=True)
        assert [(r.id, r.name) for r in p.items] == [(world.unit_c, "和平里派出所")]
        assert p.total == 3


def test_cached_url_for_builds_what_url_for_builds(app):
    with app.test_request_context("/"):
        for endpoint, values in [
            ("main.dashboard", {}),
            ("units.detail", {"unit_id": 7}),
            ("units.detail", {"unit_id": 8}),
            ("static", {"filename": "css/app.css"}),
            ("actions.index", {"overdue": 1, "q": "供暖"}),
            ("actions.index", {"q": "供暖", "overdue": 1}),
            ("units.detail", {"unit_id": 7, "_anchor": "x"}),
        ]:
            assert cached_url_for(endpoint, **values) == url_for(endpoint, **values)
        # The same arguments twice come from the cache and are still right.
        assert cached_url_for("units.detail", unit_id=7) == "/units/7"
        assert cached_url_for("units.detail", unit_id=7, _external=True).startswith("http")
        # Unhashable arguments go to url_for.
        assert cached_url_for("actions.index", kind=["a", "b"]) == url_for("actions.index", kind=["a", "b"])


def test_cached_url_for_keeps_each_mount_point_apart(app):
    with app.test_request_context("/"):
        assert cached_url_for("units.detail", unit_id=3) == "/units/3"
    with app.test_request_context("/", base_url="http://localhost/gongjian/"):
        assert url_for("units.detail", unit_id=3) == "/gongjian/units/3"
        assert cached_url_for("units.detail", unit_id=3) == "/gongjian/units/3"


def test_meeting_page_loads_its_collections_in_order_and_never_overwrites_changes(app, world, held_meeting):
    held_meeting = held_meeting()
    with app.app_context():
        m = load_meeting(held_meeting)
        assert [a.position for a in m.agenda_items] == sorted(a.position for a in m.agenda_items)
        assert [i.id for i in m.invitations] == sorted(i.id for i in m.invitations)
        assert all(i.unit.name for i in m.invitations)
        expected = db.session.scalar(
            select(func.count()).select_from(AgendaItem).where(AgendaItem.meeting_id == held_meeting)
        )
        assert len(m.agenda_items) == expected
        # A change made in this session survives loading the meeting again.
        m.agenda_items.append(AgendaItem(position=99, title="临时动议", minutes=5))
        again = load_meeting(held_meeting)
        assert again is m and again.agenda_items[-1].title == "临时动议"
        db.session.rollback()
        assert load_meeting(-1) is None


def test_ledger_rows_say_overdue_as_the_model_does(app, world, held_meeting, login_as, client):
    from models.base import today

    mid = held_meeting()
    day = today()
    with app.app_context():
        for title, due, status in [
            ("逾期未办的事项", day - timedelta(days=3), ActionStatus.OPEN),
            ("逾期已办的事项", day - timedelta(days=3), ActionStatus.DONE),
            ("未到期的事项", day + timedelta(days=3), ActionStatus.IN_PROGRESS),
        ]:
            db.session.add(
                Action(
                    meeting_id=mid,
                    street_id=world.street,
                    community_id=world.community1,
                    title=title,
                    lead_unit_id=world.unit_a,
                    due_on=due,
                    status=status,
                )
            )
        first = db.session.scalar(select(Action).where(Action.title == "逾期未办的事项"))
        first.co_units = [db.session.get(Unit, world.unit_c), db.session.get(Unit, world.unit_b)]
        first.tags = [ActionTag(principle=Principle.DEVELOP), ActionTag(principle=Principle.SHARE)]
        db.session.commit()
        actions = db.session.scalars(select(Action).where(Action.meeting_id == mid)).all()
        co_names = [u.name for u in first.co_units]  # the relationship orders by name
        overdue = [a.title for a in actions if a.is_overdue(day)]
    assert overdue == ["逾期未办的事项"]
    login_as("secretary1")
    html = client.get("/actions").get_data(as_text=True)
    assert all(a.title in html for a in actions)
    assert "东大街第一小学" in html and "青年路社区" in html  # lead unit and community names
    assert html.count("已逾期</div>") == 1
    row = html[html.index("逾期未办的事项") :]
    row = row[: row.index("</tr>")]
    assert "已逾期" in row
    assert "、".join(co_names) in row  # co-units by name, as the relationship orders them
    assert row.index("资源共享") < row.index("共同发展")  # principles in their order


def test_the_menu_names_the_scope_loaded_with_the_user(app, world, login_as, client):
    login_as("secretary1")
    html = client.get("/meetings").get_data(as_text=True)
    assert "社区书记 · 青年路社区" in html
    login_as("liaison_b")
    assert "· 市第三人民医院" in client.get("/meetings").get_data(as_text=True)
    with app.app_context():
        from web.security import load_user

        user = db.session.get(User, world.secretary1)
        found = load_user(f"{user.id}:{user.session_token}")
        assert found.scope_label == "青年路社区"
        found.community_id = world.community2  # moved within this unit of work: looked up again
        db.session.flush()
        db.session.expire(found, ["community"])
        assert found.scope_label == "和平里社区"
        db.session.rollback()
