"""Mail through an outbox: queued in the request's transaction, sent after commit.

A message is a row in ``outbox_message`` written with the change that caused it,
so a rolled-back change sends nothing and a committed one is never lost. After
commit the request wakes its app's sender thread (or, with
``MAIL_DELIVERY = "inline"``, sends before the response); failures are retried
with exponential backoff. Without ``MAIL_SERVER`` messages simply wait.

The sender never holds a database transaction while it talks SMTP: it claims one message
in a short transaction (status SENDING, claimed_at as its lease), reads it, ends the
transaction, sends with a timeout, and records the outcome in another short transaction,
so a mail server that never answers cannot lock SQLite for everyone else.
"""

from __future__ import annotations

import base64
import logging
import math
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import and_, or_, select, update

from common.dates import SHANGHAI, format_month_day_time, format_range
from exports import ics
from models import Invitation, Meeting, MeetingPlace, OutboxMessage, Role, User, db
from models.base import utcnow
from models.enums import MailStatus
from services.calendar import cached_vevent, meeting_url, organizer_email

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A claim older than this is taken to be a sender that died; far above MAIL_TIMEOUT.
STALE_CLAIM = timedelta(minutes=10)
SENDER_NAME = "共建联席会议"

SUBJECTS = {
    "publish": "【会议通知】",
    "update": "【会议变更】",
    "cancel": "【会议取消】",
    "removed": "【取消邀请】",
}
INTROS = {
    "publish": "诚邀贵单位参加以下联席会议，请在系统中回复是否参加。",
    "update": "以下联席会议的时间、地点或议题有变更，请以本通知为准。",
    "cancel": "以下联席会议已取消，请从日程中删除。",
    "removed": "贵单位已不在以下联席会议的邀请名单中，请从日程中删除。",
}


# To the streets and communities a district or city meeting invites.
PLACE_INTROS = {
    "publish": "现通知贵处参加以下联席会议，请安排人员按时出席。",
    "update": "以下联席会议的时间、地点或议题有变更，请以本通知为准。",
    "cancel": "以下联席会议已取消，请从日程中删除。",
}


def _body(meeting: Meeting, kind: str, unit_name: str, url: str, intro: str | None = None) -> str:
    lines = [
        f"{unit_name}：",
        "",
        intro or INTROS[kind],
        "",
        f"会议名称：{meeting.title}",
        f"会议类型：{meeting.kind.label}",
        f"召集单位：{meeting.host_name}",
        f"时间：{format_range(meeting.start_at, meeting.end_at)}",
        f"地点：{meeting.room.name}" + (f"（{meeting.room.address}）" if meeting.room.address else ""),
    ]
    if kind == "cancel" and meeting.cancel_reason:
        lines.append(f"取消原因：{meeting.cancel_reason}")
    if meeting.agenda_items and kind in ("publish", "update"):
        lines += ["", "议程："]
        lines += [f"{n}. {item.title}" for n, item in enumerate(meeting.agenda_items, start=1)]
    lines += ["", f"会议页面：{url}", "", f"{meeting.host_name}", "（本邮件由共建联席会议系统发送）"]
    return "\n".join(lines)


def queue_meeting_mail(meeting: Meeting, invitations: Iterable[Invitation], kind: str) -> int:
    """Queue the invite (REQUEST) or CANCEL for each invited liaison that has an address."""
    invitations = [inv for inv in invitations if inv.unit.liaison_email.strip()]
    if not invitations:
        return 0
    url = meeting_url(meeting)
    if kind == "removed":
        method = "CANCEL"
    else:
        method = "CANCEL" if kind == "cancel" else "REQUEST"
        shared = cached_vevent(meeting)
    for inv in invitations:
        unit = inv.unit
        # Each liaison's copy lists only their own unit: no other unit's address leaks.
        body_ics = (
            ics.removal_cancel_ics(meeting, inv, url, organizer_email(meeting))
            if kind == "removed"
            else ics.invite_ics(meeting, ics.keep_attendees(shared, ics.attendee_address(inv)))
        ).decode()
        db.session.add(
            OutboxMessage(
                to_addr=unit.liaison_email.strip(),
                to_name=unit.liaison_name or unit.name,
                subject=f"{SUBJECTS[kind]}{meeting.title}（{format_month_day_time(meeting.start_at)}）",
                body_text=_body(meeting, kind, unit.name, url),
                ics_method=method,
                ics_body=body_ics,
                meeting_id=meeting.id,
            )
        )
    note_pending()
    return len(invitations)


def queue_place_mail(meeting: Meeting, kind: str, places: Iterable[MeetingPlace] | None = None) -> int:
    """Tell the streets and communities a meeting invites (all, or these `places`: their admins
    and secretaries with an address) that it is published, changed or cancelled: a notice, not
    an invite, for they answer through their units or in person, not as calendar attendees."""
    places = list(meeting.invited_places if places is None else places)
    street_ids = {p.street_id for p in places if p.street_id}
    community_ids = {p.community_id for p in places if p.community_id}
    if not (street_ids or community_ids):
        return 0
    staff = db.session.scalars(
        select(User)
        .where(
            User.active.is_(True),
            User.email != "",
            or_(
                and_(User.role == Role.ADMIN, User.street_id.in_(street_ids)),
                and_(User.role == Role.SECRETARY, User.community_id.in_(community_ids)),
            ),
        )
        .order_by(User.id)
    ).all()
    url = meeting_url(meeting)
    for user in staff:
        place = user.community.name if user.role == Role.SECRETARY else user.street.name
        db.session.add(
            OutboxMessage(
                to_addr=user.email.strip(),
                to_name=user.display_name,
                subject=f"{SUBJECTS[kind]}{meeting.title}（{format_month_day_time(meeting.start_at)}）",
                body_text=_body(meeting, kind, place, url, PLACE_INTROS[kind]),
                meeting_id=meeting.id,
            )
        )
    if staff:
        note_pending()
    return len(staff)


def note_pending() -> None:
    """Tell the web layer that this request queued mail (it sends or wakes the sender after it)."""
    if has_app_context():
        g.mail_pending = True


# --- the MIME message ------------------------------------------------------------------
#
# RFC 2047 allows encoded words of at most 75 characters, on lines of at most 76. Python's
# email package writes 76-character words for long non-ASCII subjects and display names
# (strict parsers and some gateways reject or mangle them), so those headers are folded
# here and every other header by the email package.

_EW_PREFIX, _EW_SUFFIX = "=?utf-8?b?", "?="
EW_MAX = 75
EW_LINE_MAX = 76


def _ew_length(octets: int) -> int:
    return len(_EW_PREFIX) + 4 * math.ceil(octets / 3) + len(_EW_SUFFIX)


def encoded_words(text: str, first_max: int = EW_MAX) -> list[str]:
    """Base64 encoded words of at most 75 characters (the first at most first_max) for text.

    Words end only between characters, as RFC 2047 requires.
    """
    words: list[str] = []
    chunk = b""
    limit = min(first_max, EW_MAX)
    for char in text:
        octets = char.encode()
        if chunk and _ew_length(len(chunk) + len(octets)) > limit:
            words.append(_EW_PREFIX + base64.b64encode(chunk).decode() + _EW_SUFFIX)
            chunk, limit = b"", EW_MAX
        chunk += octets
    if chunk:
        words.append(_EW_PREFIX + base64.b64encode(chunk).decode() + _EW_SUFFIX)
    return words


def _layout(name: str, pieces: list[tuple[bool, str]], linesep: str) -> str:
    """Fold a header from pieces (encode?, text): encoded words one a line after the first."""
    lines = [f"{name}:"]
    for encode, text in pieces:
        if not encode:
            if len(lines[-1]) + 1 + len(text) > EW_LINE_MAX and lines[-1] != f"{name}:":
                lines.append("")
            lines[-1] += " " + text
            continue
        room = EW_LINE_MAX - len(lines[-1]) - 1
        if room < 24:  # not even a few characters fit: start the words on a new line
            lines.append("")
            room = EW_MAX
        for n, word in enumerate(encoded_words(text, room)):
            if n:
                lines.append("")
            lines[-1] += " " + word
    return linesep.join(lines) + linesep


def _fold_rfc2047(name: str, value, linesep: str) -> str | None:
    """Subject, From and To with non-ASCII text as short encoded words; None: not ours to fold."""
    if str(value).isascii():
        return None
    key = name.lower()
    if key == "subject":
        return _layout(name, [(True, str(value))], linesep)
    if key not in ("from", "to") or not getattr(value, "addresses", None):
        return None
    pieces: list[tuple[bool, str]] = []
    addresses = value.addresses
    for n, address in enumerate(addresses):
        if not address.addr_spec.isascii():
            return None  # an internationalised address needs SMTPUTF8, not encoded words
        comma = "," if n < len(addresses) - 1 else ""
        angle = f"<{address.addr_spec}>{comma}"
        if not address.display_name:
            pieces.append((False, angle))
        elif address.display_name.isascii():
            pieces.append((False, formataddr((address.display_name, address.addr_spec)) + comma))
        else:
            pieces += [(True, address.display_name), (False, angle)]
    return _layout(name, pieces, linesep)


class MailPolicy(EmailPolicy):
    """The email package's SMTP policy with RFC 2047-conformant Subject, From and To."""

    def fold(self, name, value):
        return _fold_rfc2047(name, value, self.linesep) or super().fold(name, value)

    def fold_binary(self, name, value):
        folded = _fold_rfc2047(name, value, self.linesep)
        return folded.encode("ascii") if folded else super().fold_binary(name, value)


MAIL_POLICY = MailPolicy(linesep="\r\n")


def sender_address(configured: str) -> Address:
    """MAIL_DEFAULT_SENDER ("名称 <address>" or a bare address) as the From address."""
    name, addr = parseaddr(configured)
    return Address(display_name=name or SENDER_NAME, addr_spec=addr or configured)


def build_message(msg: OutboxMessage, sender: str) -> EmailMessage:
    """The MIME message: text, a text/calendar part clients act on, and the .ics attached."""
    email = EmailMessage(policy=MAIL_POLICY)
    from_address = sender_address(sender)
    email["Subject"] = msg.subject
    email["From"] = from_address
    email["To"] = Address(display_name=msg.to_name, addr_spec=msg.to_addr)
    # When the change that caused the mail was made, in Beijing time.
    email["Date"] = format_datetime((msg.created_at or utcnow()).astimezone(SHANGHAI))
    email["Message-ID"] = make_msgid(domain=from_address.domain or "gongjian")
    email.set_content(msg.body_text, charset="utf-8")
    if msg.ics_body:
        email.add_alternative(
            msg.ics_body.encode(),
            maintype="text",
            subtype="calendar",
            params={"method": msg.ics_method or "REQUEST", "charset": "utf-8"},
        )
        email.add_attachment(
            msg.ics_body.encode(),
            maintype="application",
            subtype="ics",
            filename="invite.ics" if msg.ics_method == "REQUEST" else "cancel.ics",
        )
    return email


def _smtp_send(email: EmailMessage) -> None:
    cfg = current_app.config
    host, port = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"])
    timeout = cfg.get("MAIL_TIMEOUT", 20)
    if cfg.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        smtp.send_message(email)


def _claim(limit: int) -> list[tuple[int, datetime]]:
    """Mark up to `limit` due messages SENDING in one short transaction; (id, lease) each.

    On PostgreSQL the due rows are locked with FOR UPDATE SKIP LOCKED: senders in other
    processes or on other servers sharing the database each take different messages at
    once, instead of all reading the same oldest ids and then waiting on one another's row
    locks only to lose them. SQLite ignores the clause (it has one writer at a time). The
    conditional UPDATE still lets one sender win each message, however many run at once;
    claimed_at is the lease: only the claim that still holds it may record the outcome.
    """
    now = utcnow()
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            or_(
                (OutboxMessage.status == MailStatus.QUEUED) & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == MailStatus.SENDING) & (OutboxMessage.claimed_at < now - STALE_CLAIM),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for msg_id in ids:
        result = db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == msg_id,
                or_(
                    OutboxMessage.status == MailStatus.QUEUED,
                    (OutboxMessage.status == MailStatus.SENDING)
                    & (OutboxMessage.claimed_at < now - STALE_CLAIM),
                ),
            )
            .values(status=MailStatus.SENDING, claimed_at=now)
        )
        if result.rowcount == 1:
            claimed.append((msg_id, now))
    db.session.commit()
    return claimed


def _prepare(msg_id: int, sender: str) -> tuple[EmailMessage | None, str]:
    """Read a claimed message and build it; the read transaction ends before any SMTP."""
    msg = db.session.get(OutboxMessage, msg_id)
    try:
        return build_message(msg, sender), msg.to_addr
    except (MessageError, ValueError, IndexError) as exc:  # an address no header can hold
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        db.session.commit()


def _record(msg_id: int, lease: datetime, error: str | None, permanent: bool = False) -> bool:
    """Record one attempt in a short transaction, if this sender's claim still holds."""
    msg = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == msg_id).with_for_update())
    if msg is None or msg.status != MailStatus.SENDING or msg.claimed_at != lease:
        db.session.commit()
        log.warning("mail %s: claim lost to another sender; its outcome is not recorded", msg_id)
        return False
    msg.attempts += 1
    if error is None:
        msg.status = MailStatus.SENT
        msg.sent_at = utcnow()
        msg.last_error = ""
    else:
        msg.last_error = error[:1000]
        if permanent or msg.attempts >= MAX_ATTEMPTS:
            msg.status = MailStatus.FAILED
        else:
            msg.status = MailStatus.QUEUED
            msg.next_attempt_at = utcnow() + timedelta(minutes=min(2**msg.attempts, 360))
    db.session.commit()
    return True


def deliver_due(limit: int = 100) -> tuple[int, int]:
    """Send the due messages of the outbox; returns (sent, failed). Commits its own work.

    One message at a time: claim (short transaction), read, send with no transaction
    open, record (short transaction).
    """
    if not current_app.config.get("MAIL_SERVER"):
        return 0, 0
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    sent = failed = 0
    for _ in range(limit):
        claimed = _claim(1)
        if not claimed:
            break
        ((msg_id, lease),) = claimed
        email, to_addr = _prepare(msg_id, sender)
        if email is None:
            _record(msg_id, lease, to_addr, permanent=True)
            failed += 1
            log.warning("mail %s cannot be built: %s", msg_id, to_addr)
            continue
        try:
            _smtp_send(email)
        except (OSError, smtplib.SMTPException) as exc:
            _record(msg_id, lease, f"{type(exc).__name__}: {exc}")
            failed += 1
            log.warning("mail %s to %s failed: %s", msg_id, to_addr, exc)
        else:
            _record(msg_id, lease, None)
            sent += 1
    return sent, failed


def retry(msg: OutboxMessage) -> None:
    """Put a failed or waiting message back at the head of the queue."""
    msg.status = MailStatus.QUEUED
    msg.next_attempt_at = utcnow()
    note_pending()


def check_sender(app: Flask) -> None:
    """Warn at start-up when the From address would fail the app's own e-mail validation."""
    from email_validator import EmailNotValidError, validate_email

    configured = app.config["MAIL_DEFAULT_SENDER"]
    try:
        validate_email(sender_address(configured).addr_spec, check_deliverability=False)
    except (EmailNotValidError, ValueError, IndexError) as exc:
        app.logger.warning(
            "MAIL_DEFAULT_SENDER %r is not a valid address (%s): mail servers may refuse it.", configured, exc
        )


# --- what became of a change's mail, for the message its author sees -------------------


@dataclass(frozen=True)
class MailOutcome:
    """The mail a change queued for one meeting, after the change's commit."""

    queued: int  # messages the change queued
    sent: int  # of them, already sent (known only with inline delivery)
    failed: int  # of them, refused by the mail server just now (retried later)
    waiting: str  # why the rest wait: "no_server", "off", "thread" (sent in the background), or ""


def outbox_mark() -> int:
    """The newest outbox id: messages a change queues after this call have larger ids."""
    return db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) or 0


def delivery_outcome(meeting_id: int, after_id: int) -> MailOutcome:
    """After the commit, what became of the meeting's messages queued since `after_id`.

    With inline delivery they are sent now, so the answer is known. The sender thread
    sends after the response, so they are only queued; without a mail server, or with
    delivery off, they wait in the outbox.
    """
    mine = select(OutboxMessage.status).where(
        OutboxMessage.meeting_id == meeting_id, OutboxMessage.id > after_id
    )
    queued = len(db.session.scalars(mine).all())
    cfg = current_app.config
    mode = cfg.get("MAIL_DELIVERY", "thread")
    if not queued:
        return MailOutcome(0, 0, 0, "")
    if not cfg.get("MAIL_SERVER"):
        return MailOutcome(queued, 0, 0, "no_server")
    if mode == "inline":
        g.pop("mail_pending", None)  # sent here, not again after the request
        deliver_due()
        statuses = db.session.scalars(mine).all()
        sent = sum(1 for s in statuses if s == MailStatus.SENT)
        return MailOutcome(queued, sent, queued - sent, "")
    return MailOutcome(queued, 0, 0, "off" if mode == "off" else "thread")
