"""The resource catalogue: who sees what, who may publish and edit, filters, bad input, panels."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from models import Booking, BookingStatus, Resource, ResourceKind, Visibility, db
from tests.conftest import count


@contextmanager
def statements(app):
    """Count SQL statements (BEGIN/COMMIT excluded) issued inside the block."""
    seen: list[str] = []

    def spy(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", spy)


def resource_form(**overrides) -> dict:
    data = {
        "kind": "venue",
        "title": "青年路党群活动中心报告厅",
        "description": "报告厅一间，投影、音响齐全。",
        "capacity": "80",
        "quantity": "",
        "availability": "工作日 9:00—17:00",
        "available_from": "",
        "available_until": "",
        "conditions": "提前三天申请，用后恢复原状。",
        "contact_name": "王老师",
        "contact_phone": "010-6512 3456",
        "visibility": "all",
        "bookable": "y",
    }
    data.update(overrides)
    return data


# --- catalogue visibility -------------------------------------------------------------------


def test_liaison_sees_public_and_own_community_resources_only(app, world, client, login_as, make_resource):
    make_resource(title="第一小学多功能厅")  # unit A, community 1, all
    make_resource(
        title="医院健康讲座",
        owner_unit_id=world.unit_b,
        kind=ResourceKind.EXPERTISE,
        visibility=Visibility.COMMUNITY,
        bookable=False,
    )  # community 1 only
    make_resource(
        title="派出所反诈宣讲",
        owner_unit_id=world.unit_c,
        community_id=world.community2,
        kind=ResourceKind.TRAINING,
        visibility=Visibility.COMMUNITY,
        bookable=False,
    )  # community 2 only
    make_resource(title="停用的会议室", active=False, owner_unit_id=world.unit_b)

    login_as(world.liaison_a)
    page = client.get("/resources").get_data(as_text=True)
    assert "第一小学多功能厅" in page and "医院健康讲座" in page
    assert "派出所反诈宣讲" not in page and "停用的会议室" not in page

    login_as(world.liaison_c)
    page = client.get("/resources").get_data(as_text=True)
    assert "第一小学多功能厅" in page and "派出所反诈宣讲" in page
    assert "医院健康讲座" not in page

    login_as(world.secretary2)  # staff read everything active
    page = client.get("/resources").get_data(as_text=True)
    assert all(t in page for t in ("第一小学多功能厅", "医院健康讲座", "派出所反诈宣讲"))


def test_hidden_resource_page_is_refused(app, world, client, login_as, make_resource):
    hidden = make_resource(
        title="派出所反诈宣讲",
        owner_unit_id=world.unit_c,
        community_id=world.community2,
        visibility=Visibility.COMMUNITY,
    )
    inactive = make_resource(title="停用的会议室", active=False, owner_unit_id=world.unit_b)
    login_as(world.liaison_a)
    assert client.get(f"/resources/{hidden}").status_code == 403
    assert client.get(f"/resources/{inactive}").status_code == 403
    assert client.get("/resources/99999").status_code == 404
    login_as(world.liaison_b)  # its own inactive resource
    assert client.get(f"/resources/{inactive}").status_code == 200
    login_as(world.archivist)
    assert client.get(f"/resources/{hidden}").status_code == 200


def test_filters_and_keyword(app, world, client, login_as, make_resource):
    make_resource(title="第一小学多功能厅")
    make_resource(
        title="医院义诊专家团", owner_unit_id=world.unit_b, kind=ResourceKind.EXPERTISE, bookable=False
    )
    make_resource(
        title="派出所警务室",
        owner_unit_id=world.unit_c,
        community_id=world.community2,
        kind=ResourceKind.VENUE,
    )
    make_resource(title="百分之百_通配符测试", kind=ResourceKind.OTHER, bookable=False)
    login_as(world.admin)

    def titles(query):
        page = client.get("/resources" + query)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        return {
            t
            for t in ("第一小学多功能厅", "医院义诊专家团", "派出所警务室", "百分之百_通配符测试")
            if t in text
        }

    assert titles("?kind=venue") == {"第一小学多功能厅", "派出所警务室"}
    assert titles(f"?community={world.community2}") == {"派出所警务室"}
    assert titles(f"?owner={world.unit_b}") == {"医院义诊专家团"}
    assert titles("?q=义诊") == {"医院义诊专家团"}
    assert titles("?q=派出所") == {"派出所警务室"}  # by the owner unit's name
    assert titles("?q=_") == {"百分之百_通配符测试"}  # LIKE wildcards match literally
    assert titles("?bookable=1") == {"第一小学多功能厅", "派出所警务室"}
    # Nonsense filters are ignored, never a 500.
    assert titles("?kind=rocket&community=x&owner=abc&page=abc") == titles("")


def test_catalogue_paginates_in_fixed_number_of_queries(app, world, client, login_as, make_resource):
    for i in range(5):
        make_resource(
            title=f"资源{i}",
            owner_unit_id=[world.unit_a, world.unit_b, world.unit_c][i % 3],
            community_id=world.community2 if i % 3 == 2 else world.community1,
        )
    login_as(world.liaison_a)
    with statements(app) as few:
        assert client.get("/resources").status_code == 200
    for i in range(40):
        make_resource(
            title=f"更多资源{i}",
            owner_unit_id=[world.unit_a, world.unit_b, world.unit_c][i % 3],
            community_id=world.community2 if i % 3 == 2 else world.community1,
        )
    with statements(app) as many:
        page = client.get("/resources")
    assert page.status_code == 200
    assert len(few) == len(many), (few, many)
    text = page.get_data(as_text=True)
    assert "下一页" in text and "共 45 条" in text
    assert client.get("/resources?page=3").status_code == 200


# --- publishing and editing -----------------------------------------------------------------------


def test_liaison_publishes_resource_for_own_unit(app, world, client, login_as):
    login_as(world.liaison_a)
    resp = client.post("/resources/new", data=resource_form(owner=f"u:{world.unit_a}"))
    assert resp.status_code == 302
    with app.app_context():
        r = db.session.scalar(select(Resource))
        assert (r.owner_unit_id, r.community_id, r.kind, r.bookable, r.capacity) == (
            world.unit_a,
            world.community1,
            ResourceKind.VENUE,
            True,
            80,
        )
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "青年路党群活动中心报告厅" in page and "已发布资源" in page


def test_liaison_cannot_publish_for_another_unit(app, world, client, login_as):
    login_as(world.liaison_a)
    resp = client.post("/resources/new", data=resource_form(owner=f"u:{world.unit_b}"))
    assert resp.status_code == 400
    with app.app_context():
        assert count(Resource) == 0


def test_secretary_publishes_for_community_and_its_units_only(app, world, client, login_as):
    login_as(world.secretary1)
    assert (
        client.post(
            "/resources/new", data=resource_form(owner=f"c:{world.community1}", title="社区活动室")
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/resources/new", data=resource_form(owner=f"u:{world.unit_b}", title="医院礼堂")
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/resources/new", data=resource_form(owner=f"u:{world.unit_c}", title="别社区的")
        ).status_code
        == 400
    )
    with app.app_context():
        owners = {
            (r.title, r.owner_unit_id, r.owner_community_id) for r in db.session.scalars(select(Resource))
        }
    assert owners == {("社区活动室", None, world.community1), ("医院礼堂", world.unit_b, None)}


def test_archivist_cannot_publish(app, world, client, login_as):
    login_as(world.archivist)
    assert client.get("/resources/new").status_code == 403
    assert client.post("/resources/new", data=resource_form(owner=f"u:{world.unit_a}")).status_code == 403


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"title": ""}, "请填写资源名称"),
        ({"kind": ""}, "请选择资源类别"),
        ({"kind": "spaceship"}, "不是有效的选择"),
        ({"title": "长" * 121}, "不能超过 120 个字"),
        ({"capacity": "很多"}, "不是有效的整数"),
        ({"capacity": "-3"}, "容纳人数应在 1 到 100000 之间"),
        ({"contact_phone": "abc"}, "请输入有效的电话号码"),
        ({"available_from": "2026-05-01", "available_until": "2026-04-01"}, "截止日期不能早于起始日期"),
        ({"available_from": "2026-13-45"}, "不是有效的日期"),
        ({"kind": "expertise", "bookable": "y"}, "只有场地和设施设备可以开放预约"),
        ({"visibility": "everyone"}, "不是有效的选择"),
    ],
)
def test_bad_input_gets_chinese_message_and_changes_nothing(app, world, client, login_as, overrides, message):
    login_as(world.liaison_a)
    resp = client.post("/resources/new", data=resource_form(owner=f"u:{world.unit_a}", **overrides))
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Resource) == 0


def test_edit_rules_per_object(app, world, client, login_as, make_resource):
    rid = make_resource()  # unit A, community 1
    for user, status in (
        (world.liaison_a, 200),
        (world.liaison_b, 403),  # same community, other unit
        (world.liaison_c, 403),
        (world.secretary1, 200),
        (world.secretary2, 403),
        (world.admin, 200),
        (world.archivist, 403),
    ):
        login_as(user)
        assert client.get(f"/resources/{rid}/edit").status_code == status, user
        assert client.post(f"/resources/{rid}/deactivate").status_code in (
            (302,) if status == 200 else (403,)
        )
        if status == 200:
            client.post(f"/resources/{rid}/activate")
    login_as(world.liaison_b)
    resp = client.post(f"/resources/{rid}/edit", data=resource_form(owner=f"u:{world.unit_b}", version="1"))
    assert resp.status_code == 403
    with app.app_context():
        assert db.session.get(Resource, rid).title == "第一小学多功能厅"


def test_liaison_edits_own_resource_and_lost_update_is_caught(app, world, client, login_as, make_resource):
    rid = make_resource()
    login_as(world.liaison_a)
    page = client.get(f"/resources/{rid}/edit").get_data(as_text=True)
    assert "第一小学多功能厅" in page
    with app.app_context():
        r = db.session.get(Resource, rid)
        from blueprints.resources.views import FIELD_LABELS
        from web.concurrency import field_values, snapshot

        original = snapshot(field_values(r, tuple(FIELD_LABELS)))
    form = resource_form(owner=f"u:{world.unit_a}", title="第一小学风雨操场", version="1", original=original)
    assert client.post(f"/resources/{rid}/edit", data=form).status_code == 302
    with app.app_context():
        r = db.session.get(Resource, rid)
        assert (r.title, r.version) == ("第一小学风雨操场", 2)
    # A second save from the same stale form is refused with what changed; the input stays.
    form["title"] = "另一个名字"
    resp = client.post(f"/resources/{rid}/edit", data=form)
    assert resp.status_code == 409
    text = resp.get_data(as_text=True)
    assert "其他人修改了这项资源" in text and "第一小学风雨操场" in text and "另一个名字" in text
    with app.app_context():
        assert db.session.get(Resource, rid).title == "第一小学风雨操场"


def test_deactivate_hides_and_declines_pending_requests(app, world, client, login_as, make_resource):
    from datetime import UTC, datetime, timedelta

    rid = make_resource()
    with app.app_context():
        start = datetime.now(UTC) + timedelta(days=3)
        db.session.add(
            Booking(
                resource_id=rid,
                requester_unit_id=world.unit_c,
                start_at=start,
                end_at=start + timedelta(hours=2),
                purpose="党课",
            )
        )
        db.session.commit()
    login_as(world.liaison_a)
    resp = client.post(f"/resources/{rid}/deactivate", follow_redirects=True)
    assert "已停用" in resp.get_data(as_text=True) and "1 项待审批的预约申请已自动退回" in resp.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(Resource, rid).active is False
        b = db.session.scalar(select(Booking))
        assert b.status == BookingStatus.DECLINED and "停用" in b.decline_reason
    login_as(world.liaison_c)
    assert "第一小学多功能厅" not in client.get("/resources").get_data(as_text=True)
    assert client.get(f"/resources/{rid}").status_code == 403
    login_as(world.liaison_a)
    assert "第一小学多功能厅" in client.get("/resources?inactive=1").get_data(as_text=True)
    client.post(f"/resources/{rid}/activate")
    with app.app_context():
        assert db.session.get(Resource, rid).active is True


def test_get_never_changes_state(app, world, client, login_as, make_resource):
    rid = make_resource()
    login_as(world.liaison_a)
    assert client.get(f"/resources/{rid}/deactivate").status_code == 405
    with app.app_context():
        assert db.session.get(Resource, rid).active is True


# --- unit page panel ----------------------------------------------------------------------------


def test_unit_page_shows_its_resources(app, world, client, login_as, make_resource):
    make_resource(title="第一小学多功能厅")
    make_resource(title="第一小学图书室", kind=ResourceKind.VENUE, visibility=Visibility.COMMUNITY)
    make_resource(title="第一小学旧投影仪", kind=ResourceKind.EQUIPMENT, active=False)
    login_as(world.liaison_a)
    page = client.get(f"/units/{world.unit_a}").get_data(as_text=True)
    assert (
        "共享资源" in page and "第一小学图书室" in page and "第一小学旧投影仪" in page and "发布资源" in page
    )
    login_as(world.liaison_c)  # other community: public ones only, no publish button
    page = client.get(f"/units/{world.unit_a}").get_data(as_text=True)
    assert "第一小学多功能厅" in page
    assert "第一小学图书室" not in page and "第一小学旧投影仪" not in page
    assert f"owner=u:{world.unit_a}" not in page and "owner=u%3A" not in page


def test_nav_links_to_catalogue(app, world, client, login_as):
    login_as(world.liaison_a)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/resources"' in page and "资源清单" in page


def test_demo_seed_has_every_kind_and_status_and_is_idempotent(app, seeded_demo):
    from demo.resources import seed
    from models import Community, Street, Unit

    with app.app_context():
        street = db.session.scalar(select(Street))
        communities = list(db.session.scalars(select(Community).order_by(Community.position)))
        units = list(db.session.scalars(select(Unit).order_by(Unit.id)))
        seed(street, communities, units)
        db.session.commit()
        before = (count(Resource), count(Booking))
        seed(street, communities, units)
        db.session.commit()
        assert (count(Resource), count(Booking)) == before
        resources = db.session.scalars(select(Resource)).all()
        assert {r.kind for r in resources} == set(ResourceKind)
        assert any(r.owner_community_id for r in resources) and any(r.owner_unit_id for r in resources)
        bookings = db.session.scalars(select(Booking)).all()
        assert {b.status for b in bookings} == set(BookingStatus)
        assert any(b.room_id for b in bookings) and any(b.resource_id for b in bookings)
        # Approved bookings never overlap, and approved room bookings never overlap a meeting.
        from services.rooms import find_clash

        approved = [b for b in bookings if b.status == BookingStatus.APPROVED]
        for b in approved:
            others = [
                o
                for o in approved
                if o.id != b.id and (o.resource_id, o.room_id) == (b.resource_id, b.room_id)
            ]
            assert not any(o.start_at < b.end_at and o.end_at > b.start_at for o in others), b.purpose
            if b.room_id:
                assert find_clash(b.room_id, b.start_at, b.end_at, exclude_booking_id=b.id) is None


def test_every_demo_page_renders_for_every_role(app, client, login_as, seeded_demo):
    from demo.resources import seed
    from models import Community, Room, Street, Unit

    password = seeded_demo.password
    with app.app_context():
        seed(
            db.session.scalar(select(Street)),
            list(db.session.scalars(select(Community).order_by(Community.position))),
            list(db.session.scalars(select(Unit).order_by(Unit.id))),
        )
        db.session.commit()
        # The logins below work in 东大街街道: the second street's objects are not theirs to see.
        street1 = db.session.scalar(select(Street.id).where(Street.name == "东大街街道"))
        resource_ids = db.session.scalars(select(Resource.id).where(Resource.street_id == street1)).all()
        rooms = select(Room.id).where(Room.street_id == street1)
        booking_ids = db.session.scalars(
            select(Booking.id).where(
                Booking.room_id.in_(rooms)
                | Booking.resource_id.in_(select(Resource.id).where(Resource.street_id == street1))
            )
        ).all()
        room_ids = db.session.scalars(rooms).all()
        unit_ids = db.session.scalars(select(Unit.id).where(Unit.street_id == street1).limit(3)).all()
    for username in ("admin", "archivist", "secretary1", "liaison1", "liaison9"):
        login_as(username, password)
        urls = [
            "/",
            "/resources",
            "/rooms",
            "/bookings?tab=todo",
            "/bookings?tab=mine",
            "/bookings?tab=received",
            "/bookings?tab=all",
            "/resources?inactive=1",
            "/resources/new",
        ]
        urls += [f"/resources/{i}" for i in resource_ids] + [f"/bookings/{i}" for i in booking_ids]
        urls += [f"/rooms/{i}" for i in room_ids] + [f"/units/{i}" for i in unit_ids]
        for url in urls:
            status = client.get(url).status_code
            assert status in (200, 403), (username, url, status)
