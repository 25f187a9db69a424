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

from sqlalchemy import and_, bindparam, func, or_, select
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
    Room,
    Unit,
    UnitStatus,
    User,
    db,
)
from services.actions import LEDGER_ORDER, involves
from services.meetings import viewer_params, visibility
from services.scope import street_ids

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


def unit_table(user: User) -> tuple[list[Community], dict[int, dict[UnitStatus, int]]]:
    """Every community the user sees, and its units counted by status (one statement)."""
    table: dict[int, dict[UnitStatus, int]] = {}
    listed: dict[int, Community] = {}
    q = _statements(user.role, bool(user.community_id))
    for community, status, n in db.session.execute(q.units_by_status, viewer_params(user)):
        listed.setdefault(community.id, community)
        if status is not None:
            table.setdefault(community.id, {s: 0 for s in UnitStatus})[UnitStatus(status)] = n
    return list(listed.values()), table


def new_units(user: User) -> list[Unit]:
    """Units that have registered (报到) and wait to be admitted: admins their streets', a secretary their community's."""
    if not (user.is_admin or user.role == Role.SECRETARY):
        return []
    q = _statements(user.role, bool(user.community_id))
    return list(db.session.scalars(q.new_units, viewer_params(user)))


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
    if not (user.is_admin or user.role == Role.SECRETARY):
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

    def in_streets(column):
        """The viewer's streets (:street_ids); the system administrator sees them all."""
        return () if role == Role.SYSADMIN else (column.in_(bindparam("street_ids", expanding=True)),)

    units_by_status = (
        select(Community, Unit.status, func.count(Unit.id))
        .outerjoin(Unit, Unit.community_id == Community.id)
        .where(*in_streets(Community.street_id))
        .group_by(Community.id, Unit.status)
        .order_by(Community.street_id, Community.position)
    )
    new = (
        select(Unit)
        .where(Unit.status == UnitStatus.REGISTERED, *in_streets(Unit.street_id))
        .order_by(Unit.registered_on)
    )
    if role == Role.SECRETARY:
        new = new.where(Unit.community_id == community_id)
    new = new.limit(NEW_UNITS)

    # Open actions: the overdue count comes with the rows, counted by a scalar subquery over the
    # same open actions. (A window over all open ones made the database join and keep every open
    # action before LIMIT: 100 ms for a city's 40,000; this way the rows come in the ledger's
    # index order and stop at LIMIT.)
    open_ = [Action.status != ActionStatus.DONE]
    if role == Role.LIAISON:
        open_.append(involves(unit_id))
    elif role == Role.SECRETARY:
        open_.append(Action.community_id == community_id)
    else:
        open_.extend(in_streets(Action.street_id))
    overdue_total = select(func.count()).where(*open_, Action.due_on < day).correlate(None).scalar_subquery()
    actions = (
        select(Action, overdue_total)
        .where(*open_)
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
    if role in (Role.LIAISON, Role.ARCHIVIST, Role.OBSERVER):
        meetings = meetings.where(Meeting.status == MeetingStatus.SCHEDULED)
    if role in (
        Role.SYSADMIN,
        Role.ADMIN,
        Role.SECRETARY,
    ):  # the replies still missing come with each meeting
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


# --- going live -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupStep:
    key: str
    label: str
    hint: str
    done: bool


def setup_steps(user: User) -> list[SetupStep]:
    """The steps from an empty install to the first published meeting, for an admin, each
    marked done or not (one statement); empty once all are done, and for everyone else."""
    if not user.is_admin:
        return []
    streets = street_ids(user)

    def exists(stmt, column):
        if streets is not None:
            stmt = stmt.where(column.in_(streets))
        return stmt.exists()

    row = db.session.execute(
        select(
            exists(select(Community.id).where(Community.retired_at.is_(None)), Community.street_id),
            exists(select(Room.id).where(Room.retired_at.is_(None), Room.unit_id.is_(None)), Room.street_id),
            exists(select(User.id).where(User.role == Role.SECRETARY, User.active.is_(True)), User.street_id),
            exists(select(Unit.id), Unit.street_id),
            exists(select(Meeting.id).where(Meeting.status != MeetingStatus.DRAFT), Meeting.street_id),
        )
    ).one()
    steps = [
        SetupStep("places", "建立地点", "在“地点管理”中建立街道及其社区（可批量导入）。", row[0]),
        SetupStep(
            "rooms",
            "新增会议室",
            "在社区（或街道）页面为其新增共驻共建会议室，写明容纳人数和开放时间。",
            row[1],
        ),
        SetupStep("users", "建立账号", "在“用户管理”中为社区书记（及街道管理员、档案员）建立账号。", row[2]),
        SetupStep(
            "units", "登记驻区单位", "在“驻区单位”中登记或批量导入驻区单位，并为其联络员建立账号。", row[3]
        ),
        SetupStep(
            "meeting",
            "发布第一次联席会议",
            "在“联席会议”中安排会议、邀请单位并发布，单位即收到邀请。",
            row[4],
        ),
    ]
    return [] if all(s.done for s in steps) else steps
