"""Replies from calendar clients (iMIP, RFC 6047): an iTIP REPLY that Outlook, Thunderbird or
Apple Calendar sends when a liaison accepts, declines or delegates the invitation changes
their unit's reply in Gongjian.

Invitations name the configured CALENDAR_REPLY_TO as their ORGANIZER (services.calendar), so
the clients' replies reach that mailbox; `flask receive-mail` takes them as an SMTP or LMTP
endpoint, `flask fetch-replies` polls the mailbox over IMAP. A reply is matched by the
event's UID (the meeting) and the ATTENDEE address (an invited unit's liaison); a reply
whose attendee is not invited, or whose sender is not that attendee, is refused. Each reply,
applied or refused, is recorded in the audit log. Never commits.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.utils import parseaddr

from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import Invitation, Meeting, Reply, Role, User, db
from models.base import RuleError
from services import audit
from services import meetings as meeting_svc

PARTSTATS = {"ACCEPTED": Reply.ACCEPT, "DECLINED": Reply.DECLINE, "DELEGATED": Reply.DELEGATE}
# The largest message read: a calendar reply is a few kilobytes.
MAX_MESSAGE = 2 * 1024 * 1024


@dataclass
class ReplyResult:
    applied: bool
    message: str  # in Chinese: what was done, or why not
    meeting_id: int | None = None
    unit_id: int | None = None


def _address(value) -> str:
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip().lower()


def _sender(message) -> str:
    """The From address (the header registry parses non-ASCII display names)."""
    header = message.get("From")
    addresses = getattr(header, "addresses", ()) if header is not None else ()
    if addresses:
        return _address(addresses[0].addr_spec)
    return _address(parseaddr(str(header or ""))[1])


def calendar_parts(message) -> list[bytes]:
    """The text/calendar parts of a message (inline, as Outlook sends them, or attached)."""
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = (part.get_filename() or "").lower()
        if part.get_content_type() in ("text/calendar", "application/ics") or filename.endswith(".ics"):
            payload = part.get_payload(decode=True)
            if payload:
                parts.append(payload)
    return parts


def apply_message(raw: bytes) -> list[ReplyResult]:
    """Apply every iTIP REPLY found in a mail message; record each outcome in the audit log."""
    if len(raw) > MAX_MESSAGE:
        return [_refuse("邮件过大，不是日历回复。")]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    sender = _sender(message)
    parts = calendar_parts(message)
    if not parts:
        return [_refuse(f"来自 {sender or '未知发件人'} 的邮件中没有日历回复。")]
    results = []
    for data in parts:
        try:
            calendar = Calendar.from_ical(data)
        except ValueError:
            results.append(_refuse(f"来自 {sender} 的日历内容无法解析。"))
            continue
        if str(calendar.get("METHOD", "")).upper() != "REPLY":
            results.append(_refuse(f"来自 {sender} 的日历不是回复（METHOD:REPLY）。"))
            continue
        for event in calendar.walk("VEVENT"):
            results.append(_apply_event(event, sender))
    return results


def _refuse(message: str, meeting_id: int | None = None, unit_id: int | None = None) -> ReplyResult:
    audit.record("calendar_reply_refused", summary=message[:500], actor_name="日历回复")
    return ReplyResult(False, message, meeting_id, unit_id)


def _apply_event(event, sender: str) -> ReplyResult:
    uid = str(event.get("UID", "")).strip()
    meeting = (
        db.session.scalar(
            select(Meeting)
            .where(Meeting.uid == uid)
            .options(joinedload(Meeting.invitations).joinedload(Invitation.unit))
            .with_for_update(of=Meeting)
        )
        if uid
        else None
    )
    if meeting is None:
        return _refuse(f"来自 {sender} 的日历回复对应的会议不存在（UID {uid[:80]}）。")
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return _refuse(f"来自 {sender} 对“{meeting.title}”的日历回复没有参会人。", meeting.id)
    if not isinstance(attendees, list):
        attendees = [attendees]
    invited = {
        inv.unit.liaison_email.strip().lower(): inv
        for inv in meeting.invitations
        if inv.unit.liaison_email.strip()
    }
    # The one replying: a delegate added by the reply carries DELEGATED-FROM.
    replying = [a for a in attendees if not a.params.get("DELEGATED-FROM")]
    if not replying:
        return _refuse(f"来自 {sender} 对“{meeting.title}”的日历回复没有回复人。", meeting.id)
    attendee = replying[0]
    address = _address(attendee)
    invitation = invited.get(address)
    if invitation is None:
        return _refuse(f"{address} 不是“{meeting.title}”受邀单位的联络员，日历回复未被接受。", meeting.id)
    if sender and sender != address:
        return _refuse(
            f"日历回复的发件人 {sender} 与参会人 {address} 不一致，“{meeting.title}”的回复未被接受。",
            meeting.id,
            invitation.unit_id,
        )
    partstat = str(attendee.params.get("PARTSTAT", "")).upper()
    answer = PARTSTATS.get(partstat)
    unit = invitation.unit
    if answer is None:
        return _refuse(
            f"{unit.name}的日历回复为“{partstat or '未注明'}”（暂定或未答复），回复未改变。",
            meeting.id,
            unit.id,
        )
    comment = str(event.get("COMMENT", "")).strip()
    delegate_name, delegate_post = "", ""
    if answer == Reply.DELEGATE:
        delegate_to = _address(attendee.params.get("DELEGATED-TO", ""))
        delegate = next((a for a in attendees if _address(a) == delegate_to), None)
        name = str(delegate.params.get("CN", "")) if delegate is not None else ""
        delegate_name = name or delegate_to or "（日历委派，未注明姓名）"
        delegate_post = "（日历委派，未注明职务）"
    liaison = db.session.scalar(
        select(User)
        .where(User.role == Role.LIAISON, User.unit_id == unit.id, User.active.is_(True))
        .order_by(User.id)
    )
    try:
        meeting_svc.reply(
            invitation,
            answer,
            comment or "（通过日历客户端回复不参加，未注明原因）",
            delegate_name,
            delegate_post,
            liaison,
        )
    except RuleError as exc:
        return _refuse(f"{unit.name}对“{meeting.title}”的日历回复未被接受：{exc}", meeting.id, unit.id)
    audit.record(
        "calendar_reply",
        invitation,
        summary=f"{unit.name}通过日历客户端回复“{meeting.title}”：{answer.label}",
        actor=liaison,
    )
    return ReplyResult(True, f"{unit.name}回复“{meeting.title}”：{answer.label}", meeting.id, unit.id)


def fetch_replies(client, folder: str = "INBOX") -> list[ReplyResult]:
    """Apply the unseen messages of an IMAP mailbox (an imaplib.IMAP4 client, logged in) and
    mark them seen; the caller commits."""
    status, _ = client.select(folder)
    if status != "OK":
        raise RuleError(f"无法打开邮箱文件夹“{folder}”。")
    status, data = client.search(None, "UNSEEN")
    results = []
    for number in (data[0] or b"").split():
        status, fetched = client.fetch(number, "(RFC822)")
        raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
        if status == "OK" and raw:
            results.extend(apply_message(raw))
        client.store(number, "+FLAGS", "\\Seen")
    return results
