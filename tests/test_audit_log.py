"""The audit log reads as Chinese for a street admin and an archivist (issue 8, point 10)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from models import AuditEvent, Booking, Resource, ResourceKind, Unit, db
from models.audit import OBJECT_LABELS
from models.base import today
from services import audit
from services.auditlog import field_label

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _unit_form(world, **overrides) -> dict:
    data = {
        "name": "审计测试单位",
        "short_name": "审计",
        "category": "other",
        "community_id": str(world.community1),
        "address": "青年路 99 号",
        "party_org_name": "",
        "party_member_count": "3",
        "liaison_name": "测试联络人",
        "liaison_phone": "010-12345678",
        "liaison_email": "",
        "introduction": "",
        "registered_on": today().isoformat(),
        "agreement_date": "",
    }
    data.update(overrides)
    return data


def _log_html(client, query: str = "") -> str:
    resp = client.get("/admin/audit" + query)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _text(html: str) -> str:
    """The page as read: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_unit_change_reads_with_form_labels_names_and_chinese_values(app, client, world, login_as):
    login_as("admin")
    resp = client.post("/units/new", data=_unit_form(world))
    assert resp.status_code == 302
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.name == "审计测试单位"))
    edit = _unit_form(
        world, name="审计测试单位（更名）", category="school", community_id=str(world.community2)
    )
    del edit["registered_on"]
    edit.update(version="1", original="")
    resp = client.post(f"/units/{unit_id}/edit", data=edit)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]

    text = _text(_log_html(client, "?object_type=unit"))
    # The edit: labels as the unit form shows them, names instead of ids, enum labels.
    assert "单位名称 审计测试单位 → 审计测试单位（更名）" in text
    assert "所属社区 青年路社区 → 和平里社区" in text
    assert "单位类别 其他 → 学校" in text
    # The creation: the status label and a date in the app's Chinese format.
    assert "状态 报到" in text
    assert f"报到日期 {today().year}年{today().month:02d}月{today().day:02d}日" in text
    assert "新增" in text and "修改" in text
    # No raw column names, ids or enum values.
    for raw in ("community_id", "category", "registered_on", "name：", "school", "registered →"):
        assert raw not in text
    assert f"所属社区 {world.community1}" not in text


def test_booking_times_show_in_beijing_time_and_booleans_as_yes_no(app, client, world, login_as):
    start = datetime(2026, 12, 1, 1, 30, tzinfo=ZoneInfo("UTC"))  # 09:30 in Beijing
    with app.app_context():
        resource = Resource(
            street_id=world.street,
            owner_unit_id=world.unit_a,
            community_id=world.community1,
            kind=ResourceKind.VENUE,
            title="第一小学风雨操场",
            bookable=True,
        )
        db.session.add(resource)
        db.session.flush()
        db.session.add(
            Booking(
                resource_id=resource.id,
                requester_unit_id=world.unit_b,
                start_at=start,
                end_at=start + timedelta(hours=2),
                purpose="社区运动会",
            )
        )
        db.session.commit()
    login_as("admin")
    text = _text(_log_html(client, "?object_type=booking"))
    assert "开始时间 2026年12月01日 09:30" in text
    assert "结束时间 2026年12月01日 11:30" in text
    assert "资源 第一小学风雨操场" in text
    assert "申请单位 市第三人民医院" in text
    assert "2026-12-01T01:30" not in text
    text = _text(_log_html(client, "?object_type=resource"))
    assert "开放预约 是" in text
    assert "资源类别 场地" in text


def test_control_characters_are_shown_escaped(app, client, world, login_as):
    with app.app_context():
        unit = db.session.get(Unit, world.unit_a)
        audit.record("update", unit, summary="东大街\x1b[31m第一小学")
        ev = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        ev.action = "update"
        ev.changes = {"address": ["青年路\n1 号", "青年路\x00\u202e2 号\t"]}
        db.session.commit()
    login_as("admin")
    html = _log_html(client, "?object_type=unit")
    row = html[html.index("东大街") : html.index("</tr>", html.index("东大街"))]
    for escaped in (r"\n", r"\x00", r"\u202e", r"\t", r"\x1b"):
        assert f'<span class="audit-ctl">{escaped}</span>' in row
    for raw in ("\x00", "\u202e", "\x1b", "青年路\n1"):
        assert raw not in row
    assert "地址" in _text(row)


def test_archivist_reads_the_log_and_finds_it_in_the_menu(app, client, world, login_as):
    login_as("archivist")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/admin/audit"' in home
    text = _text(_log_html(client))
    assert "操作日志" in text
    # The archivist's own login is there, as a Chinese action with the user's name.
    assert "登录" in text and "archivist" in text


def test_liaison_and_secretary_may_not_read_the_log(client, world, login_as):
    for persona in ("liaison_a", "secretary1"):
        login_as(persona)
        assert client.get("/admin/audit").status_code == 403
        assert 'href="/admin/audit"' not in client.get("/").get_data(as_text=True)


def test_out_of_range_dates_get_a_chinese_message_not_a_500(client, world, login_as):
    login_as("admin")
    resp = client.get("/admin/audit?start=0001-01-01&end=9999-12-31")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "开始日期须在 1900 年到 2100 年之间" in html
    assert "结束日期须在 1900 年到 2100 年之间" in html


@contextmanager
def _statements(app):
    seen: list[str] = []

    def spy(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", spy)


def test_names_load_in_a_bounded_number_of_queries(app, client, world, login_as, make_unit):
    login_as("admin")

    def add_units(n: int) -> None:
        unit_ids = [make_unit(community_id=world.community2) for _ in range(n)]
        with app.app_context():
            for unit_id in unit_ids:
                audit.record("update", db.session.get(Unit, unit_id))
                ev = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
                ev.action, ev.object_type = "update", "unit"
                ev.changes = {"community_id": [world.community1, world.community2], "grid_id": [None, None]}
            db.session.commit()

    add_units(2)
    with _statements(app) as few:
        assert client.get("/admin/audit?object_type=unit").status_code == 200
    add_units(25)
    with _statements(app) as many:
        html = client.get("/admin/audit?object_type=unit").get_data(as_text=True)
    assert "所属社区 青年路社区 → 和平里社区" in _text(html)
    assert len(many) == len(few)


def test_every_audited_table_and_field_has_a_chinese_name(app):
    """A table or column added without a label would show raw in the log."""
    missing = []
    for table in db.metadata.sorted_tables:
        if table.name in audit.UNAUDITED_TABLES:
            continue
        if table.name not in OBJECT_LABELS:
            missing.append(table.name)
        for col in table.columns:
            if col.name in audit.QUIET_COLUMNS or col.info.get("audit") is False:
                continue
            if field_label(table.name, col.name).isascii():
                missing.append(f"{table.name}.{col.name}")
    assert missing == []


@pytest.mark.parametrize("action", ["create", "update", "delete", "login", "logout", "forbidden"])
def test_actions_have_chinese_names(action):
    from models.audit import ACTION_LABELS

    assert not ACTION_LABELS[action].isascii()


def test_archivist_does_not_see_a_residents_contact_in_the_log(app, client, world, login_as):
    """The need page hides the resident from the archivist; so does the audit log."""
    from tests.test_needs import PHONE, RESIDENT, new_need

    new_need(app, world)
    login_as("archivist")
    text = _text(_log_html(client, "?object_type=need"))
    assert "居民姓名 （居民信息，不予显示）" in text and "居民电话 （居民信息，不予显示）" in text
    assert RESIDENT not in text and PHONE not in text
    assert "独居老人家里换一个水龙头" in text
    login_as("admin")
    text = _text(_log_html(client, "?object_type=need"))
    assert RESIDENT in text and PHONE in text
