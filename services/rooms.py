"""Rooms and their calendar, shared by meetings and bookings: clashes, free slots, pending requests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import joinedload

from common.dates import SHANGHAI, format_datetime, format_range, local_dt
from models import (
    Booking,
    BookingStatus,
    Community,
    Meeting,
    MeetingStatus,
    Role,
    Room,
    Street,
    User,
    db,
)
from models.base import RuleError, utcnow
from services.scope import scoped

BLOCKING = (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED, MeetingStatus.HELD)
# A draft holds its room against other meetings and against approving a booking, but a
# booking request goes through: the draft is invisible to the requester and may never happen.
PUBLISHED_BLOCKING = (MeetingStatus.SCHEDULED, MeetingStatus.HELD)
DAY_START, DAY_END = time(8, 30), time(21, 0)


# --- room calendar --------------------------------------------------------------


def overlaps(start, end, other_start, other_end):
    """Tell whether [start, end) and [other_start, other_end) share an instant.

    The one overlap test for meetings and bookings alike: on values it gives a bool, on
    columns an SQL condition (`&` is `and` for both).
    """
    return (start < other_end) & (end > other_start)


def meetings_holding(
    target: ColumnElement[bool],
    start: datetime,
    end: datetime,
    statuses: Iterable[MeetingStatus] = BLOCKING,
    exclude_id: int | None = None,
) -> ColumnElement[bool]:
    """Match the meetings of the target room(s) in these statuses that overlap [start, end)."""
    return and_(
        target,
        Meeting.status.in_(list(statuses)),
        overlaps(Meeting.start_at, Meeting.end_at, start, end),
        Meeting.id != (exclude_id or 0),
    )


def bookings_holding(
    target: ColumnElement[bool], start: datetime, end: datetime, exclude_id: int | None = None
) -> ColumnElement[bool]:
    """Match the approved bookings of the target room(s) or resource(s) that overlap [start, end)."""
    return and_(
        target,
        Booking.status == BookingStatus.APPROVED,
        overlaps(Booking.start_at, Booking.end_at, start, end),
        Booking.id != (exclude_id or 0),
    )


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
    """Find the first meeting, or else approved room booking, that holds the room during [start, end).

    Without include_drafts only published meetings count: what a booking request meets.
    """
    statuses = BLOCKING if include_drafts else PUBLISHED_BLOCKING
    meeting = db.session.scalar(
        select(Meeting)
        .where(meetings_holding(Meeting.room_id == room_id, start, end, statuses, exclude_id))
        .order_by(Meeting.start_at)
        .limit(1)
    )
    if meeting is not None:
        return meeting
    booking = db.session.scalar(
        select(Booking)
        .where(bookings_holding(Booking.room_id == room_id, start, end, exclude_booking_id))
        .options(joinedload(Booking.requester_unit), joinedload(Booking.requester_community))
        .order_by(Booking.start_at)
        .limit(1)
    )
    return _booking_hold(booking) if booking is not None else None


def room_busy(
    room_id: int,
    start: datetime,
    until: datetime,
    exclude_id: int | None = None,
    exclude_booking_id: int | None = None,
    include_drafts: bool = True,
) -> list[tuple[datetime, datetime]]:
    """List the intervals in which meetings and approved bookings hold the room, between start and until."""
    statuses = BLOCKING if include_drafts else PUBLISHED_BLOCKING
    meetings = db.session.execute(
        select(Meeting.start_at, Meeting.end_at).where(
            meetings_holding(Meeting.room_id == room_id, start, until, statuses, exclude_id)
        )
    ).all()
    bookings = db.session.execute(
        select(Booking.start_at, Booking.end_at).where(
            bookings_holding(Booking.room_id == room_id, start, until, exclude_booking_id)
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
        clash = next(((s, e) for s, e in busy if overlaps(s, e, candidate, candidate + duration)), None)
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
        f"会议室在该时段已被“{clash.title}”（{format_range(clash.start_at, clash.end_at)}）占用。"
        f"该会议室最近的空闲时段从 {format_datetime(suggestion)} 开始。"
    )


def rooms_for(user: User, community_id: int | None = None) -> list[Room]:
    """Community and street meeting rooms in use that a user may schedule in."""
    stmt = select(Room).where(
        Room.unit_id.is_(None),
        Room.bookable.is_(True),
        Room.retired_at.is_(None),
        scoped(Room.street_id, user),
    )
    if user.role == Role.SECRETARY:
        stmt = stmt.where(Room.community_id == user.community_id)
    elif community_id:
        stmt = stmt.where(Room.community_id == community_id)
    return list(
        db.session.scalars(
            stmt.options(joinedload(Room.community), joinedload(Room.street)).order_by(
                Room.community_id.is_not(None), Room.community_id, Room.position, Room.id
            )
        )
    )


# --- rooms as data ----------------------------------------------------------------


@dataclass
class RoomFacts:
    """What a room's page form says about it."""

    name: str
    capacity: int
    address: str
    equipment: str
    bookable: bool
    opens_at: time
    closes_at: time
    open_days: str
    overnight: bool


def save_room(
    room: Room | None, facts: RoomFacts, community_id: int | None = None, street_id: int | None = None
) -> Room:
    """Add a room to a community or a street (room None), or change one; names are unique per owner."""
    if room is None:
        if community_id is not None:
            owner = db.session.get(Community, community_id)
        else:
            owner = db.session.get(Street, street_id) if street_id is not None else None
        if owner is None:
            raise RuleError("请指定会议室所属的社区或街道。")
        if owner.retired:
            raise RuleError(f"“{owner.name}”已撤销，不能新增会议室。")
        street_id = owner.id if community_id is None else owner.street_id
    else:
        community_id, street_id = room.community_id, room.street_id
    same_name = select(Room.id).where(Room.name == facts.name, Room.id != (room.id if room else 0))
    if community_id is not None:
        same_name = same_name.where(Room.community_id == community_id)
    elif room is not None and room.unit_id is not None:
        same_name = same_name.where(Room.unit_id == room.unit_id)
    else:
        same_name = same_name.where(
            Room.street_id == street_id, Room.community_id.is_(None), Room.unit_id.is_(None)
        )
    if db.session.scalar(same_name.limit(1)) is not None:
        raise RuleError(f"已有名为“{facts.name}”的会议室，请换一个名称。")
    if room is None:
        room = Room(community_id=community_id, street_id=street_id)
        db.session.add(room)
    room.name = facts.name
    room.capacity = facts.capacity
    room.address = facts.address
    room.equipment = facts.equipment
    room.set_booking_hours(
        bookable=facts.bookable,
        opens_at=facts.opens_at,
        closes_at=facts.closes_at,
        open_days=facts.open_days,
        overnight=facts.overnight,
    )
    db.session.flush()
    return room


def retire_room(room: Room) -> Room:
    """Stop using a room: its meetings and bookings stay; it leaves the choices for new ones.

    Refused while published meetings or approved bookings still hold it in the future.
    """
    ahead = db.session.scalar(
        select(Meeting.id)
        .where(Meeting.room_id == room.id, Meeting.status.in_(BLOCKING), Meeting.end_at > utcnow())
        .limit(1)
    ) or db.session.scalar(
        select(Booking.id)
        .where(
            Booking.room_id == room.id, Booking.status == BookingStatus.APPROVED, Booking.end_at > utcnow()
        )
        .limit(1)
    )
    if ahead:
        raise RuleError(f"“{room.name}”还有尚未结束的会议或已同意的预约，请先改期或换会议室后再停用。")
    room.retired_at = utcnow()
    db.session.flush()
    return room


def restore_room(room: Room) -> Room:
    if not room.retired:
        return room
    owner = room.community or room.street
    if owner is not None and room.unit_id is None and owner.retired:
        raise RuleError(f"“{owner.name}”已撤销，请先恢复。")
    room.retired_at = None
    db.session.flush()
    return room
