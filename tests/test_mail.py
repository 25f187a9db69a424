"""Email through the outbox, sent to a real SMTP server on loopback (aiosmtpd).

What arrives is parsed back with Python's email package, as a mail client would.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from datetime import timedelta

import icalendar
import pytest
from aiosmtpd.controller import Controller
from conftest import count
from sqlalchemy import select, update

import mailer
from models import Meeting, MeetingStatus, OutboxMessage, Room, Unit, User, db
from models.base import utcnow
from models.enums import MailStatus
from models.meeting import MeetingError

SENDER = "gongjian@jiedao.example"
EMAILS = {
    "unit_a": "xiaoxue@school.example",
    "unit_b": "yiyuan@hospital.example",
    "unit_c": "pcs@police.example",
}
SECRETARY_EMAIL = "shuji1@qingnianlu.example"


def _free_port() -> int:
    """A port nothing listens on (bound and released again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        with self._lock:
            return [m for _, m in self.received]

    def to(self, addr: str) -> list[email.message.EmailMessage]:
        with self._lock:
            return [m for rcpt, m in self.received if addr in rcpt]

    def wait_for(self, n: int, timeout: float = 5.0) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    def clear(self) -> None:
        with self._lock:
            self.received.clear()


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1; yields (inbox, port)."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail_world(app, world):
    """Liaison addresses for units A, B and C, and one for secretary1 (the organizer)."""
    with app.app_context():
        for attr, addr in EMAILS.items():
            db.session.get(Unit, getattr(world, attr)).liaison_email = addr
        db.session.get(User, world.secretary1).email = SECRETARY_EMAIL
        db.session.commit()
    app.config.update(MAIL_DEFAULT_SENDER=SENDER, MAIL_TIMEOUT=5)
    return world


@pytest.fixture
def inbox(app, mail_world, smtp_server):
    """The app sends inline (before the response) to the loopback server."""
    box, port = smtp_server
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DELIVERY="inline")
    return box


# --- helpers -----------------------------------------------------------------------------


def _calendar_part(msg):
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in msg.walk()]
    return parts[0]


def _ics_attachment(msg):
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1
    return attachments[0]


def _event(data: bytes):
    cal = icalendar.Calendar.from_ical(data)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 1
    return cal, events[0]


def _check_calendar_mail(msg, method: str, uid: str) -> icalendar.Event:
    """The text/calendar part and the .ics attachment agree on METHOD, UID; return the event."""
    part = _calendar_part(msg)
    assert part.get_param("method") == method  # the MIME method matches METHOD
    raw = part.get_payload(decode=True)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF survives the trip
    assert f"METHOD:{method}".encode() in raw
    assert f"UID:{uid}".encode() in raw
    cal, ev = _event(raw)
    assert cal["METHOD"] == method
    assert str(ev["UID"]) == uid
    attachment = _ics_attachment(msg)
    assert attachment.get_filename().endswith(".ics")
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_content() == raw
    return ev


def _attendees(ev) -> set[str]:
    found = ev.get("ATTENDEE", [])
    return {str(a).lower() for a in (found if isinstance(found, list) else [found])}


def _publish(client, meeting_id):
    resp = client.post(f"/meetings/{meeting_id}/publish")
    assert resp.status_code == 302
    return resp


def _meeting(app, meeting_id) -> tuple[str, int]:
    with app.app_context():
        m = db.session.get(Meeting, meeting_id)
        return m.uid, m.sequence


def _edit_form(app, meeting_id, **changes) -> dict:
    """The edit form as the browser would post it, from the meeting's current values."""
    from zoneinfo import ZoneInfo

    sh = ZoneInfo("Asia/Shanghai")
    with app.app_context():
        m = db.session.get(Meeting, meeting_id)
        start, end = m.start_at.astimezone(sh), m.end_at.astimezone(sh)
        data = {
            "kind": m.kind.value,
            "title": m.title,
            "community_id": str(m.community_id),
            "room_id": str(m.room_id),
            "day": start.date().isoformat(),
            "start_time": start.strftime("%H:%M"),
            "end_time": end.strftime("%H:%M"),
            "description": m.description,
            "units": [str(inv.unit_id) for inv in m.invitations],
            "version": str(m.version),
            "original": "",
            "save": "保存",
        }
        for i, item in enumerate(m.agenda_items):
            data[f"agenda-{i}-title"] = item.title
            data[f"agenda-{i}-minutes"] = str(item.minutes)
            data[f"agenda-{i}-presenter_unit_id"] = str(item.presenter_unit_id or 0)
    data.update(changes)
    return data


def _outbox(app, *where) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def _make_due(app) -> None:
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def _deliver(app) -> tuple[int, int]:
    with app.app_context():
        return mailer.deliver_due()


# --- publish, change, cancel -------------------------------------------------------------


def test_publish_mails_each_liaison_an_invite(
    app, client, login_as, inbox, mail_world, make_meeting, make_unit
):
    no_address = make_unit(name="无邮箱的社会组织")  # liaison_email is empty
    meeting_id = make_meeting(units=[mail_world.unit_a, mail_world.unit_b, no_address])
    uid, _ = _meeting(app, meeting_id)
    login_as("secretary1")

    _publish(client, meeting_id)

    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == MeetingStatus.SCHEDULED
        sequence = db.session.get(Meeting, meeting_id).sequence
    assert sorted(r for rcpt, _ in inbox.received for r in rcpt) == sorted(
        [EMAILS["unit_a"], EMAILS["unit_b"]]
    )
    msg = inbox.to(EMAILS["unit_a"])[0]
    assert msg["Subject"].startswith("【会议通知】")
    assert "第四季度共驻共建联席会议" in msg["Subject"]
    assert msg["From"] == SENDER
    (to,) = msg["To"].addresses
    assert to.addr_spec == EMAILS["unit_a"]
    assert to.display_name == "联络人东大"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("东大街第一小学：")
    assert "诚邀贵单位参加" in text
    assert "会议名称：第四季度共驻共建联席会议" in text
    assert "14:00—16:00" in text
    assert "地点：青年路社区共驻共建会议室" in text
    assert f"/meetings/{meeting_id}" in text
    ev = _check_calendar_mail(msg, "REQUEST", uid)
    assert int(ev["SEQUENCE"]) == sequence
    assert str(ev["ORGANIZER"]).lower() == f"mailto:{SECRETARY_EMAIL}"
    # Every invited unit is an attendee; one without an address gets a placeholder, no mail.
    assert _attendees(ev) == {
        f"mailto:{EMAILS['unit_a']}",
        f"mailto:{EMAILS['unit_b']}",
        f"mailto:unit-{no_address}@noemail.invalid",
    }
    assert _ics_attachment(msg).get_filename() == "invite.ics"

    rows = _outbox(app)
    assert len(rows) == 2
    assert all(r.status == MailStatus.SENT and r.sent_at and r.attempts == 1 for r in rows)
    assert {r.meeting_id for r in rows} == {meeting_id}


def test_reschedule_sends_update_then_cancel_sends_cancel(app, client, login_as, inbox, make_meeting):
    meeting_id = make_meeting()
    uid, _ = _meeting(app, meeting_id)
    login_as("secretary1")
    _publish(client, meeting_id)
    first = _check_calendar_mail(inbox.to(EMAILS["unit_a"])[0], "REQUEST", uid)
    inbox.clear()

    resp = client.post(
        f"/meetings/{meeting_id}/edit", data=_edit_form(app, meeting_id, start_time="15:00", end_time="17:00")
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert len(inbox.messages) == 2
    msg = inbox.to(EMAILS["unit_b"])[0]
    assert msg["Subject"].startswith("【会议变更】")
    assert "15:00—17:00" in msg.get_body(preferencelist=("plain",)).get_content()
    update_ev = _check_calendar_mail(msg, "REQUEST", uid)
    assert int(update_ev["SEQUENCE"]) > int(first["SEQUENCE"])
    assert update_ev.decoded("DTSTART").astimezone().hour != first.decoded("DTSTART").astimezone().hour
    inbox.clear()

    # Saving without a change of time, room or title sends nothing.
    resp = client.post(
        f"/meetings/{meeting_id}/edit", data=_edit_form(app, meeting_id, description="补充说明")
    )
    assert resp.status_code == 302
    assert inbox.messages == []

    resp = client.post(f"/meetings/{meeting_id}/cancel", data={"reason": "会议室临时检修"})
    assert resp.status_code == 302
    assert len(inbox.messages) == 2
    msg = inbox.to(EMAILS["unit_a"])[0]
    assert msg["Subject"].startswith("【会议取消】")
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "已取消" in text and "取消原因：会议室临时检修" in text
    assert _calendar_part(msg).get_content_type() == "text/calendar"
    cancel_ev = _check_calendar_mail(msg, "CANCEL", uid)
    assert str(cancel_ev["STATUS"]) == "CANCELLED"
    assert int(cancel_ev["SEQUENCE"]) > int(update_ev["SEQUENCE"])
    assert _ics_attachment(msg).get_filename() == "cancel.ics"
    assert all(r.status == MailStatus.SENT for r in _outbox(app))


def test_unit_removed_from_invitation_gets_its_own_cancel(
    app, client, login_as, inbox, mail_world, make_meeting
):
    meeting_id = make_meeting()
    uid, _ = _meeting(app, meeting_id)
    login_as("secretary1")
    _publish(client, meeting_id)
    inbox.clear()

    form = _edit_form(app, meeting_id, units=[str(mail_world.unit_a)], start_time="09:00", end_time="11:00")
    assert client.post(f"/meetings/{meeting_id}/edit", data=form).status_code == 302

    (removed,) = inbox.to(EMAILS["unit_b"])
    assert removed["Subject"].startswith("【取消邀请】")
    assert "不在以下联席会议的邀请名单中" in removed.get_body(preferencelist=("plain",)).get_content()
    ev = _check_calendar_mail(removed, "CANCEL", uid)
    assert str(ev["STATUS"]) == "CANCELLED"
    (update_msg,) = inbox.to(EMAILS["unit_a"])
    assert update_msg["Subject"].startswith("【会议变更】")
    ev = _check_calendar_mail(update_msg, "REQUEST", uid)
    assert _attendees(ev) == {f"mailto:{EMAILS['unit_a']}"}


def test_room_change_mails_the_new_room(app, client, login_as, inbox, mail_world, make_meeting):
    with app.app_context():
        room = Room(community_id=mail_world.community1, name="青年路社区党群服务中心二楼", capacity=20)
        db.session.add(room)
        db.session.commit()
        room_id = room.id
    meeting_id = make_meeting()
    login_as("secretary1")
    _publish(client, meeting_id)
    inbox.clear()

    form = _edit_form(app, meeting_id, room_id=str(room_id))
    assert client.post(f"/meetings/{meeting_id}/edit", data=form).status_code == 302

    msg = inbox.to(EMAILS["unit_a"])[0]
    assert "地点：青年路社区党群服务中心二楼" in msg.get_body(preferencelist=("plain",)).get_content()
    uid, _ = _meeting(app, meeting_id)
    ev = _check_calendar_mail(msg, "REQUEST", uid)
    assert "青年路社区党群服务中心二楼" in str(ev["LOCATION"])


def test_cancelling_a_draft_mails_nobody(app, client, login_as, inbox, make_meeting):
    meeting_id = make_meeting()
    login_as("secretary1")
    client.post(f"/meetings/{meeting_id}/cancel", data={"reason": "重复创建"})
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == MeetingStatus.CANCELLED
        assert count(OutboxMessage) == 0
    assert inbox.messages == []


# --- same transaction; no server ----------------------------------------------------------


def test_mail_is_rolled_back_with_the_change(app, client, login_as, inbox, make_meeting, monkeypatch):
    meeting_id = make_meeting()
    queue = mailer.queue_meeting_mail
    queued = []

    def queue_then_fail(*args, **kwargs):
        queued.append(queue(*args, **kwargs))
        assert count(OutboxMessage) == 2  # in the request's transaction
        raise MeetingError("模拟：排队之后出错")

    monkeypatch.setattr(mailer, "queue_meeting_mail", queue_then_fail)
    login_as("secretary1")
    resp = client.post(f"/meetings/{meeting_id}/publish", follow_redirects=True)

    assert "模拟：排队之后出错" in resp.get_data(as_text=True)
    assert queued == [2]
    with app.app_context():
        assert count(OutboxMessage) == 0
        assert db.session.get(Meeting, meeting_id).status == MeetingStatus.DRAFT
    assert inbox.messages == []


def test_without_mail_server_mail_waits_in_the_outbox(
    app, client, login_as, mail_world, smtp_server, make_meeting
):
    box, port = smtp_server
    assert not app.config.get("MAIL_SERVER")
    meeting_id = make_meeting()
    login_as("secretary1")

    resp = client.post(f"/meetings/{meeting_id}/publish", follow_redirects=True)

    assert resp.status_code == 200
    assert "会议已发布" in resp.get_data(as_text=True)
    rows = _outbox(app)
    assert len(rows) == 2
    assert all(r.status == MailStatus.QUEUED and r.attempts == 0 and r.sent_at is None for r in rows)
    assert _deliver(app) == (0, 0)  # nothing to send with
    login_as("admin")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "尚未配置邮件服务器" in page

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    assert _deliver(app) == (2, 0)
    assert len(box.messages) == 2
    assert all(r.status == MailStatus.SENT for r in _outbox(app))
    assert _deliver(app) == (0, 0)  # sent once only
    assert len(box.messages) == 2


# --- failure, backoff, retry --------------------------------------------------------------


def test_failed_delivery_is_retried_with_backoff(
    app, client, login_as, mail_world, smtp_server, make_meeting
):
    box, port = smtp_server
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port(), MAIL_DELIVERY="inline")
    meeting_id = make_meeting()
    login_as("secretary1")

    _publish(client, meeting_id)  # the request succeeds although the server is down

    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == MeetingStatus.SCHEDULED
    rows = _outbox(app)
    assert len(rows) == 2
    now = utcnow()
    for r in rows:
        assert r.status == MailStatus.QUEUED
        assert r.attempts == 1
        assert "Connection" in r.last_error or "refused" in r.last_error.lower()
        assert now + timedelta(seconds=100) < r.next_attempt_at < now + timedelta(seconds=130)

    app.config["MAIL_PORT"] = port
    assert _deliver(app) == (0, 0)  # not due yet
    assert box.messages == []

    _make_due(app)
    assert _deliver(app) == (2, 0)
    assert len(box.messages) == 2
    rows = _outbox(app)
    assert all(r.status == MailStatus.SENT and r.attempts == 2 and r.last_error == "" for r in rows)


def test_message_fails_after_max_attempts(app, client, login_as, mail_world, make_meeting):
    meeting_id = make_meeting(units=[mail_world.unit_a])
    login_as("secretary1")
    _publish(client, meeting_id)  # queued, no server yet
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port())

    delays = []
    for _ in range(mailer.MAX_ATTEMPTS - 1):
        _make_due(app)
        assert _deliver(app) == (0, 1)
        (row,) = _outbox(app)
        assert row.status == MailStatus.QUEUED
        delays.append(round((row.next_attempt_at - utcnow()).total_seconds() / 60))
    assert delays == [2, 4, 8, 16, 32, 64, 128]  # exponential backoff, in minutes

    _make_due(app)
    assert _deliver(app) == (0, 1)
    (row,) = _outbox(app)
    assert row.status == MailStatus.FAILED
    assert row.attempts == mailer.MAX_ATTEMPTS
    _make_due(app)
    assert _deliver(app) == (0, 0)  # a failed message is left alone


def test_claim_is_atomic(app, client, login_as, mail_world, make_meeting):
    meeting_id = make_meeting()
    login_as("secretary1")
    _publish(client, meeting_id)
    with app.app_context():
        first = mailer._claim(10)
    with app.app_context():
        second = mailer._claim(10)
    assert len(first) == 2 and second == []
    assert all(r.status == MailStatus.SENDING and r.claimed_at for r in _outbox(app))

    # A claim left by a sender that died is taken over after STALE_CLAIM, not before.
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(claimed_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
        assert mailer._claim(10) == []
        db.session.execute(
            update(OutboxMessage).values(claimed_at=utcnow() - mailer.STALE_CLAIM - timedelta(minutes=1))
        )
        db.session.commit()
        assert sorted(mailer._claim(10)) == sorted(first)


def test_claim_skips_what_another_sender_claimed_after_the_select(
    app, client, login_as, mail_world, make_meeting, monkeypatch
):
    meeting_id = make_meeting()
    login_as("secretary1")
    _publish(client, meeting_id)
    real_update = mailer.update
    interleaved = []

    def other_sender_claims_first(*args, **kwargs):
        # Another sender read the same due ids and claims them all before our UPDATE runs.
        if not interleaved:
            interleaved.append(
                db.session.execute(
                    real_update(OutboxMessage).values(status=MailStatus.SENDING, claimed_at=utcnow())
                ).rowcount
            )
        return real_update(*args, **kwargs)

    monkeypatch.setattr(mailer, "update", other_sender_claims_first)
    with app.app_context():
        assert mailer._claim(10) == []
    assert interleaved == [2]


def test_concurrent_senders_send_each_message_once(app, client, login_as, inbox, make_meeting):
    app.config["MAIL_SERVER"] = None  # queue only
    for days in (1, 2, 3):
        meeting_id = make_meeting(days=days)
        login_as("secretary1")
        _publish(client, meeting_id)
    app.config["MAIL_SERVER"] = "127.0.0.1"
    start = threading.Barrier(3, timeout=10)
    results, errors = [], []

    def sender():
        try:
            with app.app_context():
                start.wait()
                results.append(mailer.deliver_due())
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == []
    assert sum(sent for sent, _ in results) == 6
    assert sorted(r for rcpt, _ in inbox.received for r in rcpt) == sorted(
        [EMAILS["unit_a"], EMAILS["unit_b"]] * 3
    )
    assert all(r.status == MailStatus.SENT and r.attempts == 1 for r in _outbox(app))


# --- sender thread -------------------------------------------------------------------------


@pytest.fixture
def thread_app(app):
    """Leave no sender thread that could act for this app once the test is over."""
    yield app
    app.config["MAIL_SERVER"] = None


def test_sender_thread_delivers_after_commit(thread_app, client, login_as, inbox, make_meeting):
    app = thread_app
    app.config["MAIL_DELIVERY"] = "thread"
    meeting_id = make_meeting()
    login_as("secretary1")

    _publish(client, meeting_id)

    assert len(inbox.wait_for(2, timeout=5)) == 2
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(r.status != MailStatus.SENT for r in _outbox(app)):
        time.sleep(0.05)
    assert all(r.status == MailStatus.SENT for r in _outbox(app))


def test_waiting_mail_goes_out_without_new_mail(
    thread_app, client, login_as, mail_world, smtp_server, make_meeting
):
    """Mail queued before the server was configured (or before a restart) needs no new mail to go out."""
    box, port = smtp_server
    app = thread_app
    login_as("secretary1")
    _publish(client, make_meeting())  # no server: queued
    assert all(r.status == MailStatus.QUEUED for r in _outbox(app))

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DELIVERY="thread")
    assert client.get("/").status_code == 200  # any request starts this process's sender

    assert len(box.wait_for(2)) == 2


def test_each_app_has_its_own_sender_thread(thread_app, client, login_as, inbox, make_meeting, smtp_server):
    """A second app in the same process sends with its own settings, not the first app's."""
    from app import create_app

    app = thread_app
    app.config["MAIL_DELIVERY"] = "thread"
    login_as("secretary1")
    _publish(client, make_meeting())
    assert len(inbox.wait_for(2)) == 2

    other_box, other_port = _other = (Inbox(), _free_port())
    controller = Controller(other_box, hostname="127.0.0.1", port=other_port)
    controller.start()
    second = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": other_port,
            "MAIL_DEFAULT_SENDER": SENDER,
            "MAIL_DELIVERY": "thread",
        }
    )
    try:
        other_client = second.test_client()
        login_as("secretary1", the_client=other_client)
        meeting_id = make_meeting(days=2)
        assert other_client.post(f"/meetings/{meeting_id}/publish").status_code == 302
        assert len(other_box.wait_for(2)) == 2
        assert len(inbox.messages) == 2
    finally:
        second.config["MAIL_SERVER"] = None
        controller.stop()
        with second.app_context():
            db.engine.dispose()


# --- admin outbox --------------------------------------------------------------------------


def test_admin_outbox_lists_filters_and_retries(app, client, login_as, mail_world, smtp_server, make_meeting):
    box, port = smtp_server
    sent_id = make_meeting(title="已发送的会议", units=[mail_world.unit_a])
    failed_id = make_meeting(days=2, title="发送失败的会议", units=[mail_world.unit_b])
    login_as("secretary1")
    _publish(client, sent_id)
    _publish(client, failed_id)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    with app.app_context():
        failed = db.session.scalar(select(OutboxMessage).where(OutboxMessage.meeting_id == failed_id))
        failed.status, failed.attempts, failed.last_error = (
            MailStatus.FAILED,
            8,
            "ConnectionRefusedError: 拒绝连接",
        )
        failed_msg = failed.id
        db.session.commit()
        assert mailer.deliver_due() == (1, 0)

    # Only admins see and retry the outbox; nothing changes for anyone else.
    for user in ("secretary1", "liaison_a", "archivist"):
        login_as(user)
        assert client.get("/admin/outbox").status_code == 403
        assert client.post(f"/admin/outbox/{failed_msg}/retry").status_code == 403
    assert _outbox(app, OutboxMessage.id == failed_msg)[0].status == MailStatus.FAILED

    login_as("admin")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "【会议通知】已发送的会议" in page and "【会议通知】发送失败的会议" in page
    assert 'mail-sent">已发送' in page and 'mail-failed">发送失败' in page
    assert EMAILS["unit_a"] in page and "拒绝连接" in page
    assert "尚未配置邮件服务器" not in page
    page = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "发送失败的会议" in page and "已发送的会议" not in page
    page = client.get("/admin/outbox?status=sent").get_data(as_text=True)
    assert "已发送的会议" in page and "发送失败的会议" not in page
    page = client.get("/admin/outbox?status=queued").get_data(as_text=True)
    assert "没有邮件" in page

    app.config["MAIL_SERVER"] = None  # requeue only; the outbox shows it waiting
    resp = client.post(f"/admin/outbox/{failed_msg}/retry", follow_redirects=True)
    assert "已重新排队发送" in resp.get_data(as_text=True)
    (row,) = _outbox(app, OutboxMessage.id == failed_msg)
    assert row.status == MailStatus.QUEUED and row.next_attempt_at <= utcnow()
    assert 'mail-queued">待发送' in client.get("/admin/outbox?status=queued").get_data(as_text=True)

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_DELIVERY="inline")
    client.post(f"/admin/outbox/{failed_msg}/retry")  # sent before the response
    assert [m["To"].addresses[0].addr_spec for m in box.messages] == [EMAILS["unit_a"], EMAILS["unit_b"]]
    assert _outbox(app, OutboxMessage.id == failed_msg)[0].status == MailStatus.SENT

    # A sent message is not sent again.
    resp = client.post(f"/admin/outbox/{failed_msg}/retry", follow_redirects=True)
    assert "已经发送成功" in resp.get_data(as_text=True)
    assert len(box.messages) == 2
    assert client.post("/admin/outbox/999999/retry").status_code == 404
