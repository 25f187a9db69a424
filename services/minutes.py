"""Minutes workflow: drafting, confirmation (会签), approval (签发), corrections. Never commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, selectinload

from common.dates import SHANGHAI
from common.digests import digests  # noqa: F401 (services.minutes.digests, as callers know it)
from common.html import clean_html
from exports.minutes import render_minutes_pdf
from models import (
    Action,
    ActionStatus,
    ActionTag,
    AgendaItem,
    ArchiveCounter,
    Attendance,
    Confirmation,
    ConfirmationStatus,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Minutes,
    MinutesError,
    MinutesRevision,
    MinutesStatus,
    PersonSignIn,
    Principle,
    Reply,
    Retention,
    Unit,
    UnitStatus,
    User,
    db,
)
from models.base import today, utcnow
from services import notify
from services.calendar import cached_vevent
from services.ofdfiles import make_ofd

FOLLOWUP_TITLE = "上次议定事项落实情况"


def get_minutes(meeting: Meeting) -> Minutes | None:
    return db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))


def start_minutes(meeting: Meeting, by: User) -> Minutes:
    """Open the minutes of a meeting with a first draft laid out along its agenda."""
    if not meeting.minutes_open(utcnow()):
        raise MinutesError("会议开始后才能记录会议纪要。")
    minutes = get_minutes(meeting)
    if minutes is not None:
        return minutes
    minutes = Minutes(meeting=meeting)
    db.session.add(minutes)
    revision = MinutesRevision(
        number=1,
        status=MinutesStatus.DRAFT,
        recorder=by.display_name,
        discussion=[_agenda_entry(item) for item in meeting.agenda_items],
        created_by_id=by.id,
    )
    minutes.revisions.append(revision)
    db.session.flush()
    return minutes


def _agenda_entry(item: AgendaItem, html: str = "") -> dict:
    return {
        "item_id": item.id,
        "title": item.title,
        "presenter": item.presenter_unit.name if item.presenter_unit else "",
        "html": html,
    }


@dataclass
class ActionRow:
    id: int | None
    title: str
    detail: str
    lead_unit_id: int
    co_unit_ids: list[int]
    due_on: date
    principles: list[Principle] = field(default_factory=list)


def save_draft(
    revision: MinutesRevision,
    recorder: str,
    summary: str,
    discussion: dict[int, str],
    actions: list[ActionRow],
    by: User,
) -> None:
    """Save the draft text and the agreed actions entered with it."""
    if not revision.editable:
        raise MinutesError("只有草稿状态的纪要可以修改。")
    meeting = revision.minutes.meeting
    revision.recorder = recorder.strip()
    revision.summary = clean_html(summary)
    items = {item.id: item for item in meeting.agenda_items}
    entries = []
    for entry in revision.discussion:
        item = items.get(entry.get("item_id"))
        html = clean_html(discussion.get(entry.get("item_id"), entry.get("html", "")))
        entries.append({**(_agenda_entry(item) if item else entry), "html": html})
    known = {e["item_id"] for e in entries}
    entries += [
        _agenda_entry(item, clean_html(discussion.get(item.id, "")))
        for item in items.values()
        if item.id not in known
    ]
    revision.discussion = entries
    revision.version += 1
    _save_actions(meeting, actions)


def meeting_units(meeting: Meeting) -> tuple[list[Unit], list[Unit]]:
    """Units an agreed action may name: the invited units, and the host's other units.

    The host's units are the host community's (the street's, for a street meeting) that
    have not withdrawn (of a district or city meeting: the invited streets' and communities');
    both lists are sorted by name.
    """
    invited = sorted((inv.unit for inv in meeting.invitations), key=lambda u: u.name)
    if meeting.district_id or meeting.city_id:
        host = or_(
            Unit.street_id.in_([p.street_id for p in meeting.invited_places if p.street_id]),
            Unit.community_id.in_([p.community_id for p in meeting.invited_places if p.community_id]),
        )
    else:
        host = (
            Unit.community_id == meeting.community_id
            if meeting.community_id
            else Unit.street_id == meeting.street_id
        )
    others = db.session.scalars(
        select(Unit)
        .where(host, Unit.status != UnitStatus.WITHDRAWN, Unit.id.not_in([u.id for u in invited] or [0]))
        .order_by(Unit.name)
    ).all()
    return invited, list(others)


def unit_problems(row: ActionRow, allowed: set[int], action: Action | None) -> tuple[str | None, str | None]:
    """Why a row's lead or co-units may not be saved: (lead problem, co-unit problem).

    Units must be the meeting's; an existing action keeps the units it already names (an
    action from a matched need may be led by a neighbouring community's unit) until changed.
    """
    lead_ok = allowed | ({action.lead_unit_id} if action else set())
    co_ok = allowed | ({u.id for u in action.co_units} if action else set())
    lead = (
        None
        if row.lead_unit_id in lead_ok
        else "牵头单位须是本次会议的参会单位或召集方的驻区单位，请重新选择。"
    )
    co = None
    if any(u not in co_ok for u in row.co_unit_ids):
        co = "协同单位须是本次会议的参会单位或召集方的驻区单位，请重新选择。"
    return lead, co


def _save_actions(meeting: Meeting, rows: list[ActionRow]) -> None:
    existing = {a.id: a for a in db.session.scalars(select(Action).where(Action.meeting_id == meeting.id))}
    invited, others = meeting_units(meeting)
    allowed = {u.id for u in invited + others}
    for n, row in enumerate(rows, start=1):
        if any(unit_problems(row, allowed, existing.get(row.id) if row.id else None)):
            raise MinutesError(f"议定事项 {n}“{row.title}”的牵头单位或协同单位不属于本次会议，未保存。")
    kept = set()
    for position, row in enumerate(rows, start=1):
        action = existing.get(row.id) if row.id else None
        if action is None:
            action = Action(
                meeting_id=meeting.id,
                street_id=meeting.street_id,
                community_id=meeting.community_id,
                status=ActionStatus.OPEN,
            )
            db.session.add(action)
        kept.add(action.id)
        action.title = row.title
        action.detail = row.detail
        action.lead_unit_id = row.lead_unit_id
        action.due_on = row.due_on
        action.position = position
        action.co_units = list(
            db.session.scalars(
                select(Unit).where(Unit.id.in_([u for u in row.co_unit_ids if u != row.lead_unit_id]))
            )
        )
        wanted = set(row.principles)
        action.tags = [t for t in action.tags if t.principle in wanted] + [
            ActionTag(principle=p) for p in sorted(wanted - {t.principle for t in action.tags})
        ]
    for action_id, action in existing.items():
        if action_id not in kept:
            if action.progress or action.status != ActionStatus.OPEN:
                raise MinutesError(f"议定事项“{action.title}”已有落实进展，不能删除。")
            db.session.delete(action)


def attending_units(meeting: Meeting) -> list[Invitation]:
    """Units that attended (or, before sign-in, said they would)."""
    out = []
    for inv in meeting.invitations:
        if inv.attendance == Attendance.PRESENT or (
            inv.attendance == Attendance.UNKNOWN and inv.reply in (Reply.ACCEPT, Reply.DELEGATE)
        ):
            out.append(inv)
    return out


def submit(revision: MinutesRevision, by: User, confirm_days: int | None) -> int:
    """Submit a draft for approval, optionally asking attending units to confirm within N days."""
    if revision.status != MinutesStatus.DRAFT:
        raise MinutesError("只有草稿可以提交。")
    if not any(e.get("html") for e in revision.discussion) and not revision.summary:
        raise MinutesError("纪要内容为空，请先填写讨论情况。")
    revision.status = MinutesStatus.SUBMITTED
    revision.submitted_at = utcnow()
    revision.submitted_by_id = by.id
    revision.version += 1
    asked = 0
    if confirm_days:
        revision.confirm_due = today() + timedelta(days=confirm_days)
        already = {c.unit_id for c in revision.confirmations}
        for inv in attending_units(revision.minutes.meeting):
            if inv.unit_id not in already:
                revision.confirmations.append(Confirmation(unit_id=inv.unit_id))
                asked += 1
        db.session.flush()
        notify.confirmation_requested(revision, by)
    return asked


def withdraw(revision: MinutesRevision, by: User) -> None:
    """Take submitted minutes back to draft (e.g. to work in the units' comments)."""
    if revision.status != MinutesStatus.SUBMITTED:
        raise MinutesError("只有待签发的纪要可以退回修改。")
    revision.status = MinutesStatus.DRAFT
    revision.version += 1


def respond(revision: MinutesRevision, unit_id: int, by: User, confirmed: bool, comment: str) -> Confirmation:
    """A liaison confirms the submitted minutes for their unit, or comments on them."""
    if revision.status != MinutesStatus.SUBMITTED:
        raise MinutesError("这份纪要当前不在会签阶段。")
    confirmation = next((c for c in revision.confirmations if c.unit_id == unit_id), None)
    if confirmation is None:
        raise MinutesError("贵单位不在本次会签名单中。")
    if not confirmed and not comment.strip():
        raise MinutesError("提出意见时请填写具体内容。")
    confirmation.status = ConfirmationStatus.CONFIRMED if confirmed else ConfirmationStatus.COMMENTED
    confirmation.comment = comment.strip()
    confirmation.responded_at = utcnow()
    confirmation.responded_by_id = by.id
    notify.confirmation_answered(revision, confirmation, by)
    return confirmation


def unconfirmed(revision: MinutesRevision) -> tuple[list[Confirmation], list[Confirmation]]:
    """The units asked to confirm that have not: (no answer yet, answered with comments)."""
    pending = [c for c in revision.confirmations if c.status == ConfirmationStatus.PENDING]
    commented = [c for c in revision.confirmations if c.status == ConfirmationStatus.COMMENTED]
    return pending, commented


def unconfirmed_message(revision: MinutesRevision) -> str:
    """The 签发 warning naming the units whose confirmation is missing, or "" when none is."""
    pending, commented = unconfirmed(revision)
    parts = []
    if pending:
        parts.append(f"尚未会签的单位：{'、'.join(c.unit.name for c in pending)}")
    if commented:
        parts.append(f"提出修改意见的单位：{'、'.join(c.unit.name for c in commented)}")
    return "；".join(parts)


def pending_confirmations(unit_id: int):
    """Confirmations a unit still owes on submitted minutes, soonest due first."""
    return (
        select(Confirmation)
        .join(MinutesRevision, MinutesRevision.id == Confirmation.revision_id)
        .join(Minutes, Minutes.id == MinutesRevision.minutes_id)
        .join(Meeting, Meeting.id == Minutes.meeting_id)
        .where(
            Confirmation.unit_id == unit_id,
            Confirmation.status == ConfirmationStatus.PENDING,
            MinutesRevision.status == MinutesStatus.SUBMITTED,
        )
        .options(
            joinedload(Confirmation.revision).joinedload(MinutesRevision.minutes).joinedload(Minutes.meeting)
        )
        .order_by(MinutesRevision.confirm_due, Meeting.start_at)
    )


def archive_scope(meeting: Meeting) -> str:
    """The archive number series a meeting's minutes take: its city's or district's (convened
    above the street), its 片区's, its community's or its street's."""
    if meeting.city_id:
        return f"city:{meeting.city_id}"
    if meeting.district_id:
        return f"district:{meeting.district_id}"
    if meeting.area_id:
        return f"area:{meeting.area_id}"
    return f"community:{meeting.community_id}" if meeting.community_id else f"street:{meeting.street_id}"


def default_retention(meeting: Meeting) -> Retention:
    """保管期限 by meeting: 永久 for joint meetings of a street, a district or a city; for a
    community's or a 片区's, 30 年 (定期例会, 片区联席会) or 10 年 (专题会议)."""
    if meeting.convener is not None or (meeting.community_id is None and meeting.area_id is None):
        return Retention.PERMANENT
    return Retention.D10 if meeting.kind == MeetingKind.SPECIAL else Retention.D30


def describe(minutes: Minutes, when: datetime) -> None:
    """At the first approval: the 年度 and the default 保管期限 (kept through corrections);
    the archivist may change them until the item is filed (services/filing.py)."""
    if minutes.filing_year is None:
        minutes.filing_year = when.astimezone(SHANGHAI).year
        minutes.retention = default_retention(minutes.meeting)


def next_archive_number(scope: str, year: int) -> int:
    """Take the next number of a series: gap-free (rolled back with a failed approval) and unique."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(ArchiveCounter).values(scope=scope, year=year, last_number=0).on_conflict_do_nothing()
    )
    counter = db.session.scalar(
        select(ArchiveCounter)
        .where(ArchiveCounter.scope == scope, ArchiveCounter.year == year)
        .with_for_update()
    )
    counter.last_number += 1
    db.session.flush()
    return counter.last_number


def format_archive_no(meeting: Meeting, year: int, number: int) -> str:
    pattern = current_app.config["MINUTES_ARCHIVE_PATTERN"]
    host = meeting.community.name if meeting.community else meeting.street.name
    host_short = meeting.community.short_name if meeting.community else meeting.street.short_name
    if meeting.area is not None:  # the 片区's own series: 青年路片区联席〔2026〕1号
        host = host_short = meeting.area.name
    if meeting.convener is not None:  # the district's or city's: 城东区联席〔2026〕1号
        host = meeting.convener.name
        host_short = meeting.convener.short_name or host
    return pattern.format(
        host=host, host_short=host_short, street=meeting.street.short_name, year=year, number=number
    )


def _delegate(inv: Invitation) -> str:
    """Who came for the unit: the delegate signed in, or (before sign-in) the one it announced."""
    by_delegate = inv.by_delegate if inv.attendance != Attendance.UNKNOWN else inv.reply == Reply.DELEGATE
    if not (by_delegate and inv.delegate_name):
        return ""
    return f"{inv.delegate_name}（{inv.delegate_post}）" if inv.delegate_post else inv.delegate_name


def live_record(revision: MinutesRevision) -> dict[str, list[dict]]:
    """A draft's attendance and actions as the meeting stands (approved minutes keep snapshots)."""
    if revision.status == MinutesStatus.APPROVED:
        return {}
    meeting = revision.minutes.meeting
    return {
        "attendance": snapshot_attendance(meeting),
        "actions": snapshot_actions(meeting),
        "followup": snapshot_followup(meeting),
    }


def snapshot_followup(meeting: Meeting) -> list[dict]:
    """上次议定事项落实情况: the host's earlier actions still open, as the minutes record them."""
    day = today()
    rows = []
    for action in carried_over(meeting):
        latest = action.progress[-1] if action.progress else None
        rows.append(
            {
                "title": action.title,
                "lead": action.lead_unit.name,
                "due_on": action.due_on.isoformat(),
                "status": action.status.label,
                "overdue": action.is_overdue(day),
                "from": action.meeting.title,
                "latest": f"{latest.on.isoformat()} {latest.text}" if latest else "",
                "events": [e.summary for e in action.events],
            }
        )
    return rows


def render_draft_pdf(revision: MinutesRevision) -> bytes:
    """The minutes as they stand, as a PDF (a draft carries the 草稿 watermark)."""
    return render_minutes_pdf(revision, **live_record(revision))


def snapshot_attendance(meeting: Meeting) -> list[dict]:
    # The invited units in one query, not one lazy load per invitation.
    unit_ids = {inv.unit_id for inv in meeting.invitations}
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    # The per-person 签到表 (扫码签到), each person under their unit, in the order they came.
    people: dict[int, list[dict]] = {}
    for p in db.session.scalars(
        select(PersonSignIn)
        .where(PersonSignIn.meeting_id == meeting.id)
        .order_by(PersonSignIn.signed_at, PersonSignIn.id)
    ):
        people.setdefault(p.unit_id, []).append(
            {
                "name": p.name,
                "post": p.post,
                "delegate": p.is_delegate,
                "at": p.signed_at.astimezone(SHANGHAI).strftime("%H:%M"),
                "late": p.late,
            }
        )
    return [
        {
            "unit": units[inv.unit_id].name,
            "attendance": inv.attendance.value,
            "reply": inv.reply.value,
            "delegate": _delegate(inv),
            "reason": inv.reply_reason,
            "people": people.get(inv.unit_id, []),
        }
        for inv in meeting.invitations
    ]


def snapshot_actions(meeting: Meeting) -> list[dict]:
    actions = db.session.scalars(
        select(Action)
        .where(Action.meeting_id == meeting.id)
        .options(joinedload(Action.lead_unit), selectinload(Action.co_units), selectinload(Action.tags))
        .order_by(Action.position, Action.id)
    ).all()
    return [
        {
            "id": a.id,
            "title": a.title,
            "detail": a.detail,
            "lead": a.lead_unit.name,
            "co_units": [u.name for u in a.co_units],
            "due_on": a.due_on.isoformat(),
            "tags": [p.label for p in a.principles],
        }
        for a in actions
    ]


def approve(
    revision: MinutesRevision, by: User, unconfirmed_ok: bool = False, at: datetime | None = None
) -> None:
    """签发: number the minutes, freeze what they record, and store the archival PDF.

    While units asked to confirm have not (no answer, or comments), approval needs
    `unconfirmed_ok`: the approver has seen them named and approves all the same.
    `at`: when it was approved, for the demo's history (default: now).
    """
    if revision.status != MinutesStatus.SUBMITTED:
        raise MinutesError("只有已提交的纪要可以签发。")
    missing = unconfirmed_message(revision)
    if missing and not unconfirmed_ok:
        raise MinutesError(f"{missing}。请确认后勾选“仍然签发”，或等待会签。")
    minutes = revision.minutes
    meeting = minutes.meeting
    now = at or utcnow()
    # One UPDATE makes the revision approved, PDF included: once the row says
    # "approved" the database refuses every further change to it.
    with db.session.no_autoflush:
        if minutes.archive_no is None:
            year = now.astimezone(SHANGHAI).year
            scope = archive_scope(meeting)
            number = next_archive_number(scope, year)
            minutes.archive_scope, minutes.archive_year, minutes.archive_seq = scope, year, number
            minutes.archive_no = format_archive_no(meeting, year, number)
        describe(minutes, now)
        revision.approved_at = now
        revision.approved_by_id = by.id
        revision.approved_by_name = by.display_name
        revision.attendance_snapshot = snapshot_attendance(meeting)
        revision.actions_snapshot = snapshot_actions(meeting)
        revision.followup_snapshot = snapshot_followup(meeting)
        revision.status = MinutesStatus.APPROVED
        pdf = render_minutes_pdf(revision, vevent=cached_vevent(meeting))
        revision.pdf = pdf
        revision.pdf_sha256, revision.pdf_sm3 = digests(pdf)
        revision.version += 1
    db.session.flush()
    # The OFD beside the PDF/A, from the same bytes (filing adds one of the stamped rendition).
    make_ofd(revision, 1, pdf, by.username)
    actions = db.session.scalars(
        select(Action)
        .where(Action.meeting_id == meeting.id, Action.status != ActionStatus.DONE)
        .options(joinedload(Action.lead_unit), selectinload(Action.co_units))
        .order_by(Action.position, Action.id)
    ).all()
    # A correction re-approves the same actions: their units were told the first time.
    notify.minutes_approved(revision, actions if revision.number == 1 else [], by)
    add_followup_to_next_meeting(meeting)


def start_correction(minutes: Minutes, reason: str, by: User) -> MinutesRevision:
    """Open a new draft revision to correct approved minutes; the approved one stays as it is."""
    approved = minutes.approved
    if approved is None or minutes.current.status != MinutesStatus.APPROVED:
        raise MinutesError("只有已签发的纪要需要更正；草稿可以直接修改。")
    if not reason.strip():
        raise MinutesError("请填写更正原因。")
    revision = MinutesRevision(
        number=approved.number + 1,
        status=MinutesStatus.DRAFT,
        recorder=approved.recorder,
        summary=approved.summary,
        discussion=[dict(e) for e in approved.discussion],
        correction_reason=reason.strip(),
        created_by_id=by.id,
    )
    minutes.revisions.append(revision)
    db.session.flush()
    return revision


# --- follow-up of open actions -------------------------------------------------------------


def same_host(meeting: Meeting) -> tuple:
    """Criteria on Meeting: the meetings of the same host as this one (its district's or city's
    if convened above the street, else its community's or, street-level, its street's)."""
    if meeting.city_id:
        return (Meeting.city_id == meeting.city_id,)
    if meeting.district_id:
        return (Meeting.district_id == meeting.district_id,)
    community = (
        Meeting.community_id == meeting.community_id
        if meeting.community_id
        else Meeting.community_id.is_(None)
    )
    return (
        Meeting.street_id == meeting.street_id,
        community,
        Meeting.district_id.is_(None),
        Meeting.city_id.is_(None),
    )


def open_actions(meeting: Meeting):
    """Open actions agreed at meetings of the same host as this one."""
    hosts = select(Meeting.id).where(*same_host(meeting))
    stmt = select(Action).where(Action.status != ActionStatus.DONE, Action.meeting_id.in_(hosts))
    if not (meeting.city_id or meeting.district_id):  # narrowed by the indexed columns
        stmt = stmt.where(Action.street_id == meeting.street_id)
        if meeting.community_id:
            stmt = stmt.where(Action.community_id == meeting.community_id)
    return stmt


def followup_note(meeting: Meeting, counted: bool = True) -> str | None:
    """Why “上次议定事项落实情况” is on the agenda, in plain words; None when it is not.
    counted: say how many actions are open (one more statement; the meeting page, read far
    more often than it is saved, says it without the number)."""
    if not any(item.is_followup for item in meeting.agenda_items):
        return None
    if counted:
        count = db.session.scalar(select(func.count()).select_from(open_actions(meeting).subquery())) or 0
        open_ones = f"还有 {count} 项没有完成"
    else:
        open_ones = "尚未全部完成"
    return (
        f"系统在议程开头加入了“{FOLLOWUP_TITLE}”：{meeting.host_name}此前会议议定的事项{open_ones}，"
        "联席会议制度要求在下一次会议上通报这些事项的落实情况。"
    )


def carried_over(meeting: Meeting) -> list[Action]:
    """Open actions of the host's earlier meetings: still to be followed up at this one."""
    stmt = (
        open_actions(meeting)
        .join(Meeting, Meeting.id == Action.meeting_id)
        .where(Meeting.start_at < meeting.start_at, Meeting.id != meeting.id)
        .options(joinedload(Action.meeting), joinedload(Action.lead_unit), selectinload(Action.events))
        .order_by(Meeting.start_at, Action.position, Action.id)
    )
    return list(db.session.scalars(stmt))


def add_followup_item(meeting: Meeting) -> bool:
    """Put “上次议定事项落实情况” first on a meeting's agenda while open actions remain."""
    if not meeting.editable or any(item.is_followup for item in meeting.agenda_items):
        return False
    if db.session.scalar(open_actions(meeting).limit(1)) is None:
        return False
    length = int((meeting.end_at - meeting.start_at).total_seconds() // 60)
    used = sum(item.minutes or 0 for item in meeting.agenda_items)
    for item in meeting.agenda_items:
        item.position += 1
    meeting.agenda_items.insert(
        0,
        AgendaItem(
            position=1, title=FOLLOWUP_TITLE, minutes=max(1, min(10, length - used)), is_followup=True
        ),
    )
    meeting.invalidate_calendar()
    return True


def add_followup_to_next_meeting(meeting: Meeting) -> Meeting | None:
    """After approval, the host's next upcoming meeting gets the follow-up item."""
    stmt = (
        select(Meeting)
        .where(
            *same_host(meeting),
            Meeting.status.in_((MeetingStatus.DRAFT, MeetingStatus.SCHEDULED)),
            Meeting.start_at > utcnow(),
            Meeting.id != meeting.id,
        )
        .order_by(Meeting.start_at)
        .limit(1)
    )
    upcoming = db.session.scalar(stmt)
    if upcoming is not None and add_followup_item(upcoming):
        return upcoming
    return None
