"""Resource catalogue and booking operations shared by views, CLI, demo and tests. They never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, false, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from common.dates import SHANGHAI, format_date, format_datetime, format_range
from common.search import escape_like
from models import (
    Booking,
    BookingStatus,
    Community,
    Meeting,
    MeetingStatus,
    Resource,
    ResourceKind,
    Role,
    Room,
    Unit,
    User,
    Visibility,
    db,
)
from models.base import RuleError, utcnow
from services import notify
from services import permissions as perm
from services.meetings import visible_meetings
from services.places import active_communities
from services.rooms import (
    BLOCKING,
    PUBLISHED_BLOCKING,
    RoomHold,
    bookings_holding,
    find_clash,
    first_gap,
    lock_room,
    meetings_holding,
    next_free_slot,
    overlaps,
)
from services.scope import scoped, street_ids

BOOKABLE_KINDS = (ResourceKind.VENUE, ResourceKind.EQUIPMENT)
MAX_BOOKING = timedelta(days=31)
MAX_AHEAD = timedelta(days=366)


class BookingError(RuleError):
    """A booking cannot be made or changed; the message is for the user."""


# --- catalogue ---------------------------------------------------------------------------


@dataclass
class CatalogueFilters:
    q: str = ""
    kind: ResourceKind | None = None
    community_id: int | None = None
    owner_unit_id: int | None = None
    bookable: bool = False
    inactive: bool = False


def visible_resources(user: User, include_inactive: bool = False) -> Select[tuple[Resource]]:
    """Resources a user may see: staff all; a liaison those shared with all units or their community, and their own."""
    kind, params = _viewer(user)
    return select(Resource).where(*_visible_where(kind, include_inactive)).params(params)


def _contains(column, pattern: str):
    """Case-insensitive LIKE. SQLite's LIKE already ignores ASCII case, and its ILIKE (lower() on
    both sides) costs four times as much on a 10,000-row search; PostgreSQL needs ILIKE."""
    if db.session.get_bind().dialect.name == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def owners_with_resources(user: User) -> list[tuple[int, str]]:
    """(id, name) of the units that have a resource the user may see, for the owner filter."""
    kind, params = _viewer(user)
    return [tuple(row) for row in db.session.execute(_owners_select(kind), params)]


def _viewer(user: User) -> tuple[str, dict[str, int]]:
    """Which of visible_resources' rules applies to the user, and its bound parameters."""
    streets = street_ids(user)
    if streets is None:
        return "all", {}
    if user.role in perm.READERS:
        return "staff", {"viewer_streets": list(streets)}
    if user.role != Role.LIAISON or not user.unit_id:
        return "none", {}
    return "liaison", {
        "viewer_unit_id": user.unit_id,
        "viewer_community_id": perm.viewer_community_id(user) or 0,
        "viewer_streets": list(streets),
    }


def _visible_where(kind: str, include_inactive: bool) -> tuple:
    """Which resources a kind of viewer may see (the one rule: visible_resources, the
    catalogue and its owner filter use it), as criteria with bound parameters
    (:viewer_unit_id, :viewer_community_id, :viewer_streets; _viewer gives their values)."""
    if kind == "all":
        return () if include_inactive else (Resource.active.is_(True),)
    if kind == "none":
        return (false(),)
    in_streets = Resource.street_id.in_(bindparam("viewer_streets", expanding=True))
    if kind == "staff":
        return (in_streets,) if include_inactive else (in_streets, Resource.active.is_(True))
    shared = or_(
        Resource.visibility == Visibility.ALL,
        and_(
            Resource.visibility == Visibility.COMMUNITY,
            Resource.community_id == bindparam("viewer_community_id"),
        ),
    )
    own = Resource.owner_unit_id == bindparam("viewer_unit_id")
    if include_inactive:
        return (in_streets, or_(own, and_(Resource.active.is_(True), shared)))
    return (in_streets, Resource.active.is_(True), or_(own, shared))


@lru_cache(maxsize=4)
def _owners_select(kind: str) -> Select:
    visible = select(Resource.id).where(*_visible_where(kind, False), Resource.owner_unit_id == Unit.id)
    return select(Unit.id, Unit.name).where(visible.exists()).order_by(Unit.name)


_CATALOGUE_NAMES = (aliased(Unit), aliased(Community), aliased(Community))
_CATALOGUE_COLUMNS = (
    Resource.id,
    Resource.title,
    Resource.description,
    Resource.kind,
    Resource.bookable,
    Resource.active,
    Resource.capacity,
    Resource.quantity,
    Resource.availability,
    Resource.owner_unit_id,
    (Resource.visibility == Visibility.COMMUNITY).label("community_only"),
    _CATALOGUE_NAMES[0].name.label("owner_unit_name"),
    _CATALOGUE_NAMES[1].name.label("owner_community_name"),
    _CATALOGUE_NAMES[2].name.label("community_name"),
    Resource.community_id,
)


def catalogue_query(user: User, f: CatalogueFilters) -> tuple[Select, dict[str, int]]:
    """Visible resources matching the catalogue filters, newest first, as the plain values a
    catalogue line prints (see _CATALOGUE_COLUMNS: the resource's own, community_only, and the
    names owner_unit_name, owner_community_name and community_name), with the values of its
    bound parameters. A Resource with its owner and community as joined objects cost more to
    build than the line that shows them; the statement without filters is built once."""
    kind, params = _viewer(user)
    return catalogue_filters(_catalogue_select(kind, f.inactive), f), params


def catalogue_filters(stmt: Select, f: CatalogueFilters) -> Select:
    """The catalogue's search and filters on a statement over Resource."""
    q = f.q.strip()
    if q:
        stmt = stmt.where(matches_text(q))
    if f.kind:
        stmt = stmt.where(Resource.kind == f.kind)
    if f.community_id:
        stmt = stmt.where(Resource.community_id == f.community_id)
    if f.owner_unit_id:
        stmt = stmt.where(Resource.owner_unit_id == f.owner_unit_id)
    if f.bookable:
        stmt = stmt.where(Resource.bookable.is_(True))
    return stmt


def matches_text(q: str):
    """The catalogue's search: title, description, or the providing unit's name."""
    pattern = f"%{escape_like(q.strip())}%"
    owners = select(Unit.id).where(or_(_contains(Unit.name, pattern), _contains(Unit.short_name, pattern)))
    return or_(
        _contains(Resource.title, pattern),
        _contains(Resource.description, pattern),
        Resource.owner_unit_id.in_(owners),
    )


@lru_cache(maxsize=8)
def _catalogue_select(kind: str, include_inactive: bool) -> Select:
    owner_unit, owner_community, community = _CATALOGUE_NAMES
    return (
        select(*_CATALOGUE_COLUMNS)
        .select_from(Resource)
        .outerjoin(owner_unit, owner_unit.id == Resource.owner_unit_id)
        .outerjoin(owner_community, owner_community.id == Resource.owner_community_id)
        .outerjoin(community, community.id == Resource.community_id)
        .where(*_visible_where(kind, include_inactive))
        .order_by(Resource.id.desc())
    )


def unit_resources(user: User, unit: Unit, limit: int = 20) -> tuple[list[Resource], int]:
    """The unit's resources the viewer may see (inactive ones too for its editors), and how many."""
    editor = perm.can_edit_unit(user, unit)
    stmt = visible_resources(user, include_inactive=editor).where(Resource.owner_unit_id == unit.id)
    items = list(
        db.session.scalars(
            stmt.options(joinedload(Resource.community))
            .order_by(Resource.active.desc(), Resource.id.desc())
            .limit(limit)
        )
    )
    total = len(items)
    if total == limit:
        total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    return items, total


def owner_choices(user: User) -> list[tuple[str, str]]:
    """Who a user may publish a resource for, as form choices: 'u:<id>' units, 'c:<id>' communities."""
    if user.role == Role.LIAISON:
        unit = user.unit
        return [(f"u:{unit.id}", unit.name)] if unit else []
    communities = active_communities(viewer=user)
    units = select(Unit).where(scoped(Unit.street_id, user)).order_by(Unit.community_id, Unit.name)
    if user.role == Role.SECRETARY:
        communities = communities.where(Community.id == user.community_id)
        units = units.where(Unit.community_id == user.community_id)
    elif not user.is_admin:
        return []
    choices = [(f"c:{c.id}", f"{c.name}（社区）") for c in db.session.scalars(communities)]
    choices += [(f"u:{u.id}", u.name) for u in db.session.scalars(units)]
    return choices


def owner_key(resource: Resource) -> str:
    return f"u:{resource.owner_unit_id}" if resource.owner_unit_id else f"c:{resource.owner_community_id}"


RESOURCE_FIELDS = (
    "kind",
    "title",
    "description",
    "capacity",
    "quantity",
    "availability",
    "available_from",
    "available_until",
    "conditions",
    "contact_name",
    "contact_phone",
    "visibility",
    "bookable",
    "opens_at",
    "closes_at",
    "open_days",
    "overnight",
)


def save_resource(resource: Resource | None, owner: str, data: dict[str, Any], by: User) -> Resource:
    """Create or update a resource owned by 'u:<unit id>' or 'c:<community id>'."""
    kind_, _, raw_id = owner.partition(":")
    if kind_ == "u":
        unit = db.session.get(Unit, int(raw_id))
        street_id, community_id = unit.street_id, unit.community_id
        owner_unit_id, owner_community_id = unit.id, None
    else:
        community = db.session.get(Community, int(raw_id))
        street_id, community_id = community.street_id, community.id
        owner_unit_id, owner_community_id = None, community.id
    if data.get("bookable") and data.get("kind") not in BOOKABLE_KINDS:
        raise BookingError("只有场地和设施设备可以开放预约。")
    if resource is None:
        resource = Resource()
        db.session.add(resource)
    else:
        resource.version += 1
    resource.street_id = street_id
    resource.community_id = community_id
    resource.owner_unit_id = owner_unit_id
    resource.owner_community_id = owner_community_id
    for key in RESOURCE_FIELDS:
        if key in data:
            setattr(resource, key, data[key])
    db.session.flush()
    return resource


def set_active(resource: Resource, active: bool, by: User) -> int:
    """Deactivate (declining its pending requests) or reactivate a resource; returns requests declined."""
    resource.active = active
    resource.version += 1
    declined = 0
    if not active:
        now = utcnow()
        pending = db.session.scalars(
            select(Booking).where(Booking.resource_id == resource.id, Booking.status == BookingStatus.PENDING)
        )
        for booking in pending:
            booking.status = BookingStatus.DECLINED
            booking.decline_reason = "资源已停用，申请自动退回。"
            booking.decided_by_id = by.id
            booking.decided_at = now
            declined += 1
    db.session.flush()
    return declined


# --- bookings ------------------------------------------------------------------------------


def booking_options():
    """Everything a booking row shows, in a fixed number of queries."""
    return (
        joinedload(Booking.resource).joinedload(Resource.owner_unit),
        joinedload(Booking.resource).joinedload(Resource.owner_community),
        joinedload(Booking.room).joinedload(Room.community),
        joinedload(Booking.room).joinedload(Room.unit),
        joinedload(Booking.requester_unit),
        joinedload(Booking.requester_community),
        joinedload(Booking.requested_by),
    )


def load_booking(booking_id: int) -> Booking | None:
    return db.session.scalar(select(Booking).where(Booking.id == booking_id).options(*booking_options()))


def _owned_targets(user: User):
    """A condition on Booking: the resource or room it targets is owned by the user's unit or community."""
    kind, owner_id = _owner(user)
    return _owned_by(kind, owner_id)


def _owner(user: User) -> tuple[str, int | None]:
    """Whose resources and rooms the user decides on: ("all", None), ("unit", id), ("community", id) or ("none", None)."""
    if user.role == Role.SYSADMIN:
        return "all", None
    if user.role == Role.ADMIN:
        return "street", user.street_id or 0
    if user.role == Role.LIAISON and user.unit_id:
        return "unit", user.unit_id
    if user.role == Role.SECRETARY and user.community_id:
        return "community", user.community_id
    return "none", None


def _owned_by(kind: str, owner_id):
    """The condition of _owned_targets for an owner kind; owner_id a value or a bound parameter."""
    if kind == "all":
        return Booking.id.is_not(None)
    if kind == "street":
        resources = select(Resource.id).where(Resource.street_id == owner_id)
        rooms_ = select(Room.id).where(Room.street_id == owner_id)
    elif kind == "unit":
        resources = select(Resource.id).where(Resource.owner_unit_id == owner_id)
        rooms_ = select(Room.id).where(Room.unit_id == owner_id)
    elif kind == "community":
        resources = select(Resource.id).where(Resource.owner_community_id == owner_id)
        rooms_ = select(Room.id).where(Room.community_id == owner_id)
    else:
        return false()
    return or_(Booking.resource_id.in_(resources), Booking.room_id.in_(rooms_))


def _requested_by_me(user: User):
    if user.role == Role.LIAISON and user.unit_id:
        return Booking.requester_unit_id == user.unit_id
    if user.role == Role.SECRETARY and user.community_id:
        return Booking.requester_community_id == user.community_id
    return false()


def awaiting_decision(user: User) -> Select[tuple[Booking]]:
    """Pending requests the user may approve or decline, soonest first."""
    return (
        select(Booking)
        .where(Booking.status == BookingStatus.PENDING, _owned_targets(user))
        .options(*booking_options())
        .order_by(Booking.start_at, Booking.id)
    )


def first_awaiting_decision(user: User, limit: int) -> list[Booking]:
    """The first `limit` of awaiting_decision, with only what the dashboard lists (what is
    booked, by whom): not the owners and the requesting user that a booking row names."""
    kind, owner_id = _owner(user)
    params = {"owner_id": owner_id} if owner_id is not None else {}
    return list(db.session.scalars(_first_awaiting_select(kind, limit), params))


@lru_cache(maxsize=8)
def _first_awaiting_select(kind: str, limit: int) -> Select[tuple[Booking]]:
    # Built once (the dashboard asks on every visit): building it cost more than running it.
    return (
        select(Booking)
        .where(Booking.status == BookingStatus.PENDING, _owned_by(kind, bindparam("owner_id")))
        .options(
            joinedload(Booking.resource),
            joinedload(Booking.room),
            joinedload(Booking.requester_unit),
            joinedload(Booking.requester_community),
        )
        .order_by(Booking.start_at, Booking.id)
        .limit(limit)
    )


def my_requests(user: User) -> Select[tuple[Booking]]:
    """Requests made by the user's unit or community, newest first."""
    return (
        select(Booking)
        .where(_requested_by_me(user))
        .options(*booking_options())
        .order_by(Booking.created_at.desc(), Booking.id.desc())
    )


def received(user: User) -> Select[tuple[Booking]]:
    """Every booking of the user's resources and rooms, latest start first."""
    return (
        select(Booking)
        .where(_owned_targets(user) if not user.is_admin else false())
        .options(*booking_options())
        .order_by(Booking.start_at.desc(), Booking.id.desc())
    )


def bookings_of(user: User) -> Select[tuple[Booking]]:
    """What the bookings page's tabs show together: every booking in the user's streets for
    those who may see them all, else the user's own requests and those for what they own."""
    if perm.can_view_all_bookings(user):
        return all_bookings(user)
    return (
        select(Booking)
        .where(or_(_requested_by_me(user), _owned_targets(user)))
        .options(*booking_options())
        .order_by(Booking.start_at.desc(), Booking.id.desc())
    )


def all_bookings(user: User) -> Select[tuple[Booking]]:
    """Every booking of a resource or room in the streets the user sees, latest start first."""
    streets = street_ids(user)
    stmt = select(Booking)
    if streets is not None:
        stmt = stmt.where(
            or_(
                Booking.resource_id.in_(select(Resource.id).where(Resource.street_id.in_(streets))),
                Booking.room_id.in_(select(Room.id).where(Room.street_id.in_(streets))),
            )
        )
    return stmt.options(*booking_options()).order_by(Booking.start_at.desc(), Booking.id.desc())


def clashing_pending(bookings: list[Booking]) -> set[int]:
    """Ids of the given pending bookings that an approved booking (or a meeting, for rooms) already blocks.

    One query per kind of target, whatever the number of bookings.
    """
    pending = [b for b in bookings if b.status == BookingStatus.PENDING]
    if not pending:
        return set()
    lo, hi = min(b.start_at for b in pending), max(b.end_at for b in pending)
    resource_ids = {b.resource_id for b in pending if b.resource_id}
    room_ids = {b.room_id for b in pending if b.room_id}
    cond = []
    if resource_ids:
        cond.append(Booking.resource_id.in_(resource_ids))
    if room_ids:
        cond.append(Booking.room_id.in_(room_ids))
    busy: dict[tuple[str, int], list[tuple[datetime, datetime]]] = {}
    for resource_id, room_id, s, e in db.session.execute(
        select(Booking.resource_id, Booking.room_id, Booking.start_at, Booking.end_at).where(
            bookings_holding(or_(*cond), lo, hi)
        )
    ):
        key = ("resource", resource_id) if resource_id else ("room", room_id)
        busy.setdefault(key, []).append((s, e))
    if room_ids:
        # Drafts block approval too, but only their hosts may know of them: see draft_holds.
        for room_id, s, e in db.session.execute(
            select(Meeting.room_id, Meeting.start_at, Meeting.end_at).where(
                meetings_holding(Meeting.room_id.in_(room_ids), lo, hi, PUBLISHED_BLOCKING)
            )
        ):
            busy.setdefault(("room", room_id), []).append((s, e))
    out = set()
    for b in pending:
        key = ("resource", b.resource_id) if b.resource_id else ("room", b.room_id)
        if any(overlaps(s, e, b.start_at, b.end_at) for s, e in busy.get(key, ())):
            out.add(b.id)
    return out


def draft_holds(bookings: list[Booking], user: User) -> dict[int, Any]:
    """Pending room requests that overlap a draft meeting the viewer may see: booking id -> the draft.

    Such a request can only be approved once the draft moves; its hosts are told which draft it is.
    One query, whatever the number of bookings.
    """
    pending = [b for b in bookings if b.status == BookingStatus.PENDING and b.room_id]
    if not pending:
        return {}
    lo, hi = min(b.start_at for b in pending), max(b.end_at for b in pending)
    drafts = db.session.scalars(
        visible_meetings(user).where(
            meetings_holding(Meeting.room_id.in_({b.room_id for b in pending}), lo, hi, [MeetingStatus.DRAFT])
        )
    ).all()
    out = {}
    for b in pending:
        draft = next(
            (
                m
                for m in drafts
                if m.room_id == b.room_id and overlaps(m.start_at, m.end_at, b.start_at, b.end_at)
            ),
            None,
        )
        if draft is not None:
            out[b.id] = draft
    return out


def lock_resource(resource_id: int) -> None:
    """Serialise writers on one resource (PostgreSQL row lock; SQLite already holds the write lock)."""
    db.session.execute(select(Resource.id).where(Resource.id == resource_id).with_for_update())


def resource_clash(
    resource_id: int, start: datetime, end: datetime, exclude_id: int | None = None
) -> Booking | None:
    """Find the first approved booking of the resource overlapping [start, end), if any."""
    return db.session.scalar(
        select(Booking)
        .where(bookings_holding(Booking.resource_id == resource_id, start, end, exclude_id))
        .options(joinedload(Booking.requester_unit), joinedload(Booking.requester_community))
        .order_by(Booking.start_at)
        .limit(1)
    )


def resource_next_free(resource_id: int, start: datetime, duration: timedelta) -> datetime:
    """Find the earliest start from `start` on when the resource is free for `duration`."""
    busy = db.session.execute(
        select(Booking.start_at, Booking.end_at)
        .where(
            bookings_holding(Booking.resource_id == resource_id, start, start + timedelta(days=90) + duration)
        )
        .order_by(Booking.start_at)
    ).all()
    return first_gap([(s, e) for s, e in busy], start, duration)


def check_slot(
    resource: Resource | None,
    room: Room | None,
    start: datetime,
    end: datetime,
    approver: User | None = None,
) -> None:
    """Refuse a slot the resource or room is already taken in, naming the clash and the next free slot.

    A request (no approver) meets only published meetings: a draft is invisible to the requester
    and may never happen. Approving meets drafts too, and tells the approver which draft it is.
    """
    if resource is not None:
        clash = resource_clash(resource.id, start, end)
        if clash is not None:
            suggestion = resource_next_free(resource.id, start, end - start)
            raise BookingError(
                f"“{resource.title}”在该时段已预约给{clash.requester_name}"
                f"（{format_range(clash.start_at, clash.end_at)}）。"
                f"最近的空闲时段从 {format_datetime(suggestion)} 开始。"
            )
        return
    drafts = approver is not None
    hold = find_clash(room.id, start, end, include_drafts=drafts)
    if hold is not None and not isinstance(hold, RoomHold) and hold.status == MeetingStatus.DRAFT:
        title = f"“{hold.title}”" if perm.can_view_meeting(approver, hold) else "（街道安排，尚未发布）"
        raise BookingError(
            f"“{room.name}”在该时段已安排草稿会议{title}（{format_range(hold.start_at, hold.end_at)}）。"
            "如要同意这项申请，请先把该会议改到其他时段；否则请拒绝申请并说明原因。"
        )
    if hold is not None:
        suggestion = next_free_slot(room.id, start, end - start, include_drafts=drafts)
        what = "会议" if not isinstance(hold, RoomHold) else "预约"
        raise BookingError(
            f"“{room.name}”在该时段已被{what}“{hold.title}”（{format_range(hold.start_at, hold.end_at)}）占用。"
            f"最近的空闲时段从 {format_datetime(suggestion)} 开始。"
        )


def check_times(resource: Resource | None, start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        raise BookingError("结束时间必须晚于开始时间。")
    if start < now:
        raise BookingError("开始时间已过，请选择将来的时段。")
    if end - start > MAX_BOOKING:
        raise BookingError("一次预约最长 31 天，请分段预约。")
    if start > now + MAX_AHEAD:
        raise BookingError("只能预约一年以内的时段。")
    if resource is not None:
        local_start = start.astimezone(SHANGHAI).date()
        local_end = (end - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
        if resource.available_from and local_start < resource.available_from:
            raise BookingError(f"“{resource.title}”从 {format_date(resource.available_from)} 起开放预约。")
        if resource.available_until and local_end > resource.available_until:
            raise BookingError(f"“{resource.title}”只开放到 {format_date(resource.available_until)}。")


def check_opening_hours(resource: Resource | None, room: Room | None, start: datetime, end: datetime) -> None:
    """Refuse a slot outside the resource's or room's opening hours (or past midnight unless allowed).

    Both a request and its approval go through here, so hours changed in between are honoured.
    """
    target = resource if resource is not None else room
    problem = target.hours_problem(target.name, start, end)
    if problem:
        raise BookingError(problem)


def request_booking(
    by: User,
    start: datetime,
    end: datetime,
    purpose: str,
    resource: Resource | None = None,
    room: Room | None = None,
) -> Booking:
    """Ask for a bookable resource or a room; refused at once if the slot is already taken."""
    if (resource is None) == (room is None):
        raise ValueError("book either a resource or a room")
    if resource is not None:
        if not resource.active:
            raise BookingError("该资源已停用，不能预约。")
        if not resource.bookable:
            raise BookingError("该资源不接受预约，请直接联系提供单位。")
    elif not room.bookable:
        raise BookingError("该会议室暂不开放预约。")
    if perm.is_owner(by, resource, room):
        raise BookingError("这是本单位（本社区）自己的场地或资源，无需申请预约。")
    purpose = purpose.strip()
    if not purpose:
        raise BookingError("请填写用途。")
    check_times(resource, start, end, utcnow())
    check_opening_hours(resource, room, start, end)
    if resource is not None:
        lock_resource(resource.id)
    else:
        lock_room(room.id)
    check_slot(resource, room, start, end)
    booking = Booking(
        resource_id=resource.id if resource is not None else None,
        room_id=room.id if room is not None else None,
        requester_unit_id=by.unit_id if by.role == Role.LIAISON else None,
        requester_community_id=by.community_id if by.role == Role.SECRETARY else None,
        requested_by_id=by.id,
        start_at=start,
        end_at=end,
        purpose=purpose,
        status=BookingStatus.PENDING,
    )
    db.session.add(booking)
    db.session.flush()
    notify.booking_requested(booking, by)
    return booking


def _lock_and_refresh(booking: Booking) -> None:
    """Take the target's lock, then re-read the booking: another decision may have landed meanwhile."""
    if booking.resource_id:
        lock_resource(booking.resource_id)
    else:
        lock_room(booking.room_id)
    db.session.refresh(booking, ["status", "decided_at", "decline_reason"])


def approve(booking: Booking, by: User) -> None:
    """Approve a pending request, unless an approved booking (or a meeting) took the slot meanwhile."""
    _lock_and_refresh(booking)
    if booking.status != BookingStatus.PENDING:
        raise BookingError(f"该申请当前为“{booking.status.label}”，不能再同意。")
    if booking.resource_id and not booking.resource.active:
        raise BookingError("该资源已停用，不能同意预约。")
    if booking.end_at <= utcnow():
        raise BookingError("该申请的时段已过，不能再同意。")
    check_opening_hours(booking.resource, booking.room, booking.start_at, booking.end_at)
    check_slot(booking.resource, booking.room, booking.start_at, booking.end_at, approver=by)
    booking.status = BookingStatus.APPROVED
    booking.decided_by_id = by.id
    booking.decided_at = utcnow()
    booking.decline_reason = ""
    db.session.flush()
    notify.booking_decided(booking, by)


def decline(booking: Booking, reason: str, by: User) -> None:
    """Decline a pending request with a reason."""
    reason = reason.strip()
    if not reason:
        raise BookingError("请填写拒绝的原因。")
    _lock_and_refresh(booking)
    if booking.status != BookingStatus.PENDING:
        raise BookingError(f"该申请当前为“{booking.status.label}”，不能再拒绝。")
    booking.status = BookingStatus.DECLINED
    booking.decided_by_id = by.id
    booking.decided_at = utcnow()
    booking.decline_reason = reason
    db.session.flush()
    notify.booking_decided(booking, by)


def cancel(booking: Booking, by: User) -> None:
    """Withdraw a pending request, or give up an approved booking that has not ended."""
    _lock_and_refresh(booking)
    if booking.status not in (BookingStatus.PENDING, BookingStatus.APPROVED):
        raise BookingError(f"该申请当前为“{booking.status.label}”，不能取消。")
    if booking.end_at <= utcnow():
        raise BookingError("该预约的时段已过，不能取消。")
    booking.status = BookingStatus.CANCELLED
    db.session.flush()


def upcoming_for(
    resource: Resource | None = None, room: Room | None = None, limit: int = 20
) -> list[Booking]:
    """Approved and pending bookings of a resource or room that have not ended, soonest first."""
    stmt = select(Booking).where(
        Booking.status.in_((BookingStatus.APPROVED, BookingStatus.PENDING)), Booking.end_at > utcnow()
    )
    stmt = (
        stmt.where(Booking.resource_id == resource.id) if resource else stmt.where(Booking.room_id == room.id)
    )
    stmt = stmt.options(joinedload(Booking.requester_unit), joinedload(Booking.requester_community))
    return list(db.session.scalars(stmt.order_by(Booking.start_at).limit(limit)))


def room_meetings(room: Room, user: User, limit: int = 20):
    """The room's coming meetings (not cancelled) the viewer may see, soonest first."""
    return list(
        db.session.scalars(
            visible_meetings(user)
            .where(Meeting.room_id == room.id, Meeting.status.in_(BLOCKING), Meeting.end_at > utcnow())
            .order_by(Meeting.start_at)
            .limit(limit)
        )
    )


def bookable_rooms(user: User) -> Select[tuple[Room]]:
    """Rooms in use that others may book, in the streets the user sees."""
    return (
        select(Room)
        .where(Room.bookable.is_(True), Room.retired_at.is_(None), scoped(Room.street_id, user))
        .options(joinedload(Room.community), joinedload(Room.unit), joinedload(Room.street))
        .order_by(
            Room.unit_id.is_not(None),
            Room.community_id.is_not(None),
            Room.community_id,
            Room.position,
            Room.id,
        )
    )
