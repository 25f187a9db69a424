"""Meetings as iCalendar (RFC 5545) invites and feeds (RFC 5546 methods).

Each meeting's VEVENT is rendered once and cached as text on the meeting; invites
and feeds wrap cached VEVENTs, so a feed of a thousand meetings is string joins.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vText

from models import Invitation, Meeting, MeetingStatus, Reply

TZID = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZID)
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


def attendee_address(invitation: Invitation) -> str:
    """The calendar address of an invited unit's liaison (a reserved .invalid one if none)."""
    unit = invitation.unit
    email = unit.liaison_email.strip()
    return f"mailto:{email}" if email else f"mailto:unit-{unit.id}@noemail.invalid"


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


def _description(meeting: Meeting, url: str) -> str:
    lines = [f"{meeting.kind.label} · {meeting.host_name}"]
    if meeting.description:
        lines += ["", meeting.description]
    if meeting.agenda_items:
        lines += ["", "议程："]
        for n, item in enumerate(meeting.agenda_items, start=1):
            who = f"（{item.presenter_unit.name}）" if item.presenter_unit else ""
            lines.append(f"{n}. {item.title}{who} {item.minutes} 分钟")
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
    """The meeting as a VEVENT with attendees, alarms and a stable UID."""
    ev = Event()
    ev.add("uid", meeting.uid)
    ev.add("dtstamp", meeting.ics_changed_at.astimezone(UTC))
    ev.add("sequence", meeting.sequence if sequence is None else sequence)
    ev.add("dtstart", meeting.start_at.astimezone(SHANGHAI))
    ev.add("dtend", meeting.end_at.astimezone(SHANGHAI))
    ev.add("summary", meeting.title)
    ev.add("location", _location(meeting))
    ev.add("description", _description(meeting, url))
    ev.add("url", url)
    ev.add("categories", [meeting.kind.label])
    ev.add("organizer", _organizer(meeting, organizer_email))
    for inv in meeting.invitations if invitations is None else invitations:
        ev.add("attendee", _attendee(inv, partstat), encode=0)
    if cancelled or meeting.status == MeetingStatus.CANCELLED:
        ev.add("status", "CANCELLED")
    elif meeting.status == MeetingStatus.DRAFT:
        ev.add("status", "TENTATIVE")
    else:
        ev.add("status", "CONFIRMED")
    ev.add("transp", "OPAQUE")
    for before, text in ((timedelta(days=1), "明天"), (timedelta(hours=1), "1 小时后")):
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{text}：{meeting.title}")
        alarm.add("trigger", -before)
        ev.add_component(alarm)
    return ev


def vevent_text(meeting: Meeting, url: str, organizer_email: str) -> str:
    """The meeting's VEVENT as text, as cached on the meeting."""
    return build_vevent(meeting, url, organizer_email).to_ical().decode()


def _wrap(vevents: Iterable[str], method: str | None, name: str | None = None) -> bytes:
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
    body = CRLF.join(head) + CRLF + vtimezone_text()
    body += "".join(vevents)
    body += "END:VCALENDAR" + CRLF
    return body.encode()


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


def local(dt: datetime) -> datetime:
    return dt.astimezone(SHANGHAI)
