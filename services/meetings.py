"""Meeting operations shared by views, CLI, exports and tests. They never commit."""

from __future__ import annotations

import calendar as pycal
import gc
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import joinedload, load_only, selectinload

from common.links import base_url, external_url
from exports import ics
from models import (
    AgendaItem,
    Attendance,
    CalendarFeed,
    Community,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingSeries,
    MeetingStatus,
    Reply,
    Role,
    Room,
    Topic,
    TopicStatus,
    Unit,
    UnitCategory,
    UnitStatus,
    User,
    db,
)
from models.base import utcnow
from models.meeting import MeetingError, default_topic_deadline
from services import mail as mailer

SHANGHAI = ZoneInfo("Asia/Shanghai")
BLOCKING = (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED, MeetingStatus.HELD)
# A draft holds its room against other meetings and against approving a booking, but a
# booking request goes through: the draft is invisible to the requester and may never happen.
PUBLISHED_BLOCKING = (MeetingStatus.SCHEDULED, MeetingStatus.HELD)
DAY_START, DAY_END = time(8, 30), time(21, 0)


def local_dt(day: date, at: time) -> datetime:
    """A Beijing wall-clock date and time as an aware datetime."""
    return datetime.combine(day, at, SHANGHAI)


def fmt(dt: datetime) -> str:
    local = dt.astimezone(SHANGHAI)
    return f"{local.year}年{local.month:02d}月{local.day:02d}日 {local:%H:%M}"


# --- queries ------------------------------------------------------------------


def visible_meetings(user: User) -> Select[tuple[Meeting]]:
    """Meetings the user may see (as permissions.can_view_meeting decides for one meeting).

    Staff see every published meeting, but a draft only its hosts do: admins, the host
    community's secretary and whoever created it. A liaison sees the published meetings
    their unit is invited to.
    """
    stmt = select(Meeting)
    published = Meeting.status != MeetingStatus.DRAFT
    if user.role == Role.LIAISON:
        return stmt.where(
            published,
            Meeting.id.in_(select(Invitation.meeting_id).where(Invitation.unit_id == user.unit_id)),
        )
    if user.role == Role.ADMIN:
        return stmt
    own_drafts = Meeting.created_by_id == user.id
    if user.role == Role.SECRETARY and user.community_id:
        own_drafts = or_(own_drafts, Meeting.community_id == user.community_id)
    return stmt.where(or_(published, own_drafts))


def meetings_query(
    user: User,
    community_id: int | None = None,
    kind: MeetingKind | None = None,
    status: MeetingStatus | None = None,
    unit_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    street_level: bool = False,
) -> Select[tuple[Meeting]]:
    """Visible meetings matching the list filters, soonest first."""
    stmt = visible_meetings(user).options(joinedload(Meeting.room), joinedload(Meeting.community))
    if street_level:
        stmt = stmt.where(Meeting.community_id.is_(None))
    elif community_id:
        stmt = stmt.where(Meeting.community_id == community_id)
    if kind:
        stmt = stmt.where(Meeting.kind == kind)
    if status:
        stmt = stmt.where(Meeting.status == status)
    if unit_id:
        stmt = stmt.where(Meeting.id.in_(select(Invitation.meeting_id).where(Invitation.unit_id == unit_id)))
    if start:
        stmt = stmt.where(Meeting.end_at > start)
    if end:
        stmt = stmt.where(Meeting.start_at < end)
    return stmt.order_by(Meeting.start_at, Meeting.id)


def load_meeting(meeting_id: int, for_update: bool = False) -> Meeting | None:
    """A meeting with everything its page shows, in a fixed number of queries."""
    stmt = (
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .options(
            joinedload(Meeting.room),
            joinedload(Meeting.community),
            joinedload(Meeting.street),
            selectinload(Meeting.agenda_items).joinedload(AgendaItem.presenter_unit),
            selectinload(Meeting.invitations).joinedload(Invitation.unit),
            selectinload(Meeting.topics).joinedload(Topic.unit),
        )
    )
    if for_update:
        stmt = stmt.with_for_update(of=Meeting)
    return db.session.scalar(stmt)


def rooms_for(user: User, community_id: int | None = None) -> list[Room]:
    """Community meeting rooms a user may schedule in."""
    stmt = select(Room).where(Room.community_id.is_not(None), Room.bookable.is_(True))
    if user.role == Role.SECRETARY:
        stmt = stmt.where(Room.community_id == user.community_id)
    elif community_id:
        stmt = stmt.where(Room.community_id == community_id)
    return list(
        db.session.scalars(stmt.options(joinedload(Room.community)).order_by(Room.community_id, Room.id))
    )


def invitable_units(user: User, community_id: int | None) -> list[Unit]:
    """Units that can be invited: a community meeting its own units, a street meeting all."""
    stmt = select(Unit).where(Unit.status != UnitStatus.WITHDRAWN).options(joinedload(Unit.community))
    if community_id:
        stmt = stmt.where(Unit.community_id == community_id)
    return list(db.session.scalars(stmt.order_by(Unit.community_id, Unit.name)))


# --- room calendar --------------------------------------------------------------


def lock_room(room_id: int) -> None:
    """Serialise writers on one room (PostgreSQL row lock; SQLite already holds the write lock)."""
    db.session.execute(select(Room.id).where(Room.id == room_id).with_for_update())


@dataclass(frozen=True)
class RoomHold:
    """An approved booking holding a room, described like a meeting for clash messages."""

    title: str
    start_at: datetime
    end_at: datetime
    booking_id: int


def _booking_hold(booking) -> RoomHold:
    purpose = booking.purpose.strip().splitlines()[0][:30] if booking.purpose.strip() else "场地预约"
    return RoomHold(f"{booking.requester_name}预约：{purpose}", booking.start_at, booking.end_at, booking.id)


def find_clash(
    room_id: int,
    start: datetime,
    end: datetime,
    exclude_id: int | None = None,
    exclude_booking_id: int | None = None,
    include_drafts: bool = True,
) -> Meeting | RoomHold | None:
    """The first meeting, or else approved room booking, that holds the room during [start, end).

    Without include_drafts only published meetings count: what a booking request meets.
    """
    stmt = select(Meeting).where(
        Meeting.room_id == room_id,
        Meeting.status.in_(BLOCKING if include_drafts else PUBLISHED_BLOCKING),
        Meeting.start_at < end,
        Meeting.end_at > start,
    )
    if exclude_id:
        stmt = stmt.where(Meeting.id != exclude_id)
    meeting = db.session.scalar(stmt.order_by(Meeting.start_at).limit(1))
    if meeting is not None:
        return meeting
    from models import Booking, BookingStatus

    stmt = (
        select(Booking)
        .where(
            Booking.room_id == room_id,
            Booking.status == BookingStatus.APPROVED,
            Booking.start_at < end,
            Booking.end_at > start,
        )
        .options(joinedload(Booking.requester_unit), joinedload(Booking.requester_community))
    )
    if exclude_booking_id:
        stmt = stmt.where(Booking.id != exclude_booking_id)
    booking = db.session.scalar(stmt.order_by(Booking.start_at).limit(1))
    return _booking_hold(booking) if booking is not None else None


def room_busy(
    room_id: int,
    start: datetime,
    until: datetime,
    exclude_id: int | None = None,
    exclude_booking_id: int | None = None,
    include_drafts: bool = True,
) -> list[tuple[datetime, datetime]]:
    """The intervals in which meetings and approved bookings hold the room, between start and until."""
    from models import Booking, BookingStatus

    meetings = db.session.execute(
        select(Meeting.start_at, Meeting.end_at).where(
            Meeting.room_id == room_id,
            Meeting.status.in_(BLOCKING if include_drafts else PUBLISHED_BLOCKING),
            Meeting.end_at > start,
            Meeting.start_at < until,
            Meeting.id != (exclude_id or 0),
        )
    ).all()
    bookings = db.session.execute(
        select(Booking.start_at, Booking.end_at).where(
            Booking.room_id == room_id,
            Booking.status == BookingStatus.APPROVED,
            Booking.end_at > start,
            Booking.start_at < until,
            Booking.id != (exclude_booking_id or 0),
        )
    ).all()
    return sorted([(s, e) for s, e in meetings] + [(s, e) for s, e in bookings])


def first_gap(busy: Sequence[tuple[datetime, datetime]], start: datetime, duration: timedelta) -> datetime:
    """The earliest start from `start` on that overlaps none of `busy`, in office hours when it fits."""
    office_hours = duration <= datetime.combine(date.min, DAY_END) - datetime.combine(date.min, DAY_START)
    candidate = start
    for _ in range(500):
        if office_hours:
            local = candidate.astimezone(SHANGHAI)
            if local.time() < DAY_START:
                candidate = local_dt(local.date(), DAY_START)
            elif (local + duration).time() > DAY_END or (local + duration).date() != local.date():
                candidate = local_dt(local.date() + timedelta(days=1), DAY_START)
        clash = next(((s, e) for s, e in busy if s < candidate + duration and e > candidate), None)
        if clash is None:
            return candidate
        candidate = clash[1]
    return candidate


def next_free_slot(
    room_id: int,
    start: datetime,
    duration: timedelta,
    exclude_id: int | None = None,
    exclude_booking_id: int | None = None,
    include_drafts: bool = True,
) -> datetime:
    """The earliest start from `start` on when the room is free for `duration`, in office hours.

    Meetings and approved room bookings share the room's calendar.
    """
    busy = room_busy(
        room_id,
        start,
        start + timedelta(days=60) + duration,
        exclude_id,
        exclude_booking_id,
        include_drafts,
    )
    return first_gap(busy, start, duration)


def pending_requests(
    room_ids: Iterable[int], start: datetime, end: datetime | None = None, limit: int | None = None
) -> list:
    """Pending booking requests for these rooms that overlap [start, end) (or end after start), soonest first.

    A secretary choosing a meeting's slot sees them: a meeting there would leave them unapprovable.
    """
    from models import Booking, BookingStatus

    stmt = (
        select(Booking)
        .where(
            Booking.room_id.in_(list(room_ids)),
            Booking.status == BookingStatus.PENDING,
            Booking.end_at > start,
        )
        .options(
            joinedload(Booking.room),
            joinedload(Booking.requester_unit),
            joinedload(Booking.requester_community),
        )
        .order_by(Booking.start_at, Booking.id)
    )
    if end is not None:
        stmt = stmt.where(Booking.start_at < end)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def clash_message(
    clash: Meeting | RoomHold, room_id: int, start: datetime, end: datetime, exclude_id=None
) -> str:
    suggestion = next_free_slot(room_id, start, end - start, exclude_id)
    return (
        f"会议室在该时段已被“{clash.title}”（{fmt(clash.start_at)}—{clash.end_at.astimezone(SHANGHAI):%H:%M}）占用。"
        f"该会议室最近的空闲时段从 {fmt(suggestion)} 开始。"
    )


# --- saving -------------------------------------------------------------------------


@dataclass
class AgendaRow:
    title: str
    presenter_unit_id: int | None
    minutes: int
    topic_id: int | None = None
    is_followup: bool = False


@dataclass
class MeetingData:
    kind: MeetingKind
    title: str
    description: str
    community_id: int | None
    room_id: int
    start_at: datetime
    end_at: datetime
    topic_deadline: datetime | None
    agenda: list[AgendaRow]
    unit_ids: set[int]


def check_times(data: MeetingData) -> None:
    if data.end_at <= data.start_at:
        raise MeetingError("结束时间必须晚于开始时间。")
    total = sum(r.minutes for r in data.agenda)
    length = int((data.end_at - data.start_at).total_seconds() // 60)
    if total > length:
        raise MeetingError(f"议程共 {total} 分钟，超过了会议时长 {length} 分钟；请缩短议程或延长会议。")
    if data.topic_deadline and data.topic_deadline > data.start_at:
        raise MeetingError("议题征集截止时间不能晚于会议开始时间。")


def save_meeting(meeting: Meeting | None, data: MeetingData, by: User) -> Meeting:
    """Create or update a meeting with its agenda and invitations; mail units if it is published."""
    check_times(data)
    lock_room(data.room_id)
    clash = find_clash(data.room_id, data.start_at, data.end_at, meeting.id if meeting else None)
    if clash:
        raise MeetingError(
            clash_message(clash, data.room_id, data.start_at, data.end_at, meeting.id if meeting else None)
        )
    creating = meeting is None
    if creating:
        community = db.session.get(Community, data.community_id) if data.community_id else None
        street_id = (
            community.street_id if community else db.session.get(Room, data.room_id).community.street_id
        )
        meeting = Meeting(street_id=street_id, created_by=by, status=MeetingStatus.DRAFT)
        db.session.add(meeting)
    elif not meeting.editable:
        raise MeetingError(f"“{meeting.status.label}”的会议不能再修改。")
    else:
        meeting.version += 1
    before = (meeting.start_at, meeting.end_at, meeting.room_id, meeting.title) if not creating else None
    meeting.kind = data.kind
    meeting.title = data.title
    meeting.description = data.description
    meeting.community_id = data.community_id
    meeting.room_id = data.room_id
    meeting.start_at = data.start_at
    meeting.end_at = data.end_at
    meeting.topic_deadline = data.topic_deadline or default_topic_deadline(data.start_at)
    _replace_agenda(meeting, data.agenda)
    added, removed = _replace_invitations(meeting, data.unit_ids)
    meeting.invalidate_calendar()
    db.session.flush()
    # Changed foreign keys leave the loaded relationships pointing at the old rows; the
    # VEVENT built below (mailed and cached) must show the new room, host and presenters.
    db.session.expire(meeting, ["room", "community"])
    for item in meeting.agenda_items:
        db.session.expire(item, ["presenter_unit"])
    scheduled = meeting.status == MeetingStatus.SCHEDULED
    changed = before != (meeting.start_at, meeting.end_at, meeting.room_id, meeting.title)
    if scheduled:
        for inv in removed:
            mailer.queue_meeting_mail(meeting, [inv], "removed")
    # Removed units leave the invitation before the others' invite is built: they get
    # their own CANCEL, not the update, and are no longer listed as attendees.
    for inv in removed:
        meeting.invitations.remove(inv)
        db.session.delete(inv)
    if scheduled:
        if changed:
            mailer.queue_meeting_mail(meeting, meeting.invitations, "update")
        elif added:
            mailer.queue_meeting_mail(meeting, added, "publish")
    if creating:
        from services.minutes import add_followup_item

        add_followup_item(meeting)
    return meeting


def _replace_agenda(meeting: Meeting, rows: Sequence[AgendaRow]) -> None:
    existing = list(meeting.agenda_items)
    for i, row in enumerate(rows):
        item = existing[i] if i < len(existing) else AgendaItem()
        item.position = i + 1
        item.title = row.title
        item.presenter_unit_id = row.presenter_unit_id
        item.minutes = row.minutes
        item.topic_id = row.topic_id
        item.is_followup = row.is_followup
        if i >= len(existing):
            meeting.agenda_items.append(item)
    for item in existing[len(rows) :]:
        meeting.agenda_items.remove(item)


def _replace_invitations(meeting: Meeting, unit_ids: set[int]) -> tuple[list[Invitation], list[Invitation]]:
    current = {inv.unit_id: inv for inv in meeting.invitations}
    added = []
    for unit_id in sorted(unit_ids - current.keys()):
        inv = Invitation(unit_id=unit_id, reply=Reply.PENDING, attendance=Attendance.UNKNOWN)
        meeting.invitations.append(inv)
        added.append(inv)
    removed = [current[u] for u in current.keys() - unit_ids]
    if added:
        db.session.flush()
        for inv in added:
            db.session.refresh(inv, ["unit"])
    return added, removed


def units_for_invitation(
    picked: Iterable[int],
    whole_community_id: int | None,
    category: UnitCategory | None,
    allowed: Iterable[Unit],
) -> set[int]:
    """Resolve the invitation pickers (one by one, a whole community, a category) to unit ids."""
    allowed = list(allowed)
    allowed_ids = {u.id for u in allowed}
    ids = {i for i in picked if i in allowed_ids}
    if whole_community_id:
        ids |= {
            u.id for u in allowed if u.community_id == whole_community_id and u.status == UnitStatus.ACTIVE
        }
    if category:
        ids |= {u.id for u in allowed if u.category == category and u.status == UnitStatus.ACTIVE}
    return ids


def publish(meeting: Meeting, by: User) -> None:
    """Publish a draft: it appears to invited units, and their liaisons are mailed the invite."""
    now = utcnow()
    lock_room(meeting.room_id)
    clash = find_clash(meeting.room_id, meeting.start_at, meeting.end_at, meeting.id)
    if clash:
        raise MeetingError(
            clash_message(clash, meeting.room_id, meeting.start_at, meeting.end_at, meeting.id)
        )
    meeting.publish(now)
    meeting.version += 1
    db.session.flush()
    mailer.queue_meeting_mail(meeting, meeting.invitations, "publish")


def cancel(meeting: Meeting, reason: str, by: User) -> None:
    """Cancel a meeting; if it was published, every invited liaison receives a CANCEL."""
    was_published = meeting.status == MeetingStatus.SCHEDULED
    meeting.cancel(reason, utcnow())
    meeting.version += 1
    db.session.flush()
    if was_published:
        mailer.queue_meeting_mail(meeting, meeting.invitations, "cancel")


def mark_held(meeting: Meeting, by: User) -> None:
    meeting.mark_held(utcnow())
    meeting.version += 1


def reply(
    invitation: Invitation, answer: Reply, reason: str, delegate_name: str, delegate_post: str, by: User
) -> None:
    """Record a unit's answer to an invitation."""
    meeting = invitation.meeting
    if meeting.status != MeetingStatus.SCHEDULED:
        raise MeetingError("只能回复已发布且未召开的会议。")
    if answer == Reply.PENDING:
        raise MeetingError("请选择参加、不参加或委派代表。")
    if answer == Reply.DECLINE and not reason.strip():
        raise MeetingError("不参加时请填写原因。")
    if answer == Reply.DELEGATE and not (delegate_name.strip() and delegate_post.strip()):
        raise MeetingError("委派代表时请填写代表的姓名和职务。")
    invitation.reply = answer
    invitation.reply_reason = reason.strip() if answer == Reply.DECLINE else ""
    invitation.delegate_name = delegate_name.strip() if answer == Reply.DELEGATE else ""
    invitation.delegate_post = delegate_post.strip() if answer == Reply.DELEGATE else ""
    invitation.replied_at = utcnow()
    invitation.replied_by = by
    meeting.invalidate_calendar()


# The sign-in sheet's marks: Attendance values, and "delegate" (present through a delegate).
SIGN_IN_MARKS = {
    "present": "出席",
    "delegate": "委派代表",
    "absent_leave": "请假",
    "absent_no_leave": "缺席",
    "unknown": "未签到",
}


@dataclass
class SignIn:
    """One unit's line on the sign-in sheet."""

    mark: str  # a key of SIGN_IN_MARKS
    delegate_name: str = ""
    delegate_post: str = ""


def set_attendance(meeting: Meeting, marks: dict[int, SignIn], by: User) -> int:
    """Sign units in (in person or through a delegate) or mark them absent; returns how many changed.

    A delegate needs a name (given here, or with the unit's reply); a refused sheet changes nothing.
    """
    if not meeting.attendance_open(utcnow()):
        raise MeetingError("会议开始后才能签到。")
    unnamed = [
        inv.unit.name
        for inv in meeting.invitations
        if inv.id in marks
        and marks[inv.id].mark == "delegate"
        and not (marks[inv.id].delegate_name.strip() or inv.delegate_name)
    ]
    if unnamed:
        raise MeetingError(f"请填写{'、'.join(unnamed)}委派代表的姓名。")
    changed = 0
    for inv in meeting.invitations:
        sign_in = marks.get(inv.id)
        if sign_in is None or sign_in.mark not in SIGN_IN_MARKS:
            continue
        delegate = sign_in.mark == "delegate"
        attendance = Attendance.PRESENT if delegate else Attendance(sign_in.mark)
        name, post = sign_in.delegate_name.strip()[:50], sign_in.delegate_post.strip()[:50]
        if delegate and name and (name, post) != (inv.delegate_name, inv.delegate_post):
            inv.delegate_name, inv.delegate_post = name, post
        elif (attendance, delegate) == (inv.attendance, inv.by_delegate):
            continue
        inv.attendance = attendance
        inv.by_delegate = delegate
        inv.attendance_at = utcnow()
        inv.attendance_by_id = by.id
        changed += 1
    return changed


def submit_topic(meeting: Meeting, unit: Unit, by: User, title: str, detail: str, cooperation: str) -> Topic:
    """A liaison proposes a topic for the agenda before the deadline."""
    if not meeting.topics_open(utcnow()):
        raise MeetingError("议题征集已截止。")
    if not any(inv.unit_id == unit.id for inv in meeting.invitations):
        raise MeetingError("只有受邀单位可以提交议题。")
    topic = Topic(
        unit=unit,
        submitted_by=by,
        title=title.strip(),
        detail=detail.strip(),
        cooperation=cooperation.strip(),
    )
    meeting.topics.append(topic)
    return topic


def accept_topic(topic: Topic, by: User, minutes: int = 10) -> AgendaItem:
    """Put a submitted topic on the agenda, presented by the unit that proposed it."""
    if topic.status != TopicStatus.SUBMITTED:
        raise MeetingError("这个议题已经处理过了。")
    meeting = topic.meeting
    if not meeting.editable:
        raise MeetingError("会议已召开或已取消，不能再调整议程。")
    item = AgendaItem(
        position=len(meeting.agenda_items) + 1,
        title=topic.title,
        presenter_unit_id=topic.unit_id,
        minutes=minutes,
        topic=topic,
    )
    meeting.agenda_items.append(item)
    topic.status = TopicStatus.ACCEPTED
    topic.decided_at = utcnow()
    topic.decided_by_id = by.id
    meeting.invalidate_calendar()
    return item


def decline_topic(topic: Topic, reason: str, by: User) -> None:
    if topic.status != TopicStatus.SUBMITTED:
        raise MeetingError("这个议题已经处理过了。")
    if not reason.strip():
        raise MeetingError("请填写不予采纳的原因。")
    topic.status = TopicStatus.DECLINED
    topic.decline_reason = reason.strip()
    topic.decided_at = utcnow()
    topic.decided_by_id = by.id


# --- attendance figures -----------------------------------------------------------------


def attendance_rates(unit_ids: Iterable[int] | None = None) -> dict[int, tuple[int, int]]:
    """Per unit: (meetings attended, meetings held it was invited to)."""
    attended = func.sum(case((Invitation.attendance == Attendance.PRESENT, 1), else_=0))
    stmt = (
        select(Invitation.unit_id, attended, func.count())
        .join(Meeting, Meeting.id == Invitation.meeting_id)
        .where(Meeting.status == MeetingStatus.HELD, Invitation.attendance != Attendance.UNKNOWN)
        .group_by(Invitation.unit_id)
    )
    if unit_ids is not None:
        stmt = stmt.where(Invitation.unit_id.in_(list(unit_ids)))
    return {unit_id: (int(present or 0), int(total)) for unit_id, present, total in db.session.execute(stmt)}


# --- series -----------------------------------------------------------------------------


@dataclass
class SeriesRule:
    rule: str  # "monthly_nth" or "weekly"
    interval: int
    weekday: int  # 0 = Monday
    nth: int | None  # 1..4, or -1 for the last
    start_time: time
    duration_minutes: int
    first_date: date
    until: date


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    days = [
        d for d in pycal.Calendar().itermonthdates(year, month) if d.month == month and d.weekday() == weekday
    ]
    if nth == -1:
        return days[-1]
    return days[nth - 1] if nth - 1 < len(days) else None


def occurrence_dates(rule: SeriesRule, limit: int = 200) -> list[date]:
    """Dates of a series from first_date up to until (at most `limit`)."""
    out: list[date] = []
    if rule.rule == "weekly":
        day = rule.first_date + timedelta(days=(rule.weekday - rule.first_date.weekday()) % 7)
        while day <= rule.until and len(out) < limit:
            out.append(day)
            day += timedelta(weeks=rule.interval)
        return out
    year, month = rule.first_date.year, rule.first_date.month
    while len(out) < limit:
        day = nth_weekday(year, month, rule.weekday, rule.nth or 1)
        if day and day > rule.until:
            break
        if day and day >= rule.first_date:
            out.append(day)
        month += rule.interval
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        if date(year, month, 1) > rule.until:
            break
    return out


@dataclass
class Occurrence:
    start_at: datetime
    end_at: datetime
    clash: Meeting | RoomHold | None = None
    suggestion: datetime | None = None
    past: bool = False
    pending: list = field(default_factory=list)  # booking requests the occurrence would overlap


def plan_series(rule: SeriesRule, room_id: int) -> list[Occurrence]:
    """Every occurrence of a series with the clashes it would have, before anything is saved."""
    now = utcnow()
    duration = timedelta(minutes=rule.duration_minutes)
    plan = []
    for day in occurrence_dates(rule):
        start = local_dt(day, rule.start_time)
        occ = Occurrence(start, start + duration, past=start <= now)
        occ.clash = find_clash(room_id, occ.start_at, occ.end_at)
        if occ.clash:
            occ.suggestion = next_free_slot(room_id, occ.start_at, duration)
        else:
            occ.pending = pending_requests([room_id], occ.start_at, occ.end_at)
        plan.append(occ)
    return plan


def create_series(
    rule: SeriesRule,
    title: str,
    kind: MeetingKind,
    community_id: int | None,
    room_id: int,
    unit_ids: set[int],
    starts: list[datetime],
    by: User,
) -> MeetingSeries:
    """Create the series and one draft meeting per chosen start (each re-checked for clashes)."""
    lock_room(room_id)
    room = db.session.get(Room, room_id)
    series = MeetingSeries(
        street_id=room.community.street_id,
        community_id=community_id,
        title=title,
        kind=kind,
        rule=rule.rule,
        interval=rule.interval,
        nth=rule.nth,
        weekday=rule.weekday,
        start_time=rule.start_time,
        duration_minutes=rule.duration_minutes,
        room_id=room_id,
        first_date=rule.first_date,
        until=rule.until,
        created_by_id=by.id,
    )
    db.session.add(series)
    duration = timedelta(minutes=rule.duration_minutes)
    for n, start in enumerate(sorted(starts), start=1):
        data = MeetingData(
            kind=kind,
            title=f"{title}（第{n}次）",
            description="",
            community_id=community_id,
            room_id=room_id,
            start_at=start,
            end_at=start + duration,
            topic_deadline=None,
            agenda=[],
            unit_ids=unit_ids,
        )
        meeting = save_meeting(None, data, by)
        meeting.series = series
        db.session.flush()
    return series


# --- calendar ---------------------------------------------------------------------------


def meeting_url(meeting: Meeting) -> str:
    """The meeting page under BASE_URL: what invites, feeds, mails and archives link to."""
    return external_url("meetings.detail", meeting_id=meeting.id)


def calendar_cache_key() -> str:
    """What cached VEVENTs depend on besides the meeting: the base URL and the default sender.

    A cached text made under another BASE_URL (or, before it was configured, under a
    request's Host) is stale, so a change of configuration reaches every calendar.
    """
    cfg = current_app.config
    return _cache_key(base_url(), cfg["MAIL_DEFAULT_SENDER"])


@lru_cache(maxsize=8)
def _cache_key(base: str, sender: str) -> str:
    return hashlib.sha256(f"{base}\n{sender}".encode()).hexdigest()[:16]


def organizer_email(meeting: Meeting, secretaries: dict[int, str | None] | None = None) -> str:
    """The host's address: the community's secretary, else the creator, else the configured sender.

    secretaries, if given, memoises the secretary's address per community across calls.
    """
    if meeting.community_id:
        if secretaries is not None and meeting.community_id in secretaries:
            email = secretaries[meeting.community_id]
        else:
            email = db.session.scalar(
                select(User.email)
                .where(
                    User.community_id == meeting.community_id,
                    User.role == Role.SECRETARY,
                    User.active.is_(True),
                    User.email != "",
                )
                .order_by(User.id)
                .limit(1)
            )
            if secretaries is not None:
                secretaries[meeting.community_id] = email
        if email:
            return email
    if meeting.created_by and meeting.created_by.email:
        return meeting.created_by.email
    return current_app.config["MAIL_DEFAULT_SENDER"]


def _cache_fresh(meeting: Meeting, key: str) -> bool:
    return (
        meeting.ics_cache is not None
        and meeting.ics_cache_rev == meeting.ics_rev
        and meeting.ics_cache_key == key
    )


def cached_vevent(meeting: Meeting) -> str:
    """The meeting's VEVENT text, rebuilt and stored only when the meeting changed.

    It writes: call it on a write path (a POST, the CLI, a feed that took the write lock).
    """
    key = calendar_cache_key()
    if _cache_fresh(meeting, key):
        return meeting.ics_cache
    text = ics.vevent_text(meeting, meeting_url(meeting), organizer_email(meeting))
    # A plain UPDATE: caching is not a change of the meeting (no audit, no SEQUENCE).
    db.session.execute(
        Meeting.__table__.update()
        .where(Meeting.id == meeting.id, Meeting.ics_rev == meeting.ics_rev)
        .values(ics_cache=text, ics_cache_rev=meeting.ics_rev, ics_cache_key=key)
    )
    return text


def current_vevent(meeting: Meeting) -> str:
    """The meeting's VEVENT text for a read request: the cached text if fresh, else rendered.

    It never writes, so a GET cannot fail on SQLite's write lock while others write.
    """
    if _cache_fresh(meeting, calendar_cache_key()):
        return meeting.ics_cache
    return ics.vevent_text(meeting, meeting_url(meeting), organizer_email(meeting))


def invite_vevent(meeting: Meeting, viewer: User) -> str:
    """The viewer's copy of the meeting's VEVENT, without writing.

    Staff see every invited unit's liaison; anyone else only their own unit's, so a
    liaison's invite discloses no other unit's address.
    """
    from services.permissions import can_see_all_attendees

    text = current_vevent(meeting)
    if can_see_all_attendees(viewer):
        return text
    own = next((inv for inv in meeting.invitations if inv.unit_id == viewer.unit_id), None)
    return ics.keep_attendees(text, ics.attendee_address(own) if own is not None else None)


def feed_for_token(token: str) -> CalendarFeed | None:
    return db.session.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.token == token)
        .options(
            joinedload(CalendarFeed.user),
            joinedload(CalendarFeed.created_by),
            joinedload(CalendarFeed.community),
            joinedload(CalendarFeed.unit),
        )
    )


def feed_scope(feed: CalendarFeed):
    """The WHERE clause selecting the meetings of a feed (drafts never appear)."""
    published = Meeting.status != MeetingStatus.DRAFT
    invited = lambda unit_id: Meeting.id.in_(  # noqa: E731
        select(Invitation.meeting_id).where(Invitation.unit_id == unit_id)
    )
    if feed.community_id:
        return and_(published, Meeting.community_id == feed.community_id)
    if feed.unit_id:
        return and_(published, invited(feed.unit_id))
    user = feed.user
    if user.role == Role.SECRETARY:
        return and_(published, or_(Meeting.community_id == user.community_id, Meeting.community_id.is_(None)))
    if user.role == Role.LIAISON:
        return and_(published, invited(user.unit_id or 0))
    return published


def feed_own_unit(feed: CalendarFeed) -> int | None:
    """The unit whose liaison alone a feed lists as attendee; None: the feed lists all.

    A unit's feed and a liaison's own feed disclose no other unit's liaison address.
    """
    from services.permissions import can_see_all_attendees

    if feed.unit_id:
        return feed.unit_id
    if feed.user is not None and not can_see_all_attendees(feed.user):
        return feed.user.unit_id or 0
    return None


def feed_name(feed: CalendarFeed) -> str:
    if feed.community:
        return f"{feed.community.name}联席会议"
    if feed.unit:
        return f"{feed.unit.name}·联席会议"
    return f"{feed.user.display_name}的联席会议"


def feed_fingerprint(feed: CalendarFeed) -> tuple[str, datetime | None, int]:
    """ETag, Last-Modified and the number of stale VEVENTs, from one aggregate query."""
    key = calendar_cache_key()
    stale_row = or_(
        Meeting.ics_cache_rev != Meeting.ics_rev,
        Meeting.ics_cache_key.is_(None),
        Meeting.ics_cache_key != key,
    )
    row = db.session.execute(
        select(
            func.count(),
            func.sum(Meeting.id),
            func.sum(Meeting.ics_rev),
            func.max(Meeting.ics_changed_at),
            func.sum(case((stale_row, 1), else_=0)),
        ).where(feed_scope(feed))
    ).one()
    count, id_sum, rev_sum, last, stale = row
    if isinstance(last, str):  # SQLite returns max() of a timestamp as text
        last = datetime.fromisoformat(last)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    etag = (
        f"{feed.id}-{feed.token[:6]}-{count}-{id_sum or 0}-{rev_sum or 0}"
        f"-{int(last.timestamp()) if last else 0}-{key[:8]}"
    )
    return etag, last, int(stale or 0)


def feed_body(feed: CalendarFeed) -> bytes:
    """The feed's calendar, from cached VEVENTs where they are current."""
    # Sorted here, not by ORDER BY: SQLite would copy every cached text through its sorter.
    key = calendar_cache_key()
    rows = sorted(
        db.session.execute(
            select(
                Meeting.id,
                Meeting.start_at,
                Meeting.ics_rev,
                Meeting.ics_cache_rev,
                Meeting.ics_cache_key,
                Meeting.ics_cache,
            ).where(feed_scope(feed))
        ),
        key=lambda r: (r.start_at, r.id),
    )
    stale = [
        r.id for r in rows if r.ics_cache is None or r.ics_cache_rev != r.ics_rev or r.ics_cache_key != key
    ]
    fresh: dict[int, str] = {}
    secretaries: dict[int, str | None] = {}
    # Rebuilding allocates tens of thousands of short-lived objects (rows, ORM state,
    # strings), none of them in cycles that must be freed at once; the cyclic collector's
    # full passes over the heap would otherwise take about a third of a cold build.
    gc_was_enabled = gc.isenabled()
    if len(stale) > 100:
        gc.disable()
    try:
        for chunk_start in range(0, len(stale), 500):
            fresh |= _rebuild_vevents(stale[chunk_start : chunk_start + 500], secretaries)
    finally:
        if gc_was_enabled:
            gc.enable()
    texts = (fresh.get(r.id) or r.ics_cache for r in rows)
    own_unit = feed_own_unit(feed)
    if own_unit is not None:
        unit = db.session.get(Unit, own_unit) if own_unit else None
        address = ics.unit_address(unit.id, unit.liaison_email) if unit else None
        texts = (ics.keep_attendees(text, address) for text in texts)
    return ics.feed_ics(texts, feed_name(feed))


def _rebuild_vevents(meeting_ids: Sequence[int], secretaries: dict[int, str | None]) -> dict[int, str]:
    """Render and cache the VEVENTs of many meetings, loading attendees and agendas in bulk.

    A cold feed of a thousand meetings would otherwise load ten thousand invitations as
    ORM objects; plain rows are enough for what a VEVENT shows.
    """
    attendees: dict[int, list[ics.Attendee]] = {}
    for meeting_id, reply, unit_id, name, liaison_name, liaison_email in db.session.execute(
        select(
            Invitation.meeting_id,
            Invitation.reply,
            Unit.id,
            Unit.name,
            Unit.liaison_name,
            Unit.liaison_email,
        )
        .join(Unit, Unit.id == Invitation.unit_id)
        .where(Invitation.meeting_id.in_(meeting_ids))
        .order_by(Invitation.meeting_id, Invitation.id)
    ):
        attendees.setdefault(meeting_id, []).append(
            ics.attendee_of(unit_id, name, liaison_name, liaison_email, ics.PARTSTAT[reply])
        )
    agendas: dict[int, list[tuple[str, str, int]]] = {}
    for meeting_id, title, presenter, minutes in db.session.execute(
        select(AgendaItem.meeting_id, AgendaItem.title, Unit.name, AgendaItem.minutes)
        .outerjoin(Unit, Unit.id == AgendaItem.presenter_unit_id)
        .where(AgendaItem.meeting_id.in_(meeting_ids))
        .order_by(AgendaItem.meeting_id, AgendaItem.position)
    ):
        agendas.setdefault(meeting_id, []).append((title, presenter or "", minutes))
    texts: dict[int, str] = {}
    cache_rows = []
    key = calendar_cache_key()
    for meeting in db.session.scalars(
        select(Meeting)
        .where(Meeting.id.in_(meeting_ids))
        # Only the columns a VEVENT shows; room, host and creator are a handful of rows.
        .options(
            selectinload(Meeting.room),
            selectinload(Meeting.community),
            selectinload(Meeting.street),
            selectinload(Meeting.created_by),
            load_only(
                Meeting.street_id,
                Meeting.community_id,
                Meeting.kind,
                Meeting.title,
                Meeting.description,
                Meeting.start_at,
                Meeting.end_at,
                Meeting.room_id,
                Meeting.status,
                Meeting.cancel_reason,
                Meeting.uid,
                Meeting.sequence,
                Meeting.created_by_id,
                Meeting.ics_rev,
                Meeting.ics_changed_at,
            ),
        )
    ):
        texts[meeting.id] = ics.vevent_text(
            meeting,
            meeting_url(meeting),
            organizer_email(meeting, secretaries),
            attendees=attendees.get(meeting.id, []),
            agenda=agendas.get(meeting.id, []),
        )
        cache_rows.append(
            {"m_id": meeting.id, "m_rev": meeting.ics_rev, "m_text": texts[meeting.id], "m_key": key}
        )
    # One executemany; caching is not a change of the meeting (no audit, no SEQUENCE).
    if cache_rows:
        table = Meeting.__table__
        db.session.execute(
            table.update()
            .where(table.c.id == bindparam("m_id"), table.c.ics_rev == bindparam("m_rev"))
            .values(
                ics_cache=bindparam("m_text"),
                ics_cache_rev=bindparam("m_rev"),
                ics_cache_key=bindparam("m_key"),
            ),
            cache_rows,
        )
    return texts


def get_or_create_feed(
    *,
    user: User | None = None,
    community_id: int | None = None,
    unit_id: int | None = None,
    by: User | None = None,
) -> CalendarFeed:
    """A user's own feed, or `by`'s feed of a community or unit (each maker has their own)."""
    import secrets

    maker = user if user is not None else by
    if maker is None:
        raise ValueError("a community or unit feed needs its maker (by=)")
    stmt = select(CalendarFeed)
    if user is not None:
        stmt = stmt.where(CalendarFeed.user_id == user.id)
    elif community_id:
        stmt = stmt.where(CalendarFeed.community_id == community_id, CalendarFeed.created_by_id == maker.id)
    else:
        stmt = stmt.where(CalendarFeed.unit_id == unit_id, CalendarFeed.created_by_id == maker.id)
    feed = db.session.scalar(stmt)
    if feed is None:
        feed = CalendarFeed(
            token=secrets.token_urlsafe(24),
            user_id=user.id if user else None,
            community_id=community_id,
            unit_id=unit_id,
            created_by_id=maker.id,
        )
        db.session.add(feed)
        db.session.flush()
    return feed


def reset_feed(feed: CalendarFeed) -> None:
    """Give the feed a new secret URL; the old one answers 404 from now on."""
    import secrets

    feed.token = secrets.token_urlsafe(24)


def month_grid(year: int, month: int) -> list[list[date]]:
    """The weeks (Monday first) covering a month."""
    return pycal.Calendar(firstweekday=0).monthdatescalendar(year, month)


def summarise_replies(meeting: Meeting) -> dict[Any, int]:
    counts = {r: 0 for r in Reply}
    for inv in meeting.invitations:
        counts[inv.reply] += 1
    return counts
