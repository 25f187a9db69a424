"""Unit points (积分) and the street dashboard: figures from aggregate SQL. Never commits.

Points are never stored: they are derived from the meetings, actions, needs and bookings
each time, with the rules as they stand, so a rule change re-scores history consistently.
Every function here issues a fixed number of statements whatever the data size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, case, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import aliased

from common.dates import SHANGHAI
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
    PointRule,
    Resource,
    Role,
    Room,
    Street,
    Unit,
    UnitStatus,
    User,
    db,
)
from models.base import RuleError, today

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_SPAN_DAYS = 366 * 10
POINTS_LIMIT = 100  # a rule's points lie within ±POINTS_LIMIT


class StatsError(RuleError):
    """Bad input for a figure or a rule; the message is for the user."""


# --- points rules ---------------------------------------------------------------------------


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


def point_rules() -> dict[str, int]:
    """The points of every rule: the admin's setting, else the default."""
    stored = dict(db.session.execute(select(PointRule.key, PointRule.points)).tuples().all())
    return {r.key: int(stored.get(r.key, r.default)) for r in RULES}


def set_point_rules(values: dict[str, int]) -> list[str]:
    """Store the rules' points; return the keys that changed. Refuses unknown keys and absurd values."""
    for key, points in values.items():
        if key not in RULE_BY_KEY:
            raise StatsError("未知的积分规则。")
        if not isinstance(points, int) or isinstance(points, bool):
            raise StatsError("积分必须是整数。")
        if abs(points) > POINTS_LIMIT:
            raise StatsError(f"积分必须在 -{POINTS_LIMIT} 到 {POINTS_LIMIT} 之间。")
    stored = {r.key: r for r in db.session.scalars(select(PointRule))}
    changed = []
    current = point_rules()
    for key, points in values.items():
        if current[key] == points and key in stored:
            continue
        if key in stored:
            stored[key].points = points
        else:
            db.session.add(PointRule(key=key, points=points))
        if current[key] != points:
            changed.append(key)
    db.session.flush()
    return changed


# --- periods -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Dates from start to end, both included, in Beijing time."""

    start: date
    end: date
    preset: str = "custom"

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(0), SHANGHAI).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)

    @property
    def label(self) -> str:
        if self.start == date(self.start.year, 1, 1) and self.end == date(self.start.year, 12, 31):
            return f"{self.start.year}年"
        return f"{_cn_date(self.start)}至{_cn_date(self.end)}"

    def months(self) -> list[str]:
        """Each month the period touches, as "YYYY-MM"."""
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


PRESETS = {
    "year": "本年度",
    "last_year": "上一年度",
    "quarter": "本季度",
    "12m": "近12个月",
}


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), "year")


def preset_period(preset: str, day: date | None = None) -> Period:
    """The period a preset names, relative to day (default today)."""
    day = day or today()
    if preset == "last_year":
        return Period(date(day.year - 1, 1, 1), date(day.year - 1, 12, 31), preset)
    if preset == "quarter":
        first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        nxt = date(first.year + (first.month == 10), (first.month + 3 - 1) % 12 + 1, 1)
        return Period(first, nxt - timedelta(days=1), preset)
    if preset == "12m":
        # From the first day of the month eleven months back, to today.
        y, m = (day.year, 1) if day.month == 12 else (day.year - 1, day.month + 1)
        return Period(date(y, m, 1), day, preset)
    return Period(date(day.year, 1, 1), date(day.year, 12, 31), "year")


def parse_year(raw: str | None, default: int | None = None) -> int:
    """A year from a query argument; StatsError with a Chinese message if it is not one."""
    if raw is None or raw.strip() == "":
        return default if default is not None else today().year
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:
        raise StatsError("年份无效，请填写四位数字的年份，例如 2026。")
    year = int(raw)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise StatsError(f"年份须在 {MIN_YEAR} 到 {MAX_YEAR} 之间。")
    return year


def _parse_date(raw: str, what: str) -> date:
    try:
        d = date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise StatsError(f"{what}无效，请按“2026-01-31”的格式填写。") from exc
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise StatsError(f"{what}须在 {MIN_YEAR} 年到 {MAX_YEAR} 年之间。")
    return d


def parse_period(preset: str | None, start: str | None, end: str | None) -> Period:
    """The period from the dashboard's query arguments (a preset, or from/to dates)."""
    preset = (preset or "").strip()
    if (start or "").strip() or (end or "").strip():
        if not (start or "").strip() or not (end or "").strip():
            raise StatsError("自定义时段请同时填写开始日期和结束日期。")
        a, b = _parse_date(start, "开始日期"), _parse_date(end, "结束日期")
        if a > b:
            raise StatsError("开始日期不能晚于结束日期。")
        if (b - a).days > MAX_SPAN_DAYS:
            raise StatsError("统计时段不能超过十年。")
        return Period(a, b, "custom")
    if preset and preset not in PRESETS:
        raise StatsError("未知的统计时段。")
    return preset_period(preset or "year")


# --- SQL helpers --------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def month_of(col, is_date: bool = False) -> ColumnElement[str]:
    """The Beijing-time month ("YYYY-MM") of a UTC timestamp or a date column, in SQL.

    The constants are inlined (not bound) so the expression in SELECT and GROUP BY is the
    same text, as PostgreSQL requires.
    """
    if _dialect() == "postgresql":
        fmt = literal_column("'YYYY-MM'")
        if is_date:
            return func.to_char(col, fmt)
        return func.to_char(func.timezone(literal_column("'Asia/Shanghai'"), col), fmt)
    fmt = literal_column("'%Y-%m'")
    if is_date:
        return func.strftime(fmt, col)
    # China has kept UTC+8 without daylight saving since 1991.
    return func.strftime(fmt, col, literal_column("'+8 hours'"))


def _in_period(col, period: Period) -> ColumnElement[bool]:
    return and_(col >= period.start_utc, col < period.end_utc)


def _date_in_period(col, period: Period) -> ColumnElement[bool]:
    return and_(col >= period.start, col <= period.end)


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
            _in_period(Meeting.start_at, period),
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
            _date_in_period(Action.done_on, period),
            *units(Action.lead_unit_id),
        )
        .group_by(Action.lead_unit_id)
    )
    fulfilled = (
        select(Need.claimed_unit_id, literal("need_fulfilled"), func.count())
        .where(
            Need.status == NeedStatus.FULFILLED,
            Need.claimed_unit_id.is_not(None),
            _in_period(Need.fulfilled_at, period),
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
            _in_period(Booking.start_at, period),
            *units(owner),
        )
        .group_by(owner)
    )
    return [attend, on_time, fulfilled, booked]


def _booking_owner_unit():
    return func.coalesce(Resource.owner_unit_id, Room.unit_id)


def event_counts(period: Period, unit_ids=None) -> dict[int, dict[str, int]]:
    """{unit id: {rule key: events}} for the period, in one statement."""
    q = union_all(*_event_selects(period, unit_ids))
    out: dict[int, dict[str, int]] = {}
    for unit_id, kind, n in db.session.execute(q):
        if unit_id is None:
            continue
        out.setdefault(unit_id, dict.fromkeys(RULE_KEYS, 0))[kind] += int(n)
    return out


def score(counts: dict[str, int], rules: dict[str, int]) -> int:
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


def _local_date(value: datetime) -> date:
    return value.astimezone(SHANGHAI).date()


def unit_points(unit: Unit, year: int, with_events: bool = True) -> UnitPoints:
    """A unit's points in a year with the events behind them (7 statements with events, 2 without)."""
    period = year_period(year)
    rules = point_rules()
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
            _in_period(Meeting.start_at, period),
            Invitation.attendance.in_([Attendance.PRESENT, Attendance.ABSENT_NO_LEAVE]),
        )
    )
    for mid, title, start, att in rows:
        kind = "attend" if att == Attendance.PRESENT else "absent_no_leave"
        events.append(PointEvent(kind, _local_date(start), title, rules[kind], "meetings.detail", mid))
    rows = db.session.execute(
        select(Action.id, Action.title, Action.done_on).where(
            Action.lead_unit_id == unit.id,
            Action.status == ActionStatus.DONE,
            Action.done_on <= Action.due_on,
            _date_in_period(Action.done_on, period),
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
            _in_period(Need.fulfilled_at, period),
        )
    )
    for nid, title, at in rows:
        events.append(
            PointEvent("need_fulfilled", _local_date(at), title, rules["need_fulfilled"], "needs.detail", nid)
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
            _in_period(Booking.start_at, period),
        )
    )
    for _bid, title, start, who, resource_id in rows:
        events.append(
            PointEvent(
                "resource_booked",
                _local_date(start),
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


def community_ranking(community: Community, year: int) -> tuple[list[RankRow], dict[str, int]]:
    """The units of a community ranked by points in a year (3 statements).

    Withdrawn units appear only if they earned or lost points that year. Ties share a
    rank (1, 1, 3); within a tie, by name.
    """
    rules = point_rules()
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
    for i, row in enumerate(rows):
        row.rank = rows[i - 1].rank if i and rows[i - 1].points == row.points else i + 1
    return rows, rules


RANKING_HEADERS = ["名次", "单位名称", "单位类别", "状态", *[r.label + "（次）" for r in RULES], "积分"]


def ranking_rows(rows: list[RankRow]) -> list[list]:
    return [[r.rank, r.name, r.category, r.status, *[r.counts[k] for k in RULE_KEYS], r.points] for r in rows]


def street_top_units(street: Street, year: int, limit: int = 10) -> list[tuple[str, str, int]]:
    """The street's best-scoring units in a year: (unit, community, points), 3 statements."""
    rules = point_rules()
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
    return rows


# --- street dashboard ----------------------------------------------------------------------

STREET_ROW = 0  # key of the row for street-level meetings and actions (no community)


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
    actions_open: int = 0
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
    "actions_open",
    "actions_overdue",
    "needs_posted",
    "needs_open",
    "needs_fulfilled",
    "resources",
    "bookings",
)


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
    """The street a user's dashboard shows: a secretary's own; else the chosen or the first."""
    if user.role == Role.SECRETARY and user.community_id:
        return db.session.scalar(
            select(Street)
            .join(Community, Community.street_id == Street.id)
            .where(Community.id == user.community_id)
        )
    if street_id:
        street = db.session.get(Street, street_id)
        if street is not None:
            return street
    return db.session.scalar(select(Street).order_by(Street.id).limit(1))


def dashboard(street: Street, period: Period, day: date | None = None) -> Dashboard:
    """Every figure of the street dashboard for a period (9 statements, whatever the data size)."""
    day = day or today()
    communities = db.session.execute(
        select(Community.id, Community.name, Community.short_name)
        .where(Community.street_id == street.id)
        .order_by(Community.position, Community.id)
    ).all()
    rows = {cid: CommunityFigures(cid, name, short or name) for cid, name, short in communities}
    street_row = CommunityFigures(STREET_ROW, f"{street.name}（街道层面）", "街道层面")

    def row(cid: int | None) -> CommunityFigures | None:
        if cid is None:
            return street_row
        return rows.get(cid)

    held = and_(
        Meeting.street_id == street.id,
        Meeting.status == MeetingStatus.HELD,
        _in_period(Meeting.start_at, period),
    )
    for cid, n in db.session.execute(
        select(Meeting.community_id, func.count()).where(held).group_by(Meeting.community_id)
    ):
        if (r := row(cid)) is not None:
            r.meetings_held = n
    for cid, att, n in db.session.execute(
        select(Meeting.community_id, Invitation.attendance, func.count())
        .join(Invitation, Invitation.meeting_id == Meeting.id)
        .where(held)
        .group_by(Meeting.community_id, Invitation.attendance)
    ):
        if (r := row(cid)) is not None:
            r.invited += n
            if att == Attendance.PRESENT:
                r.present += n

    # Actions agreed at meetings in the period, by their status today.
    overdue = and_(Action.status != ActionStatus.DONE, Action.due_on < day)
    state = case((Action.status == ActionStatus.DONE, "done"), (overdue, "overdue"), else_="open").label(
        "state"
    )
    for cid, st, n in db.session.execute(
        select(Action.community_id, state, func.count())
        .join(Meeting, Meeting.id == Action.meeting_id)
        .where(Action.street_id == street.id, _in_period(Meeting.start_at, period))
        .group_by(Action.community_id, state)
    ):
        if (r := row(cid)) is not None:
            r.actions_total += n
            setattr(r, f"actions_{st}", getattr(r, f"actions_{st}") + n)

    # Needs posted in the period (those still open), and needs fulfilled in the period.
    open_states = [NeedStatus.OPEN, NeedStatus.CLAIMED, NeedStatus.IN_PROGRESS]
    is_open = case((Need.status.in_(open_states), 1), else_=0)
    for cid, posted, still_open in db.session.execute(
        select(Need.community_id, func.count(), func.sum(is_open))
        .where(
            Need.street_id == street.id,
            _in_period(Need.created_at, period),
            Need.status != NeedStatus.WITHDRAWN,
        )
        .group_by(Need.community_id)
    ):
        if (r := row(cid)) is not None:
            r.needs_posted, r.needs_open = posted, int(still_open or 0)
    for cid, n in db.session.execute(
        select(Need.community_id, func.count())
        .where(
            Need.street_id == street.id,
            Need.status == NeedStatus.FULFILLED,
            _in_period(Need.fulfilled_at, period),
        )
        .group_by(Need.community_id)
    ):
        if (r := row(cid)) is not None:
            r.needs_fulfilled = n

    # Resources on offer by the end of the period; approved bookings starting in it.
    for cid, n in db.session.execute(
        select(Resource.community_id, func.count())
        .where(
            Resource.street_id == street.id, Resource.active.is_(True), Resource.created_at < period.end_utc
        )
        .group_by(Resource.community_id)
    ):
        if (r := row(cid)) is not None:
            r.resources = n
    room_unit = aliased(Unit)
    booking_community = func.coalesce(Resource.community_id, Room.community_id, room_unit.community_id)
    for cid, n in db.session.execute(
        select(booking_community, func.count())
        .select_from(Booking)
        .outerjoin(Resource, Resource.id == Booking.resource_id)
        .outerjoin(Room, Room.id == Booking.room_id)
        .outerjoin(room_unit, room_unit.id == Room.unit_id)
        .where(Booking.status == BookingStatus.APPROVED, _in_period(Booking.start_at, period))
        .group_by(booking_community)
    ):
        if cid is not None and (r := rows.get(cid)) is not None:
            r.bookings = n

    months = period.months()
    trend = {k: [0] * len(months) for k in TREND_SERIES}
    index = {m: i for i, m in enumerate(months)}
    street_communities = select(Community.id).where(Community.street_id == street.id)
    bmonth = month_of(Booking.start_at)
    trend_q = union_all(
        select(literal("meetings"), month_of(Meeting.start_at), func.count())
        .where(held)
        .group_by(month_of(Meeting.start_at)),
        select(literal("actions_done"), month_of(Action.done_on, True), func.count())
        .where(
            Action.street_id == street.id,
            Action.status == ActionStatus.DONE,
            _date_in_period(Action.done_on, period),
        )
        .group_by(month_of(Action.done_on, True)),
        select(literal("needs_fulfilled"), month_of(Need.fulfilled_at), func.count())
        .where(
            Need.street_id == street.id,
            Need.status == NeedStatus.FULFILLED,
            _in_period(Need.fulfilled_at, period),
        )
        .group_by(month_of(Need.fulfilled_at)),
        select(literal("bookings"), bmonth, func.count())
        .select_from(Booking)
        .outerjoin(Resource, Resource.id == Booking.resource_id)
        .outerjoin(Room, Room.id == Booking.room_id)
        .outerjoin(room_unit, room_unit.id == Room.unit_id)
        .where(
            Booking.status == BookingStatus.APPROVED,
            _in_period(Booking.start_at, period),
            booking_community.in_(street_communities),
        )
        .group_by(bmonth),
    )
    for key, month, n in db.session.execute(trend_q):
        if month in index:
            trend[key][index[month]] += int(n)

    ordered = list(rows.values())
    if any(getattr(street_row, f) for f in NUMBER_FIELDS):
        ordered.append(street_row)
    total = CommunityFigures(-1, "合计")
    for r in ordered:
        total.add(r)
    return Dashboard(street, period, ordered, total, months, trend)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def dashboard_charts(d: Dashboard, highlight_key: int | None = None) -> dict[str, Markup]:
    """The dashboard's SVG charts (used by the page and the annual report alike)."""
    from exports import charts

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
                ("推进中", [r.actions_open for r in d.rows]),
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
    """Everything the annual report shows for a street and year."""
    period = year_period(year)
    d = dashboard(street, period)
    return {
        "street": street,
        "year": year,
        "d": d,
        "charts": dashboard_charts(d),
        "top_units": street_top_units(street, year),
        "rules": point_rules(),
        "RULES": RULES,
        "percent": percent,
        "generated": datetime.now().astimezone(),
    }


def annual_report_pdf(street: Street, year: int) -> bytes:
    """The street's annual report for a year, as a PDF."""
    return render_annual_report(annual_report_context(street, year))
