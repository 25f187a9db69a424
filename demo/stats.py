"""Demo data for points and the dashboard: last year's year-end meetings, so the ranking,
the "上一年度" dashboard and last year's annual report have something to show.

The point rules stay at their defaults (no PointRule rows): points come from the meetings,
actions, needs and bookings the other demo steps create. Idempotent: a street that already
has last year's year-end meetings is left alone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from common.dates import SHANGHAI
from models import (
    Action,
    ActionStatus,
    ActionTag,
    AgendaItem,
    Attendance,
    Community,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Principle,
    Reply,
    Room,
    Street,
    Unit,
    UnitStatus,
    db,
)
from models.base import today


def seed(street: Street) -> None:
    """Add last year's year-end joint meeting in each community, with attendance and actions."""
    year = today().year - 1
    title = f"{year}年度共驻共建工作总结会"
    if db.session.scalar(
        select(Meeting.id).where(Meeting.street_id == street.id, Meeting.title == title).limit(1)
    ):
        return
    communities = db.session.scalars(
        select(Community).where(Community.street_id == street.id).order_by(Community.position)
    ).all()
    rooms = {
        r.community_id: r for r in db.session.scalars(select(Room).where(Room.community_id.is_not(None)))
    }
    units_by_community: dict[int, list[Unit]] = {}
    for unit in db.session.scalars(
        select(Unit).where(Unit.street_id == street.id, Unit.status != UnitStatus.WITHDRAWN).order_by(Unit.id)
    ):
        units_by_community.setdefault(unit.community_id, []).append(unit)
    for n, community in enumerate(communities):
        units = units_by_community.get(community.id, [])
        room = rooms.get(community.id)
        if not units or room is None:
            continue
        start = datetime.combine(date(year, 12, 10 + n), time(14, 30), SHANGHAI)
        meeting = Meeting(
            street_id=street.id,
            community_id=community.id,
            kind=MeetingKind.REGULAR,
            title=title,
            description=f"{community.name}党委召集，总结全年共建工作、评议共建单位积分。",
            start_at=start,
            end_at=start + timedelta(hours=2),
            room_id=room.id,
            status=MeetingStatus.HELD,
            topic_deadline=start - timedelta(days=3),
            published_at=start - timedelta(days=14),
            held_at=start + timedelta(hours=2),
        )
        meeting.agenda_items.append(AgendaItem(position=1, title="全年共建工作总结", minutes=40))
        meeting.agenda_items.append(AgendaItem(position=2, title="共建单位积分评议", minutes=30))
        for i, unit in enumerate(units):
            # Most attend; the third sends apologies and the fifth stays away without leave.
            attendance = {2: Attendance.ABSENT_LEAVE, 4: Attendance.ABSENT_NO_LEAVE}.get(
                i, Attendance.PRESENT
            )
            reply = Reply.DECLINE if attendance == Attendance.ABSENT_LEAVE else Reply.ACCEPT
            meeting.invitations.append(
                Invitation(unit_id=unit.id, reply=reply, attendance=attendance, attendance_at=start)
            )
        db.session.add(meeting)
        db.session.flush()
        for i, (what, principle) in enumerate(
            (("年终走访慰问困难群众", Principle.COBUILD), ("共建单位场地年度开放计划", Principle.SHARE))
        ):
            lead = units[i % len(units)]
            due = date(year, 12, 28)
            action = Action(
                meeting_id=meeting.id,
                street_id=street.id,
                community_id=community.id,
                title=what,
                lead_unit_id=lead.id,
                due_on=due,
                status=ActionStatus.DONE,
                done_on=due - timedelta(days=3 + i),
                result="已按计划完成。",
                position=i,
            )
            action.tags.append(ActionTag(principle=principle))
            db.session.add(action)
    db.session.flush()
