"""Places as data: city → district → street → community → grid → building, created, renamed,
reordered, retired and imported on pages; rooms of communities and streets managed on pages."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from models import (
    AuditEvent,
    Building,
    City,
    Community,
    District,
    Grid,
    Meeting,
    MeetingStatus,
    Room,
    Street,
    db,
)
from services.places import community_options
from tests.conftest import count


def _xlsx(rows, headers=("市", "区", "街道", "社区", "网格", "楼栋", "简称", "地址")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _add(client, kind, name, parent=None, **fields):
    url = f"/places/{kind}/new" + (f"?parent={parent}" if parent else "")
    return client.post(url, data={"new-name": name, **{f"new-{k}": v for k, v in fields.items()}})


def _id(model, name):
    return db.session.scalar(select(model.id).where(model.name == name))


def test_admin_builds_the_hierarchy_from_city_to_building(app, client, world, login_as):
    login_as("admin")
    assert _add(client, "city", "西宁市").status_code == 302
    with app.app_context():
        city = _id(City, "西宁市")
    assert _add(client, "district", "城东区", city).status_code == 302
    with app.app_context():
        district = _id(District, "城东区")
    # The existing street is placed in the district from its edit page.
    resp = client.post(
        f"/places/street/{world.street}/edit",
        data={
            "name": "东大街街道",
            "short_name": "东大街",
            "address": "东大街 1 号",
            "district_id": district,
        },
    )
    assert resp.status_code == 302
    assert _add(client, "community", "新华社区", world.street, address="新华路 2 号").status_code == 302
    with app.app_context():
        community = _id(Community, "新华社区")
    assert _add(client, "grid", "第一网格", community).status_code == 302
    with app.app_context():
        grid = _id(Grid, "第一网格")
    assert _add(client, "building", "3 号楼", grid).status_code == 302

    page = client.get(f"/places/district/{district}").get_data(as_text=True)
    assert "东大街街道" in page and "西宁市" in page  # the street under its district, the city in the trail
    page = client.get(f"/places/grid/{grid}").get_data(as_text=True)
    assert "3 号楼" in page and "新华社区" in page and "东大街街道" in page
    with app.app_context():
        street = db.session.get(Street, world.street)
        assert street.district_id == district and street.address == "东大街 1 号"
        assert db.session.get(Community, community).street_id == world.street
        assert db.session.scalar(select(Building.grid_id).where(Building.name == "3 号楼")) == grid
        # Every change is in the audit log.
        assert count(AuditEvent, AuditEvent.object_type == "building", AuditEvent.action == "create") == 1
    # The new community is offered where units are registered.
    assert "新华社区" in client.get("/units/new").get_data(as_text=True)


def test_only_admins_manage_places(client, world, login_as):
    for who in ("secretary1", "liaison_a", "archivist"):
        login_as(who)
        assert client.get("/places").status_code == 403
        assert _add(client, "city", "某市").status_code == 403
        assert client.post(f"/places/community/{world.community1}/retire").status_code == 403
    login_as("admin")
    assert client.get("/places/nowhere/1").status_code == 404
    assert client.get("/places/city/999").status_code == 404


def test_bad_names_are_refused_on_the_form_and_change_nothing(app, client, world, login_as):
    login_as("admin")
    resp = _add(client, "community", "", world.street)
    assert resp.status_code == 400 and "请填写名称" in resp.get_data(as_text=True)
    resp = _add(client, "community", "和平里社区", world.street)
    assert resp.status_code == 400 and "已有名为“和平里社区”的社区" in resp.get_data(as_text=True)
    resp = client.post(
        f"/places/community/{world.community2}/edit", data={"name": "青年路社区", "short_name": "x"}
    )
    assert resp.status_code == 400 and "已有名为“青年路社区”的社区" in resp.get_data(as_text=True)
    resp = _add(client, "community", "长" * 101, world.street)
    assert resp.status_code == 400 and "不能超过 100 个字" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Community) == 2
        assert db.session.get(Community, world.community2).name == "和平里社区"


def test_reorder_moves_a_place_among_its_siblings(app, client, world, login_as):
    login_as("admin")
    with app.app_context():
        assert [o.id for o in community_options()] == [world.community1, world.community2]
    resp = client.post(f"/places/community/{world.community1}/move", data={"direction": "down"})
    assert resp.status_code == 302
    with app.app_context():
        assert [o.id for o in community_options()] == [world.community2, world.community1]
    page = client.get(f"/places/street/{world.street}").get_data(as_text=True)
    assert page.index("和平里社区") < page.index("青年路社区")
    # Moving the first one up changes nothing.
    client.post(f"/places/community/{world.community2}/move", data={"direction": "up"})
    with app.app_context():
        assert [o.id for o in community_options()] == [world.community2, world.community1]


def test_retired_places_keep_their_records_and_leave_the_choices(app, client, world, login_as, make_meeting):
    meeting = make_meeting()
    login_as("admin")
    _add(client, "grid", "和平里一网格", world.community2)
    # A community with a grid in use cannot be retired before its grid.
    resp = client.post(f"/places/community/{world.community2}/retire", follow_redirects=True)
    assert "还有在用的网格" in resp.get_data(as_text=True)
    with app.app_context():
        grid = _id(Grid, "和平里一网格")
        assert db.session.get(Community, world.community2).retired_at is None
    client.post(f"/places/grid/{grid}/retire")
    resp = client.post(f"/places/community/{world.community2}/retire", follow_redirects=True)
    assert "已撤销，其历史记录保留" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Community, world.community2).retired_at is not None
        assert db.session.get(Meeting, meeting) is not None  # nothing deleted
        labels = {o.id: o.name for o in community_options()}
    # Filters still offer it (its records can be found), marked; forms for new records do not.
    assert labels[world.community2] == "和平里社区（已撤销）"
    assert "和平里社区（已撤销）" in client.get("/units").get_data(as_text=True)
    form = client.get("/units/new").get_data(as_text=True)
    assert "和平里社区" not in form and "青年路社区" in form
    assert "和平里社区" not in client.get("/meetings/new").get_data(as_text=True)
    # Its unit can still be edited, keeping its community.
    login_as("admin")
    assert "和平里社区" in client.get(f"/units/{world.unit_c}/edit").get_data(as_text=True)
    # Nothing is created under a retired place.
    resp = _add(client, "grid", "新网格", world.community2)
    assert resp.status_code == 400 and "已撤销" in resp.get_data(as_text=True)
    # The list hides retired places unless asked; restoring brings it back.
    assert "和平里社区" not in client.get(f"/places/street/{world.street}").get_data(as_text=True)
    assert "和平里社区" in client.get(f"/places/street/{world.street}?retired=1").get_data(as_text=True)
    client.post(f"/places/community/{world.community2}/restore")
    with app.app_context():
        assert db.session.get(Community, world.community2).retired_at is None
    assert "和平里社区" in client.get("/units/new").get_data(as_text=True)


def _upload(client, content, filename="places.xlsx"):
    return client.post(
        "/places/import", data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data"
    )


def test_import_creates_places_with_a_per_row_report(app, client, world, login_as):
    login_as("admin")
    with app.app_context():
        grid = Grid(community_id=world.community2, name="旧网格")
        db.session.add(grid)
        db.session.flush()
        grid.retired_at = datetime(2026, 1, 1, tzinfo=UTC)
        db.session.commit()
    rows = [
        ("西宁市", "城东区", "", "", "", "", "城东", ""),  # 2: a city and a district
        ("西宁市", "城东区", "八一路街道", "", "", "", "八一路", "八一路 9 号"),  # 3: a street
        ("西宁市", "城东区", "八一路街道", "团结社区", "第一网格", "1 号楼", "", ""),  # 4: three new levels
        ("西宁市", "", "八一路街道", "", "", "", "", ""),  # 5: a gap
        ("", "", "东大街街道", "青年路社区", "", "", "", ""),  # 6: exists already
        ("", "", "东大街街道", "和平里社区", "旧网格", "2 号楼", "", ""),  # 7: under a retired grid
        ("西宁市", "城东区", "八一路街道", "团结社区", "第一网格", "1 号楼", "", ""),  # 8: repeats row 4
        ("西宁市", "城西区", "东大街街道", "", "", "", "", ""),  # 9: the street is elsewhere
        ("", "", "东大街街道", "青年路社区", "第二网格", "", "", ""),  # 10: a grid of an existing community
    ]
    resp = _upload(client, _xlsx(rows))
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="valid-count">4<' in page
    assert 'id="rejected-count">4<' in page
    assert 'id="unchanged-count">1<' in page
    assert "请填写上级：区" in page
    assert "网格“旧网格”已撤销" in page
    assert "与第 4 行重复" in page
    assert "尚未归属区" in page
    with app.app_context():
        assert count(City) == 0  # nothing written before the confirmation
        batch_id = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    resp = client.post(f"/places/import/{batch_id}/confirm", follow_redirects=True)
    assert "已新建 7 个地点" in resp.get_data(as_text=True)
    with app.app_context():
        street = db.session.scalar(select(Street).where(Street.name == "八一路街道"))
        assert street.district.name == "城东区" and street.district.city.name == "西宁市"
        assert street.short_name == "八一路" and street.address == "八一路 9 号"
        assert db.session.scalar(select(District.short_name).where(District.name == "城东区")) == "城东"
        building = db.session.scalar(select(Building).where(Building.name == "1 号楼"))
        assert building.grid.community.street_id == street.id
        assert db.session.scalar(select(Grid.community_id).where(Grid.name == "第二网格")) == world.community1
    # Confirming twice does nothing more; the same file again is all "already there".
    client.post(f"/places/import/{batch_id}/confirm")
    with app.app_context():
        assert count(Grid) == 3
    resp = _upload(client, _xlsx([r for i, r in enumerate(rows, 2) if i in (2, 3, 4, 10)]))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="valid-count">0<' in page and 'id="unchanged-count">4<' in page


def test_import_refuses_unreadable_files_on_the_form(client, world, login_as):
    login_as("admin")
    resp = _upload(client, b"not a spreadsheet")
    assert resp.status_code == 400
    resp = _upload(client, _xlsx([("x",)], headers=("名称",)))
    assert resp.status_code == 400 and "表头缺少地点层级列" in resp.get_data(as_text=True)
    resp = client.get("/places/import/template.xlsx")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"


def test_two_streets_are_told_apart_in_filters(app, client, world, login_as):
    login_as("admin")
    _add(client, "street", "八一路街道")  # a street of its own, not yet in a district
    with app.app_context():
        street2 = _id(Street, "八一路街道")
    _add(client, "community", "青年路社区", street2)
    with app.app_context():
        labels = [o.name for o in community_options()]
    assert labels == ["青年路社区（东大街）", "和平里社区（东大街）", "青年路社区（八一路街道）"]
    page = client.get("/units").get_data(as_text=True)
    assert "青年路社区（八一路街道）" in page and "青年路社区（东大街）" in page


# --- rooms ---------------------------------------------------------------------------------

ROOM = {
    "name": "和平里社区党群服务中心多功能厅",
    "capacity": "60",
    "address": "和平里 8 号二楼",
    "equipment": "投影仪、话筒、视频会议终端",
    "bookable": "y",
    "opens_at": "08:30",
    "closes_at": "17:30",
    "open_days": ["1", "2", "3", "4", "5"],
}


def test_rooms_of_a_community_are_managed_on_pages(app, client, world, login_as):
    login_as("secretary2")
    resp = client.post(f"/rooms/new?community={world.community2}", data=ROOM)
    assert resp.status_code == 302
    with app.app_context():
        room = db.session.scalar(select(Room).where(Room.name == ROOM["name"]))
        assert (room.community_id, room.street_id, room.capacity) == (world.community2, world.street, 60)
        room_id = room.id
    page = client.get(f"/rooms/{room_id}").get_data(as_text=True)
    assert "投影仪、话筒、视频会议终端" in page and "星期一至星期五 08:30–17:30" in page
    # A secretary adds rooms to their own community only.
    assert client.post(f"/rooms/new?community={world.community1}", data=ROOM).status_code == 403
    assert client.post(f"/rooms/new?street={world.street}", data=ROOM).status_code == 403
    # Bad input stays on the form.
    resp = client.post(f"/rooms/new?community={world.community2}", data={**ROOM, "capacity": "0"})
    assert resp.status_code == 400 and "容纳人数应在 1 到 10000 之间" in resp.get_data(as_text=True)
    resp = client.post(f"/rooms/new?community={world.community2}", data=ROOM)
    assert resp.status_code == 400 and "已有名为" in resp.get_data(as_text=True)
    # Rename and resize.
    resp = client.post(f"/rooms/{room_id}/edit", data={**ROOM, "name": "和平里多功能厅", "capacity": "80"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Room, room_id).name == "和平里多功能厅"
    # The meeting form offers it to its community's secretary.
    assert "和平里多功能厅" in client.get("/meetings/new").get_data(as_text=True)
    # Shown on the community's place page.
    login_as("admin")
    assert "和平里多功能厅" in client.get(f"/places/community/{world.community2}").get_data(as_text=True)


def test_a_street_has_rooms_for_street_meetings(app, client, world, login_as):
    login_as("admin")
    resp = client.post(f"/rooms/new?street={world.street}", data={**ROOM, "name": "街道党工委会议室"})
    assert resp.status_code == 302
    with app.app_context():
        room = db.session.scalar(select(Room).where(Room.name == "街道党工委会议室"))
        assert room.community_id is None and room.street_id == world.street
    assert "街道党工委会议室" in client.get(f"/places/street/{world.street}").get_data(as_text=True)
    assert "街道党工委会议室" in client.get("/meetings/new").get_data(as_text=True)
    login_as("secretary1")
    assert "街道党工委会议室" not in client.get("/meetings/new").get_data(as_text=True)
    assert "东大街街道" in client.get(f"/rooms/{room.id}").get_data(as_text=True)


def test_a_retired_room_leaves_meetings_and_bookings(app, client, world, login_as, make_meeting):
    with app.app_context():
        room_id = db.session.scalar(select(Room.id).where(Room.community_id == world.community1))
    meeting = make_meeting(status=MeetingStatus.SCHEDULED)
    login_as("secretary1")
    resp = client.post(f"/rooms/{room_id}/retire", follow_redirects=True)
    assert "还有尚未结束的会议" in resp.get_data(as_text=True)
    with app.app_context():
        m = db.session.get(Meeting, meeting)
        m.start_at -= timedelta(days=10)
        m.end_at -= timedelta(days=10)
        db.session.commit()
    resp = client.post(f"/rooms/{room_id}/retire", follow_redirects=True)
    assert "已停用，历史记录保留" in resp.get_data(as_text=True)
    assert "青年路社区共驻共建会议室" not in client.get("/meetings/new").get_data(as_text=True)
    assert "青年路社区共驻共建会议室" not in client.get("/rooms").get_data(as_text=True)
    login_as("liaison_c")
    resp = client.post(
        f"/rooms/{room_id}/book",
        data={"start_at": "2030-01-07T09:00", "end_at": "2030-01-07T10:00", "purpose": "学习"},
    )
    assert resp.status_code in (400, 403)
    login_as("secretary1")
    client.post(f"/rooms/{room_id}/restore")
    assert "青年路社区共驻共建会议室" in client.get("/meetings/new").get_data(as_text=True)


@pytest.mark.parametrize("kind", ["city", "district", "street", "community", "grid", "building"])
def test_place_pages_render_for_every_level(app, client, world, login_as, kind):
    login_as("admin")
    _add(client, "city", "西宁市")
    with app.app_context():
        city = _id(City, "西宁市")
    _add(client, "district", "城东区", city)
    with app.app_context():
        district = _id(District, "城东区")
    client.post(
        f"/places/street/{world.street}/edit",
        data={"name": "东大街街道", "short_name": "东大街", "district_id": district},
    )
    _add(client, "grid", "一网格", world.community1)
    with app.app_context():
        grid = _id(Grid, "一网格")
    _add(client, "building", "1 号楼", grid)
    with app.app_context():
        ids = {
            "city": city,
            "district": district,
            "street": world.street,
            "community": world.community1,
            "grid": grid,
            "building": _id(Building, "1 号楼"),
        }
    assert client.get(f"/places/{kind}/{ids[kind]}").status_code == 200
    assert client.get(f"/places/{kind}/{ids[kind]}/edit").status_code == 200
