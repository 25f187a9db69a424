"""Joint meetings (联席会议): agenda, invitations, topics, series and calendar feeds."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    Boolean,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    and_,
    event,
    false,
    inspect,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, RuleError, utcnow
from .enums import (
    Attendance,
    MeetingKind,
    MeetingStatus,
    Reply,
    TopicStatus,
    enum_column,
)
from .geo import Area, City, Community, District, Room, Street
from .unit import Unit
from .user import User

# Changing any of these is a change a calendar must hear about (SEQUENCE + 1).
SEQUENCED_FIELDS = ("start_at", "end_at", "room_id", "title", "status")


class MeetingError(RuleError):
    """A meeting rule was broken; the message is for the user."""


def new_uid() -> str:
    return f"{uuid.uuid4()}@gongjian"


class Meeting(Base):
    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    # None for a street-level meeting that spans communities.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    # A 片区 meeting: hosted by a member community, inviting units of the whole 片区.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    # A meeting convened above the street (四级联动): by the district's or the city's party
    # organisation, in a room of a street below (street_id is that room's street); it invites
    # streets and communities (MeetingPlace) as well as units, and keeps its own number series.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(enum_column(MeetingKind, "meeting_kind"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    start_at: Mapped[datetime] = mapped_column(index=True)
    end_at: Mapped[datetime] = mapped_column()
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"), index=True)
    status: Mapped[MeetingStatus] = mapped_column(
        enum_column(MeetingStatus, "meeting_status"), default=MeetingStatus.DRAFT, index=True
    )
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    held_at: Mapped[datetime | None] = mapped_column()
    topic_deadline: Mapped[datetime | None] = mapped_column()
    uid: Mapped[str] = mapped_column(String(120), unique=True, default=new_uid)
    sequence: Mapped[int] = mapped_column(default=0)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_series.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic locking for editors: raised by the edit service, checked against the form.
    version: Mapped[int] = mapped_column(default=1)
    # Calendar cache: ics_rev rises on any change that alters the VEVENT; the cached
    # text is valid while ics_cache_rev == ics_rev.
    ics_rev: Mapped[int] = mapped_column(default=1, info={"audit": False})
    ics_changed_at: Mapped[datetime] = mapped_column(default=utcnow, info={"audit": False})
    ics_cache: Mapped[str | None] = mapped_column(Text, info={"audit": False})
    ics_cache_rev: Mapped[int] = mapped_column(default=0, info={"audit": False})
    # What the cached text was rendered under (BASE_URL, default sender): see calendar_cache_key.
    ics_cache_key: Mapped[str | None] = mapped_column(String(32), info={"audit": False})

    street: Mapped[Street] = relationship()
    community: Mapped[Community | None] = relationship()
    area: Mapped[Area | None] = relationship()
    district: Mapped[District | None] = relationship()
    city: Mapped[City | None] = relationship()
    room: Mapped[Room] = relationship()
    created_by: Mapped[User | None] = relationship()
    series: Mapped[MeetingSeries | None] = relationship(back_populates="meetings")
    agenda_items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", order_by="AgendaItem.position", cascade="all, delete-orphan"
    )
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Invitation.id"
    )
    topics: Mapped[list[Topic]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Topic.id"
    )
    invited_places: Mapped[list[MeetingPlace]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingPlace.id"
    )

    @property
    def convener(self) -> City | District | None:
        """The city or district that convened the meeting above the street, if any."""
        return self.city or self.district

    @property
    def level_label(self) -> str:
        """The level the meeting is held at: 市级, 区级, 片区, 街道 or 社区."""
        if self.city_id:
            return "市级"
        if self.district_id:
            return "区级"
        if self.area_id:
            return "片区"
        return "社区" if self.community_id else "街道"

    @property
    def host_name(self) -> str:
        if self.convener is not None:
            return self.convener.name
        return self.community.name if self.community else self.street.name

    @property
    def host_title(self) -> str:
        """The title led by the host's short name unless it names the host already (the month
        calendar's chips, where communities' meetings often share a title): 青年路·2026年第四季度…"""
        place = self.convener or self.community or self.street
        short = place.short_name or place.name
        return self.title if short in self.title else f"{short}·{self.title}"

    @property
    def duration_minutes(self) -> int:
        return int((self.end_at - self.start_at).total_seconds() // 60)

    @property
    def agenda_minutes(self) -> int:
        return sum(item.minutes or 0 for item in self.agenda_items)

    @property
    def editable(self) -> bool:
        return self.status in (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED)

    @property
    def is_draft(self) -> bool:
        return self.status == MeetingStatus.DRAFT

    @property
    def is_scheduled(self) -> bool:
        """Published and not yet marked held."""
        return self.status == MeetingStatus.SCHEDULED

    @property
    def is_held(self) -> bool:
        return self.status == MeetingStatus.HELD

    @property
    def is_cancelled(self) -> bool:
        return self.status == MeetingStatus.CANCELLED

    def topics_open(self, now: datetime) -> bool:
        """Whether liaisons may still submit topics."""
        return (
            self.status in (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED)
            and self.topic_deadline is not None
            and now < self.topic_deadline
        )

    def attendance_open(self, now: datetime) -> bool:
        """Sign-in opens at the meeting's start and stays open once it is held."""
        return self.status in (MeetingStatus.SCHEDULED, MeetingStatus.HELD) and now >= self.start_at

    def minutes_open(self, now: datetime) -> bool:
        """Minutes are written once the meeting has begun, when sign-in opens (never if cancelled)."""
        return self.attendance_open(now)

    @property
    def present_count(self) -> int:
        """Invited units signed in as present (in person or through a delegate)."""
        return sum(1 for inv in self.invitations if inv.attendance == Attendance.PRESENT)

    def publish(self, now: datetime) -> None:
        if self.status != MeetingStatus.DRAFT:
            raise MeetingError("只有草稿状态的会议可以发布。")
        if self.start_at <= now:
            raise MeetingError("会议开始时间已过，不能发布；请先修改时间。")
        self.status = MeetingStatus.SCHEDULED
        self.published_at = now

    def cancel(self, reason: str, now: datetime) -> None:
        if self.status not in (MeetingStatus.DRAFT, MeetingStatus.SCHEDULED):
            raise MeetingError(f"“{self.status.label}”的会议不能取消。")
        if not reason.strip():
            raise MeetingError("请填写取消原因。")
        self.status = MeetingStatus.CANCELLED
        self.cancel_reason = reason.strip()
        self.cancelled_at = now

    def mark_held(self, now: datetime) -> None:
        if self.status != MeetingStatus.SCHEDULED:
            raise MeetingError("只有已发布的会议可以标记为已召开。")
        if now < self.start_at:
            raise MeetingError("会议尚未开始，不能标记为已召开。")
        self.status = MeetingStatus.HELD
        self.held_at = now

    def invalidate_calendar(self) -> None:
        """Mark the cached VEVENT stale (for changes to child rows)."""
        self.ics_rev = (self.ics_rev or 0) + 1
        self.ics_changed_at = utcnow()

    def __repr__(self) -> str:
        return f"<Meeting {self.id} {self.title}>"


@event.listens_for(Meeting, "before_update")
def _raise_sequence(mapper, connection, meeting: Meeting) -> None:
    """Every change of time, room, title or status raises SEQUENCE (RFC 5546).

    Such changes are made with the meeting's row locked (the views load it FOR UPDATE), so
    SEQUENCE can count on from the loaded value. ics_rev also rises on changes made without
    that lock (a unit's reply, a topic): it is raised in SQL (``SET ics_rev = ics_rev + 1``),
    because on PostgreSQL another transaction (another worker or app server) may have raised
    it since this one loaded it, and writing back loaded + 1 would lose that step and leave
    a VEVENT cached in between marked current. It is reloaded when next read.
    """
    state = inspect(meeting)
    if any(state.attrs[f].history.has_changes() for f in SEQUENCED_FIELDS):
        meeting.sequence = (meeting.sequence or 0) + 1
    if state.attrs["ics_rev"].history.has_changes() or any(
        state.attrs[f].history.has_changes()
        for f in ("start_at", "end_at", "room_id", "title", "status", "description", "sequence")
    ):
        # invalidate_calendar() may have set loaded + 1 already: one step per flush either way.
        meeting.ics_rev = Meeting.__table__.c.ics_rev + 1
        meeting.ics_changed_at = utcnow()


class MeetingPlace(Base):
    """A street or a community invited to a meeting convened above it (区级、市级联席会议):
    its admins or secretary are told, and it sees the meeting with its own."""

    __tablename__ = "meeting_place"
    __table_args__ = (UniqueConstraint("meeting_id", "street_id", "community_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)

    meeting: Mapped[Meeting] = relationship(back_populates="invited_places")
    street: Mapped[Street | None] = relationship()
    community: Mapped[Community | None] = relationship()

    @property
    def name(self) -> str:
        if self.community is not None:
            return f"{self.community.name}（{self.community.street.short_name}）"
        return self.street.name if self.street is not None else ""


class PersonSignIn(Base):
    """One person signed in at a meeting by scanning its QR code (扫码签到), or by one tap as
    the unit's logged-in liaison: the unit, the person, their post, whether they came as the
    unit's delegate, and when (late when after the start). Signing in again merges."""

    __tablename__ = "person_sign_in"
    __table_args__ = (UniqueConstraint("meeting_id", "unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    post: Mapped[str] = mapped_column(String(50), default="")
    is_delegate: Mapped[bool] = mapped_column(default=False)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    late: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Where the sign-in came from, for the rate limit per meeting and address.
    address: Mapped[str] = mapped_column(String(64), default="", info={"audit": False})

    unit: Mapped[Unit] = relationship()


class AgendaItem(Base):
    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    presenter_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    minutes: Mapped[int] = mapped_column(default=10)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id"))
    is_followup: Mapped[bool] = mapped_column(Boolean, default=False)

    meeting: Mapped[Meeting] = relationship(back_populates="agenda_items")
    presenter_unit: Mapped[Unit | None] = relationship()
    topic: Mapped[Topic | None] = relationship(foreign_keys=[topic_id])


class Invitation(Base):
    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("meeting_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    reply: Mapped[Reply] = mapped_column(enum_column(Reply, "reply"), default=Reply.PENDING)
    reply_reason: Mapped[str] = mapped_column(Text, default="")
    delegate_name: Mapped[str] = mapped_column(String(50), default="")
    delegate_post: Mapped[str] = mapped_column(String(50), default="")
    replied_at: Mapped[datetime | None] = mapped_column()
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    attendance: Mapped[Attendance] = mapped_column(
        enum_column(Attendance, "attendance"), default=Attendance.UNKNOWN
    )
    # Signed in as 委派代表: present through a delegate (attendance is PRESENT, so every
    # count of attending units holds; delegate_name/post say who came).
    by_delegate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    attendance_at: Mapped[datetime | None] = mapped_column()
    attendance_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # When the reply or attendance last changed (the API's updated_since on meetings).
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    meeting: Mapped[Meeting] = relationship(back_populates="invitations")
    unit: Mapped[Unit] = relationship()
    replied_by: Mapped[User | None] = relationship(foreign_keys=[replied_by_id])

    @property
    def name(self) -> str:  # for the audit trail
        return self.unit.name if self.unit else ""

    @property
    def awaiting_reply(self) -> bool:
        return self.reply == Reply.PENDING

    @property
    def declined(self) -> bool:
        return self.reply == Reply.DECLINE

    @property
    def sends_delegate(self) -> bool:
        return self.reply == Reply.DELEGATE

    @property
    def signed_in(self) -> bool:
        """Marked at sign-in, present or absent."""
        return self.attendance != Attendance.UNKNOWN

    @property
    def signed_in_as(self) -> str:
        """The sign-in mark as the sign-in sheet offers it: unknown, present, delegate, absent_*."""
        if self.attendance == Attendance.PRESENT and self.by_delegate:
            return "delegate"
        return self.attendance.value

    @property
    def attendance_label(self) -> str:
        return "委派代表出席" if self.signed_in_as == "delegate" else self.attendance.label


class Topic(Base):
    """A topic a unit proposes for a meeting's agenda (议题征集)."""

    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    cooperation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TopicStatus] = mapped_column(
        enum_column(TopicStatus, "topic_status"), default=TopicStatus.SUBMITTED
    )
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="topics")
    unit: Mapped[Unit] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])

    @property
    def is_submitted(self) -> bool:
        """Waiting for the host to accept or decline it."""
        return self.status == TopicStatus.SUBMITTED

    @property
    def is_declined(self) -> bool:
        return self.status == TopicStatus.DECLINED


class MeetingSeries(Base):
    """A regular series (e.g. quarterly); each occurrence is its own Meeting."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[MeetingKind] = mapped_column(enum_column(MeetingKind, "series_kind"))
    # "monthly_nth" (every `interval` months on the nth weekday) or "weekly" (every `interval` weeks)
    rule: Mapped[str] = mapped_column(String(20))
    interval: Mapped[int] = mapped_column(default=1)
    nth: Mapped[int | None] = mapped_column()
    weekday: Mapped[int] = mapped_column()
    start_time: Mapped[time] = mapped_column()
    duration_minutes: Mapped[int] = mapped_column()
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id"))
    first_date: Mapped[date] = mapped_column()
    until: Mapped[date] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meetings: Mapped[list[Meeting]] = relationship(back_populates="series", order_by="Meeting.start_at")
    room: Mapped[Room] = relationship()

    @property
    def name(self) -> str:
        return self.title


class CalendarFeed(Base):
    """A private subscription feed; the token in its URL is the only credential."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, info={"audit": False})
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # Who made a community or unit feed: it lives only while they may hold it (active, still
    # in that role, community or unit). A personal feed's maker is its user.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    community: Mapped[Community | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


def default_topic_deadline(start_at: datetime) -> datetime:
    return start_at - timedelta(days=3)


# Unit, room, community and street fields that appear in a meeting's VEVENT, and the
# user fields that decide its ORGANIZER address (the community secretary's, else the creator's).
_CALENDAR_FIELDS = {
    "unit": ("name", "liaison_name", "liaison_email"),
    "room": ("name", "address"),
    "community": ("name",),
    "street": ("name",),
    "user": ("email", "active", "role", "community_id"),
}


@event.listens_for(Session, "before_flush")
def _invalidate_calendars(session: Session, flush_context, instances) -> None:
    """Keep cached VEVENTs honest: any change to what a VEVENT shows marks it stale."""
    table = Meeting.__table__
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, AgendaItem | Invitation):
            meeting = obj.meeting
            if meeting is not None and not inspect(meeting).attrs["ics_rev"].history.has_changes():
                meeting.invalidate_calendar()
            continue
        fields = _CALENDAR_FIELDS.get(getattr(obj, "__tablename__", ""))
        # A new unit, room or community is in no VEVENT yet; a new secretary may be the organizer.
        if not fields or (obj in session.new and not (isinstance(obj, User) and obj.community_id)):
            continue
        state = inspect(obj)
        if obj not in session.new and not any(state.attrs[f].history.has_changes() for f in fields):
            continue
        if isinstance(obj, Unit):
            where = or_(
                table.c.id.in_(select(Invitation.meeting_id).where(Invitation.unit_id == obj.id)),
                table.c.id.in_(select(AgendaItem.meeting_id).where(AgendaItem.presenter_unit_id == obj.id)),
            )
        elif isinstance(obj, Room):
            where = table.c.room_id == obj.id
        elif isinstance(obj, Street):
            where = and_(table.c.street_id == obj.id, table.c.community_id.is_(None))
        elif isinstance(obj, User):
            communities = {obj.community_id, *state.attrs["community_id"].history.deleted} - {None}
            where = table.c.community_id.in_(communities)
            if obj.id is not None:
                where = or_(where, table.c.created_by_id == obj.id)
        else:
            where = table.c.community_id == obj.id
        session.execute(
            table.update().where(where).values(ics_rev=table.c.ics_rev + 1, ics_changed_at=utcnow())
        )
