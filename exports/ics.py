"""Meetings as iCalendar (RFC 5545) invites and feeds (RFC 5546 methods).

Each meeting's VEVENT is rendered once and cached as text on the meeting; invites
and feeds wrap cached VEVENTs, so a feed of a thousand meetings is string joins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vText
from icalendar.parser import param_value

from common.dates import SHANGHAI
from models import Invitation, Meeting, MeetingStatus, Reply

TZID = SHANGHAI.key
PRODID = "-//Gongjian//共建联席会议//ZH"
CRLF = "\r\n"

PARTSTAT = {
    Reply.PENDING: "NEEDS-ACTION",
    Reply.ACCEPT: "ACCEPTED",
    Reply.DECLINE: "DECLINED",
    Reply.DELEGATE: "DELEGATED",
}


@lru_cache(maxsize=1)
def vtimezone_text() -> str:
    """The VTIMEZONE for Asia/Shanghai in its short form (valid from 2020 on)."""
    tz = Timezone.from_tzid(TZID, first_date=date(2020, 1, 1))
    return tz.to_ical().decode()


# Calendars that ignore STATUS:CANCELLED still show the summary.
CANCELLED_PREFIX = "【已取消】"
REMOVED_PREFIX = "【已取消邀请】"


def unit_address(unit_id: int, liaison_email: str) -> str:
    """The calendar address of a unit's liaison (a reserved .invalid one if none)."""
    email = liaison_email.strip()
    return f"mailto:{email}" if email else f"mailto:unit-{unit_id}@noemail.invalid"


def attendee_address(invitation: Invitation) -> str:
    """The calendar address of an invited unit's liaison (a reserved .invalid one if none)."""
    return unit_address(invitation.unit.id, invitation.unit.liaison_email)


class Attendee(NamedTuple):
    """What an ATTENDEE line shows: the liaison's address, name and reply."""

    address: str
    name: str
    partstat: str


def attendee_of(
    unit_id: int, unit_name: str, liaison_name: str, liaison_email: str, partstat: str
) -> Attendee:
    """An invited unit's liaison as a calendar attendee (a reserved .invalid address if none)."""
    return Attendee(
        unit_address(unit_id, liaison_email),
        f"{liaison_name}（{unit_name}）" if liaison_name else unit_name,
        partstat,
    )


def _attendee(invitation: Invitation, partstat: str | None = None) -> vCalAddress:
    unit = invitation.unit
    who = vCalAddress(attendee_address(invitation))
    name = f"{unit.liaison_name}（{unit.name}）" if unit.liaison_name else unit.name
    who.params["CN"] = vText(name)
    who.params["ROLE"] = vText("REQ-PARTICIPANT")
    who.params["CUTYPE"] = vText("INDIVIDUAL")
    who.params["PARTSTAT"] = vText(partstat or PARTSTAT[invitation.reply])
    who.params["RSVP"] = vText("TRUE")
    return who


def _organizer(meeting: Meeting, organizer_email: str) -> vCalAddress:
    org = vCalAddress(f"mailto:{organizer_email}")
    org.params["CN"] = vText(meeting.host_name)
    return org


def _description(meeting: Meeting, url: str, agenda: Sequence[tuple[str, str, int]] | None = None) -> str:
    """The DESCRIPTION text; agenda as (title, presenting unit's name or "", minutes) if given."""
    if agenda is None:
        agenda = [
            (item.title, item.presenter_unit.name if item.presenter_unit else "", item.minutes)
            for item in meeting.agenda_items
        ]
    lines = [f"{meeting.kind.label} · {meeting.host_name}"]
    if meeting.description:
        lines += ["", meeting.description]
    if agenda:
        lines += ["", "议程："]
        for n, (title, presenter, minutes) in enumerate(agenda, start=1):
            who = f"（{presenter}）" if presenter else ""
            lines.append(f"{n}. {title}{who} {minutes} 分钟")
    if meeting.status == MeetingStatus.CANCELLED and meeting.cancel_reason:
        lines += ["", f"取消原因：{meeting.cancel_reason}"]
    lines += ["", f"会议页面：{url}"]
    return "\n".join(lines)


def _location(meeting: Meeting) -> str:
    room = meeting.room
    return f"{room.name}（{room.address}）" if room.address else room.name


def build_vevent(
    meeting: Meeting,
    url: str,
    organizer_email: str,
    invitations: Iterable[Invitation] | None = None,
    partstat: str | None = None,
    cancelled: bool = False,
    sequence: int | None = None,
) -> Event:
    """The meeting as a VEVENT with attendees, alarms and a stable UID.

    cancelled=True makes it the CANCEL for units removed from the invitation. A cancelled
    event says so in its SUMMARY too and carries no alarms (RFC 5546 3.2.5).
    """
    ev = Event()
    is_cancelled = meeting.status == MeetingStatus.CANCELLED
    ev.add("uid", meeting.uid)
    ev.add("dtstamp", meeting.ics_changed_at.astimezone(UTC))
    ev.add("sequence", meeting.sequence if sequence is None else sequence)
    ev.add("dtstart", meeting.start_at.astimezone(SHANGHAI))
    ev.add("dtend", meeting.end_at.astimezone(SHANGHAI))
    if is_cancelled:
        ev.add("summary", CANCELLED_PREFIX + meeting.title)
    elif cancelled:
        ev.add("summary", REMOVED_PREFIX + meeting.title)
    else:
        ev.add("summary", meeting.title)
    ev.add("location", _location(meeting))
    ev.add("description", _description(meeting, url))
    ev.add("url", url)
    ev.add("categories", [meeting.kind.label])
    ev.add("organizer", _organizer(meeting, organizer_email))
    for inv in meeting.invitations if invitations is None else invitations:
        ev.add("attendee", _attendee(inv, partstat), encode=0)
    if cancelled or is_cancelled:
        ev.add("status", "CANCELLED")
    elif meeting.status == MeetingStatus.DRAFT:
        ev.add("status", "TENTATIVE")
    else:
        ev.add("status", "CONFIRMED")
    ev.add("transp", "OPAQUE")
    if cancelled or is_cancelled:
        return ev
    for before, text in ((timedelta(days=1), "明天"), (timedelta(hours=1), "1 小时后")):
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{text}：{meeting.title}")
        alarm.add("trigger", -before)
        ev.add_component(alarm)
    return ev


# --- fast VEVENT text ----------------------------------------------------------------
#
# A feed rebuilt cold renders a thousand VEVENTs; icalendar's component tree costs about
# 1.5 ms each. vevent_text writes the same bytes as build_vevent(...).to_ical() directly:
# icalendar's property order (Event.canonical_order, then by name; parameters by name),
# TEXT escaping and folding. tests/test_ics_render.py holds the two side by side.


def _fold(line: str) -> str:
    """Fold like icalendar: chunks of at most 74 octets, never splitting a character,
    and never ending a folded chunk on a backslash or caret (an escape's first half)."""
    raw = line.encode()
    if len(raw) < 75:
        return line
    chunks, start, end_all = [], 0, len(raw)
    while end_all - start > 74:
        end = start + 74
        while raw[end] & 0xC0 == 0x80:  # inside a multi-byte character
            end -= 1
        if raw[end - 1] in b"\\^" and end - 1 > start:
            end -= 1
        chunks.append(raw[start:end])
        start = end
    chunks.append(raw[start:])
    return b"\r\n ".join(chunks).decode()


def _text(value: str) -> str:
    """RFC 5545 TEXT escaping, as icalendar does it."""
    return (
        value.replace(r"\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", r"\;")
        .replace(",", r"\,")
        .replace("\r\n", r"\n")
        .replace("\n", r"\n")
        .replace("\r", r"\n")
    )


def _cn(name: str) -> str:
    """A CN parameter value: RFC 6868 escaped, quoted when needed (always if it has a space or ')."""
    return param_value(name, always_quote=any(c in name for c in " '"))


def _stamp(dt: datetime) -> str:
    return f"{dt.year:04}{dt.month:02}{dt.day:02}T{dt.hour:02}{dt.minute:02}{dt.second:02}"


@lru_cache(maxsize=4096)
def _attendee_line(attendee: Attendee) -> str:
    return _fold(
        f"ATTENDEE;CN={_cn(attendee.name)};CUTYPE=INDIVIDUAL;PARTSTAT={attendee.partstat};"
        f"ROLE=REQ-PARTICIPANT;RSVP=TRUE:{attendee.address}"
    )


def vevent_text(
    meeting: Meeting,
    url: str,
    organizer_email: str,
    attendees: Iterable[Attendee] | None = None,
    agenda: Sequence[tuple[str, str, int]] | None = None,
) -> str:
    """The meeting's VEVENT as text, as cached on the meeting.

    attendees and agenda (title, presenter's name or "", minutes) may be passed when the
    caller loaded them in bulk; by default they come from the meeting's relationships.
    """
    if attendees is None:
        attendees = [
            attendee_of(
                inv.unit.id, inv.unit.name, inv.unit.liaison_name, inv.unit.liaison_email, PARTSTAT[inv.reply]
            )
            for inv in meeting.invitations
        ]
    if meeting.status == MeetingStatus.CANCELLED:
        status = "CANCELLED"
    elif meeting.status == MeetingStatus.DRAFT:
        status = "TENTATIVE"
    else:
        status = "CONFIRMED"
    start, end = meeting.start_at.astimezone(SHANGHAI), meeting.end_at.astimezone(SHANGHAI)
    title = _text(meeting.title)
    summary = _text(CANCELLED_PREFIX) + title if status == "CANCELLED" else title
    lines = [
        "BEGIN:VEVENT",
        _fold(f"SUMMARY:{summary}"),
        f"DTSTART;TZID={TZID}:{_stamp(start)}",
        f"DTEND;TZID={TZID}:{_stamp(end)}",
        f"DTSTAMP:{_stamp(meeting.ics_changed_at.astimezone(UTC))}Z",
        _fold(f"UID:{_text(meeting.uid)}"),
        f"SEQUENCE:{meeting.sequence}",
        *(_attendee_line(a) for a in attendees),
        _fold(f"CATEGORIES:{_text(meeting.kind.label)}"),
        _fold(f"DESCRIPTION:{_text(_description(meeting, url, agenda))}"),
        _fold(f"LOCATION:{_text(_location(meeting))}"),
        _fold(f"ORGANIZER;CN={_cn(meeting.host_name)}:mailto:{organizer_email}"),
        f"STATUS:{status}",
        "TRANSP:OPAQUE",
        _fold(f"URL:{url}"),
    ]
    # RFC 5546 3.2.5: a CANCEL carries no VALARM; a cancelled meeting needs no reminder.
    alarms = () if status == "CANCELLED" else (("-P1D", "明天"), ("-PT1H", "1 小时后"))
    for before, text in alarms:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            _fold(f"DESCRIPTION:{_text(f'{text}：')}{title}"),
            f"TRIGGER:{before}",
            "END:VALARM",
        ]
    lines.append("END:VEVENT")
    return CRLF.join(lines) + CRLF


def keep_attendees(vevent: str, address: str | None) -> str:
    """The VEVENT text with only the ATTENDEE whose calendar address is `address` (None: none).

    It works on cached text, so a feed or invite for one unit costs no re-rendering; a
    folded ATTENDEE line goes with its continuation lines. One regular expression finds the
    ATTENDEE lines: a liaison's feed of a thousand meetings runs this on every answer, and
    walking every line of every event in Python took most of that answer's time.
    """

    def keep(match: re.Match[str]) -> str:
        line = match.group(0)
        if address is not None and line.replace(CRLF + " ", "").endswith(":" + address):
            return line
        return ""

    return _ATTENDEE_LINE.sub(keep, vevent)


# A CRLF and an ATTENDEE content line with its continuation lines (RFC 5545 3.1: CRLF and
# one space). Anchored on the CRLF before it rather than with MULTILINE's ^, which costs the
# scan five times as much; an ATTENDEE is never a VEVENT's first line.
_ATTENDEE_LINE = re.compile(r"\r\nATTENDEE[;:][^\r\n]*(?:\r\n [^\r\n]*)*")


@lru_cache(maxsize=256)
def _calendar_head(method: str | None, name: str | None) -> bytes:
    """Everything before the VEVENTs, encoded; a feed asks for the same head on every poll."""
    head = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", "CALSCALE:GREGORIAN"]
    if method:
        head.append(f"METHOD:{method}")
    if name:
        cal = Calendar()
        cal.add("x-wr-calname", name)
        cal.add("name", name)
        cal.add("x-wr-timezone", TZID)
        cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        for line in cal.to_ical().decode().split(CRLF):
            if line and not line.startswith(("BEGIN:", "END:")):
                head.append(line)
    return (CRLF.join(head) + CRLF + vtimezone_text()).encode()


def _wrap(vevents: Iterable[str], method: str | None, name: str | None = None) -> bytes:
    # Encoding piece by piece and joining bytes copies a large feed once, not three times.
    parts = [_calendar_head(method, name)]
    parts += [vevent.encode() for vevent in vevents]
    parts.append(b"END:VCALENDAR\r\n")
    return b"".join(parts)


def invite_ics(meeting: Meeting, vevent: str) -> bytes:
    """The meeting's invite: METHOD:REQUEST, or METHOD:CANCEL once cancelled."""
    method = "CANCEL" if meeting.status == MeetingStatus.CANCELLED else "REQUEST"
    return _wrap([vevent], method)


def removal_cancel_ics(meeting: Meeting, invitation: Invitation, url: str, organizer_email: str) -> bytes:
    """A CANCEL addressed to one unit that was removed from the invitation."""
    ev = build_vevent(
        meeting, url, organizer_email, invitations=[invitation], partstat="NEEDS-ACTION", cancelled=True
    )
    return _wrap([ev.to_ical().decode()], "CANCEL")


def feed_ics(vevents: Iterable[str], name: str) -> bytes:
    """A subscription feed (no METHOD) of cached VEVENTs."""
    return _wrap(vevents, None, name)
