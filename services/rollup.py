"""The dashboard rolled up level by level (四级联动): a city's figures per district, a
district's per street, each with a row for the meetings the level convened itself.

The figures are the street dashboard's (services/dashboard), grouped by street in a fixed
number of statements whatever the number of streets, then added up per district for a city.
Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from models import (
    Action,
    Attendance,
    Booking,
    BookingStatus,
    City,
    District,
    Invitation,
    Meeting,
    MeetingStatus,
    Need,
    NeedStatus,
    Resource,
    Role,
    Room,
    Street,
    Unit,
    User,
    db,
)
from models.base import today
from services.dashboard import CommunityFigures, action_state, count_actions
from services.periods import Period

LEVEL_ROW = 0  # key of the row for the level's own meetings


@dataclass
class Rollup:
    place: City | District
    period: Period
    rows: list[CommunityFigures]  # one per district (a city) or street (a district)
    total: CommunityFigures

    @property
    def is_city(self) -> bool:
        return isinstance(self.place, City)

    @property
    def level_label(self) -> str:
        return "市级" if self.is_city else "区级"


def rollup_for(user: User, city_id: int | None, district_id: int | None) -> City | District | None:
    """The place a user's roll-up shows: the chosen district or city if it lies at or below
    the user's level (a city observer: the city and its districts; a district observer: the
    district), else the user's own; the system administrator's first city by default."""
    every = user.role == Role.SYSADMIN
    if district_id:
        district = db.session.get(District, district_id)
        if district is not None and (
            every or user.district_id == district.id or (user.city_id and user.city_id == district.city_id)
        ):
            return district
    if city_id:
        city = db.session.get(City, city_id)
        if city is not None and (every or user.city_id == city.id):
            return city
    if user.district_id:
        return db.session.get(District, user.district_id)
    if user.city_id:
        return db.session.get(City, user.city_id)
    if every:
        return db.session.scalar(select(City).order_by(City.position, City.id).limit(1))
    return None


def can_go_up(user: User, place: City | District) -> bool:
    """Whether the user may open the city above a district's roll-up."""
    return isinstance(place, District) and (user.role == Role.SYSADMIN or user.city_id == place.city_id)


def rollup(place: City | District, period: Period, day: date | None = None) -> Rollup:
    """Figures per district of a city or per street of a district, and the level's own row."""
    day = day or today()
    if isinstance(place, City):
        districts = list(
            db.session.scalars(
                select(District).where(District.city_id == place.id).order_by(District.position, District.id)
            )
        )
        children = {d.id: CommunityFigures(d.id, d.name, d.short_name or d.name) for d in districts}
        streets = db.session.execute(
            select(Street.id, Street.district_id).where(Street.district_id.in_(list(children)))
        ).all()
        parent = {sid: did for sid, did in streets}
        own = level_figures(Meeting.city_id, Meeting.city_id == place.id, period, day)
        # Each district's row holds its own meetings as well as its streets'.
        for did, figures in level_figures(
            Meeting.district_id, Meeting.district_id.in_(list(children)), period, day
        ).items():
            children[did].add(figures)
    else:
        streets = db.session.scalars(
            select(Street).where(Street.district_id == place.id).order_by(Street.position, Street.id)
        ).all()
        children = {s.id: CommunityFigures(s.id, s.name, s.short_name) for s in streets}
        parent = {s.id: s.id for s in streets}
        own = level_figures(Meeting.district_id, Meeting.district_id == place.id, period, day)
    per_street = street_figures(list(parent), period, day)
    for sid, figures in per_street.items():
        children[parent[sid]].add(figures)
    own_row = CommunityFigures(
        LEVEL_ROW, f"{place.name}（{'市' if isinstance(place, City) else '区'}级层面）", "本级"
    )
    if place.id in own:
        own_row.add(own[place.id])
    rows = list(children.values())
    if any(getattr(own_row, f) for f in ("meetings_held", "invited", "actions_total")):
        rows.append(own_row)
    total = CommunityFigures(-1, "合计")
    for r in rows:
        total.add(r)
    return Rollup(place, period, rows, total)


def level_figures(key, where, period: Period, day: date) -> dict[int, CommunityFigures]:
    """Per value of `key` (a column of Meeting: its street, district or city): the held meetings matching
    `where` in the period, their attendance, and the actions agreed at them (three statements)."""
    rows: dict[int, CommunityFigures] = {}

    def row(k: int) -> CommunityFigures:
        return rows.setdefault(k, CommunityFigures(k, ""))

    held = and_(where, Meeting.status == MeetingStatus.HELD, *_in_period(period))
    for k, n in db.session.execute(select(key, func.count()).where(held).group_by(key)):
        row(k).meetings_held = n
    for k, att, n in db.session.execute(
        select(key, Invitation.attendance, func.count())
        .join(Invitation, Invitation.meeting_id == Meeting.id)
        .where(held)
        .group_by(key, Invitation.attendance)
    ):
        row(k).invited += n
        if att == Attendance.PRESENT:
            row(k).present += n
    state = action_state(day)
    for k, st, n in db.session.execute(
        select(key, state, func.count())
        .select_from(Action)
        .join(Meeting, Meeting.id == Action.meeting_id)
        .where(where, *_in_period(period))
        .group_by(key, state)
    ):
        count_actions(row(k), st, n)
    return rows


def _in_period(period: Period) -> tuple:
    return (Meeting.start_at >= period.start_utc, Meeting.start_at < period.end_utc)


def street_figures(street_ids: list[int], period: Period, day: date) -> dict[int, CommunityFigures]:
    """The street dashboard's totals for each of these streets (seven statements)."""
    rows = {sid: CommunityFigures(sid, "") for sid in street_ids}
    if not rows:
        return rows
    # Held meetings, attendance and actions: the streets' own meetings (an action's street is
    # its meeting's), grouped as the levels' are.
    own = and_(Meeting.street_id.in_(street_ids), Meeting.district_id.is_(None), Meeting.city_id.is_(None))
    for sid, figures in level_figures(Meeting.street_id, own, period, day).items():
        rows[sid].add(figures)
    is_open = case(
        (Need.status.in_([NeedStatus.OPEN, NeedStatus.CLAIMED, NeedStatus.IN_PROGRESS]), 1), else_=0
    )
    for sid, posted, still_open in db.session.execute(
        select(Need.street_id, func.count(), func.sum(is_open))
        .where(
            Need.street_id.in_(street_ids),
            Need.created_at >= period.start_utc,
            Need.created_at < period.end_utc,
            Need.status != NeedStatus.WITHDRAWN,
        )
        .group_by(Need.street_id)
    ):
        rows[sid].needs_posted, rows[sid].needs_open = posted, int(still_open or 0)
    for sid, n in db.session.execute(
        select(Need.street_id, func.count())
        .where(
            Need.street_id.in_(street_ids),
            Need.status == NeedStatus.FULFILLED,
            Need.fulfilled_at >= period.start_utc,
            Need.fulfilled_at < period.end_utc,
        )
        .group_by(Need.street_id)
    ):
        rows[sid].needs_fulfilled = n
    for sid, n in db.session.execute(
        select(Resource.street_id, func.count())
        .where(
            Resource.street_id.in_(street_ids),
            Resource.active.is_(True),
            Resource.created_at < period.end_utc,
        )
        .group_by(Resource.street_id)
    ):
        rows[sid].resources = n
    room_unit = aliased(Unit)
    booking_street = func.coalesce(Resource.street_id, Room.street_id, room_unit.street_id)
    # As the street dashboard counts them: bookings of a community's or a unit's resource or room.
    booking_community = func.coalesce(Resource.community_id, Room.community_id, room_unit.community_id)
    for sid, n in db.session.execute(
        select(booking_street, func.count())
        .select_from(Booking)
        .outerjoin(Resource, Resource.id == Booking.resource_id)
        .outerjoin(Room, Room.id == Booking.room_id)
        .outerjoin(room_unit, room_unit.id == Room.unit_id)
        .where(
            Booking.status == BookingStatus.APPROVED,
            Booking.start_at >= period.start_utc,
            Booking.start_at < period.end_utc,
            booking_street.in_(street_ids),
            booking_community.is_not(None),
        )
        .group_by(booking_street)
    ):
        rows[sid].bookings = n
    return rows
