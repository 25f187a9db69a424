"""Email through the outbox, sent to a real SMTP server on loopback (aiosmtpd).

What arrives is parsed back with Python's email package, as a mail client would.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
import socket
import threading
import time
from datetime import timedelta

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from models import Meeting, MeetingStatus, OutboxMessage, Room, Unit, User, db
from models.base import utcnow
from models.enums import MailStatus
from models.meeting import MeetingError
from services import mail as mailer
from tests.conftest import count

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
        self.raw: list[bytes] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append((list(envelope.rcpt_tos), msg))
            self.raw.append(envelope.original_content or envelope.content)
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
            self.raw.clear()


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
    (sender,) = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("共建联席会议", SENDER)
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
    # Each liaison's copy lists only their own unit: no other unit's address is disclosed.
    assert _attendees(ev) == {f"mailto:{EMAILS['unit_a']}"}
    other = _check_calendar_mail(inbox.to(EMAILS["unit_b"])[0], "REQUEST", uid)
    assert _attendees(other) == {f"mailto:{EMAILS['unit_b']}"}
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
        first = [msg_id for msg_id, _ in mailer._claim(10)]
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
        assert sorted(msg_id for msg_id, _ in mailer._claim(10)) == sorted(first)


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


def test_claim_passes_over_a_message_another_sender_holds(
    app, client, login_as, mail_world, make_meeting, postgres
):
    """PostgreSQL: a sender on another server holding the oldest message neither stalls nor
    duplicates this one's claim; it takes the next message at once (FOR UPDATE SKIP LOCKED)."""
    if postgres is None:
        pytest.skip("row locks are PostgreSQL's; SQLite lets one writer in at a time")
    meeting_id = make_meeting()
    login_as("secretary1")
    _publish(client, meeting_id)
    first, second = (r.id for r in _outbox(app))
    with app.app_context():
        other = Session(db.engine)  # another sender's connection, in the middle of its claim
        try:
            other.execute(select(OutboxMessage.id).where(OutboxMessage.id == first).with_for_update())
            # Without SKIP LOCKED this claim would wait for the other sender: fail fast instead.
            db.session.execute(text("SET LOCAL lock_timeout = '3s'"))
            claimed = mailer._claim(1)
        finally:
            other.rollback()
            other.close()
    assert [msg_id for msg_id, _ in claimed] == [second]
    assert [r.status for r in _outbox(app)] == [MailStatus.QUEUED, MailStatus.SENDING]


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


# --- headers as strict readers see them (RFC 5322, RFC 2047) ---------------------------------

ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
LONG_TITLE = "关于召开东大街街道二〇二六年第四季度驻区单位党建工作共驻共建联席会议暨年度考核推进会的通知"


def _header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def _check_header_block(raw: bytes) -> None:
    head = _header_block(raw)
    assert head.isascii()
    for word in ENCODED_WORD.findall(head):
        assert len(word) <= 75, word  # RFC 2047 section 2
    for line in head.split(b"\r\n"):
        if b"=?" in line:
            assert len(line) <= 76, line  # a line holding encoded words
        assert len(line) <= 78, line


def test_headers_stay_within_rfc_2047_and_read_back_in_two_parsers(
    app, client, login_as, inbox, mail_world, make_meeting, make_unit
):
    import fast_mail_parser  # the Rust mailparse crate: a reader independent of Python's

    sender_name = "东大街街道党工委共建联席会议办公室"
    app.config["MAIL_DEFAULT_SENDER"] = f"{sender_name} <{SENDER}>"
    bank = make_unit(
        name="中国工商银行股份有限公司东大街街道支行营业部",
        liaison_name="欧阳晓明（办公室主任兼党建共建联络员）",
        liaison_email="ouyang@bank.example",
    )
    meeting_id = make_meeting(title=LONG_TITLE, units=[bank, mail_world.unit_a])
    login_as("secretary1")
    _publish(client, meeting_id)
    assert len(inbox.raw) == 2
    rows = {r.to_addr: r for r in _outbox(app)}

    for raw in inbox.raw:
        _check_header_block(raw)
        # Python's email package in its strict policy raises on any defect.
        msg = email.message_from_bytes(raw, policy=email.policy.strict)
        (to,) = msg["To"].addresses
        row = rows[to.addr_spec]
        assert str(msg["Subject"]) == row.subject and LONG_TITLE in row.subject
        (sender,) = msg["From"].addresses
        assert sender.addr_spec == SENDER
        # CPython puts a space between adjacent encoded words in a display name (RFC 2047
        # 6.2 says to ignore it); the characters themselves must all come back.
        assert sender.display_name.replace(" ", "") == sender_name
        assert to.display_name.replace(" ", "") == row.to_name
        # Every mail carries Date: when the change was queued, in Beijing time.
        date = msg["Date"].datetime
        assert date.utcoffset() == timedelta(hours=8)
        assert abs(date - row.created_at) < timedelta(seconds=1)
        assert msg["Message-ID"] and msg["MIME-Version"] == "1.0"
        (attachment,) = msg.iter_attachments()
        assert attachment.get_filename() == "invite.ics"

        # The second reader decodes the very same words exactly.
        parsed = fast_mail_parser.parse_email(raw)
        assert parsed.subject == row.subject
        assert parsed.headers["From"] == [f"{sender_name} <{SENDER}>"]
        assert parsed.headers["To"] == [f"{row.to_name} <{row.to_addr}>"]
        assert parsed.date and parsed.headers["Date"] == [msg["Date"]]
        # It lists the text/calendar alternative as an unnamed part, the .ics by its name.
        assert [a.filename for a in parsed.attachments if a.filename] == ["invite.ics"]

    by_bank = rows["ouyang@bank.example"]
    assert by_bank.to_name == "欧阳晓明（办公室主任兼党建共建联络员）"


def test_every_kind_of_mail_has_a_date_and_short_encoded_words(
    app, client, login_as, inbox, mail_world, make_meeting, runner
):
    """Invites, cancellations and the daily reminders alike."""
    from datetime import date

    from models import Action

    meeting_id = make_meeting(title=LONG_TITLE)
    login_as("secretary1")
    _publish(client, meeting_id)
    client.post(f"/meetings/{meeting_id}/cancel", data={"reason": "因故取消" * 20})
    with app.app_context():
        db.session.add(
            Action(
                meeting_id=meeting_id,
                street_id=mail_world.street,
                community_id=mail_world.community1,
                title="组织辖区驻区单位开展冬季消防安全联合检查并形成整改清单" * 2,
                lead_unit_id=mail_world.unit_a,
                due_on=date.today(),
            )
        )
        db.session.commit()
    result = runner.invoke(args=["remind"])
    assert result.exit_code == 0, result.output
    subjects = [str(m["Subject"]) for m in inbox.messages]
    assert sum(s.startswith("【会议通知】") for s in subjects) == 2
    assert sum(s.startswith("【会议取消】") for s in subjects) == 2
    assert sum(s.startswith("【议定事项提醒】") for s in subjects) == 1
    for raw in inbox.raw:
        _check_header_block(raw)
        msg = email.message_from_bytes(raw, policy=email.policy.strict)
        assert msg["Date"].datetime.utcoffset() == timedelta(hours=8)


def test_default_sender_passes_the_apps_own_email_validation(tmp_path):
    from email_validator import validate_email

    from config import Defaults

    name, addr = email.utils.parseaddr(Defaults.MAIL_DEFAULT_SENDER)
    assert validate_email(addr, check_deliverability=False).normalized == addr
    assert mailer.sender_address(Defaults.MAIL_DEFAULT_SENDER).display_name == "共建联席会议"


class _FormValues(__import__("html.parser").parser.HTMLParser):
    """The values a browser would submit for the POST form whose action is `action`."""

    def __init__(self, action: str):
        super().__init__()
        self.action = action
        self.values: dict[str, list[str]] = {}
        self._select = self._textarea = None
        self._done = self._in_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._done:
            return
        if (
            tag == "form"
            and a.get("method", "").lower() == "post"
            and a.get("action", self.action) == self.action
        ):
            self._in_form = True
        if not self._in_form or "name" not in a and tag in ("input", "select", "textarea"):
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "file", "checkbox", "radio"):
            self.values.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "input" and a.get("type") in ("checkbox", "radio") and "checked" in a:
            self.values.setdefault(a["name"], []).append(a.get("value", "y"))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.values.setdefault(self._select, []).append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values.setdefault(self._textarea, []).append("")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea][-1] += data


def test_demo_liaison_saves_their_unit_profile_with_the_demo_address(app, client, login_as, seeded_demo):
    from email_validator import validate_email

    password = seeded_demo.password
    with app.app_context():
        addresses = [e for e in db.session.scalars(select(Unit.liaison_email)) if e]
        addresses += [e for e in db.session.scalars(select(User.email)) if e]
        liaison = db.session.scalar(select(User).where(User.username == "liaison1"))
        unit_id, unit_email = liaison.unit_id, liaison.unit.liaison_email
    assert len(addresses) > 30
    for addr in addresses:  # what the unit and user forms accept
        validate_email(addr, check_deliverability=False)

    login_as("liaison1", password=password)
    form = _FormValues(f"/units/{unit_id}/edit")
    form.feed(client.get(f"/units/{unit_id}/edit").get_data(as_text=True))
    assert form.values["liaison_email"] == [unit_email]
    resp = client.post(f"/units/{unit_id}/edit", data=form.values)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
    with app.app_context():
        assert db.session.get(Unit, unit_id).liaison_email == unit_email


def test_seed_demo_moves_old_demo_addresses_to_valid_ones(app, seeded_demo):
    from demo import seed_demo

    password = seeded_demo.password
    with app.app_context():
        unit = db.session.scalar(select(Unit).order_by(Unit.id))
        user = db.session.scalar(select(User).where(User.username == "secretary1"))
        unit.liaison_email, user.email = "liaison1@demo.gongjian.local", "secretary1@demo.gongjian.local"
        db.session.commit()
        seed_demo(password, app.config["SECRET_KEY"])
        db.session.commit()
        assert db.session.get(Unit, unit.id).liaison_email == "liaison1@danwei.example.gov.cn"
        assert db.session.get(User, user.id).email == "secretary1@dongdajie.example.gov.cn"


# --- a mail server that accepts and never answers -----------------------------------------------


class SilentServer:
    """Accepts SMTP connections and never greets, until released."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.accepted = threading.Event()
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)
            self.accepted.set()

    def close(self):
        """Stop listening and drop every connection (the sender sees the server go away)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.listener.close()
        for conn in self.connections:
            conn.close()


def test_a_mail_server_that_never_answers_blocks_no_one(
    thread_app, client, login_as, mail_world, make_meeting
):
    app = thread_app
    silent = SilentServer()
    try:
        # A long SMTP timeout: the sender stays stuck in the greeting for the whole test.
        app.config.update(
            MAIL_SERVER="127.0.0.1", MAIL_PORT=silent.port, MAIL_DELIVERY="thread", MAIL_TIMEOUT=300
        )
        meeting_id = make_meeting()
        login_as("secretary1")
        _publish(client, meeting_id)  # wakes the real sender thread
        assert silent.accepted.wait(timeout=20), "the sender never connected"
        assert any(r.status == MailStatus.SENDING for r in _outbox(app))

        # Meanwhile everyone else writes: logins (login attempt, audit), a reply, a topic.
        liaison = app.test_client()
        login_as("liaison_a", the_client=liaison)
        resp = liaison.post(f"/meetings/{meeting_id}/reply", data={"reply": "accept"})
        assert resp.status_code == 302
        wrong = app.test_client().post("/login", data={"username": "admin", "password": "错误的口令"})
        assert wrong.status_code == 200 and "用户名或密码错误" in wrong.get_data(as_text=True)
        login_as("admin", the_client=app.test_client())
        with app.app_context():
            from models import Invitation, Reply

            reply = db.session.scalar(
                select(Invitation.reply).where(
                    Invitation.meeting_id == meeting_id, Invitation.unit_id == mail_world.unit_a
                )
            )
            assert reply == Reply.ACCEPT
        # The sender is still waiting for the greeting; no message was sent or given up.
        rows = _outbox(app)
        assert sorted(r.status for r in rows) == sorted([MailStatus.SENDING, MailStatus.QUEUED])
        assert all(r.attempts == 0 for r in rows)
    finally:
        app.config["MAIL_PORT"] = _free_port()  # nothing listens: the next try fails at once
        silent.close()

    # Released, the sender records the failure in a short transaction and moves on. Between
    # one message and the next nothing is being sent: wait until each has been tried once.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(
        r.status == MailStatus.SENDING or r.attempts == 0 for r in _outbox(app)
    ):
        time.sleep(0.05)
    rows = _outbox(app)
    assert all(r.status == MailStatus.QUEUED and r.attempts == 1 for r in rows), [
        (r.status, r.attempts, r.last_error) for r in rows
    ]
    assert any("SMTPServerDisconnected" in r.last_error or "Connection" in r.last_error for r in rows)


def test_a_stopped_sender_thread_takes_no_more_mail(app, world):
    """An app done with stops its sender: left polling, a finished test's thread took the next
    test's mail from the shared database and sent it to its own, long gone server."""
    from web import mail as web_mail

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_DELIVERY="thread", MAIL_POLL_SECONDS=0.05)
    web_mail.wake(app)
    thread = app.extensions["gongjian_mailer"]["thread"]
    assert thread.is_alive()
    assert web_mail.stop(app, timeout=10) and not thread.is_alive()
    with app.app_context():
        db.session.add(OutboxMessage(to_addr="a@example.org", subject="测试", body_text="正文"))
        db.session.commit()
    time.sleep(0.3)  # six polls of a thread that would still be running
    (row,) = _outbox(app)
    assert (row.status, row.attempts) == (MailStatus.QUEUED, 0)
    web_mail.wake(app)  # the next request that queues mail starts a new sender
    assert app.extensions["gongjian_mailer"]["thread"].is_alive()
