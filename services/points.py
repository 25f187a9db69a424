"""Unit points (积分): the rules, the events behind them, a unit's score and the rankings.

Points are never stored: they are derived from the meetings, actions, needs and bookings
each time, with the rules as they stand, so a rule change re-scores history consistently.
Every function here issues a fixed number of statements whatever the data size. Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from common.dates import to_local
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
    PointRule,
    Resource,
    Room,
    Street,
    Unit,
    UnitStatus,
    db,
)
from services.periods import Period, StatsError, date_in_period, in_period, year_period

POINTS_LIMIT = 100  # a rule's points lie within ±POINTS_LIMIT


@dataclass(frozen=True)
class RuleDef:
    key: str
    label: str
    default: int
    explain: str


RULES: tuple[RuleDef, ...] = (
    RuleDef("attend", "出席联席会议", 2, "单位受邀参加的会议已召开，且签到为“出席”"),
    RuleDef("absent_no_leave", "无故缺席", -5, "单位受邀参加的会议已召开，签到为“无故缺席”"),
    RuleDef("action_on_time", "按期完成议定事项", 2, "牵头单位的议定事项已完成，完成日期不晚于完成时限"),
    RuleDef("need_fulfilled", "完成认领需求", 3, "单位认领的需求（含微心愿）已完成"),
    RuleDef("resource_booked", "资源被其他单位预约", 1, "单位的资源或场地被其他单位（或社区）预约并获同意"),
)
RULE_KEYS = tuple(r.key for r in RULES)
RULE_BY_KEY = {r.key: r for r in RULES}


def point_rules(street_id: int | None) -> dict[str, int]:
    """Return the points of every rule in a street: its admin's setting, else the default."""
    stored = dict(
        db.session.execute(
            select(PointRule.key, PointRule.points).where(PointRule.street_id == (street_id or 0))
        )
        .tuples()
        .all()
    )
    return {r.key: int(stored.get(r.key, r.default)) for r in RULES}


def set_point_rules(street_id: int, values: dict[str, int]) -> list[str]:
    """Store a street's rules' points; return the keys that changed. Refuses unknown keys and absurd values."""
    for key, points in values.items():
        if key not in RULE_BY_KEY:
            raise StatsError("未知的积分规则。")
        if not isinstance(points, int) or isinstance(points, bool):
            raise StatsError("积分必须是整数。")
        if abs(points) > POINTS_LIMIT:
            raise StatsError(f"积分必须在 -{POINTS_LIMIT} 到 {POINTS_LIMIT} 之间。")
    stored = {r.key: r for r in db.session.scalars(select(PointRule).where(PointRule.street_id == street_id))}
    changed = []
    current = point_rules(street_id)
    for key, points in values.items():
        if current[key] == points and key in stored:
            continue
        if key in stored:
            stored[key].points = points
        else:
            db.session.add(PointRule(street_id=street_id, key=key, points=points))
        if current[key] != points:
            changed.append(key)
    db.session.flush()
    return changed


# --- events ------------------------------------------------------------------------------


def _event_selects(period: Period, unit_ids=None) -> list:
    """One (unit_id, kind, n) grouped select per rule, restricted to the period (and units)."""
    held = Meeting.status == MeetingStatus.HELD

    def units(col):
        return [col.in_(unit_ids)] if unit_ids is not None else []

    inv = (
        select(
            Invitation.unit_id.label("unit_id"), Invitation.attendance.label("att"), func.count().label("n")
        )
        .join(Meeting, Meeting.id == Invitation.meeting_id)
        .where(
            held,
            in_period(Meeting.start_at, period),
            Invitation.attendance.in_([Attendance.PRESENT, Attendance.ABSENT_NO_LEAVE]),
            *units(Invitation.unit_id),
        )
        .group_by(Invitation.unit_id, Invitation.attendance)
        .subquery()
    )
    attend = select(
        inv.c.unit_id,
        case((inv.c.att == Attendance.PRESENT.value, "attend"), else_="absent_no_leave").label("kind"),
        inv.c.n,
    )
    on_time = (
        select(Action.lead_unit_id, literal("action_on_time"), func.count())
        .where(
            Action.status == ActionStatus.DONE,
            Action.done_on.is_not(None),
            Action.done_on <= Action.due_on,
            date_in_period(Action.done_on, period),
            *units(Action.lead_unit_id),
        )
        .group_by(Action.lead_unit_id)
    )
    fulfilled = (
        select(Need.claimed_unit_id, literal("need_fulfilled"), func.count())
        .where(
            Need.status == NeedStatus.FULFILLED,
            Need.claimed_unit_id.is_not(None),
            in_period(Need.fulfilled_at, period),
            *units(Need.claimed_unit_id),
        )
        .group_by(Need.claimed_unit_id)
    )
    owner = _booking_owner_unit()
    booked = (
        select(owner, literal("resource_booked"), func.count())
        .select_from(Booking)
        .outerjoin(Resource, Resource.id == Booking.resource_id)
        .outerjoin(Room, Room.id == Booking.room_id)
        .where(
            Booking.status == BookingStatus.APPROVED,
            owner.is_not(None),
            or_(Booking.requester_unit_id.is_(None), Booking.requester_unit_id != owner),
            in_period(Booking.start_at, period),
            *units(owner),
        )
        .group_by(owner)
    )
    return [attend, on_time, fulfilled, booked]


def _booking_owner_unit():
    return func.coalesce(Resource.owner_unit_id, Room.unit_id)


def event_counts(period: Period, unit_ids=None) -> dict[int, dict[str, int]]:
    """Count each unit's events per rule in the period: {unit id: {rule key: events}}, one statement."""
    q = union_all(*_event_selects(period, unit_ids))
    out: dict[int, dict[str, int]] = {}
    for unit_id, kind, n in db.session.execute(q):
        if unit_id is None:
            continue
        out.setdefault(unit_id, dict.fromkeys(RULE_KEYS, 0))[kind] += int(n)
    return out


def score(counts: dict[str, int], rules: dict[str, int]) -> int:
    """Add up the points that these event counts earn under these rules."""
    return sum(counts.get(k, 0) * rules[k] for k in RULE_KEYS)


# --- points of one unit -------------------------------------------------------------------


@dataclass
class PointEvent:
    kind: str
    on: date
    title: str
    points: int
    endpoint: str = ""
    ref_id: int | None = None
    url: str = ""

    @property
    def label(self) -> str:
        return RULE_BY_KEY[self.kind].label


@dataclass
class UnitPoints:
    unit: Unit
    year: int
    rules: dict[str, int]
    counts: dict[str, int]
    total: int
    events: list[PointEvent] = field(default_factory=list)


def unit_points(unit: Unit, year: int, with_events: bool = True) -> UnitPoints:
    """Return a unit's points in a year with the events behind them (7 statements with events, 2 without)."""
    period = year_period(year)
    rules = point_rules(unit.street_id)
    counts = event_counts(period, [unit.id]).get(unit.id, dict.fromkeys(RULE_KEYS, 0))
    result = UnitPoints(unit, year, rules, counts, score(counts, rules))
    if not with_events:
        return result
    events: list[PointEvent] = []
    rows = db.session.execute(
        select(Meeting.id, Meeting.title, Meeting.start_at, Invitation.attendance)
        .join(Invitation, Invitation.meeting_id == Meeting.id)
        .where(
            Invitation.unit_id == unit.id,
            Meeting.status == MeetingStatus.HELD,
            in_period(Meeting.start_at, period),
            Invitation.attendance.in_([Attendance.PRESENT, Attendance.ABSENT_NO_LEAVE]),
        )
    )
    for mid, title, start, att in rows:
        kind = "attend" if att == Attendance.PRESENT else "absent_no_leave"
        events.append(PointEvent(kind, to_local(start).date(), title, rules[kind], "meetings.detail", mid))
    rows = db.session.execute(
        select(Action.id, Action.title, Action.done_on).where(
            Action.lead_unit_id == unit.id,
            Action.status == ActionStatus.DONE,
            Action.done_on <= Action.due_on,
            date_in_period(Action.done_on, period),
        )
    )
    for aid, title, done_on in rows:
        events.append(
            PointEvent("action_on_time", done_on, title, rules["action_on_time"], "actions.detail", aid)
        )
    rows = db.session.execute(
        select(Need.id, Need.title, Need.fulfilled_at).where(
            Need.claimed_unit_id == unit.id,
            Need.status == NeedStatus.FULFILLED,
            in_period(Need.fulfilled_at, period),
        )
    )
    for nid, title, at in rows:
        events.append(
            PointEvent(
                "need_fulfilled", to_local(at).date(), title, rules["need_fulfilled"], "needs.detail", nid
            )
        )
    owner = _booking_owner_unit()
    requester = aliased(Unit)
    rcommunity = aliased(Community)
    rows = db.session.execute(
        select(
            Booking.id,
            func.coalesce(Resource.title, Room.name),
            Booking.start_at,
            func.coalesce(requester.name, rcommunity.name),
            Booking.resource_id,
        )
        .select_from(Booking)
        .outerjoin(Resource, Resource.id == Booking.resource_id)
        .outerjoin(Room, Room.id == Booking.room_id)
        .outerjoin(requester, requester.id == Booking.requester_unit_id)
        .outerjoin(rcommunity, rcommunity.id == Booking.requester_community_id)
        .where(
            Booking.status == BookingStatus.APPROVED,
            owner == unit.id,
            or_(Booking.requester_unit_id.is_(None), Booking.requester_unit_id != owner),
            in_period(Booking.start_at, period),
        )
    )
    for _bid, title, start, who, resource_id in rows:
        events.append(
            PointEvent(
                "resource_booked",
                to_local(start).date(),
                f"{title}（{who or '其他单位'}预约）",
                rules["resource_booked"],
                "resources.detail" if resource_id else "",
                resource_id,
            )
        )
    events.sort(key=lambda e: (e.on, e.kind), reverse=True)
    result.events = events
    return result


# --- ranking --------------------------------------------------------------------------------


@dataclass
class RankRow:
    rank: int
    unit_id: int
    name: str
    category: str
    status: str
    counts: dict[str, int]
    points: int
    active: bool  # 在册: the ranking names the status of the others


def shared_ranks(points: list[int]) -> list[int]:
    """The places of scores sorted best first, ties sharing a place: [9, 7, 7, 5] -> [1, 2, 2, 4]."""
    ranks: list[int] = []
    for i, p in enumerate(points):
        ranks.append(ranks[-1] if i and points[i - 1] == p else i + 1)
    return ranks


def community_ranking(community: Community, year: int) -> tuple[list[RankRow], dict[str, int]]:
    """Rank the units of a community by their points in a year (3 statements).

    Withdrawn units appear only if they earned or lost points that year. Ties share a
    rank (1, 1, 3); within a tie, by name.
    """
    rules = point_rules(community.street_id)
    units = db.session.execute(
        select(Unit.id, Unit.name, Unit.category, Unit.status).where(Unit.community_id == community.id)
    ).all()
    ids = [u.id for u in units]
    counts = (
        event_counts(year_period(year), select(Unit.id).where(Unit.community_id == community.id))
        if ids
        else {}
    )
    rows = []
    for uid, name, category, status in units:
        c = counts.get(uid, dict.fromkeys(RULE_KEYS, 0))
        if status == UnitStatus.WITHDRAWN and not any(c.values()):
            continue
        active = status == UnitStatus.ACTIVE
        rows.append(RankRow(0, uid, name, category.label, status.label, c, score(c, rules), active))
    rows.sort(key=lambda r: (-r.points, r.name))
    for row, rank in zip(rows, shared_ranks([r.points for r in rows]), strict=True):
        row.rank = rank
    return rows, rules


RANKING_HEADERS = ["名次", "单位名称", "单位类别", "状态", *[r.label + "（次）" for r in RULES], "积分"]


def ranking_rows(rows: list[RankRow]) -> list[list]:
    """Lay out the ranking as rows under RANKING_HEADERS, for the xlsx export."""
    return [[r.rank, r.name, r.category, r.status, *[r.counts[k] for k in RULE_KEYS], r.points] for r in rows]


def street_top_units(street: Street, year: int, limit: int = 10) -> list[tuple[int, str, str, int]]:
    """Return the street's best-scoring units in a year: (rank, unit, community, points), ties
    sharing a rank as in the community ranking (1, 1, 3); 3 statements."""
    rules = point_rules(street.id)
    counts = event_counts(year_period(year), select(Unit.id).where(Unit.street_id == street.id))
    if not counts:
        return []
    scored = sorted(((score(c, rules), uid) for uid, c in counts.items()), key=lambda t: -t[0])
    top = [t for t in scored if t[0] > 0][:limit]
    names = {
        uid: (name, cname)
        for uid, name, cname in db.session.execute(
            select(Unit.id, Unit.name, Community.name)
            .join(Community, Community.id == Unit.community_id)
            .where(Unit.id.in_([uid for _, uid in top] or [0]))
        )
    }
    rows = [(names[uid][0], names[uid][1], pts) for pts, uid in top if uid in names]
    rows.sort(key=lambda r: (-r[2], r[0]))
    ranks = shared_ranks([points for _, _, points in rows])
    return [(rank, *row) for rank, row in zip(ranks, rows, strict=True)]
