"""The action ledger: filters, follow-up with attachments, closing, export and reminders."""

import csv
import io
import threading
from datetime import date, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from models import (
    Action,
    ActionProgress,
    ActionStatus,
    ActionTag,
    Attachment,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Principle,
    Unit,
    db,
)
from models.base import today
from tests.conftest import count

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64


@pytest.fixture
def make_action(app, world, make_meeting):
    meeting_id = make_meeting(days=-3, status=MeetingStatus.HELD)

    def _make(
        title="开放学校操场", lead=None, co=(), due_in=10, status=ActionStatus.OPEN, tags=(), **fields
    ) -> int:
        with app.app_context():
            m = db.session.get(Meeting, meeting_id)
            action = Action(
                meeting_id=m.id,
                street_id=m.street_id,
                community_id=fields.pop("community_id", m.community_id),
                title=title,
                lead_unit_id=lead or world.unit_a,
                due_on=date.today() + timedelta(days=due_in),
                status=status,
                **fields,
            )
            action.co_units = [db.session.get(Unit, u) for u in co]
            action.tags = [ActionTag(principle=p) for p in tags]
            db.session.add(action)
            db.session.commit()
            return action.id

    return _make


def _action(app, action_id) -> Action:
    with app.app_context():
        a = db.session.get(Action, action_id)
        a.progress, a.co_units  # noqa: B018
        for p in a.progress:
            p.attachment  # noqa: B018
        db.session.expunge_all()
        return a


def test_ledger_filters(app, client, world, login_as, make_action):
    make_action("开放学校操场", tags=[Principle.SHARE], due_in=10)
    make_action("联合消防演练", lead=world.unit_b, co=[world.unit_a], due_in=-5, tags=[Principle.COBUILD])
    make_action("已完成的事项", status=ActionStatus.DONE, due_in=-20)
    make_action("和平里的事项", lead=world.unit_c, community_id=world.community2)
    login_as("admin")

    def titles(url):
        page = client.get(url).get_data(as_text=True)
        return {t for t in ("开放学校操场", "联合消防演练", "已完成的事项", "和平里的事项") if t in page}

    assert titles("/actions") == {"开放学校操场", "联合消防演练", "已完成的事项", "和平里的事项"}
    assert titles(f"/actions?community={world.community2}") == {"和平里的事项"}
    assert titles(f"/actions?unit={world.unit_a}") == {"开放学校操场", "联合消防演练", "已完成的事项"}
    assert titles("/actions?status=done") == {"已完成的事项"}
    assert titles("/actions?principle=cobuild") == {"联合消防演练"}
    assert titles("/actions?overdue=1") == {"联合消防演练"}
    month = (date.today() + timedelta(days=10)).strftime("%Y-%m")
    assert "开放学校操场" in titles(f"/actions?month={month}")
    assert client.get("/actions?status=x&principle=y&month=z&community=q").status_code == 200
    login_as("liaison_c")  # a liaison sees only their unit's actions
    assert titles("/actions") == {"和平里的事项"}


def test_liaisons_post_progress_with_attachment(app, client, world, login_as, make_action):
    action_id = make_action(co=[world.unit_b])
    login_as("liaison_b")  # co-unit
    resp = client.post(
        f"/actions/{action_id}/progress",
        data={
            "on": date.today().isoformat(),
            "text": "已与学校对接开放时间。",
            "attachment": (io.BytesIO(PNG), "现场照片.png"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    action = _action(app, action_id)
    assert action.status == ActionStatus.IN_PROGRESS
    entry = action.progress[0]
    assert entry.text == "已与学校对接开放时间。" and entry.unit_id == world.unit_b
    att = entry.attachment
    assert att.filename == "现场照片.png" and att.content_type == "image/png" and att.size == len(PNG)
    stored = list((app.instance_path and __import__("pathlib").Path(app.instance_path) / "uploads").iterdir())
    assert [p.name for p in stored] == [att.storage_name] and "现场照片" not in att.storage_name
    download = client.get(f"/attachments/{att.id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Disposition"].startswith("attachment")
    login_as("liaison_c")  # not involved
    assert client.get(f"/attachments/{att.id}").status_code == 403
    assert client.post(f"/actions/{action_id}/progress", data={"text": "x"}).status_code == 403


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("伪装.pdf", b"MZ\x90\x00 this is an exe", "文件内容与扩展名不符"),
        ("脚本.html", b"<script>alert(1)</script>", "只能上传"),
        ("照片.png", b"%PDF-1.7 not a png", "文件内容与扩展名不符"),
        ("大文件.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024), "不能超过 10 MB"),
    ],
)
def test_attachments_are_checked_by_content_and_size(
    app, client, world, login_as, make_action, name, content, message
):
    action_id = make_action()
    login_as("liaison_a")
    resp = client.post(
        f"/actions/{action_id}/progress",
        data={"on": date.today().isoformat(), "text": "进展", "attachment": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )
    assert message in resp.get_data(as_text=True) or resp.status_code == 413
    with app.app_context():
        assert count(ActionProgress) == 0 and count(Attachment) == 0


def test_office_files_are_accepted(app, client, world, login_as, make_action):
    action_id = make_action()
    wb = Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    login_as("liaison_a")
    resp = client.post(
        f"/actions/{action_id}/progress",
        data={
            "on": date.today().isoformat(),
            "text": "台账见附件",
            "attachment": (io.BytesIO(buf.getvalue()), "台账.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    assert _action(app, action_id).progress[0].attachment.content_type.endswith("spreadsheetml.sheet")


def test_lead_or_secretary_closes_with_result(app, client, world, login_as, make_action):
    action_id = make_action(co=[world.unit_b], due_in=-2)
    login_as("liaison_b")  # a co-unit may report but not close
    assert client.post(f"/actions/{action_id}/done", data={"result": "完成"}).status_code == 403
    login_as("liaison_a")
    client.post(f"/actions/{action_id}/done", data={"result": "", "on": date.today().isoformat()})
    assert _action(app, action_id).status == ActionStatus.OPEN
    page = client.get(f"/actions/{action_id}").get_data(as_text=True)
    assert "已逾期" in page
    resp = client.post(
        f"/actions/{action_id}/done", data={"result": "操场已于周末开放", "on": date.today().isoformat()}
    )
    assert resp.status_code == 302
    action = _action(app, action_id)
    assert (action.status, action.result, action.done_on) == (
        ActionStatus.DONE,
        "操场已于周末开放",
        date.today(),
    )
    assert "已逾期" not in client.get(f"/actions/{action_id}").get_data(as_text=True)
    other = make_action("另一项")
    login_as("secretary1")
    assert (
        client.post(
            f"/actions/{other}/done", data={"result": "社区确认完成", "on": date.today().isoformat()}
        ).status_code
        == 302
    )
    login_as("secretary2")
    third = make_action("第三项")
    assert (
        client.post(
            f"/actions/{third}/done", data={"result": "x", "on": date.today().isoformat()}
        ).status_code
        == 403
    )


def test_export_ledger(app, client, world, login_as, make_action):
    make_action("开放学校操场", co=[world.unit_b], tags=[Principle.SHARE, Principle.DEVELOP])
    make_action("逾期事项", due_in=-1)
    login_as("secretary1")
    ws = load_workbook(io.BytesIO(client.get("/actions/export.xlsx").data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "议定事项", "具体内容")
    by_title = {r[1]: r for r in rows[1:]}
    assert by_title["开放学校操场"][7] == "市第三人民医院"
    assert by_title["开放学校操场"][8] == "资源共享、共同发展"
    assert by_title["逾期事项"][11] == "逾期"
    text = client.get("/actions/export.csv?overdue=1").data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert [r[1] for r in table[1:]] == ["逾期事项"]
    login_as("liaison_a")
    assert client.get("/actions/export.xlsx").status_code == 403


def test_unit_page_and_dashboard_list_actions(app, client, world, login_as, make_action):
    make_action("开放学校操场", due_in=-1)
    login_as("liaison_a")
    page = client.get("/").get_data(as_text=True)
    assert "开放学校操场" in page and "1 项逾期" in page
    assert "开放学校操场" in client.get(f"/units/{world.unit_a}").get_data(as_text=True)


def test_remind_mails_leads_through_the_outbox(app, client, runner, world, make_action):
    with app.app_context():
        db.session.get(Unit, world.unit_a).liaison_email = "a@example.cn"
        db.session.commit()
    make_action("三天内到期", due_in=2)
    make_action("已经逾期", due_in=-4)
    make_action("还早", due_in=20)
    make_action("无邮箱单位的事项", lead=world.unit_b, due_in=1)
    result = runner.invoke(args=["remind"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        msgs = db.session.scalars(select(OutboxMessage)).all()
        assert len(msgs) == 1
        assert msgs[0].to_addr == "a@example.cn"
        assert "三天内到期" in msgs[0].body_text and "已经逾期" in msgs[0].body_text
        assert "还早" not in msgs[0].body_text and "1 项已逾期" in msgs[0].subject
    runner.invoke(args=["remind"])  # the same day again: no duplicate
    with app.app_context():
        assert count(OutboxMessage) == 1


def test_remind_run_on_two_servers_at_once_mails_each_lead_once(app, world, make_action, postgres):
    if postgres is None:
        pytest.skip("SQLite runs one writing transaction at a time")
    from services.actions import queue_reminders

    with app.app_context():
        db.session.get(Unit, world.unit_a).liaison_email = "a@example.cn"
        db.session.commit()
    make_action("三天内到期", due_in=2)
    queued = []

    def remind_on_server_b() -> None:
        with app.app_context():
            queued.append(queue_reminders(today(), "https://gongjian.example.cn"))
            db.session.commit()

    with app.app_context():
        queued.append(queue_reminders(today(), "https://gongjian.example.cn"))  # server A, not yet committed
        server_b = threading.Thread(target=remind_on_server_b)
        server_b.start()
        server_b.join(timeout=0.5)  # B waits for A's run instead of mailing the same actions
        db.session.commit()
    server_b.join(timeout=10)
    assert not server_b.is_alive()
    assert queued == [1, 0]
    with app.app_context():
        assert count(OutboxMessage) == 1
