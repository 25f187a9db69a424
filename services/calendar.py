"""Meetings in calendars: event text (cached per meeting), invites and private subscription feeds."""

from __future__ import annotations

import gc
import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from flask import current_app
from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import joinedload, load_only, selectinload

from common.links import base_url, external_url
from exports import ics
from models import (
    AgendaItem,
    CalendarFeed,
    Community,
    District,
    Invitation,
    Meeting,
    MeetingStatus,
    Role,
    Street,
    Unit,
    User,
    area_community,
    db,
)
from services import permissions
from services.areas import areas_in_streets
from services.scope import scoped

# --- calendar ---------------------------------------------------------------------------


def meeting_url(meeting: Meeting) -> str:
    """The meeting page under BASE_URL: what invites, feeds, mails and archives link to."""
    return external_url("meetings.detail", meeting_id=meeting.id)


def calendar_cache_key() -> str:
    """What cached VEVENTs depend on besides the meeting: the base URL and the default sender.

    A cached text made under another BASE_URL (or, before it was configured, under a
    request's Host) is stale, so a change of configuration reaches every calendar.
    """
    cfg = current_app.config
    return _cache_key(base_url(), cfg["MAIL_DEFAULT_SENDER"], cfg.get("CALENDAR_REPLY_TO") or "")


@lru_cache(maxsize=8)
def _cache_key(base: str, sender: str, reply_to: str = "") -> str:
    suffix = f"\n{reply_to}" if reply_to else ""  # keys made before CALENDAR_REPLY_TO stay valid
    return hashlib.sha256(f"{base}\n{sender}{suffix}".encode()).hexdigest()[:16]


def organizer_email(meeting: Meeting, secretaries: dict[int, str | None] | None = None) -> str:
    """The host's address: the community's secretary, else the creator, else the configured sender.

    secretaries, if given, memoises the secretary's address per community across calls.
    With CALENDAR_REPLY_TO set, every invitation names that address: calendar clients send
    their replies (iTIP REPLY) to the organizer, and Gongjian reads them there (services.imip).
    """
    if current_app.config.get("CALENDAR_REPLY_TO"):
        return current_app.config["CALENDAR_REPLY_TO"]
    if meeting.community_id:
        if secretaries is not None and meeting.community_id in secretaries:
            email = secretaries[meeting.community_id]
        else:
            email = db.session.scalar(
                select(User.email)
                .where(
                    User.community_id == meeting.community_id,
                    User.role == Role.SECRETARY,
                    User.active.is_(True),
                    User.email != "",
                )
                .order_by(User.id)
                .limit(1)
            )
            if secretaries is not None:
                secretaries[meeting.community_id] = email
        if email:
            return email
    if meeting.created_by and meeting.created_by.email:
        return meeting.created_by.email
    return current_app.config["MAIL_DEFAULT_SENDER"]


def _cache_fresh(meeting: Meeting, key: str) -> bool:
    return (
        meeting.ics_cache is not None
        and meeting.ics_cache_rev == meeting.ics_rev
        and meeting.ics_cache_key == key
    )


def cached_vevent(meeting: Meeting) -> str:
    """The meeting's VEVENT text, rebuilt and stored only when the meeting changed.

    It writes: call it on a write path (a POST, the CLI, a feed that took the write lock).
    """
    key = calendar_cache_key()
    if _cache_fresh(meeting, key):
        return meeting.ics_cache
    text = ics.vevent_text(meeting, meeting_url(meeting), organizer_email(meeting))
    # A plain UPDATE: caching is not a change of the meeting (no audit, no SEQUENCE).
    db.session.execute(
        Meeting.__table__.update()
        .where(Meeting.id == meeting.id, Meeting.ics_rev == meeting.ics_rev)
        .values(ics_cache=text, ics_cache_rev=meeting.ics_rev, ics_cache_key=key)
    )
    return text


def has_current_vevent(meeting: Meeting) -> bool:
    """Whether the meeting's cached VEVENT is current (then it needs nothing else loaded)."""
    return _cache_fresh(meeting, calendar_cache_key())


def current_vevent(meeting: Meeting) -> str:
    """The meeting's VEVENT text for a read request: the cached text if fresh, else rendered.

    It never writes, so a GET cannot fail on SQLite's write lock while others write.
    """
    if _cache_fresh(meeting, calendar_cache_key()):
        return meeting.ics_cache
    return ics.vevent_text(meeting, meeting_url(meeting), organizer_email(meeting))


def invite_vevent(meeting: Meeting, viewer: User) -> str:
    """The viewer's copy of the meeting's VEVENT, without writing.

    Staff see every invited unit's liaison; anyone else only their own unit's, so a
    liaison's invite discloses no other unit's address.
    """
    text = current_vevent(meeting)
    if permissions.can_see_all_attendees(viewer):
        return text
    own = next((inv for inv in meeting.invitations if inv.unit_id == viewer.unit_id), None)
    return ics.keep_attendees(text, ics.attendee_address(own) if own is not None else None)


def feed_for_token(token: str) -> CalendarFeed | None:
    """The feed with its owner: a user's feed, the common kind, needs nothing else.

    A community or unit feed loads its maker and its community or unit when asked (two
    statements more); joining all four for every feed cost each answer a fifth of its time.
    """
    return db.session.scalar(_feed_by_token(), {"token": token})


# Calendar clients poll feeds all day: the feed's statements are built once, per kind of
# scope, with the feed's values as bound parameters (building them cost as much as running).
@lru_cache(maxsize=1)
def _feed_by_token():
    return (
        select(CalendarFeed)
        .where(CalendarFeed.token == bindparam("token"))
        .options(joinedload(CalendarFeed.user))
    )


def feed_scope(feed: CalendarFeed):
    """The WHERE clause selecting the meetings of a feed (drafts never appear)."""
    kind, target = _scope_of(feed)
    return _scope_clause(kind, target)


def _scope_of(feed: CalendarFeed) -> tuple[str, int | None]:
    """What a feed lists: ("community", id), ("unit", id), ("community+street", community id),
    ("street", street id), ("street-all", street id), ("district", id), ("city", id) or ("all", None)."""
    if feed.community_id:
        return "community", feed.community_id
    if feed.unit_id:
        return "unit", feed.unit_id
    user = feed.user
    if user.role == Role.SECRETARY:
        return (
            ("community+street", user.community_id) if user.community_id else ("street", user.street_id or 0)
        )
    if user.role == Role.LIAISON:
        return "unit", user.unit_id or 0
    if user.role == Role.OBSERVER:
        return ("district", user.district_id) if user.district_id else ("city", user.city_id or 0)
    if user.role == Role.SYSADMIN:
        return "all", None
    return "street-all", user.street_id or 0


def _scope_clause(kind: str, target):
    """The WHERE clause of a kind of scope; target a value or a bound parameter."""
    published = Meeting.status != MeetingStatus.DRAFT
    if kind == "community":
        return and_(published, Meeting.community_id == target)
    if kind == "unit":
        return and_(
            published, Meeting.id.in_(select(Invitation.meeting_id).where(Invitation.unit_id == target))
        )
    if kind == "community+street":
        street = select(Community.street_id).where(Community.id == target).scalar_subquery()
        street_level = and_(Meeting.community_id.is_(None), Meeting.street_id == street)
        areas = select(area_community.c.area_id).where(area_community.c.community_id == target)
        return and_(published, or_(Meeting.community_id == target, street_level, Meeting.area_id.in_(areas)))
    if kind == "street":
        return and_(published, Meeting.community_id.is_(None), Meeting.street_id == target)
    if kind == "street-all":
        return and_(
            published, or_(Meeting.street_id == target, Meeting.area_id.in_(areas_in_streets([target])))
        )
    if kind == "district":
        return and_(published, Meeting.street_id.in_(select(Street.id).where(Street.district_id == target)))
    if kind == "city":
        districts = select(District.id).where(District.city_id == target)
        return and_(
            published, Meeting.street_id.in_(select(Street.id).where(Street.district_id.in_(districts)))
        )
    return published


def _scope_params(feed: CalendarFeed) -> tuple[str, dict]:
    kind, target = _scope_of(feed)
    return kind, ({"scope": target} if target is not None else {})


def feed_own_unit(feed: CalendarFeed) -> int | None:
    """The unit whose liaison alone a feed lists as attendee; None: the feed lists all.

    A unit's feed and a liaison's own feed disclose no other unit's liaison address.
    """
    if feed.unit_id:
        return feed.unit_id
    if feed.user is not None and not permissions.can_see_all_attendees(feed.user):
        return feed.user.unit_id or 0
    return None


def feed_name(feed: CalendarFeed) -> str:
    if feed.community:
        return f"{feed.community.name}联席会议"
    if feed.unit:
        return f"{feed.unit.name}·联席会议"
    return f"{feed.user.display_name}的联席会议"


@lru_cache(maxsize=8)
def _fingerprint_select(kind: str):
    stale_row = or_(
        Meeting.ics_cache_rev != Meeting.ics_rev,
        Meeting.ics_cache_key.is_(None),
        Meeting.ics_cache_key != bindparam("cache_key"),
    )
    return select(
        func.count(),
        func.sum(Meeting.id),
        func.sum(Meeting.ics_rev),
        func.max(Meeting.ics_changed_at),
        func.sum(case((stale_row, 1), else_=0)),
    ).where(_scope_clause(kind, bindparam("scope")))


def feed_fingerprint(feed: CalendarFeed) -> tuple[str, datetime | None, int]:
    """ETag, Last-Modified and the number of stale VEVENTs, from one aggregate query."""
    key = calendar_cache_key()
    kind, params = _scope_params(feed)
    row = db.session.execute(_fingerprint_select(kind), {"cache_key": key, **params}).one()
    count, id_sum, rev_sum, last, stale = row
    if isinstance(last, str):  # SQLite returns max() of a timestamp as text
        last = datetime.fromisoformat(last)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    etag = (
        f"{feed.id}-{feed.token[:6]}-{count}-{id_sum or 0}-{rev_sum or 0}"
        f"-{int(last.timestamp()) if last else 0}-{key[:8]}"
    )
    return etag, last, int(stale or 0)


def feed_body(feed: CalendarFeed) -> bytes:
    """The feed's calendar, from cached VEVENTs where they are current."""
    # Sorted here, not by ORDER BY: SQLite would copy every cached text through its sorter.
    key = calendar_cache_key()
    kind, params = _scope_params(feed)
    rows = sorted(db.session.execute(_body_select(kind), params), key=lambda r: (r.start_at, r.id))
    stale = [
        r.id for r in rows if r.ics_cache is None or r.ics_cache_rev != r.ics_rev or r.ics_cache_key != key
    ]
    fresh: dict[int, str] = {}
    secretaries: dict[int, str | None] = {}
    # Rebuilding allocates tens of thousands of short-lived objects (rows, ORM state,
    # strings), none of them in cycles that must be freed at once; the cyclic collector's
    # full passes over the heap would otherwise take about a third of a cold build.
    gc_was_enabled = gc.isenabled()
    if len(stale) > 100:
        gc.disable()
    try:
        for chunk_start in range(0, len(stale), 500):
            fresh |= _rebuild_vevents(stale[chunk_start : chunk_start + 500], secretaries)
    finally:
        if gc_was_enabled:
            gc.enable()
    texts = (fresh.get(r.id) or r.ics_cache for r in rows)
    own_unit = feed_own_unit(feed)
    if own_unit is not None:
        unit = db.session.get(Unit, own_unit) if own_unit else None
        address = ics.unit_address(unit.id, unit.liaison_email) if unit else None
        texts = (ics.keep_attendees(text, address) for text in texts)
    return ics.feed_ics(texts, feed_name(feed))


@lru_cache(maxsize=8)
def _body_select(kind: str):
    return select(
        Meeting.id,
        Meeting.start_at,
        Meeting.ics_rev,
        Meeting.ics_cache_rev,
        Meeting.ics_cache_key,
        Meeting.ics_cache,
    ).where(_scope_clause(kind, bindparam("scope")))


def _rebuild_vevents(meeting_ids: Sequence[int], secretaries: dict[int, str | None]) -> dict[int, str]:
    """Render and cache the VEVENTs of many meetings, loading attendees and agendas in bulk.

    A cold feed of a thousand meetings would otherwise load ten thousand invitations as
    ORM objects; plain rows are enough for what a VEVENT shows.

    The meetings, with their ics_rev, are read first and the invitations and agendas after:
    on PostgreSQL each statement sees what was committed when it began, so a change another
    server commits in between shows in the text but not in the revision it is stored under,
    which leaves it stale (rebuilt at the next poll) rather than wrong and marked current.
    """
    key = calendar_cache_key()
    meetings = db.session.scalars(
        select(Meeting)
        .where(Meeting.id.in_(meeting_ids))
        # Only the columns a VEVENT shows; room, host and creator are a handful of rows.
        .options(
            selectinload(Meeting.room),
            selectinload(Meeting.community),
            selectinload(Meeting.street),
            selectinload(Meeting.created_by),
            load_only(
                Meeting.street_id,
                Meeting.community_id,
                Meeting.kind,
                Meeting.title,
                Meeting.description,
                Meeting.start_at,
                Meeting.end_at,
                Meeting.room_id,
                Meeting.status,
                Meeting.cancel_reason,
                Meeting.uid,
                Meeting.sequence,
                Meeting.created_by_id,
                Meeting.ics_rev,
                Meeting.ics_changed_at,
            ),
        )
    ).all()
    attendees: dict[int, list[ics.Attendee]] = {}
    for meeting_id, reply, unit_id, name, liaison_name, liaison_email in db.session.execute(
        select(
            Invitation.meeting_id,
            Invitation.reply,
            Unit.id,
            Unit.name,
            Unit.liaison_name,
            Unit.liaison_email,
        )
        .join(Unit, Unit.id == Invitation.unit_id)
        .where(Invitation.meeting_id.in_(meeting_ids))
        .order_by(Invitation.meeting_id, Invitation.id)
    ):
        attendees.setdefault(meeting_id, []).append(
            ics.attendee_of(unit_id, name, liaison_name, liaison_email, ics.PARTSTAT[reply])
        )
    agendas: dict[int, list[tuple[str, str, int]]] = {}
    for meeting_id, title, presenter, minutes in db.session.execute(
        select(AgendaItem.meeting_id, AgendaItem.title, Unit.name, AgendaItem.minutes)
        .outerjoin(Unit, Unit.id == AgendaItem.presenter_unit_id)
        .where(AgendaItem.meeting_id.in_(meeting_ids))
        .order_by(AgendaItem.meeting_id, AgendaItem.position)
    ):
        agendas.setdefault(meeting_id, []).append((title, presenter or "", minutes))
    texts: dict[int, str] = {}
    cache_rows = []
    for meeting in meetings:
        texts[meeting.id] = ics.vevent_text(
            meeting,
            meeting_url(meeting),
            organizer_email(meeting, secretaries),
            attendees=attendees.get(meeting.id, []),
            agenda=agendas.get(meeting.id, []),
        )
        cache_rows.append(
            {"m_id": meeting.id, "m_rev": meeting.ics_rev, "m_text": texts[meeting.id], "m_key": key}
        )
    if cache_rows and db.session.get_bind().dialect.name == "postgresql":
        # Storing the text is optional: skip the meetings another transaction (a change on
        # another worker or server) holds, instead of waiting for it or deadlocking with it
        # over rows locked in another order. Those stay stale and are rebuilt next time.
        # NO KEY UPDATE is the lock the UPDATE takes: rows that merely gain an invitation
        # or agenda item meanwhile (a foreign key's KEY SHARE lock) are still stored.
        free = set(
            db.session.scalars(
                select(Meeting.id)
                .where(Meeting.id.in_([row["m_id"] for row in cache_rows]))
                .order_by(Meeting.id)
                .with_for_update(skip_locked=True, key_share=True)
            )
        )
        cache_rows = [row for row in cache_rows if row["m_id"] in free]
    # One executemany; caching is not a change of the meeting (no audit, no SEQUENCE).
    if cache_rows:
        table = Meeting.__table__
        db.session.execute(
            table.update()
            .where(table.c.id == bindparam("m_id"), table.c.ics_rev == bindparam("m_rev"))
            .values(
                ics_cache=bindparam("m_text"),
                ics_cache_rev=bindparam("m_rev"),
                ics_cache_key=bindparam("m_key"),
            ),
            cache_rows,
        )
    return texts


def get_or_create_feed(
    *,
    user: User | None = None,
    community_id: int | None = None,
    unit_id: int | None = None,
    by: User | None = None,
) -> CalendarFeed:
    """A user's own feed, or `by`'s feed of a community or unit (each maker has their own)."""
    maker = user if user is not None else by
    if maker is None:
        raise ValueError("a community or unit feed needs its maker (by=)")
    stmt = select(CalendarFeed)
    if user is not None:
        stmt = stmt.where(CalendarFeed.user_id == user.id)
    elif community_id:
        stmt = stmt.where(CalendarFeed.community_id == community_id, CalendarFeed.created_by_id == maker.id)
    else:
        stmt = stmt.where(CalendarFeed.unit_id == unit_id, CalendarFeed.created_by_id == maker.id)
    feed = db.session.scalar(stmt)
    if feed is None:
        feed = CalendarFeed(
            token=secrets.token_urlsafe(24),
            user_id=user.id if user else None,
            community_id=community_id,
            unit_id=unit_id,
            created_by_id=maker.id,
        )
        db.session.add(feed)
        db.session.flush()
    return feed


def reset_feed(feed: CalendarFeed) -> None:
    """Give the feed a new secret URL; the old one answers 404 from now on."""
    feed.token = secrets.token_urlsafe(24)


def feed_alive(feed: CalendarFeed) -> bool:
    """A feed answers while its maker is active and may still hold it (role, community, unit)."""
    if feed.user_id is not None:
        return feed.user is not None and feed.user.active
    maker = feed.created_by
    if maker is None or not maker.active:
        return False
    if feed.community_id:
        return permissions.may_hold_feed(maker, "community", feed.community_id)
    return feed.unit_id is not None and permissions.may_hold_feed(maker, "unit", feed.unit_id)


def feed_targets(user) -> list[tuple[str, str, int, CalendarFeed | None]]:
    """The feeds a user may hold: (label, kind, target id, existing feed or None)."""
    targets: list[tuple[str, str, int]] = [("我的日历（与我相关的全部会议）", "user", user.id)]
    if user.is_admin:
        communities = select(Community).where(
            scoped(Community.street_id, user), Community.retired_at.is_(None)
        )
        for c in db.session.scalars(communities.order_by(Community.street_id, Community.position)):
            targets.append((f"{c.name}（社区日历）", "community", c.id))
    elif user.role == Role.SECRETARY and user.community_id:
        targets.append((f"{user.community.name}（社区日历）", "community", user.community_id))
    elif user.role == Role.LIAISON and user.unit_id:
        targets.append((f"{user.unit.name}（单位日历）", "unit", user.unit_id))
    feeds = db.session.scalars(
        select(CalendarFeed).where(
            (CalendarFeed.user_id == user.id)
            | (
                (CalendarFeed.created_by_id == user.id)
                & (
                    CalendarFeed.community_id.in_([t for _, k, t in targets if k == "community"])
                    | CalendarFeed.unit_id.in_([t for _, k, t in targets if k == "unit"])
                )
            )
        )
    ).all()
    index = {("user", f.user_id): f for f in feeds if f.user_id}
    index |= {("community", f.community_id): f for f in feeds if f.community_id}
    index |= {("unit", f.unit_id): f for f in feeds if f.unit_id}
    return [(label, kind, target, index.get((kind, target))) for label, kind, target in targets]
