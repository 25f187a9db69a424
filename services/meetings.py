"""Meetings: who sees which, scheduling and saving, publishing, replies, sign-in and topics."""

from __future__ import annotations

import calendar as pycal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    AgendaItem,
    Attendance,
    City,
    Community,
    District,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingPlace,
    MeetingStatus,
    Reply,
    Role,
    Room,
    Street,
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
from services import notify
from services.areas import areas_in_streets
from services.minutes import add_followup_item
from services.rooms import clash_message, find_clash, lock_room
from services.scope import level_ids, scoped, street_ids

# --- queries ------------------------------------------------------------------


def visible_meetings(user: User) -> Select[tuple[Meeting]]:
    """Meetings the user may see (as permissions.can_view_meeting decides for one meeting).

    Staff see every published meeting, but a draft only its hosts do: admins, the host
    community's secretary and whoever created it. A liaison sees the published meetings
    their unit is invited to.
    """
    return select(Meeting).where(*visibility(user.role, bool(user.community_id), viewer_params(user)))


def visibility(role: Role, has_community: bool, values: dict[str, int] | None = None) -> tuple:
    """visible_meetings' rule for a kind of viewer, as criteria: with the viewer's `values`
    (viewer_params), or as bound parameters :user_id, :unit_id and :community_id for a
    statement built once."""

    def value(name: str):
        return bindparam(name) if values is None else values[name]

    published = Meeting.status != MeetingStatus.DRAFT
    if role == Role.LIAISON:
        invited = select(Invitation.meeting_id).where(Invitation.unit_id == value("unit_id"))
        return (published, Meeting.id.in_(invited))
    if role == Role.SYSADMIN:
        return ()
    streets = bindparam("street_ids", expanding=True) if values is None else values["street_ids"]
    districts = bindparam("district_ids", expanding=True) if values is None else values["district_ids"]
    cities = bindparam("city_ids", expanding=True) if values is None else values["city_ids"]
    below_street = and_(Meeting.district_id.is_(None), Meeting.city_id.is_(None))
    in_streets = and_(Meeting.street_id.in_(streets), below_street)
    # A published 片区 meeting is read in every street with a member community; a published
    # district or city meeting (四级联动) everywhere below it.
    in_areas = and_(published, Meeting.area_id.in_(areas_in_streets(streets)))
    in_levels = and_(published, or_(Meeting.district_id.in_(districts), Meeting.city_id.in_(cities)))
    if role == Role.ADMIN:
        return (or_(in_streets, in_areas, in_levels),)
    own_drafts = Meeting.created_by_id == value("user_id")
    if role == Role.SECRETARY and has_community:
        own_drafts = or_(own_drafts, Meeting.community_id == value("community_id"))
    if role == Role.OBSERVER:
        # An observer's drafts are those of the level they convene at.
        own_drafts = or_(
            own_drafts,
            Meeting.district_id == value("own_district_id"),
            Meeting.city_id == value("own_city_id"),
        )
        return (or_(and_(in_streets, published), in_areas, in_levels, own_drafts),)
    return (or_(and_(in_streets, or_(published, own_drafts)), in_areas, in_levels),)


def viewer_params(user: User) -> dict[str, int]:
    """The values of visibility()'s bound parameters for a user."""
    levels = level_ids(user)
    return {
        "user_id": user.id,
        "unit_id": user.unit_id or 0,
        "community_id": user.community_id or 0,
        "street_ids": list(street_ids(user) or ()),
        "district_ids": list(levels[0]) if levels else [],
        "city_ids": list(levels[1]) if levels else [],
        "own_district_id": (user.district_id or 0) if user.role == Role.OBSERVER else 0,
        "own_city_id": (user.city_id or 0) if user.role == Role.OBSERVER else 0,
    }


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
    """Visible meetings matching the list filters, soonest first, with their room and the
    places that name their host (Meeting.host_name, host_title)."""
    hosts = (joinedload(Meeting.community), joinedload(Meeting.street), joinedload(Meeting.district))
    stmt = visible_meetings(user).options(joinedload(Meeting.room), *hosts, joinedload(Meeting.city))
    return meeting_filters(
        stmt,
        community_id=community_id,
        kind=kind,
        status=status,
        unit_id=unit_id,
        start=start,
        end=end,
        street_level=street_level,
    )


def meeting_list_rows(user: User, **filters) -> Select:
    """The meeting list's rows as plain values (id, title, status, kind, start_at, end_at,
    room_name, community_name), with meetings_query's filters and order: a Meeting with its
    room and community as objects cost more to build than the list line that shows them."""
    stmt = (
        visible_meetings(user)
        .with_only_columns(*_LIST_COLUMNS)
        .select_from(Meeting)
        .outerjoin(Room, Room.id == Meeting.room_id)
        .outerjoin(Community, Community.id == Meeting.community_id)
        .outerjoin(District, District.id == Meeting.district_id)
        .outerjoin(City, City.id == Meeting.city_id)
    )
    return meeting_filters(stmt, **filters)


_LIST_COLUMNS = (
    Meeting.id,
    Meeting.title,
    Meeting.status,
    Meeting.kind,
    Meeting.start_at,
    Meeting.end_at,
    Room.name.label("room_name"),
    Community.name.label("community_name"),
    Meeting.community_id,
    func.coalesce(City.name, District.name).label("convener_name"),
)


def meeting_filters(
    stmt: Select,
    community_id: int | None = None,
    kind: MeetingKind | None = None,
    status: MeetingStatus | None = None,
    unit_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    street_level: bool = False,
) -> Select:
    if street_level:
        stmt = stmt.where(
            Meeting.community_id.is_(None), Meeting.district_id.is_(None), Meeting.city_id.is_(None)
        )
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
    """A meeting with everything its page shows, in a fixed number of queries (four).

    The meeting comes with its room, community and street; its agenda (with presenters),
    invitations (with units) and topics (with units) each come from a statement built once
    and are set as the loaded collections. selectinload did the same but built and keyed
    three new statements on every request, a fifth of the meeting page's time. A collection
    already loaded in this session (perhaps with changes not yet flushed) is left alone.
    """
    q = _meeting_page_selects(for_update)
    params = {"meeting_id": meeting_id}
    meeting = db.session.scalar(q[0], params)
    if meeting is None:
        return None
    loaded = sa_inspect(meeting).dict
    for name, stmt in zip(("agenda_items", "invitations", "topics"), q[1:], strict=True):
        if name not in loaded:
            set_committed_value(meeting, name, list(db.session.scalars(stmt, params)))
    return meeting


@lru_cache(maxsize=2)
def _meeting_page_selects(for_update: bool) -> tuple[Select, Select, Select, Select]:
    """The meeting (:meeting_id) and its three collections, in the relationships' order."""
    meeting_id = bindparam("meeting_id")
    meeting = (
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .options(joinedload(Meeting.room), joinedload(Meeting.community), joinedload(Meeting.street))
    )
    if for_update:
        meeting = meeting.with_for_update(of=Meeting)
    agenda = (
        select(AgendaItem)
        .where(AgendaItem.meeting_id == meeting_id)
        .options(joinedload(AgendaItem.presenter_unit))
        .order_by(AgendaItem.position)
    )
    invitations = (
        select(Invitation)
        .where(Invitation.meeting_id == meeting_id)
        .options(joinedload(Invitation.unit))
        .order_by(Invitation.id)
    )
    topics = (
        select(Topic).where(Topic.meeting_id == meeting_id).options(joinedload(Topic.unit)).order_by(Topic.id)
    )
    return meeting, agenda, invitations, topics


def invitable_units(user: User, community_id: int | None) -> list[Unit]:
    """Units that can be invited: a community meeting its own units, a street meeting all of the street's."""
    stmt = (
        select(Unit)
        .where(Unit.status != UnitStatus.WITHDRAWN, scoped(Unit.street_id, user))
        .options(joinedload(Unit.community).joinedload(Community.street))
    )
    if community_id:
        stmt = stmt.where(Unit.community_id == community_id)
    return list(db.session.scalars(stmt.order_by(Unit.community_id, Unit.name)))


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
    area_id: int | None = None
    # A meeting convened above the street (区级、市级联席会议) and the places it invites.
    district_id: int | None = None
    city_id: int | None = None
    place_street_ids: set[int] = field(default_factory=set)
    place_community_ids: set[int] = field(default_factory=set)


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
        street_id = community.street_id if community else db.session.get(Room, data.room_id).street_id
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
    if creating:
        meeting.area_id = data.area_id
        meeting.district_id, meeting.city_id = data.district_id, data.city_id
    meeting.room_id = data.room_id
    meeting.start_at = data.start_at
    meeting.end_at = data.end_at
    meeting.topic_deadline = data.topic_deadline or default_topic_deadline(data.start_at)
    _replace_agenda(meeting, data.agenda)
    new_places = _replace_places(meeting, data.place_street_ids, data.place_community_ids)
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
        notify.meeting_cancelled(meeting, by, removed, removed=True)
    # Removed units leave the invitation before the others' invite is built: they get
    # their own CANCEL, not the update, and are no longer listed as attendees.
    for inv in removed:
        meeting.invitations.remove(inv)
        db.session.delete(inv)
    if scheduled:
        if changed:
            mailer.queue_meeting_mail(meeting, meeting.invitations, "update")
            mailer.queue_place_mail(meeting, "update")
            notify.meeting_changed(meeting, by)
        else:
            if added:
                mailer.queue_meeting_mail(meeting, added, "publish")
                notify.meeting_published(meeting, by, added)
            if new_places:
                mailer.queue_place_mail(meeting, "publish", new_places)
    if creating:
        add_followup_item(meeting)
    return meeting


def _replace_places(meeting: Meeting, street_ids: set[int], community_ids: set[int]) -> list[MeetingPlace]:
    """The streets and communities a meeting invites beside its units: a district's or a
    city's meeting any below it, a street-level meeting the street's communities. Return
    the places newly invited."""
    level = bool(meeting.district_id or meeting.city_id)
    street_level = not level and not meeting.community_id and not meeting.area_id
    if not level and (street_ids or community_ids):
        if not street_level:
            raise MeetingError(
                "社区会议和片区会议邀请驻区单位即可；邀请街道、社区用于街道、区级和市级联席会议。"
            )
        if street_ids:
            raise MeetingError("街道层面的联席会议可以邀请本街道的社区，不能邀请其他街道。")
    streets = {s.id: s for s in db.session.scalars(select(Street).where(Street.id.in_(street_ids)))}
    communities = {
        c.id: c
        for c in db.session.scalars(
            select(Community).where(Community.id.in_(community_ids)).options(joinedload(Community.street))
        )
    }
    below = [*streets.values(), *(c.street for c in communities.values())]
    if (
        len(streets) != len(street_ids)
        or len(communities) != len(community_ids)
        or any(not (_below_level(meeting, s) if level else s.id == meeting.street_id) for s in below)
    ):
        raise MeetingError("只能邀请本级以下的街道和社区。")
    wanted = {(sid, None) for sid in street_ids} | {(None, cid) for cid in community_ids}
    current = {(p.street_id, p.community_id): p for p in meeting.invited_places}
    for key, place in current.items():
        if key not in wanted:
            meeting.invited_places.remove(place)
    added = []
    for street_id, community_id in sorted(wanted - current.keys(), key=lambda k: (k[0] or 0, k[1] or 0)):
        place = MeetingPlace(street_id=street_id, community_id=community_id)
        meeting.invited_places.append(place)
        added.append(place)
    return added


def _below_level(meeting: Meeting, street: Street) -> bool:
    """Whether a street lies in the district or city that convened the meeting."""
    if meeting.district_id:
        return street.district_id == meeting.district_id
    district = db.session.get(District, street.district_id) if street.district_id else None
    return district is not None and district.city_id == meeting.city_id


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
    communities: Iterable[int],
    categories: Iterable[UnitCategory],
    allowed: Iterable[Unit],
    excluded: Iterable[int] = (),
) -> set[int]:
    """Resolve the invitation pickers to unit ids: the units picked one by one, plus the
    registered (在册) units that match the quick choice — in any of the chosen communities and
    of any of the chosen categories (a choice left empty does not narrow) — less the ones the
    user removed from the list. Only units in `allowed` are ever returned."""
    allowed = list(allowed)
    allowed_ids = {u.id for u in allowed}
    ids = {i for i in picked if i in allowed_ids}
    communities, categories = set(communities), set(categories)
    if communities or categories:
        ids |= {
            u.id
            for u in allowed
            if u.status == UnitStatus.ACTIVE
            and (not communities or u.community_id in communities)
            and (not categories or u.category in categories)
        }
    return ids - set(excluded)


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
    mailer.queue_place_mail(meeting, "publish")
    notify.meeting_published(meeting, by)


def cancel(meeting: Meeting, reason: str, by: User) -> None:
    """Cancel a meeting; if it was published, every invited liaison receives a CANCEL."""
    was_published = meeting.status == MeetingStatus.SCHEDULED
    meeting.cancel(reason, utcnow())
    meeting.version += 1
    db.session.flush()
    if was_published:
        mailer.queue_meeting_mail(meeting, meeting.invitations, "cancel")
        mailer.queue_place_mail(meeting, "cancel")
        notify.meeting_cancelled(meeting, by)


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
    db.session.flush()
    notify.topic_submitted(topic, by)
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
    # The agenda changed: an edit form opened before this is now out of date.
    meeting.version += 1
    topic.status = TopicStatus.ACCEPTED
    topic.decided_at = utcnow()
    topic.decided_by_id = by.id
    meeting.invalidate_calendar()
    notify.topic_decided(topic, by)
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
    notify.topic_decided(topic, by)


# --- attendance figures -----------------------------------------------------------------


def attendance_rates(unit_ids: Iterable[int] | None = None) -> dict[int, tuple[int, int]]:
    """Per unit: (meetings attended, meetings held it was invited to)."""
    if unit_ids is None:
        rows = db.session.execute(_attendance_select(False))
    else:
        rows = db.session.execute(_attendance_select(True), {"unit_ids": list(unit_ids)})
    return {unit_id: (int(present or 0), int(total)) for unit_id, present, total in rows}


@lru_cache(maxsize=2)
def _attendance_select(some_units: bool) -> Select:
    """The attendance figures of all units, or of those in :unit_ids; built once."""
    attended = func.sum(case((Invitation.attendance == Attendance.PRESENT, 1), else_=0))
    stmt = (
        select(Invitation.unit_id, attended, func.count())
        .join(Meeting, Meeting.id == Invitation.meeting_id)
        .where(Meeting.status == MeetingStatus.HELD, Invitation.attendance != Attendance.UNKNOWN)
        .group_by(Invitation.unit_id)
    )
    if some_units:
        stmt = stmt.where(Invitation.unit_id.in_(bindparam("unit_ids", expanding=True)))
    return stmt


def month_grid(year: int, month: int) -> list[list[date]]:
    """The weeks (Monday first) covering a month."""
    return pycal.Calendar(firstweekday=0).monthdatescalendar(year, month)


def summarise_replies(meeting: Meeting) -> dict[Any, int]:
    counts = {r: 0 for r in Reply}
    for inv in meeting.invitations:
        counts[inv.reply] += 1
    return counts
