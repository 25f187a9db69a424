"""督办 (issue 11, point 5): a board of overdue and stalled actions for those above the host, a
督办 notice with its own deadline, due-date and lead changes that need a reason and show in
the action's history, the ledger export and the next minutes' follow-up; the dashboard
counts actions done late apart from those done on time."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import (
    Action,
    ActionEvent,
    ActionEventKind,
    ActionProgress,
    ActionStatus,
    AuditEvent,
    Meeting,
    MeetingStatus,
    Minutes,
    Notification,
    User,
    db,
)
from models.base import today
from models.notification import NoticeKind
from tests.pdfreaders import read_everywhere, squeeze
from tests.test_minutes import _approve


@pytest.fixture
def actions(app, world, held_meeting):
    """Four actions of a meeting held 40 days ago: overdue by 10 days, overdue by 2 days,
    due later but without progress since the meeting (stalled), due later with recent progress."""
    mid = held_meeting()
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        meeting.start_at -= timedelta(days=39)
        meeting.end_at -= timedelta(days=39)
        made = {}
        for key, title, due, progress in (
            ("late10", "逾期十天的事项", today() - timedelta(days=10), None),
            ("late2", "逾期两天的事项", today() - timedelta(days=2), today() - timedelta(days=3)),
            ("stalled", "停滞的事项", today() + timedelta(days=20), None),
            ("fine", "正常推进的事项", today() + timedelta(days=20), today() - timedelta(days=1)),
        ):
            action = Action(
                meeting_id=mid,
                street_id=world.street,
                community_id=world.community1,
                title=title,
                lead_unit_id=world.unit_a,
                due_on=due,
                status=ActionStatus.OPEN,
            )
            if progress:
                action.progress.append(ActionProgress(on=progress, text="推进中"))
            db.session.add(action)
            db.session.flush()
            made[key] = action.id
        db.session.commit()
    return made


def _board_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-action="(\d+)"', page)]


def test_the_board_lists_overdue_and_stalled_actions_most_overdue_first(
    app, client, world, actions, login_as
):
    login_as("admin")
    page = client.get("/actions/supervision").get_data(as_text=True)
    assert _board_ids(page) == [actions["late10"], actions["late2"], actions["stalled"]]
    assert "10 天" in page and "尚无进展" in page
    idle = client.get("/actions/supervision?sort=idle").get_data(as_text=True)
    assert set(_board_ids(idle)) == {actions["late10"], actions["late2"], actions["stalled"]}
    assert (
        _board_ids(client.get(f"/actions/supervision?community={world.community2}").get_data(as_text=True))
        == []
    )
    # The ledger links to the board for those who may open it; a secretary may not.
    assert "督办台" in client.get("/actions").get_data(as_text=True)
    login_as("secretary1")
    assert client.get("/actions/supervision").status_code == 403
    assert "督办台" not in client.get("/actions").get_data(as_text=True)


def test_a_supervision_notice_reaches_the_lead_and_the_host_and_stays_on_the_action(
    app, client, world, actions, login_as
):
    login_as("admin")
    url = f"/actions/{actions['late10']}"
    # Refused input is shown on the form and stores nothing.
    resp = client.post(f"{url}/supervise", data={"text": "", "deadline": today().isoformat()})
    assert resp.status_code == 400 and "请填写督办要求" in resp.get_data(as_text=True)
    resp = client.post(
        f"{url}/supervise", data={"text": "请尽快落实", "deadline": (today() - timedelta(days=1)).isoformat()}
    )
    assert resp.status_code == 400 and "督办期限不能早于今天" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ActionEvent.id)) is None
    deadline = today() + timedelta(days=5)
    resp = client.post(
        f"{url}/supervise", data={"text": "请于本周内完成并报送进展", "deadline": deadline.isoformat()}
    )
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'id="supervisions"' in page and "请于本周内完成并报送进展" in page and "已督办 1 次" in page
    with app.app_context():
        told = {
            db.session.get(User, n.user_id).username
            for n in db.session.scalars(
                select(Notification).where(Notification.kind == NoticeKind.SUPERVISED)
            )
        }
    assert told == {"liaison_a", "secretary1"}
    board = client.get("/actions/supervision?sort=supervised").get_data(as_text=True)
    assert _board_ids(board)[0] == actions["late10"]
    # The lead's liaison sees it on the action, but may not send one.
    login_as("liaison_a")
    assert "请于本周内完成并报送进展" in client.get(url).get_data(as_text=True)
    assert 'id="supervise-form"' not in client.get(url).get_data(as_text=True)
    assert (
        client.post(f"{url}/supervise", data={"text": "x", "deadline": deadline.isoformat()}).status_code
        == 403
    )


def test_extending_needs_a_reason_and_shows_in_history_ledger_and_next_minutes(
    app, client, world, actions, login_as, make_meeting
):
    login_as("secretary1")
    url = f"/actions/{actions['late10']}"
    new_due = today() + timedelta(days=30)
    resp = client.post(f"{url}/extend", data={"due_on": new_due.isoformat(), "reason": ""})
    assert resp.status_code == 400 and "调整完成时限须填写原因" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Action, actions["late10"]).due_on == today() - timedelta(days=10)
    resp = client.post(f"{url}/extend", data={"due_on": new_due.isoformat(), "reason": "施工队冬季停工"})
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'id="changes"' in page and "施工队冬季停工" in page and "调整完成时限" in page
    with app.app_context():
        action = db.session.get(Action, actions["late10"])
        assert action.due_on == new_due
        assert [e.kind for e in action.events] == [ActionEventKind.EXTEND]
        # Audited as a change of the action and as the event with its reason.
        assert db.session.scalar(
            select(AuditEvent.id).where(AuditEvent.object_type == "action", AuditEvent.object_id == action.id)
        )
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.object_type == "action_event"))
        assert db.session.scalar(
            select(Notification.id).where(
                Notification.kind == NoticeKind.ACTION_CHANGED,
                Notification.user_id == world.liaison_a,
            )
        )
    # The ledger export names the change and its reason.
    book = load_workbook(io.BytesIO(client.get("/actions/export.xlsx").data))
    sheet = book.active
    headers = [c.value for c in sheet[1]]
    column = headers.index("变更与督办")
    cells = [row[column].value or "" for row in sheet.iter_rows(min_row=2)]
    assert any("调整完成时限" in c and "施工队冬季停工" in c for c in cells)
    # The next meeting's minutes list it among the actions carried over, with the change.
    nxt = make_meeting(days=-1, status=MeetingStatus.HELD, title="下一次联席会议")
    client.post(f"/meetings/{nxt}/minutes/start")
    editor = client.get(f"/meetings/{nxt}/minutes").get_data(as_text=True)
    assert 'id="carried-over"' in editor and "施工队冬季停工" in editor


def test_changing_the_lead_needs_a_reason_and_tells_both_leads(app, client, world, actions, login_as):
    login_as("secretary1")
    url = f"/actions/{actions['stalled']}"
    resp = client.post(f"{url}/lead", data={"unit_id": world.unit_c, "reason": ""})
    assert resp.status_code == 400 and "更换牵头单位须填写原因" in resp.get_data(as_text=True)
    resp = client.post(f"{url}/lead", data={"unit_id": world.unit_c, "reason": "和平里派出所更熟悉情况"})
    assert resp.status_code == 302
    with app.app_context():
        action = db.session.get(Action, actions["stalled"])
        assert action.lead_unit_id == world.unit_c
        event = action.events[0]
        assert (event.before, event.after) == ("东大街第一小学", "和平里派出所")
        told = {
            n.user_id
            for n in db.session.scalars(
                select(Notification).where(Notification.kind == NoticeKind.ACTION_CHANGED)
            )
        }
    assert {world.liaison_a, world.liaison_c} <= told
    # A liaison may not change it.
    login_as("liaison_c")
    assert client.post(f"{url}/lead", data={"unit_id": world.unit_a, "reason": "x"}).status_code == 403


def test_the_dashboard_counts_actions_done_late_apart(app, client, world, actions, login_as):
    with app.app_context():
        late = db.session.get(Action, actions["late10"])
        late.status, late.done_on, late.result = ActionStatus.DONE, today(), "迟了十天完成"
        on_time = db.session.get(Action, actions["fine"])
        on_time.status, on_time.done_on, on_time.result = ActionStatus.DONE, today(), "按期完成"
        db.session.commit()
    login_as("admin")
    page = client.get("/stats").get_data(as_text=True)
    row = re.search(rf'<tr[^>]*data-community="{world.community1}".*?</tr>', page, re.S).group(0)
    assert re.search(r'data-figure="actions_done">2<', row)
    assert re.search(r'data-figure="actions_done_late">1<', row)
    page = client.get(f"/actions/{actions['late10']}").get_data(as_text=True)
    assert 'id="done-late"' in page


def test_the_next_minutes_record_the_follow_up_with_its_changes(
    app, client, world, actions, login_as, held_meeting, tmp_path
):
    login_as("secretary1")
    client.post(
        f"/actions/{actions['late10']}/extend",
        data={"due_on": (today() + timedelta(days=30)).isoformat(), "reason": "施工队冬季停工"},
    )
    login_as("admin")
    client.post(
        f"/actions/{actions['late2']}/supervise",
        data={"text": "请于本周内完成", "deadline": (today() + timedelta(days=3)).isoformat()},
    )
    login_as("secretary1")
    nxt = held_meeting(title="下一次联席会议")
    _approve(app, client, world, nxt)
    with app.app_context():
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == nxt))
        revision = minutes.approved
        followup = {row["title"]: row for row in revision.followup_snapshot}
        pdf = revision.pdf
    assert set(followup) == {"逾期十天的事项", "逾期两天的事项", "停滞的事项", "正常推进的事项"}
    assert any("施工队冬季停工" in e for e in followup["逾期十天的事项"]["events"])
    assert any("请于本周内完成" in e for e in followup["逾期两天的事项"]["events"])
    readings = read_everywhere(pdf, tmp_path, "followup")
    for text in (readings.poppler_text, readings.gs_text):
        flat = squeeze(text)
        assert "上次议定事项落实情况" in flat and "施工队冬季停工" in flat and "请于本周内完成" in flat
    assert readings.problems() == []
