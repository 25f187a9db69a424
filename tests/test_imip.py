"""Replies from calendar clients (iMIP, issue 11 point 4): the iTIP REPLY that Outlook or
Thunderbird sends when a liaison accepts, declines or delegates changes the unit's reply; one
from an address not invited, or not the attendee's, is refused. The replies are built with
vobject (not the icalendar library the app reads them with) and sent as those clients lay
out their mail; through the SMTP endpoint and from an IMAP mailbox too."""

from __future__ import annotations

import smtplib
import socket
from datetime import datetime
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

import pytest
import vobject
from dateutil import tz
from sqlalchemy import select

from cli.replies import make_controller
from models import AuditEvent, Invitation, Meeting, MeetingStatus, Reply, Unit, db
from services import imip

REPLY_TO = "replies@gongjian.example.cn"
OUTLOOK = "Microsoft Exchange Server 2010"
THUNDERBIRD = "-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN"


@pytest.fixture
def meeting(app, world, make_meeting):
    """A published meeting inviting units A and B, whose liaisons have addresses."""
    app.config["CALENDAR_REPLY_TO"] = REPLY_TO
    mid = make_meeting(days=5, status=MeetingStatus.SCHEDULED)
    with app.app_context():
        db.session.get(Unit, world.unit_a).liaison_email = "wanglh@school.example.cn"
        db.session.get(Unit, world.unit_b).liaison_email = "lijg@hospital.example.cn"
        db.session.commit()
        return db.session.get(Meeting, mid).uid, mid


def reply_ics(uid, attendee, partstat, prodid=OUTLOOK, comment=None, delegate=None) -> str:
    cal = vobject.iCalendar()
    cal.add("method").value = "REPLY"
    cal.add("prodid").value = prodid
    event = cal.add("vevent")
    event.add("uid").value = uid
    event.add("dtstamp").value = datetime.now(tz.tzutc())  # vobject names dateutil's UTC
    event.add("sequence").value = "1"
    event.add("summary").value = "已接受: 第四季度共驻共建联席会议"
    event.add("organizer").value = f"mailto:{REPLY_TO}"
    who = event.add("attendee")
    who.value = f"mailto:{attendee}"
    who.params["PARTSTAT"] = [partstat]
    who.params["CN"] = ["王丽华"]
    if delegate:
        who.params["DELEGATED-TO"] = [f"mailto:{delegate[1]}"]
        other = event.add("attendee")
        other.value = f"mailto:{delegate[1]}"
        other.params["DELEGATED-FROM"] = [f"mailto:{attendee}"]
        other.params["CN"] = [delegate[0]]
        other.params["PARTSTAT"] = ["NEEDS-ACTION"]
    if comment:
        event.add("comment").value = comment
    return cal.serialize()


def crlf(raw: bytes) -> bytes:
    """CRLF line ends, as mail clients send."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def outlook_mail(sender: str, ics: str) -> bytes:
    """Outlook: multipart/alternative, the reply inline as text/calendar; method=REPLY."""
    msg = MIMEMultipart("alternative")
    msg["From"] = formataddr(("王丽华", sender), charset="utf-8")
    msg["To"] = REPLY_TO
    msg["Subject"] = "已接受: 第四季度共驻共建联席会议"
    msg.attach(MIMEText("已接受", "plain", "utf-8"))
    part = MIMEText(ics, "calendar", "utf-8")
    part.set_param("method", "REPLY")
    msg.attach(part)
    return crlf(msg.as_bytes())


def thunderbird_mail(sender: str, ics: str) -> bytes:
    """Thunderbird: multipart/mixed, the reply also attached as invite.ics."""
    msg = MIMEMultipart("mixed")
    msg["From"] = sender
    msg["To"] = REPLY_TO
    msg["Subject"] = "已拒绝: 第四季度共驻共建联席会议"
    msg.attach(MIMEText("王丽华已拒绝您的邀请。", "plain", "utf-8"))
    part = MIMEText(ics, "calendar", "utf-8")
    part.set_param("method", "REPLY")
    part.add_header("Content-Disposition", "attachment", filename="invite.ics")
    msg.attach(part)
    return crlf(msg.as_bytes())


def _invitation(app, mid, unit_id) -> Invitation:
    with app.app_context():
        inv = db.session.scalar(
            select(Invitation).where(Invitation.meeting_id == mid, Invitation.unit_id == unit_id)
        )
        db.session.expunge(inv)
        return inv


def _apply(app, raw: bytes):
    with app.app_context():
        results = imip.apply_message(raw)
        db.session.commit()
        return results


def test_accept_decline_and_delegate_from_outlook_and_thunderbird(app, world, meeting):
    uid, mid = meeting
    results = _apply(
        app, outlook_mail("wanglh@school.example.cn", reply_ics(uid, "WangLH@school.example.cn", "ACCEPTED"))
    )
    assert [r.applied for r in results] == [True]
    assert _invitation(app, mid, world.unit_a).reply == Reply.ACCEPT
    results = _apply(
        app,
        thunderbird_mail(
            "lijg@hospital.example.cn",
            reply_ics(uid, "lijg@hospital.example.cn", "DECLINED", THUNDERBIRD, comment="当天有全院大会"),
        ),
    )
    assert results[0].applied
    inv = _invitation(app, mid, world.unit_b)
    assert (inv.reply, inv.reply_reason) == (Reply.DECLINE, "当天有全院大会")
    _apply(
        app,
        outlook_mail(
            "wanglh@school.example.cn",
            reply_ics(
                uid, "wanglh@school.example.cn", "DELEGATED", delegate=("赵老师", "zhao@school.example.cn")
            ),
        ),
    )
    inv = _invitation(app, mid, world.unit_a)
    assert (inv.reply, inv.delegate_name) == (Reply.DELEGATE, "赵老师")
    with app.app_context():
        summaries = db.session.scalars(
            select(AuditEvent.summary).where(AuditEvent.action == "calendar_reply")
        ).all()
    assert len(summaries) == 3 and "东大街第一小学通过日历客户端回复" in summaries[0]


@pytest.mark.parametrize(
    "case",
    ["stranger", "other sender", "unknown uid", "tentative", "a request", "no calendar"],
)
def test_replies_not_from_an_invited_attendee_are_refused_and_audited(app, world, meeting, case):
    uid, mid = meeting
    attendee = sender = "wanglh@school.example.cn"
    partstat = "ACCEPTED"
    if case == "stranger":
        attendee = sender = "someone@elsewhere.example.com"
    elif case == "other sender":
        sender = "someone@elsewhere.example.com"
    elif case == "unknown uid":
        uid = "no-such-meeting@gongjian"
    elif case == "tentative":
        partstat = "TENTATIVE"
    ics = reply_ics(uid, attendee, partstat)
    if case == "a request":
        ics = ics.replace("METHOD:REPLY", "METHOD:REQUEST")
    raw = outlook_mail(sender, ics)
    if case == "no calendar":
        msg = MIMEText("谢谢邀请", "plain", "utf-8")
        msg["From"] = sender
        raw = crlf(msg.as_bytes())
    results = _apply(app, raw)
    assert results and not any(r.applied for r in results)
    assert _invitation(app, mid, world.unit_a).reply == Reply.PENDING
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "calendar_reply_refused"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_smtp_endpoint_applies_a_reply_and_refuses_a_stranger(app, world, meeting):
    uid, mid = meeting
    port = _free_port()
    controller = make_controller(app, "127.0.0.1", port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.sendmail(
                "wanglh@school.example.cn",
                [REPLY_TO],
                outlook_mail(
                    "wanglh@school.example.cn", reply_ics(uid, "wanglh@school.example.cn", "ACCEPTED")
                ),
            )
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.sendmail(
                    "x@elsewhere.example.com",
                    [REPLY_TO],
                    outlook_mail(
                        "x@elsewhere.example.com", reply_ics(uid, "x@elsewhere.example.com", "ACCEPTED")
                    ),
                )
            assert refused.value.smtp_code == 550
    finally:
        controller.stop()
    assert _invitation(app, mid, world.unit_a).reply == Reply.ACCEPT


class FakeIMAP:
    """What imaplib.IMAP4 answers, for two unseen messages."""

    def __init__(self, messages: list[bytes]):
        self.messages = {str(n + 1).encode(): m for n, m in enumerate(messages)}
        self.seen: list[bytes] = []

    def select(self, folder):
        return "OK", [str(len(self.messages)).encode()]

    def search(self, charset, criterion):
        assert criterion == "UNSEEN"
        return "OK", [b" ".join(k for k in self.messages if k not in self.seen)]

    def fetch(self, number, parts):
        return "OK", [(number + b" (RFC822 {%d}" % len(self.messages[number]), self.messages[number]), b")"]

    def store(self, number, command, flags):
        self.seen.append(number)
        return "OK", [b""]


def test_fetch_replies_reads_the_unseen_messages_and_marks_them_seen(app, world, meeting):
    uid, mid = meeting
    client = FakeIMAP(
        [
            outlook_mail("wanglh@school.example.cn", reply_ics(uid, "wanglh@school.example.cn", "ACCEPTED")),
            outlook_mail("lijg@hospital.example.cn", reply_ics(uid, "lijg@hospital.example.cn", "DECLINED")),
        ]
    )
    with app.app_context():
        results = imip.fetch_replies(client)
        db.session.commit()
    assert [r.applied for r in results] == [True, True]
    assert client.seen == [b"1", b"2"]
    assert _invitation(app, mid, world.unit_b).reply == Reply.DECLINE


def test_invitations_name_the_reply_address_as_organizer(app, world, meeting, login_as, client):
    uid, mid = meeting
    login_as("secretary1")
    ics = client.get(f"/meetings/{mid}/invite.ics").get_data(as_text=True)
    cal = vobject.readOne(ics)
    assert cal.vevent.organizer.value.lower() == f"mailto:{REPLY_TO}"
