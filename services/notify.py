"""Notifications (件件有落实、事事有回音): who hears of each hand-off, in the app and by mail.

`notify` stores one notification per person (never the one who acted) and, for whoever
chose mail at once, queues the mail through the outbox in the same transaction; those who
chose the daily digest get theirs from `digest` (flask --app app digest, run by cron). The
recipients follow the pages' permissions: a unit's liaisons, a community's secretaries, a
street's admins and archivists, the observer who convened a district or city meeting.
Never commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from common.dates import format_date, format_month_day_time
from common.links import base_url
from models import (
    Action,
    ActionStatus,
    ConfirmationStatus,
    Meeting,
    MeetingStatus,
    MinutesRevision,
    MinutesStatus,
    OutboxMessage,
    Role,
    User,
    db,
)
from models.base import utcnow
from models.notification import DEFAULT_CHANNELS, Channel, NoticeKind, NoticePreference, Notification
from services import mail as mailer

MAIL_FOOTER = "（本邮件由共建联席会议系统发送）"

# --- who -------------------------------------------------------------------------------------


def _active(*where) -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True), *where).order_by(User.id)))


def liaisons(unit_ids: Iterable[int | None]) -> list[User]:
    """The liaisons of these units."""
    ids = {i for i in unit_ids if i}
    return _active(User.role == Role.LIAISON, User.unit_id.in_(ids)) if ids else []


def secretaries(community_ids: Iterable[int | None]) -> list[User]:
    ids = {i for i in community_ids if i}
    return _active(User.role == Role.SECRETARY, User.community_id.in_(ids)) if ids else []


def street_staff(street_id: int | None, role: Role) -> list[User]:
    """A street's admins or archivists."""
    return _active(User.role == role, User.street_id == street_id) if street_id else []


def host_staff(meeting) -> list[User]:
    """Who hosts a meeting: the observers of the district or city that convened it, the host
    community's secretaries, or (a street-level meeting) the street's admins."""
    if meeting.city_id:
        return _active(User.role == Role.OBSERVER, User.city_id == meeting.city_id)
    if meeting.district_id:
        return _active(User.role == Role.OBSERVER, User.district_id == meeting.district_id)
    if meeting.community_id:
        return secretaries([meeting.community_id])
    return street_staff(meeting.street_id, Role.ADMIN)


def speakers_for(unit_id: int | None = None, community_id: int | None = None, street_id: int | None = None):
    """Who answers for an owner or a requester: a unit's liaisons, a community's secretaries,
    or a street's admins (a street's own room)."""
    if unit_id:
        return liaisons([unit_id])
    if community_id:
        return secretaries([community_id])
    return street_staff(street_id, Role.ADMIN)


# --- what ------------------------------------------------------------------------------------


def channels_of(user_ids: Iterable[int], kind: NoticeKind) -> dict[int, Channel]:
    """Each user's chosen channel for a kind (the default where they chose nothing)."""
    ids = list(set(user_ids))
    chosen = (
        dict(
            db.session.execute(
                select(NoticePreference.user_id, NoticePreference.channel).where(
                    NoticePreference.kind == kind, NoticePreference.user_id.in_(ids)
                )
            ).all()
        )
        if ids
        else {}
    )
    return {i: chosen.get(i, DEFAULT_CHANNELS[kind]) for i in ids}


def notify(
    kind: NoticeKind,
    users: Iterable[User],
    text: str,
    url: str,
    by: User | None = None,
    key: str | None = None,
) -> list[Notification]:
    """Tell each of `users` (once, never the one who acted, never twice for the same `key`)
    what happened; queue mail for those who want it at once."""
    people: dict[int, User] = {}
    for user in users:
        if user is not None and user.active and (by is None or user.id != getattr(by, "id", None)):
            people.setdefault(user.id, user)
    if key and people:
        told = db.session.scalars(
            select(Notification.user_id).where(
                Notification.key == key, Notification.user_id.in_(list(people))
            )
        )
        for user_id in told:
            people.pop(user_id, None)
    if not people:
        return []
    channels = channels_of(people, kind)
    now = utcnow()
    made = []
    for user in people.values():
        channel = channels[user.id]
        note = Notification(user_id=user.id, kind=kind, text=text[:500], url=url, key=key, channel=channel)
        if channel == Channel.MAIL and user.email.strip():
            _queue_mail(user, f"【{kind.label}】{_subject(text)}", [note], kind)
            note.mailed_at = now
        db.session.add(note)
        made.append(note)
    db.session.flush()
    return made


def _subject(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def _queue_mail(user: User, subject: str, notes: list[Notification], *kinds: NoticeKind) -> None:
    base = base_url()
    lines = [f"{user.display_name}：", ""]
    for note in notes:
        lines.append(f"· {note.text}")
        if note.url:
            lines.append(f"  {base}{note.url}")
    lines += ["", f"全部提醒：{base}/notifications", "", "不想再收到以下邮件，可点击退订（仍在系统中提醒）："]
    for kind in dict.fromkeys(kinds):
        lines.append(f"· {kind.label}：{base}/notifications/unsubscribe/{unsubscribe_token(user.id, kind)}")
    lines += ["", MAIL_FOOTER]
    db.session.add(
        OutboxMessage(
            to_addr=user.email.strip(), to_name=user.display_name, subject=subject, body_text="\n".join(lines)
        )
    )
    mailer.note_pending()  # the web layer sends or wakes the sender after commit


# --- the reader's side -----------------------------------------------------------------------


def unread_count(user_id: int) -> int:
    """The bell: one statement."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def notifications_of(user_id: int, unread_only: bool = False):
    """A user's notifications, newest first (a Select for the paginator)."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def mark_read(user_id: int, note_id: int | None = None) -> int:
    """Mark one notification (or all) of this user read; return how many changed."""
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if note_id is not None:
        stmt = stmt.where(Notification.id == note_id)
    return db.session.execute(stmt.values(read_at=utcnow())).rowcount or 0


def preferences(user_id: int) -> dict[NoticeKind, Channel]:
    rows = dict(
        db.session.execute(
            select(NoticePreference.kind, NoticePreference.channel).where(NoticePreference.user_id == user_id)
        ).all()
    )
    return {kind: rows.get(kind, DEFAULT_CHANNELS[kind]) for kind in NoticeKind}


def set_preference(user_id: int, kind: NoticeKind, channel: Channel) -> bool:
    """Choose how a user hears of a kind; return whether it changed."""
    row = db.session.scalar(
        select(NoticePreference).where(NoticePreference.user_id == user_id, NoticePreference.kind == kind)
    )
    current = row.channel if row is not None else DEFAULT_CHANNELS[kind]
    if current == channel:
        return False
    if row is None:
        db.session.add(NoticePreference(user_id=user_id, kind=kind, channel=channel))
    else:
        row.channel = channel
    db.session.flush()
    return True


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="gongjian-unsubscribe")


def unsubscribe_token(user_id: int, kind: NoticeKind) -> str:
    """A link's signed token: stop mail of one kind for one user, without logging in."""
    return _serializer().dumps([user_id, kind.value])


def read_unsubscribe_token(token: str) -> tuple[User, NoticeKind] | None:
    try:
        user_id, value = _serializer().loads(token)
        kind = NoticeKind(value)
    except (BadSignature, ValueError, TypeError):
        return None
    user = db.session.get(User, user_id)
    return (user, kind) if user is not None and user.active else None


# --- the daily digest ------------------------------------------------------------------------


def digest(now: datetime | None = None) -> int:
    """Mail each user their notifications waiting for the digest in one message; forget
    notifications older than NOTIFICATION_KEEP_DAYS. Return the number of mails queued."""
    now = now or utcnow()
    stmt = (
        select(Notification)
        .where(Notification.channel == Channel.DIGEST, Notification.mailed_at.is_(None))
        .order_by(Notification.user_id, Notification.id)
        # Two servers' cron runs: each note is mailed by one of them.
        .with_for_update(skip_locked=True)
    )
    by_user: dict[int, list[Notification]] = {}
    for note in db.session.scalars(stmt):
        by_user.setdefault(note.user_id, []).append(note)
    queued = 0
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(list(by_user))))}
    for user_id, notes in by_user.items():
        user = users.get(user_id)
        for note in notes:
            note.mailed_at = now
        if user is None or not user.active or not user.email.strip():
            continue
        _queue_mail(user, f"【每日提醒汇总】{len(notes)} 条新提醒", notes, *(n.kind for n in notes))
        queued += 1
    keep = timedelta(days=current_app.config["NOTIFICATION_KEEP_DAYS"])
    db.session.execute(delete(Notification).where(Notification.created_at < now - keep))
    db.session.flush()
    return queued


# --- the hand-offs (point by point: who hears what) -----------------------------------------


def _when(at: datetime) -> str:
    return format_month_day_time(at)


def invited_liaisons(meeting, invitations=None) -> list[User]:
    return liaisons(inv.unit_id for inv in (meeting.invitations if invitations is None else invitations))


def meeting_published(meeting, by: User | None, invitations=None) -> None:
    """Published (or units added to a published meeting): the invited liaisons; and the call
    for topics while it is open."""
    people = invited_liaisons(meeting, invitations)
    url = f"/meetings/{meeting.id}"
    notify(
        NoticeKind.MEETING_PUBLISHED,
        people,
        f"{meeting.host_name}邀请贵单位参加“{meeting.title}”（{_when(meeting.start_at)}），请回复是否参加。",
        url,
        by,
    )
    if meeting.topic_deadline is not None and meeting.topics_open(utcnow()):
        notify(
            NoticeKind.TOPICS_OPEN,
            people,
            f"“{meeting.title}”正在征集议题，截止 {_when(meeting.topic_deadline)}，欢迎提交。",
            url,
            by,
            key=f"topics_open:{meeting.id}",
        )


def meeting_changed(meeting, by: User | None) -> None:
    notify(
        NoticeKind.MEETING_CHANGED,
        invited_liaisons(meeting),
        f"“{meeting.title}”的时间、地点或名称有变更：现为 {_when(meeting.start_at)}，{meeting.room.name}。",
        f"/meetings/{meeting.id}",
        by,
    )


def meeting_cancelled(meeting, by: User | None, invitations=None, removed: bool = False) -> None:
    text = (
        f"贵单位已不在“{meeting.title}”（{_when(meeting.start_at)}）的邀请名单中。"
        if removed
        else f"“{meeting.title}”（{_when(meeting.start_at)}）已取消：{meeting.cancel_reason}"
    )
    notify(
        NoticeKind.MEETING_CANCELLED,
        invited_liaisons(meeting, invitations),
        text,
        f"/meetings/{meeting.id}",
        by,
    )


def topic_submitted(topic, by: User | None) -> None:
    """A unit proposes a topic: the host decides whether it goes on the agenda."""
    meeting = topic.meeting
    notify(
        NoticeKind.TOPIC_SUBMITTED,
        host_staff(meeting),
        f"{topic.unit.name}为“{meeting.title}”提交了议题“{topic.title}”，请决定是否列入议程。",
        f"/meetings/{meeting.id}",
        by,
    )


def topic_decided(topic, by: User | None) -> None:
    accepted = topic.status.value == "accepted"
    submitter = [topic.submitted_by] if topic.submitted_by is not None else liaisons([topic.unit_id])
    text = (
        f"贵单位提出的议题“{topic.title}”已列入“{topic.meeting.title}”的议程。"
        if accepted
        else f"贵单位提出的议题“{topic.title}”未被“{topic.meeting.title}”采纳：{topic.decline_reason}"
    )
    notify(NoticeKind.TOPIC_DECIDED, submitter, text, f"/meetings/{topic.meeting_id}", by)


def confirmation_requested(revision, by: User | None) -> None:
    meeting = revision.minutes.meeting
    notify(
        NoticeKind.CONFIRM_REQUESTED,
        liaisons(c.unit_id for c in revision.confirmations),
        f"请于 {format_date(revision.confirm_due)} 前会签“{meeting.title}”的会议纪要。",
        f"/meetings/{meeting.id}/minutes",
        by,
    )


def confirmation_answered(revision, confirmation, by: User | None) -> None:
    meeting = revision.minutes.meeting
    unit = confirmation.unit.name
    text = (
        f"{unit}已会签确认“{meeting.title}”的会议纪要。"
        if confirmation.status.value == "confirmed"
        else f"{unit}对“{meeting.title}”的会议纪要提出意见：{confirmation.comment}"
    )
    notify(NoticeKind.CONFIRM_ANSWERED, host_staff(meeting), text, f"/meetings/{meeting.id}/minutes", by)


def minutes_approved(revision, actions, by: User | None) -> None:
    """Approved: the attending liaisons and the street's archivists; each agreed action's lead
    and co-units are assigned it."""
    meeting = revision.minutes.meeting
    present = [inv for inv in meeting.invitations if inv.attendance.value == "present"]
    notify(
        NoticeKind.MINUTES_APPROVED,
        [*invited_liaisons(meeting, present), *street_staff(meeting.street_id, Role.ARCHIVIST)],
        f"“{meeting.title}”的会议纪要已签发（{revision.minutes.archive_no}）。",
        f"/meetings/{meeting.id}/minutes",
        by,
    )
    for action in actions:
        action_assigned(action, by)


def action_assigned(action, by: User | None) -> None:
    notify(
        NoticeKind.ACTION_ASSIGNED,
        liaisons([action.lead_unit_id, *(u.id for u in action.co_units)]),
        f"议定事项“{action.title}”由{action.lead_unit.name}牵头，{format_date(action.due_on)}前完成。",
        f"/actions/{action.id}",
        by,
    )


def supervised(action, event, by: User | None) -> None:
    """A 督办 notice: the lead unit must answer by its deadline; the host is told too."""
    notify(
        NoticeKind.SUPERVISED,
        [*liaisons([action.lead_unit_id]), *host_staff(action.meeting)],
        f"{event.by_name}督办议定事项“{action.title}”：{event.text}（请于 {format_date(event.deadline)} 前落实并报送进展）",
        f"/actions/{action.id}",
        by,
    )


def action_changed(action, event, by: User | None, former_lead_id: int | None = None) -> None:
    """A new due date or a new lead: the units concerned (the former lead too) and the host."""
    notify(
        NoticeKind.ACTION_CHANGED,
        [
            *liaisons([action.lead_unit_id, former_lead_id, *(u.id for u in action.co_units)]),
            *host_staff(action.meeting),
        ],
        f"议定事项“{action.title}”{event.kind.label}：{event.before} → {event.after}。原因：{event.text}",
        f"/actions/{action.id}",
        by,
    )


def progress_reported(action, entry, by: User | None) -> None:
    who = by.unit.name if by is not None and by.unit is not None else (by.display_name if by else "")
    notify(
        NoticeKind.PROGRESS_REPORTED,
        host_staff(action.meeting),
        f"{who}报送了“{action.title}”的进展：{entry.text}",
        f"/actions/{action.id}",
        by,
    )


def _booking_target(booking) -> tuple[str, list[User]]:
    """The booked thing's name and who answers for it."""
    if booking.resource_id:
        r = booking.resource
        return r.title, speakers_for(r.owner_unit_id, r.owner_community_id, r.street_id)
    room = booking.room
    return room.name, speakers_for(room.unit_id, room.community_id, room.street_id)


def booking_requested(booking, by: User | None) -> None:
    name, owners = _booking_target(booking)
    who = (
        by.unit.name
        if by is not None and by.unit is not None
        else (by.community.name if by and by.community else "")
    )
    notify(
        NoticeKind.BOOKING_REQUESTED,
        owners,
        f"{who}申请预约“{name}”（{_when(booking.start_at)}）：{booking.purpose}",
        f"/bookings/{booking.id}",
        by,
    )


def booking_decided(booking, by: User | None) -> None:
    name, _ = _booking_target(booking)
    approved = booking.status.value == "approved"
    text = (
        f"贵方预约的“{name}”（{_when(booking.start_at)}）已获批准。"
        if approved
        else f"贵方预约的“{name}”（{_when(booking.start_at)}）未获批准：{booking.decline_reason}"
    )
    requesters = speakers_for(booking.requester_unit_id, booking.requester_community_id, None)
    notify(NoticeKind.BOOKING_DECIDED, requesters, text, f"/bookings/{booking.id}", by)


def need_claimed(need, unit, by: User | None) -> None:
    notify(
        NoticeKind.NEED_CLAIMED,
        secretaries([need.community_id]),
        f"{unit.name}认领了{'微心愿' if need.is_wish else '需求'}“{need.title}”，请确认。",
        f"/needs/{need.id}",
        by,
    )


def claim_decided(need, unit_id: int, confirmed: bool, by: User | None, reason: str = "") -> None:
    text = (
        f"社区已确认贵单位对“{need.title}”的认领，请按约定落实。"
        if confirmed
        else f"贵单位对“{need.title}”的认领已释放：{reason}"
    )
    notify(NoticeKind.CLAIM_DECIDED, liaisons([unit_id]), text, f"/needs/{need.id}", by)


def match_event(match, by: User | None, decided: bool = False) -> None:
    """A resource proposed for a need, or that proposal answered: both sides hear of it."""
    need, resource = match.need, match.resource
    owners = speakers_for(resource.owner_unit_id, resource.owner_community_id, resource.street_id)
    if not decided:
        text = f"建议用共享资源“{resource.title}”对接需求“{need.title}”，请资源方答复。"
    else:
        text = f"资源“{resource.title}”对接需求“{need.title}”的建议：{match.status.label}。"
    notify(NoticeKind.MATCH, [*owners, *secretaries([need.community_id])], text, f"/needs/{need.id}", by)


def unit_registered(unit, by: User | None) -> None:
    notify(
        NoticeKind.UNIT_REGISTERED,
        secretaries([unit.community_id]),
        f"{unit.name}已到社区报到登记，请审核转为在册。",
        f"/units/{unit.id}",
        by,
    )


def daily_reminders(day: date) -> int:
    """What `flask remind` tells each day, once per occasion: actions due within three days
    and overdue (lead, co-units and the host), calls for topics closing within a day, and
    会签 due by tomorrow still unanswered. Return how many notifications were made."""
    made = 0
    actions = db.session.scalars(
        select(Action)
        .where(Action.status != ActionStatus.DONE, Action.due_on <= day + timedelta(days=3))
        .options(joinedload(Action.lead_unit), joinedload(Action.meeting), selectinload(Action.co_units))
        .order_by(Action.due_on, Action.id)
    ).all()
    for action in actions:
        overdue = action.due_on < day
        people = [
            *liaisons([action.lead_unit_id, *(u.id for u in action.co_units)]),
            *host_staff(action.meeting),
        ]
        if overdue:
            kind, key = NoticeKind.ACTION_OVERDUE, f"action_overdue:{action.id}:{action.due_on}"
            text = f"议定事项“{action.title}”已逾期（应于 {format_date(action.due_on)} 完成），牵头单位：{action.lead_unit.name}。"
        else:
            kind, key = NoticeKind.ACTION_DUE, f"action_due:{action.id}:{action.due_on}"
            text = f"议定事项“{action.title}”将于 {format_date(action.due_on)} 到期，牵头单位：{action.lead_unit.name}。"
        made += len(notify(kind, people, text, f"/actions/{action.id}", key=key))
    now = utcnow()
    closing = db.session.scalars(
        select(Meeting).where(
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.topic_deadline > now,
            Meeting.topic_deadline <= now + timedelta(days=1),
        )
    ).all()
    for meeting in closing:
        made += len(
            notify(
                NoticeKind.TOPICS_CLOSING,
                invited_liaisons(meeting),
                f"“{meeting.title}”的议题征集将于 {_when(meeting.topic_deadline)} 截止。",
                f"/meetings/{meeting.id}",
                key=f"topics_closing:{meeting.id}",
            )
        )
    due = db.session.scalars(
        select(MinutesRevision).where(
            MinutesRevision.status == MinutesStatus.SUBMITTED,
            MinutesRevision.confirm_due.is_not(None),
            MinutesRevision.confirm_due <= day + timedelta(days=1),
        )
    ).all()
    for revision in due:
        pending = [c.unit_id for c in revision.confirmations if c.status == ConfirmationStatus.PENDING]
        meeting = revision.minutes.meeting
        made += len(
            notify(
                NoticeKind.CONFIRM_DUE,
                liaisons(pending),
                f"“{meeting.title}”的会议纪要请于 {format_date(revision.confirm_due)} 前会签。",
                f"/meetings/{meeting.id}/minutes",
                key=f"confirm_due:{revision.id}:{revision.confirm_due}",
            )
        )
    return made
