"""The unit register: create, edit, search, filters, status changes, lost updates."""

import json
from datetime import date, timedelta

from sqlalchemy import select

from models import AuditEvent, Unit, UnitStatus, UnitStatusChange, db
from tests.conftest import count

NEW_UNIT = {
    "name": "东大街第二幼儿园",
    "short_name": "二幼",
    "category": "school",
    "address": "青年路 20 号",
    "party_org_name": "二幼党支部",
    "party_member_count": "12",
    "liaison_name": "何老师",
    "liaison_phone": "010-66668888",
    "liaison_email": "he@example.cn",
    "introduction": "可提供多功能厅。",
    "registered_on": "2026-03-01",
    "agreement_date": "",
}


def _unit(app, unit_id) -> Unit:
    with app.app_context():
        unit = db.session.get(Unit, unit_id)
        db.session.expunge(unit)
        return unit


def test_secretary_registers_unit_in_own_community(app, client, world, login_as):
    login_as("secretary1")
    resp = client.post("/units/new", data={**NEW_UNIT, "community_id": world.community1})
    assert resp.status_code == 302
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == "东大街第二幼儿园"))
        assert unit.community_id == world.community1
        assert unit.status == UnitStatus.REGISTERED
        assert unit.registered_on == date(2026, 3, 1)
        assert unit.party_member_count == 12
        history = db.session.scalars(
            select(UnitStatusChange).where(UnitStatusChange.unit_id == unit.id)
        ).all()
        assert [h.to_status for h in history] == [UnitStatus.REGISTERED]
        ev = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.object_type == "unit",
                AuditEvent.action == "create",
                AuditEvent.object_id == unit.id,
            )
        )
        assert ev.actor_name == "secretary1" and ev.changes["name"] == "东大街第二幼儿园"
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "东大街第二幼儿园" in page and "何老师" in page


def test_secretary_cannot_register_into_other_community(app, client, world, login_as):
    login_as("secretary1")
    resp = client.post("/units/new", data={**NEW_UNIT, "community_id": world.community2})
    assert resp.status_code == 200
    assert "不是有效的选择" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Unit, Unit.name == NEW_UNIT["name"]) == 0


def test_bad_input_shows_chinese_errors_and_changes_nothing(app, client, world, login_as):
    login_as("secretary1")
    before = None
    with app.app_context():
        before = count(Unit)
    bad = {
        **NEW_UNIT,
        "community_id": world.community1,
        "name": "",
        "category": "nonsense",
        "party_member_count": "-3",
        "liaison_phone": "abc",
        "liaison_email": "not-an-email",
        "registered_on": "2999-01-01",
    }
    resp = client.post("/units/new", data=bad)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for message in (
        "请填写单位名称",
        "党员人数应在",
        "请输入有效的电话号码",
        "请输入有效的电子邮箱",
        "报到日期不能晚于今天",
    ):
        assert message in text
    # What the user typed stays in the form.
    assert "二幼党支部" in text
    with app.app_context():
        assert count(Unit) == before


def test_unit_name_unique_per_street(app, client, world, login_as):
    login_as("secretary1")
    resp = client.post(
        "/units/new", data={**NEW_UNIT, "name": "东大街第一小学", "community_id": world.community1}
    )
    assert resp.status_code == 200
    assert "本街道已有同名单位" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Unit, Unit.name == "东大街第一小学") == 1


def test_liaison_edits_only_profile_fields(app, client, world, login_as):
    login_as("liaison_a")
    before = _unit(app, world.unit_a)
    form = client.get(f"/units/{world.unit_a}/edit").get_data(as_text=True)
    assert 'name="name"' not in form and 'name="community_id"' not in form
    version = before.version
    resp = client.post(
        f"/units/{world.unit_a}/edit",
        data={
            "short_name": "一小",
            "liaison_phone": "13800001111",
            "introduction": "操场周末向居民开放。",
            "party_member_count": "40",
            "version": version,
            # Smuggled manager-only fields are ignored.
            "name": "改名小学",
            "community_id": world.community2,
            "category": "other",
        },
    )
    assert resp.status_code == 302
    after = _unit(app, world.unit_a)
    assert after.liaison_phone == "13800001111"
    assert after.introduction == "操场周末向居民开放。"
    assert after.party_member_count == 40
    assert after.name == before.name
    assert after.community_id == before.community_id
    assert after.category == before.category


def test_liaison_refused_on_another_unit(app, client, world, login_as):
    login_as("liaison_a")
    before = _unit(app, world.unit_b)
    assert client.get(f"/units/{world.unit_b}/edit").status_code == 403
    resp = client.post(f"/units/{world.unit_b}/edit", data={"liaison_phone": "13900000000", "version": 1})
    assert resp.status_code == 403
    assert "没有权限" in resp.get_data(as_text=True)
    assert _unit(app, world.unit_b).liaison_phone == before.liaison_phone
    with app.app_context():
        assert count(AuditEvent, AuditEvent.action == "forbidden") == 2


def test_secretary_of_other_community_cannot_edit_or_change_status(app, client, world, login_as):
    login_as("secretary2")
    assert client.get(f"/units/{world.unit_a}/edit").status_code == 403
    resp = client.post(
        f"/units/{world.unit_a}/status",
        data={"to_status": "active", "effective_on": date.today().isoformat(), "reason": ""},
    )
    assert resp.status_code == 403
    assert _unit(app, world.unit_a).status == UnitStatus.REGISTERED


def test_lost_update_is_refused_with_what_changed(app, client, world, login_as):
    login_as("secretary1")
    unit = _unit(app, world.unit_a)
    form_version = unit.version
    # Someone else saves first.
    with app.app_context():
        other = db.session.get(Unit, world.unit_a)
        other.liaison_name = "新联络人"
        db.session.commit()
    data = {
        "name": unit.name,
        "category": unit.category.value,
        "community_id": unit.community_id,
        "liaison_name": "我的修改",
        "address": "我填写的地址",
        "version": form_version,
        "original": json.dumps({"liaison_name": unit.liaison_name}),
    }
    resp = client.post(f"/units/{world.unit_a}/edit", data=data)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "其他人修改了这个单位的资料" in text
    assert "新联络人" in text  # what the other person changed
    assert "我填写的地址" in text  # nothing the user typed is lost
    assert _unit(app, world.unit_a).liaison_name == "新联络人"
    # Saving again deliberately overwrites.
    new_version = _unit(app, world.unit_a).version
    resp = client.post(f"/units/{world.unit_a}/edit", data={**data, "version": new_version})
    assert resp.status_code == 302
    assert _unit(app, world.unit_a).address == "我填写的地址"


def test_status_lifecycle_with_dates_and_reason(app, client, world, login_as):
    login_as("secretary1")
    day = date.today() - timedelta(days=3)
    resp = client.post(
        f"/units/{world.unit_a}/status", data={"to_status": "active", "effective_on": day.isoformat()}
    )
    assert resp.status_code == 302
    unit = _unit(app, world.unit_a)
    assert unit.status == UnitStatus.ACTIVE and unit.activated_on == day
    # Withdrawal needs a reason.
    resp = client.post(f"/units/{world.unit_a}/status", data={"to_status": "withdrawn", "reason": ""})
    assert resp.status_code == 400
    assert "退出时请填写原因" in resp.get_data(as_text=True)
    assert _unit(app, world.unit_a).status == UnitStatus.ACTIVE
    resp = client.post(
        f"/units/{world.unit_a}/status",
        data={"to_status": "withdrawn", "effective_on": date.today().isoformat(), "reason": "单位搬迁"},
    )
    assert resp.status_code == 302
    unit = _unit(app, world.unit_a)
    assert unit.status == UnitStatus.WITHDRAWN and unit.withdrawn_on == date.today()
    page = client.get(f"/units/{world.unit_a}").get_data(as_text=True)
    assert "单位搬迁" in page
    with app.app_context():
        assert count(AuditEvent, AuditEvent.action == "status", AuditEvent.object_id == world.unit_a) == 2
    # No hard delete: there is no route that removes a unit, and it stays listed.
    assert "东大街第一小学" in client.get("/units?status=withdrawn").get_data(as_text=True)


def test_invalid_transition_is_refused(app, client, world, login_as):
    login_as("secretary1")
    resp = client.post(f"/units/{world.unit_a}/status", data={"to_status": "registered", "reason": "x"})
    assert resp.status_code == 400
    assert _unit(app, world.unit_a).status == UnitStatus.REGISTERED


def test_search_matches_name_short_name_and_liaison(app, client, world, login_as, make_unit):
    make_unit(name="甲_乙", short_name="百百")
    make_unit(name="甲丙乙")
    make_unit(name="满100%服务")
    login_as("admin")

    def names(url):
        return client.get(url).get_data(as_text=True)

    assert "市第三人民医院" in names("/units?q=三人民")
    assert "东大街第一小学" not in names("/units?q=三人民")
    assert "东大街第一小学" in names("/units?q=联络人东大")  # liaison name
    assert "甲_乙" in names("/units?q=百百")  # short name
    # _ and % match literally, not as wildcards.
    page = names("/units?q=甲_乙")
    assert "甲_乙" in page and "甲丙乙" not in page
    page = names("/units?q=100%25")
    assert "满100%服务" in page and "甲丙乙" not in page
    assert "没有符合条件的单位" in names("/units?q=甲%25乙")


def test_filters_and_pagination(app, client, world, login_as, make_unit):
    for i in range(25):
        make_unit(name=f"批量{i:02d}", community_id=world.community2)
    login_as("admin")
    page1 = client.get(f"/units?community={world.community2}").get_data(as_text=True)
    assert "共 26 条" in page1  # 25 + 和平里派出所
    assert "东大街第一小学" not in page1
    page2 = client.get(f"/units?community={world.community2}&page=2").get_data(as_text=True)
    assert "第 2 / 2 页" in page2
    assert "市第三人民医院" in client.get("/units?category=hospital").get_data(as_text=True)
    assert "市第三人民医院" not in client.get("/units?category=school").get_data(as_text=True)
    # Nonsense filter values are ignored, never a 500.
    assert client.get("/units?category=bogus&status=x&community=abc&page=zz").status_code == 200
    assert client.get("/units?page=999").status_code == 200


def test_unit_page_hides_contact_from_other_liaisons(app, client, world, login_as):
    with app.app_context():
        unit = db.session.get(Unit, world.unit_b)
        unit.liaison_phone = "13912345678"
        db.session.commit()
    login_as("liaison_a")
    assert "13912345678" not in client.get(f"/units/{world.unit_b}").get_data(as_text=True)
    login_as("secretary2")
    assert "13912345678" in client.get(f"/units/{world.unit_b}").get_data(as_text=True)


def test_missing_unit_is_404(client, world, login_as):
    login_as("admin")
    resp = client.get("/units/99999")
    assert resp.status_code == 404
    assert "页面不存在" in resp.get_data(as_text=True)
