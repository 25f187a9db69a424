"""Grids and the ten duties (网格“十员”): a grid's roster, its units and needs, and which duties
a community's grids still lack."""

import pytest
from sqlalchemy import select

from models import Grid, GridDuty, GridStaff, Need, Unit, db
from tests.conftest import count
from tests.test_access import unit_edit_form


@pytest.fixture
def grids(app, world) -> tuple[int, int, int]:
    """Two grids of community 1 and one of community 2."""
    with app.app_context():
        made = [
            Grid(community_id=world.community1, name="青年路第一网格", position=1),
            Grid(community_id=world.community1, name="青年路第二网格", position=2),
            Grid(community_id=world.community2, name="和平里第一网格", position=1),
        ]
        db.session.add_all(made)
        db.session.commit()
        return tuple(g.id for g in made)


def _staff(name, duties, unit_id=0, phone=""):
    return {"staff-name": name, "staff-phone": phone, "staff-unit_id": str(unit_id), "staff-duties": duties}


def test_a_secretary_keeps_the_roster_and_sees_the_duties_still_lacking(app, client, world, grids, login_as):
    g1, g2, _ = grids
    login_as("secretary1")
    resp = client.post(
        f"/places/grid/{g1}/staff",
        data=_staff("张桂兰", ["policy", "opinion"], phone="13900001111"),
    )
    assert resp.status_code == 302
    resp = client.post(f"/places/grid/{g1}/staff", data=_staff("李强", ["safety"], unit_id=world.unit_a))
    assert resp.status_code == 302
    page = client.get(f"/places/grid/{g1}").get_data(as_text=True)
    assert "张桂兰" in page and "惠民政策宣传员、社情民意联络员" in page
    # The audit log names the duties in Chinese.
    login_as("admin")
    log = client.get("/admin/audit?object_type=grid_staff").get_data(as_text=True)
    assert "职责" in log and "惠民政策宣传员、社情民意联络员" in log
    login_as("secretary1")
    assert "李强" in page and "东大街第一小学" in page  # sent by a resident unit
    # The community shows, per grid, who holds each duty and which nobody holds.
    page = client.get(f"/places/community/{world.community1}").get_data(as_text=True)
    assert 'id="duty-table"' in page and "尚有职责无人担任" in page
    row = page.split("安全生产巡逻员")[1].split("</tr>")[0]
    assert "李强" in row and "空缺" in row  # grid 1 has one, grid 2 none
    # Fill every duty on both grids: the community's grids are complete.
    every = [d.value for d in GridDuty]
    client.post(f"/places/grid/{g1}/staff", data=_staff("王芳", every))
    client.post(f"/places/grid/{g2}/staff", data=_staff("赵敏", every))
    page = client.get(f"/places/community/{world.community1}").get_data(as_text=True)
    assert "各网格十项职责均已有人担任" in page


def test_someone_who_leaves_keeps_their_row_and_frees_their_duty(app, client, world, grids, login_as):
    g1 = grids[0]
    login_as("secretary1")
    client.post(f"/places/grid/{g1}/staff", data=_staff("王芳", [d.value for d in GridDuty]))
    with app.app_context():
        staff_id = db.session.scalar(select(GridStaff.id))
    client.post(f"/places/grid/{g1}/staff/{staff_id}/leave")
    with app.app_context():
        assert db.session.get(GridStaff, staff_id).left_at is not None
    assert "王芳" not in _roster(client.get(f"/places/grid/{g1}").get_data(as_text=True))
    assert "已离任" in _roster(client.get(f"/places/grid/{g1}?retired=1").get_data(as_text=True))
    row = (
        client.get(f"/places/community/{world.community1}").get_data(as_text=True).split("党员服务协理员")[1]
    )
    assert "王芳" not in row.split("</tr>")[0]
    client.post(f"/places/grid/{g1}/staff/{staff_id}/return")
    assert "王芳" in _roster(client.get(f"/places/grid/{g1}").get_data(as_text=True))


def _roster(page: str) -> str:
    return page.split('id="roster-table"')[1].split("</table>")[0]


def test_bad_roster_input_is_refused_on_the_form(app, client, world, grids, login_as):
    g1 = grids[0]
    login_as("secretary1")
    resp = client.post(f"/places/grid/{g1}/staff", data=_staff("张三", []))
    assert resp.status_code == 400 and "请至少选择一项职责" in resp.get_data(as_text=True)
    resp = client.post(f"/places/grid/{g1}/staff", data=_staff("张三", ["policy"], phone="abc"))
    assert resp.status_code == 400 and "请输入有效的电话号码" in resp.get_data(as_text=True)
    resp = client.post(f"/places/grid/{g1}/staff", data=_staff("张三", ["policy"], unit_id=world.unit_c))
    assert resp.status_code == 400 and "派出单位应是本社区的驻区单位" in resp.get_data(as_text=True)
    resp = client.post(f"/places/grid/{g1}/staff", data=_staff("张三", ["nonsense"]))
    assert resp.status_code == 400
    with app.app_context():
        assert count(GridStaff) == 0


def test_only_the_communitys_secretary_and_the_streets_admins_keep_a_roster(
    app, client, world, grids, login_as
):
    g1 = grids[0]
    # In their own street: refused (403); the grid exists, it is not theirs to keep.
    for who, status in (("secretary2", 403), ("liaison_a", 403), ("archivist", 403)):
        login_as(who)
        assert client.get(f"/places/grid/{g1}").status_code == status, who
        assert client.post(f"/places/grid/{g1}/staff", data=_staff("越权", ["policy"])).status_code == status
    login_as("admin")
    assert client.post(f"/places/grid/{g1}/staff", data=_staff("管理员加的", ["policy"])).status_code == 302
    with app.app_context():
        assert [s.name for s in db.session.scalars(select(GridStaff))] == ["管理员加的"]


def test_units_and_needs_are_placed_on_a_grid_of_their_community(app, client, world, grids, login_as):
    g1, _, g3 = grids
    login_as("secretary1")
    data = unit_edit_form(world) | {"version": "1", "grid_id": str(g3)}  # community 2's grid
    resp = client.post(f"/units/{world.unit_a}/edit", data=data)
    assert resp.status_code in (302, 400)
    with app.app_context():
        assert db.session.get(Unit, world.unit_a).grid_id is None
    data = unit_edit_form(world) | {"version": "1", "grid_id": str(g1)}
    assert client.post(f"/units/{world.unit_a}/edit", data=data).status_code == 302
    with app.app_context():
        assert db.session.get(Unit, world.unit_a).grid_id == g1
    assert "青年路第一网格" in client.get(f"/units/{world.unit_a}").get_data(as_text=True)
    assert "东大街第一小学" in client.get(f"/places/grid/{g1}").get_data(as_text=True)
    # A 微心愿 on the grid.
    resp = client.post(
        "/needs/new",
        data={
            "is_wish": "1",
            "kind": "volunteer",
            "title": "帮独居老人换灯泡",
            "grid_id": str(g1),
            "resident_name": "陈奶奶",
            "resident_phone": "13800001111",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Need.grid_id).where(Need.title == "帮独居老人换灯泡")) == g1
    assert "帮独居老人换灯泡" in client.get(f"/places/grid/{g1}").get_data(as_text=True)
    resp = client.post(
        "/needs/new", data={"is_wish": "0", "kind": "venue", "title": "越界的需求", "grid_id": str(g3)}
    )
    assert resp.status_code == 400 and "所选网格不属于所选社区" in resp.get_data(as_text=True)
