"""Minutes: drafting, sanitising, confirmation (会签), approval (签发), archive numbers, revisions."""

import threading
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from models import (
    Action,
    ActionStatus,
    AuditEvent,
    ConfirmationStatus,
    Meeting,
    MeetingStatus,
    Minutes,
    MinutesRevision,
    MinutesStatus,
    Principle,
    db,
)
from models.base import today
from tests.conftest import count


def _revision(app, meeting_id, number=None) -> MinutesRevision:
    with app.app_context():
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting_id))
        rev = minutes.revisions[-1] if number is None else minutes.revisions[number - 1]
        rev.confirmations  # noqa: B018
        rev.minutes.archive_no  # noqa: B018
        db.session.expunge_all()
        return rev


def _items(app, meeting_id):
    with app.app_context():
        return [i.id for i in db.session.get(Meeting, meeting_id).agenda_items]


def _draft(app, client, world, mid, **extra):
    items = _items(app, mid)
    rev = _revision(app, mid)
    data = {
        "recorder": "刘芳",
        "summary": "会议由社区书记主持。",
        f"disc-{items[0]}": "<p>一小通报了<strong>共建项目</strong>进展。</p><ul><li>操场开放</li></ul>",
        f"disc-{items[1]}": "各单位同意联合开展暑期托管。",
        "actions-0-title": "开放学校操场",
        "actions-0-lead_unit_id": str(world.unit_a),
        "actions-0-co_unit_ids": [str(world.unit_b)],
        "actions-0-due_on": (date.today() + timedelta(days=30)).isoformat(),
        "actions-0-principles": ["share", "cobuild"],
        "actions-1-title": "组织暑期托管志愿者",
        "actions-1-lead_unit_id": str(world.unit_b),
        "actions-1-due_on": (date.today() + timedelta(days=60)).isoformat(),
        "version": str(rev.version),
        "save": "保存草稿",
    }
    data.update(extra)
    return client.post(f"/meetings/{mid}/minutes", data=data)


def _start(client, mid):
    return client.post(f"/meetings/{mid}/minutes/start")


def test_minutes_start_only_after_the_meeting_started(app, client, world, login_as, make_meeting):
    future = make_meeting(days=3, status=MeetingStatus.SCHEDULED)
    login_as("secretary1")
    _start(client, future)
    with app.app_context():
        assert count(Minutes) == 0
    assert "会议开始后" in client.get(f"/meetings/{future}/minutes").get_data(as_text=True)


def test_draft_is_saved_sanitised_with_actions(app, client, world, login_as, held_meeting):
    mid = held_meeting()
    login_as("secretary1")
    assert _start(client, mid).status_code == 302
    hostile = '<p onclick="x()">好</p><script>alert(1)</script><a href="javascript:x">链接</a><img src=x onerror=y><b>粗</b>'
    resp = _draft(app, client, world, mid, summary=hostile)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    rev = _revision(app, mid)
    assert rev.recorder == "刘芳"
    assert rev.summary == "<p>好</p>链接<b>粗</b>"
    assert (
        "<strong>共建项目</strong>" in rev.discussion[0]["html"]
        and "<ul><li>操场开放</li></ul>" in rev.discussion[0]["html"]
    )
    assert rev.discussion[1]["html"] == "<p>各单位同意联合开展暑期托管。</p>"
    with app.app_context():
        actions = db.session.scalars(select(Action).order_by(Action.position)).all()
        assert [a.title for a in actions] == ["开放学校操场", "组织暑期托管志愿者"]
        assert actions[0].lead_unit_id == world.unit_a
        assert [u.id for u in actions[0].co_units] == [world.unit_b]
        assert set(actions[0].principles) == {Principle.SHARE, Principle.COBUILD}
        assert actions[0].status == ActionStatus.OPEN
    page = client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    assert "<script>alert" not in page and "onerror" not in page


def test_action_rows_need_lead_and_due_date(app, client, world, login_as, held_meeting):
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    resp = _draft(app, client, world, mid, **{"actions-0-lead_unit_id": "0"})
    text_ = resp.get_data(as_text=True)
    assert "请选择牵头单位" in text_
    assert "各单位同意联合开展暑期托管" in text_  # nothing typed is lost
    resp = _draft(app, client, world, mid, **{"actions-1-due_on": "不是日期"})
    assert "不是有效的日期" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Action) == 0


def test_concurrent_draft_save_is_refused_with_the_other_changes(app, client, world, login_as, held_meeting):
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    stale = _revision(app, mid).version
    _draft(app, client, world, mid, recorder="第一位")
    resp = _draft(app, client, world, mid, recorder="第二位", version=str(stale), summary="第二位写的概况")
    page = resp.get_data(as_text=True)
    assert "其他人保存了这份纪要" in page and "第一位" in page
    assert "第二位写的概况" in page
    assert _revision(app, mid).recorder == "第一位"


def test_confirmation_and_approval_flow(app, client, world, login_as, held_meeting):
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    _draft(app, client, world, mid)
    resp = client.post(f"/meetings/{mid}/minutes/submit", data={"ask_confirmation": "y", "confirm_days": "5"})
    assert resp.status_code == 302
    rev = _revision(app, mid)
    assert rev.status == MinutesStatus.SUBMITTED
    assert rev.confirm_due == today() + timedelta(days=5)  # Beijing time, as the app counts
    assert [c.unit_id for c in rev.confirmations] == [world.unit_a]  # only the attending unit
    # A liaison cannot approve.
    login_as("liaison_a")
    assert client.post(f"/meetings/{mid}/minutes/approve").status_code == 403
    resp = client.post(f"/meetings/{mid}/minutes/confirm", data={"decision": "comment", "comment": ""})
    assert resp.status_code == 400 and "提出意见时请填写具体内容" in resp.get_data(as_text=True)
    assert _revision(app, mid).confirmations[0].status == ConfirmationStatus.PENDING
    too_long = "意见" * 1001
    resp = client.post(f"/meetings/{mid}/minutes/confirm", data={"decision": "comment", "comment": too_long})
    assert resp.status_code == 400 and too_long in resp.get_data(as_text=True)  # nothing typed is lost
    client.post(
        f"/meetings/{mid}/minutes/confirm", data={"decision": "comment", "comment": "第二项请写明时间"}
    )
    client.post(f"/meetings/{mid}/minutes/confirm", data={"decision": "confirm", "comment": "同意"})
    assert _revision(app, mid).confirmations[0].status == ConfirmationStatus.CONFIRMED
    login_as("liaison_b")  # excused unit is not asked
    assert client.post(f"/meetings/{mid}/minutes/confirm", data={"decision": "confirm"}).status_code == 403
    login_as("secretary2")
    assert client.post(f"/meetings/{mid}/minutes/approve").status_code == 403
    login_as("secretary1")
    page = client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    assert "已确认" in page and "同意" in page
    resp = client.post(f"/meetings/{mid}/minutes/approve")
    assert resp.status_code == 302
    rev = _revision(app, mid)
    year = date.today().year
    assert rev.status == MinutesStatus.APPROVED
    assert rev.minutes.archive_no == f"青年路社区联席〔{year}〕1号"
    assert rev.approved_by_name == "secretary1"
    assert len(rev.pdf_sha256) == 64 and len(rev.pdf_sm3) == 64
    assert [a["title"] for a in rev.actions_snapshot] == ["开放学校操场", "组织暑期托管志愿者"]
    # The stored PDF is what every download returns.
    with app.app_context():
        stored = db.session.scalar(select(MinutesRevision.pdf).where(MinutesRevision.id == rev.id))
    first = client.get(f"/meetings/{mid}/minutes.pdf")
    second = client.get(f"/meetings/{mid}/minutes.pdf")
    assert first.data == second.data == stored
    assert first.mimetype == "application/pdf"
    with app.app_context():
        assert (
            count(AuditEvent, AuditEvent.object_type == "minutes_revision", AuditEvent.action == "status")
            >= 2
        )


def _approve(app, client, world, mid):
    _start(client, mid)
    _draft(app, client, world, mid)
    client.post(f"/meetings/{mid}/minutes/submit", data={})
    assert client.post(f"/meetings/{mid}/minutes/approve", data={"unconfirmed_ok": "y"}).status_code == 302


def test_approved_minutes_are_never_edited_and_corrections_are_revisions(
    app, client, world, login_as, held_meeting
):
    mid = held_meeting()
    login_as("secretary1")
    _approve(app, client, world, mid)
    first = _revision(app, mid)
    # The editor refuses, the database refuses.
    resp = _draft(app, client, world, mid, recorder="改写")
    assert resp.status_code == 409
    with app.app_context():
        with pytest.raises((IntegrityError, DBAPIError)):
            db.session.execute(
                text("UPDATE minutes_revision SET recorder = 'x' WHERE id = :id"), {"id": first.id}
            )
            db.session.flush()
        db.session.rollback()
        with pytest.raises((IntegrityError, DBAPIError)):
            db.session.execute(text("DELETE FROM minutes_revision WHERE id = :id"), {"id": first.id})
            db.session.flush()
        db.session.rollback()
    # A correction needs a reason and becomes revision 2, the first kept.
    resp = client.post(f"/meetings/{mid}/minutes/correct", data={"reason": ""})
    assert resp.status_code == 400 and "请填写更正原因" in resp.get_data(as_text=True)
    assert _revision(app, mid).number == 1
    client.post(f"/meetings/{mid}/minutes/correct", data={"reason": "第二项时间记录有误"})
    second = _revision(app, mid)
    assert (second.number, second.status, second.correction_reason) == (
        2,
        MinutesStatus.DRAFT,
        "第二项时间记录有误",
    )
    _draft(
        app,
        client,
        world,
        mid,
        recorder="刘芳",
        version=str(second.version),
        **{f"disc-{_items(app, mid)[1]}": "暑期托管定于7月10日开始。"},
    )
    client.post(f"/meetings/{mid}/minutes/submit", data={})
    client.post(f"/meetings/{mid}/minutes/approve", data={"unconfirmed_ok": "y"})
    second = _revision(app, mid)
    assert second.status == MinutesStatus.APPROVED
    assert second.minutes.archive_no == first.minutes.archive_no  # the number belongs to the minutes
    old = client.get(f"/meetings/{mid}/minutes/revisions/1").get_data(as_text=True)
    assert "各单位同意联合开展暑期托管" in old
    assert client.get(f"/meetings/{mid}/minutes/revisions/1.pdf").data == _stored_pdf(app, first.id)


def _stored_pdf(app, revision_id):
    with app.app_context():
        return db.session.scalar(select(MinutesRevision.pdf).where(MinutesRevision.id == revision_id))


def test_archive_numbers_per_community_and_year_gap_free(app, client, world, login_as, held_meeting):
    ids = [held_meeting(title=f"会议{i}", at=time(8 + i, 0), hours=0.5) for i in range(3)]
    other = held_meeting(
        title="和平里会议", community_id=world.community2, units=[world.unit_c], at=time(15, 0)
    )
    login_as("secretary1")
    for mid in ids:
        _approve(app, client, world, mid)
    login_as("secretary2")
    _start(client, other)
    client.post(
        f"/meetings/{other}/minutes",
        data={"recorder": "陈", "summary": "和平里纪要", "version": str(_revision(app, other).version)},
    )
    client.post(f"/meetings/{other}/minutes/submit", data={})
    client.post(f"/meetings/{other}/minutes/approve")
    year = date.today().year
    with app.app_context():
        numbers = db.session.scalars(select(Minutes.archive_no).order_by(Minutes.id)).all()
    assert numbers == [
        f"青年路社区联席〔{year}〕1号",
        f"青年路社区联席〔{year}〕2号",
        f"青年路社区联席〔{year}〕3号",
        f"和平里社区联席〔{year}〕1号",
    ]


def test_concurrent_approvals_get_distinct_gap_free_numbers(app, world, held_meeting):
    """Several approvals at the same moment, each in its own connection and transaction."""
    from models import User
    from services import minutes as svc

    ids = []
    for i in range(6):
        ids.append(held_meeting(title=f"并发会议{i}", at=time(8 + i, 0), hours=0.5))
    with app.app_context():
        admin = db.session.get(User, world.admin)
        for mid in ids:
            m = db.session.get(Meeting, mid)
            minutes = svc.start_minutes(m, admin)
            minutes.current.summary = "<p>纪要</p>"
            svc.submit(minutes.current, admin, None)
        db.session.commit()
    errors = []
    barrier = threading.Barrier(len(ids))

    def approve(mid):
        with app.app_context():
            try:
                barrier.wait(timeout=10)  # all start together, before touching the database
                user = db.session.get(User, world.admin)
                minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
                svc.approve(minutes.current, user)
                db.session.commit()
            except Exception as exc:  # collected and asserted below
                errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve, args=(mid,)) for mid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with app.app_context():
        seqs = sorted(db.session.scalars(select(Minutes.archive_seq)).all())
    assert seqs == list(range(1, len(ids) + 1))


def test_follow_up_item_on_the_next_meeting(app, client, world, login_as, held_meeting, make_meeting):
    nxt = make_meeting(days=20, status=MeetingStatus.SCHEDULED)
    mid = held_meeting()
    login_as("secretary1")
    _approve(app, client, world, mid)
    with app.app_context():
        titles = [i.title for i in db.session.get(Meeting, nxt).agenda_items]
    assert titles[0] == "上次议定事项落实情况"
    # A meeting scheduled later also gets it while actions are open.
    from tests.test_meetings import _form

    resp = client.post(
        "/meetings/new", data=_form(app, world, day=(date.today() + timedelta(days=40)).isoformat())
    )
    new_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert db.session.get(Meeting, new_id).agenda_items[0].title == "上次议定事项落实情况"
    page = client.get(f"/meetings/{new_id}").get_data(as_text=True)
    assert "上次议定事项落实情况" in page
    # It says plainly that the system added it, and why: the flash after saving, and the agenda.
    assert "系统在议程开头加入了“上次议定事项落实情况”：青年路社区此前会议议定的事项还有 2 项没有完成" in page
    assert "青年路社区此前会议议定的事项尚未全部完成，联席会议制度要求" in page  # beside the item
    assert "系统自动加入" in page and 'id="followup-note"' in page
    edit = client.get(f"/meetings/{new_id}/edit").get_data(as_text=True)
    assert "系统自动加入：此前会议议定的事项还有未完成的" in edit


def test_liaison_sees_minutes_only_when_not_draft(app, client, world, login_as, held_meeting):
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    _draft(app, client, world, mid)
    login_as("liaison_a")
    assert "尚在起草中" in client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    assert client.get(f"/meetings/{mid}/minutes/revisions/1").status_code == 403
    assert client.get(f"/meetings/{mid}/minutes.pdf").status_code == 403
    login_as("liaison_c")  # not invited
    assert client.get(f"/meetings/{mid}/minutes").status_code == 403


def test_verify_archive_reports_tampering(app, client, runner, world, login_as, held_meeting):
    mid = held_meeting()
    login_as("secretary1")
    _approve(app, client, world, mid)
    result = runner.invoke(args=["verify-archive"])
    assert (
        result.exit_code == 0 and "1 份签发纪要的 2 份存档文件，0 份有问题" in result.output
    )  # the PDF/A and its OFD
    with app.app_context():
        conn = db.session.connection()
        if conn.dialect.name == "sqlite":
            # Tamper as someone with file access would: around the guard trigger.
            name = "minutes_revision_approved_no_update"
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}).scalar()
            conn.execute(text(f"DROP TRIGGER {name}"))
            conn.execute(text("UPDATE minutes_revision SET pdf = :b"), {"b": b"%PDF-tampered"})
            conn.execute(text(sql))
        else:
            conn.execute(text("ALTER TABLE minutes_revision DISABLE TRIGGER minutes_revision_approved_guard"))
            conn.execute(text("UPDATE minutes_revision SET pdf = :b"), {"b": b"%PDF-tampered"})
            conn.execute(text("ALTER TABLE minutes_revision ENABLE TRIGGER minutes_revision_approved_guard"))
        db.session.commit()
    result = runner.invoke(args=["verify-archive"])
    assert result.exit_code == 1 and "校验不符" in result.output


def test_actions_naming_units_from_elsewhere_survive_a_draft_save(app, client, world, login_as, held_meeting):
    """An action added from a matched need may be led by a unit of another community."""
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    with app.app_context():
        m = db.session.get(Meeting, mid)
        db.session.add(
            Action(
                meeting_id=mid,
                street_id=m.street_id,
                community_id=m.community_id,
                title="邻近社区单位提供的场地",
                lead_unit_id=world.unit_c,  # 和平里社区, not invited
                due_on=date.today() + timedelta(days=30),
            )
        )
        db.session.commit()
    form = client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    assert f'<option selected value="{world.unit_c}">' in form or f'value="{world.unit_c}" selected' in form


# --- action rows: units of the meeting only, co-units without Ctrl-click, carried-over actions ---


def test_action_units_must_be_the_meetings(app, client, world, login_as, held_meeting, make_unit):
    """Lead and co-units come from the invited units and the host community's; anything else
    (another community's unit, an unknown id, junk) is refused on the form and saves nothing."""
    mid = held_meeting()
    neighbour = make_unit(name="青年路社区卫生服务站")  # host community, not invited: allowed
    login_as("secretary1")
    _start(client, mid)
    for lead, message in (
        (str(world.unit_c), "牵头单位须是本次会议的参会单位或召集方的驻区单位"),  # 和平里社区
        ("999999", "牵头单位须是本次会议的参会单位或召集方的驻区单位"),
        ("abc", "牵头单位须是本次会议的参会单位或召集方的驻区单位"),
    ):
        resp = _draft(app, client, world, mid, **{"actions-0-lead_unit_id": lead})
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200 and message in page, lead
        assert "各单位同意联合开展暑期托管" in page  # nothing typed is lost
    resp = _draft(
        app, client, world, mid, **{"actions-0-co_unit_ids": [str(world.unit_b), str(world.unit_c)]}
    )
    assert "协同单位须是本次会议的参会单位或召集方的驻区单位" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Action) == 0
    assert _revision(app, mid).recorder != "刘芳"  # the draft itself was not saved either

    resp = _draft(app, client, world, mid, **{"actions-1-lead_unit_id": str(neighbour)})
    assert resp.status_code == 302
    with app.app_context():
        leads = db.session.scalars(select(Action.lead_unit_id).order_by(Action.position)).all()
    assert leads == [world.unit_a, neighbour]


def test_forged_unit_never_moves_an_existing_action(app, client, world, login_as, held_meeting):
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    _draft(app, client, world, mid)
    with app.app_context():
        action = db.session.scalar(select(Action).where(Action.title == "开放学校操场"))
        action_id = action.id
    resp = _draft(
        app,
        client,
        world,
        mid,
        version=str(_revision(app, mid).version),
        **{"actions-0-action_id": str(action_id), "actions-0-lead_unit_id": str(world.unit_c)},
    )
    assert resp.status_code == 200 and "牵头单位须是本次会议" in resp.get_data(as_text=True)
    with app.app_context():
        action = db.session.get(Action, action_id)
        assert action.lead_unit_id == world.unit_a
        assert [u.id for u in action.co_units] == [world.unit_b]


def test_existing_outside_lead_is_kept_until_changed(app, client, world, login_as, held_meeting):
    """An action led by another community's unit (from a matched need) saves unchanged, but an
    action cannot be moved to such a unit, nor a new one given it."""
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    with app.app_context():
        m = db.session.get(Meeting, mid)
        outside = Action(
            meeting_id=mid,
            street_id=m.street_id,
            community_id=m.community_id,
            title="邻近社区单位提供的场地",
            lead_unit_id=world.unit_c,
            due_on=date.today() + timedelta(days=30),
        )
        db.session.add(outside)
        db.session.commit()
        outside_id = outside.id
    rev = _revision(app, mid)
    data = {
        "recorder": "刘芳",
        "version": str(rev.version),
        "actions-0-action_id": str(outside_id),
        "actions-0-title": "邻近社区单位提供的场地",
        "actions-0-lead_unit_id": str(world.unit_c),
        "actions-0-co_unit_ids": [str(world.unit_a)],
        "actions-0-due_on": (date.today() + timedelta(days=30)).isoformat(),
        "save": "保存草稿",
    }
    assert client.post(f"/meetings/{mid}/minutes", data=data).status_code == 302
    with app.app_context():
        kept = db.session.get(Action, outside_id)
        assert kept.lead_unit_id == world.unit_c and [u.id for u in kept.co_units] == [world.unit_a]
    page = client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    assert "原定单位（不属于本次会议）" in page
    # The new (second) row may not name it.
    data.update(
        {
            "version": str(_revision(app, mid).version),
            "actions-1-title": "新事项",
            "actions-1-lead_unit_id": str(world.unit_c),
            "actions-1-due_on": (date.today() + timedelta(days=30)).isoformat(),
        }
    )
    resp = client.post(f"/meetings/{mid}/minutes", data=data)
    assert resp.status_code == 200 and "议定事项 2“新事项”：牵头单位须是本次会议" in resp.get_data(
        as_text=True
    )
    with app.app_context():
        assert count(Action) == 1


def test_street_meeting_offers_the_streets_units(app, client, world, login_as, held_meeting):
    mid = held_meeting(community_id=None, units=[world.unit_a])
    login_as("admin")
    _start(client, mid)
    page = client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    lead = page.split('id="actions-0-lead_unit_id"')[1].split("</select>")[0]
    street_group = lead.split('<optgroup label="本街道其他单位">')[1]
    assert "和平里派出所" in street_group and "市第三人民医院" in street_group
    resp = _draft(app, client, world, mid, **{"actions-0-co_unit_ids": [str(world.unit_c)]})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]


def test_co_units_are_checkboxes_grouped_by_role(app, client, world, login_as, held_meeting, make_unit):
    mid = held_meeting()
    make_unit(name="青年路社区卫生服务站")
    login_as("secretary1")
    _start(client, mid)
    page = client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    assert f'name="actions-0-co_unit_ids" type="checkbox" value="{world.unit_b}"' in page
    assert "Ctrl" not in page and "multiple" not in page
    lead = page.split('id="actions-0-lead_unit_id"')[1].split("</select>")[0]
    invited, host = lead.split('<optgroup label="本社区其他单位">')
    assert "东大街第一小学" in invited and "市第三人民医院" in invited
    assert "青年路社区卫生服务站" in host and "和平里派出所" not in lead  # another community's unit


def test_open_actions_from_earlier_meetings_are_labelled_carried_over(
    app, client, world, login_as, held_meeting
):
    first = held_meeting(title="九月联席会议", at=time(9, 0), hours=1)
    login_as("secretary1")
    _approve(app, client, world, first)
    with app.app_context():
        done = db.session.scalar(select(Action).where(Action.title == "组织暑期托管志愿者"))
        done.status = ActionStatus.DONE
        db.session.commit()
    second = held_meeting(title="十月联席会议", at=time(15, 0), hours=1)
    _start(client, second)
    page = client.get(f"/meetings/{second}/minutes").get_data(as_text=True)
    carried = page.split('id="carried-over"')[1].split("本次会议议定事项")[0]
    assert "上次会议遗留" in carried and "开放学校操场" in carried and "九月联席会议" in carried
    assert "组织暑期托管志愿者" not in carried  # done: not carried over
    # The earlier meeting's own editor lists nothing carried over.
    login_as("admin")
    assert 'id="carried-over"' not in client.get(f"/meetings/{first}/minutes").get_data(as_text=True)
