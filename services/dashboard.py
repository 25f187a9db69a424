"""The street dashboard: figures per community over a period, its charts and the annual report.

Every figure comes from aggregate SQL in a fixed number of statements whatever the data
size. Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, bindparam, case, func, literal, literal_column, select, union_all
from sqlalchemy.orm import aliased

from common.dates import SHANGHAI
from exports import charts
from exports.report import render_annual_report
from models import (
    Action,
    ActionStatus,
    Attendance,
    Booking,
    BookingStatus,
    Community,
    Invitation,
    Meeting,
    MeetingStatus,
    Need,
    NeedStatus,
    Resource,
    Room,
    Street,
    Unit,
    User,
    db,
)
from models.base import today
from services.periods import Period, year_period
from services.points import RULES, point_rules, street_top_units
from services.scope import in_scope, scoped

STREET_ROW = 0  # key of the row for street-level meetings and actions (no community)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def month_of(col, is_date: bool = False) -> ColumnElement[str]:
    """Return the Beijing-time month ("YYYY-MM") of a UTC timestamp or a date column, in SQL.

    The constants are inlined (not bound) so the expression in SELECT and GROUP BY is the
    same text, as PostgreSQL requires.
    """
    if _dialect() == "postgresql":
        fmt = literal_column("'YYYY-MM'")
        if is_date:
            return func.to_char(col, fmt)
        return func.to_char(func.timezone(literal_column(f"'{SHANGHAI.key}'"), col), fmt)
    fmt = literal_column("'%Y-%m'")
    if is_date:
        return func.strftime(fmt, col)
    # China has kept UTC+8 without daylight saving since 1991.
    return func.strftime(fmt, col, literal_column("'+8 hours'"))


@dataclass
class CommunityFigures:
    key: int
    name: str
    short_name: str = ""
    meetings_held: int = 0
    invited: int = 0
    present: int = 0
    actions_total: int = 0
    actions_done: int = 0
    actions_done_late: int = 0  # of actions_done: after their due date
    actions_open: int = 0  # not done and not yet due (shown as 未到期: 待办 and 推进中 alike)
    actions_overdue: int = 0
    needs_posted: int = 0
    needs_open: int = 0
    needs_fulfilled: int = 0
    resources: int = 0
    bookings: int = 0

    @property
    def attendance_rate(self) -> float | None:
        return self.present / self.invited if self.invited else None

    def add(self, other: CommunityFigures) -> None:
        for f in NUMBER_FIELDS:
            setattr(self, f, getattr(self, f) + getattr(other, f))


NUMBER_FIELDS = (
    "meetings_held",
    "invited",
    "present",
    "actions_total",
    "actions_done",
    "actions_done_late",
    "actions_open",
    "actions_overdue",
    "needs_posted",
    "needs_open",
    "needs_fulfilled",
    "resources",
    "bookings",
)


def action_state(day):
    """An action's state on `day` for the figures: done (on time), done_late, overdue or open."""
    done = Action.status == ActionStatus.DONE
    overdue = and_(Action.status != ActionStatus.DONE, Action.due_on < day)
    return case(
        (and_(done, Action.done_on > Action.due_on), "done_late"),
        (done, "done"),
        (overdue, "overdue"),
        else_="open",
    )


def count_actions(row: CommunityFigures, state: str, n: int) -> None:
    """Add n actions in `state` to a row: a late one counts as done and as done late."""
    row.actions_total += n
    if state == "done_late":
        row.actions_done += n
        row.actions_done_late += n
    else:
        setattr(row, f"actions_{state}", getattr(row, f"actions_{state}") + n)


@dataclass
class Dashboard:
    street: Street
    period: Period
    rows: list[CommunityFigures]
    total: CommunityFigures
    months: list[str]
    trend: dict[str, list[int]]  # series key -> count per month


TREND_SERIES = {
    "meetings": "召开会议",
    "actions_done": "完成议定事项",
    "needs_fulfilled": "完成需求",
    "bookings": "资源预约",
}


def street_for(user: User, street_id: int | None = None) -> Street | None:
    """Choose the street a user's dashboard shows: the street a user works in; for the system
    administrator and observers the chosen one (if they see it) or their first."""
    if user.street_id is not None:
        return db.session.get(Street, user.street_id)
    if street_id and in_scope(user, street_id):
        street = db.session.get(Street, street_id)
        if street is not None:
            return street
    return db.session.scalar(_FIRST_STREET.where(scoped(Street.id, user)))


_FIRST_STREET = select(Street).order_by(Street.position, Street.id).limit(1)


def street_dashboard(street: Street, period: Period, day: date | None = None) -> Dashboard:
    """Gather every figure of the street dashboard for a period (9 statements, whatever the data size)."""
    q = _dashboard_selects(_dialect())
    params = {
        "street_id": street.id,
        "start_utc": period.start_utc,
        "end_utc": period.end_utc,
        "start": period.start,
        "end": period.end,
        "day": day or today(),
    }

    def run(stmt):
        return db.session.execute(stmt, params)

    rows = {cid: CommunityFigures(cid, name, short or name) for cid, name, short in run(q.communities)}
    street_row = CommunityFigures(STREET_ROW, f"{street.name}（街道层面）", "街道层面")

    def row(cid: int | None) -> CommunityFigures | None:
        if cid is None:
            return street_row
        return rows.get(cid)

    for cid, n in run(q.meetings_held):
        if (r := row(cid)) is not None:
            r.meetings_held = n
    for cid, att, n in run(q.attendance):
        if (r := row(cid)) is not None:
            r.invited += n
            if att == Attendance.PRESENT:
                r.present += n
    for cid, st, n in run(q.actions):
        if (r := row(cid)) is not None:
            count_actions(r, st, n)
    for cid, posted, still_open in run(q.needs_posted):
        if (r := row(cid)) is not None:
            r.needs_posted, r.needs_open = posted, int(still_open or 0)
    for cid, n in run(q.needs_fulfilled):
        if (r := row(cid)) is not None:
            r.needs_fulfilled = n
    for cid, n in run(q.resources):
        if (r := row(cid)) is not None:
            r.resources = n
    for cid, n in run(q.bookings):
        if cid is not None and (r := rows.get(cid)) is not None:
            r.bookings = n

    months = period.months()
    trend = {k: [0] * len(months) for k in TREND_SERIES}
    index = {m: i for i, m in enumerate(months)}
    for key, month, n in run(q.trend):
        if month in index:
            trend[key][index[month]] += int(n)

    ordered = list(rows.values())
    if any(getattr(street_row, f) for f in NUMBER_FIELDS):
        ordered.append(street_row)
    total = CommunityFigures(-1, "合计")
    for r in ordered:
        total.add(r)
    return Dashboard(street, period, ordered, total, months, trend)


@dataclass(frozen=True)
class _DashboardSelects:
    communities: Any
    meetings_held: Any
    attendance: Any
    actions: Any
    needs_posted: Any
    needs_fulfilled: Any
    resources: Any
    bookings: Any
    trend: Any


@lru_cache(maxsize=2)
def _dashboard_selects(dialect: str) -> _DashboardSelects:
    """The dashboard's statements, built once per database dialect (month_of differs).

    The street, the period and the day are bound parameters (street_id, start_utc, end_utc,
    start, end, day): building these nine statements on every request took SQLAlchemy about
    as long as running them.
    """
    street_id = bindparam("street_id")
    start_utc, end_utc = bindparam("start_utc"), bindparam("end_utc")
    communities = (
        select(Community.id, Community.name, Community.short_name)
        .where(Community.street_id == street_id)
        .order_by(Community.position, Community.id)
    )
    held = and_(
        Meeting.street_id == street_id,
        # Meetings convened by the district or the city count on their level (services/rollup).
        Meeting.district_id.is_(None),
        Meeting.city_id.is_(None),
        Meeting.status == MeetingStatus.HELD,
        Meeting.start_at >= start_utc,
        Meeting.start_at < end_utc,
    )
    meetings_held = select(Meeting.community_id, func.count()).where(held).group_by(Meeting.community_id)
    attendance = (
        select(Meeting.community_id, Invitation.attendance, func.count())
        .join(Invitation, Invitation.meeting_id == Meeting.id)
        .where(held)
        .group_by(Meeting.community_id, Invitation.attendance)
    )

    # Actions agreed at meetings in the period, by their status today.
    state = action_state(bindparam("day")).label("state")
    actions = (
        select(Action.community_id, state, func.count())
        .join(Meeting, Meeting.id == Action.meeting_id)
        .where(
            Action.street_id == street_id,
            Meeting.district_id.is_(None),
            Meeting.city_id.is_(None),
            Meeting.start_at >= start_utc,
            Meeting.start_at < end_utc,
        )
        .group_by(Action.community_id, state)
    )

    # Needs posted in the period (those still open), and needs fulfilled in the period.
    open_states = [NeedStatus.OPEN, NeedStatus.CLAIMED, NeedStatus.IN_PROGRESS]
    is_open = case((Need.status.in_(open_states), 1), else_=0)
    needs_posted = (
        select(Need.community_id, func.count(), func.sum(is_open))
        .where(
            Need.street_id == street_id,
            Need.created_at >= start_utc,
            Need.created_at < end_utc,
            Need.status != NeedStatus.WITHDRAWN,
        )
        .group_by(Need.community_id)
    )
    fulfilled = and_(
        Need.street_id == street_id,
        Need.status == NeedStatus.FULFILLED,
        Need.fulfilled_at >= start_utc,
        Need.fulfilled_at < end_utc,
    )
    needs_fulfilled = select(Need.community_id, func.count()).where(fulfilled).group_by(Need.community_id)

    # Resources on offer by the end of the period; approved bookings starting in it.
    resources = (
        select(Resource.community_id, func.count())
        .where(Resource.street_id == street_id, Resource.active.is_(True), Resource.created_at < end_utc)
        .group_by(Resource.community_id)
    )
    room_unit = aliased(Unit)
    booking_community = func.coalesce(Resource.community_id, Room.community_id, room_unit.community_id)
    approved = and_(
        Booking.status == BookingStatus.APPROVED, Booking.start_at >= start_utc, Booking.start_at < end_utc
    )
    bookings = (
        select(booking_community, func.count())
        .select_from(Booking)
        .outerjoin(Resource, Resource.id == Booking.resource_id)
        .outerjoin(Room, Room.id == Booking.room_id)
        .outerjoin(room_unit, room_unit.id == Room.unit_id)
        .where(approved)
        .group_by(booking_community)
    )

    street_communities = select(Community.id).where(Community.street_id == street_id)
    bmonth = month_of(Booking.start_at)
    trend = union_all(
        select(literal("meetings"), month_of(Meeting.start_at), func.count())
        .where(held)
        .group_by(month_of(Meeting.start_at)),
        select(literal("actions_done"), month_of(Action.done_on, True), func.count())
        .where(
            Action.street_id == street_id,
            Action.status == ActionStatus.DONE,
            Action.done_on >= bindparam("start"),
            Action.done_on <= bindparam("end"),
        )
        .group_by(month_of(Action.done_on, True)),
        select(literal("needs_fulfilled"), month_of(Need.fulfilled_at), func.count())
        .where(fulfilled)
        .group_by(month_of(Need.fulfilled_at)),
        select(literal("bookings"), bmonth, func.count())
        .select_from(Booking)
        .outerjoin(Resource, Resource.id == Booking.resource_id)
        .outerjoin(Room, Room.id == Booking.room_id)
        .outerjoin(room_unit, room_unit.id == Room.unit_id)
        .where(approved, booking_community.in_(street_communities))
        .group_by(bmonth),
    )
    return _DashboardSelects(
        communities,
        meetings_held,
        attendance,
        actions,
        needs_posted,
        needs_fulfilled,
        resources,
        bookings,
        trend,
    )


def percent(value: float | None) -> str:
    """Show a rate as a whole percentage, or a dash when there is nothing to divide by."""
    return "—" if value is None else f"{round(value * 100)}%"


def dashboard_charts(d: Dashboard, highlight_key: int | None = None) -> dict[str, Markup]:
    """Draw the dashboard's SVG charts (used by the page and the annual report alike)."""
    names = [r.short_name or r.name for r in d.rows]
    hl = next((i for i, r in enumerate(d.rows) if r.key == highlight_key), None)
    return {
        "meetings": charts.hbar_chart(
            names,
            [("召开会议（次）", [r.meetings_held for r in d.rows])],
            "各社区召开联席会议次数",
            highlight=hl,
        ),
        "attendance": charts.hbar_chart(
            names,
            [("出席率", [r.attendance_rate or 0 for r in d.rows])],
            "各社区会议出席率",
            percent=True,
            highlight=hl,
        ),
        "actions": charts.hbar_chart(
            names,
            [
                ("已完成", [r.actions_done for r in d.rows]),
                ("未到期", [r.actions_open for r in d.rows]),
                ("已逾期", [r.actions_overdue for r in d.rows]),
            ],
            "各社区议定事项落实情况",
            stacked=True,
            colors=("#2e7d32", "#1565c0", "#b71c1c"),
            highlight=hl,
        ),
        "sharing": charts.hbar_chart(
            names,
            [
                ("完成需求", [r.needs_fulfilled for r in d.rows]),
                ("待落实需求", [r.needs_open for r in d.rows]),
                ("共享资源", [r.resources for r in d.rows]),
                ("资源预约", [r.bookings for r in d.rows]),
            ],
            "各社区资源共享与需求对接",
            highlight=hl,
        ),
        "trend": charts.column_chart(
            charts.month_labels(d.months),
            [(TREND_SERIES[k], d.trend[k]) for k in TREND_SERIES],
            "逐月工作量",
        ),
    }


# --- annual report ------------------------------------------------------------------------


def annual_report_context(street: Street, year: int) -> dict:
    """Gather everything the annual report shows for a street and year."""
    period = year_period(year)
    d = street_dashboard(street, period)
    return {
        "street": street,
        "year": year,
        "d": d,
        "charts": dashboard_charts(d),
        "top_units": street_top_units(street, year),
        "rules": point_rules(street.id),
        "RULES": RULES,
        "percent": percent,
        "generated": datetime.now().astimezone(),
    }


def annual_report_pdf(street: Street, year: int) -> bytes:
    """Render the street's annual report for a year as a PDF."""
    return render_annual_report(annual_report_context(street, year))
