"""The work overview (工作台) each user sees first: their meetings, replies, actions, new units.

Its statements are built once per kind of viewer (role, and whether a secretary has a
community) with the viewer and the time as bound parameters: building six statements on
every request took SQLAlchemy about as long as running them. What each viewer may see is
the same as services.meetings.visibility and the action ledger decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import joinedload

from models import (
    Action,
    ActionStatus,
    Community,
    Invitation,
    Meeting,
    MeetingStatus,
    Reply,
    Role,
    Unit,
    UnitStatus,
    User,
    db,
)
from services.actions import LEDGER_ORDER, involves
from services.meetings import viewer_params, visibility

NEXT_MEETINGS = 6
OPEN_ACTIONS = 8
NEW_UNITS = 10


@dataclass(frozen=True)
class _Statements:
    units_by_status: Any
    new_units: Any
    open_actions: Any
    next_meetings: Any
    owed_replies: Any


def _params(user: User, now: datetime, day: date) -> dict[str, Any]:
    return viewer_params(user) | {"now": now, "day": day}


def unit_table() -> tuple[list[Community], dict[int, dict[UnitStatus, int]]]:
    """Every community, and its units counted by status (one statement)."""
    table: dict[int, dict[UnitStatus, int]] = {}
    listed: dict[int, Community] = {}
    for community, status, n in db.session.execute(_statements(Role.ADMIN, False).units_by_status):
        listed.setdefault(community.id, community)
        if status is not None:
            table.setdefault(community.id, {s: 0 for s in UnitStatus})[UnitStatus(status)] = n
    return list(listed.values()), table


def new_units(user: User) -> list[Unit]:
    """Units that have registered (报到) and wait to be admitted: admins all, a secretary their community's."""
    if user.role not in (Role.ADMIN, Role.SECRETARY):
        return []
    q = _statements(user.role, bool(user.community_id))
    return list(db.session.scalars(q.new_units, {"community_id": user.community_id or 0}))


def open_actions(user: User, day: date) -> tuple[list[Action], int]:
    """The user's open actions, soonest due first (a liaison: their unit's; a secretary: their
    community's; others all), and how many of all open ones are overdue on `day`."""
    q = _statements(user.role, bool(user.community_id))
    rows = db.session.execute(q.open_actions, _params(user, datetime.min, day)).all()
    return [a for a, _ in rows], (rows[0][1] if rows else 0)


def next_meetings(user: User, now: datetime) -> tuple[list[Meeting], dict[int, int]]:
    """The user's next meetings, and for hosts the replies still missing per published meeting."""
    q = _statements(user.role, bool(user.community_id))
    rows = db.session.execute(q.next_meetings, _params(user, now, now.date())).all()
    meetings = [row[0] for row in rows]
    if user.role not in (Role.ADMIN, Role.SECRETARY):
        return meetings, {}
    # Only a published meeting's invitations were sent: a draft's units owe no reply yet.
    return meetings, {m.id: n for m, n in rows if m.status == MeetingStatus.SCHEDULED and n}


def owed_replies(user: User, now: datetime) -> list[Meeting]:
    """Published meetings still to come that the liaison's unit has not answered."""
    if user.role != Role.LIAISON or not user.unit_id:
        return []
    q = _statements(Role.LIAISON, False)
    return list(db.session.scalars(q.owed_replies, _params(user, now, now.date())))


@lru_cache(maxsize=16)
def _statements(role: Role, has_community: bool) -> _Statements:
    """The overview's statements for one kind of viewer, with bound parameters
    :user_id, :unit_id, :community_id, :now and :day."""
    unit_id, community_id = bindparam("unit_id"), bindparam("community_id")
    now, day = bindparam("now"), bindparam("day")

    units_by_status = (
        select(Community, Unit.status, func.count(Unit.id))
        .outerjoin(Unit, Unit.community_id == Community.id)
        .group_by(Community.id, Unit.status)
        .order_by(Community.street_id, Community.position)
    )
    new = select(Unit).where(Unit.status == UnitStatus.REGISTERED).order_by(Unit.registered_on)
    if role == Role.SECRETARY:
        new = new.where(Unit.community_id == community_id)
    new = new.limit(NEW_UNITS)

    # Open actions: the overdue count comes with the rows (a window over all open ones, before LIMIT).
    actions = select(Action).where(Action.status != ActionStatus.DONE)
    if role == Role.LIAISON:
        actions = actions.where(involves(unit_id))
    elif role == Role.SECRETARY:
        actions = actions.where(Action.community_id == community_id)
    overdue_total = func.sum(case((Action.due_on < day, 1), else_=0)).over()
    actions = (
        actions.add_columns(overdue_total)
        .options(joinedload(Action.lead_unit))
        .order_by(*LEDGER_ORDER)
        .limit(OPEN_ACTIONS)
    )

    # Meetings the viewer may see (the rule of services.meetings.visible_meetings), still to come.
    meetings = (
        select(Meeting)
        .options(joinedload(Meeting.room), joinedload(Meeting.community))
        .where(*visibility(role, has_community))
    )
    meetings = meetings.where(
        Meeting.end_at >= now, Meeting.status.in_((MeetingStatus.DRAFT, MeetingStatus.SCHEDULED))
    )
    if role == Role.SECRETARY:
        meetings = meetings.where(or_(Meeting.community_id == community_id, Meeting.community_id.is_(None)))
    if role in (Role.LIAISON, Role.ARCHIVIST):
        meetings = meetings.where(Meeting.status == MeetingStatus.SCHEDULED)
    if role in (Role.ADMIN, Role.SECRETARY):  # the replies still missing come with each meeting
        meetings = meetings.add_columns(
            select(func.count())
            .where(Invitation.meeting_id == Meeting.id, Invitation.reply == Reply.PENDING)
            .scalar_subquery()
        )
    meetings = meetings.order_by(Meeting.start_at).limit(NEXT_MEETINGS)

    owed = (
        select(Meeting)
        .join(Invitation, Invitation.meeting_id == Meeting.id)
        .where(
            and_(
                Invitation.unit_id == unit_id,
                Invitation.reply == Reply.PENDING,
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.start_at > now,
            )
        )
        .options(joinedload(Meeting.room))
        .order_by(Meeting.start_at)
    )
    return _Statements(units_by_status, new, actions, meetings, owed)
