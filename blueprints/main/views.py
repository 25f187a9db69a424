from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from blueprints.main import bp
from models import (
    Action,
    ActionStatus,
    Community,
    Invitation,
    Meeting,
    MeetingStatus,
    Reply,
    Role,
    Unit,
    UnitStatus,
    db,
)
from models.base import today, utcnow
from services.actions import LedgerFilters, involves, ledger_query
from services.meetings import visible_meetings
from web import panels


@bp.route("/")
@login_required
def dashboard():
    """Show the work overview for the current role."""
    user = current_user
    counts = select(Unit.community_id, Unit.status, func.count()).group_by(Unit.community_id, Unit.status)
    table: dict[int, dict[UnitStatus, int]] = {}
    for community_id, status, n in db.session.execute(counts):
        table.setdefault(community_id, {s: 0 for s in UnitStatus})[UnitStatus(status)] = n
    communities = db.session.scalars(
        select(Community).order_by(Community.street_id, Community.position)
    ).all()
    pending = []
    if user.role in (Role.ADMIN, Role.SECRETARY):
        stmt = select(Unit).where(Unit.status == UnitStatus.REGISTERED).order_by(Unit.registered_on)
        if user.role == Role.SECRETARY:
            stmt = stmt.where(Unit.community_id == user.community_id)
        pending = db.session.scalars(stmt.limit(10)).all()
    missing_profile = []
    if user.role == Role.LIAISON and user.unit:
        unit = user.unit
        for field, label in (
            ("liaison_phone", "联系电话"),
            ("liaison_email", "电子邮箱"),
            ("address", "地址"),
            ("party_org_name", "党组织名称"),
            ("introduction", "单位简介"),
        ):
            if not getattr(unit, field):
                missing_profile.append(label)
    return render_template(
        "main/dashboard.html",
        communities=communities,
        table=table,
        pending=pending,
        missing_profile=missing_profile,
        **_meeting_panels(user),
        **_action_panels(user),
        panels=panels.render(panels.DASHBOARD, user),
    )


def _action_panels(user) -> dict:
    """My open actions (a liaison: my unit's; a secretary: my community's), overdue first."""
    if user.role == Role.LIAISON:
        stmt = ledger_query(user, LedgerFilters()).where(involves(user.unit_id or 0))
    elif user.role == Role.SECRETARY:
        stmt = ledger_query(user, LedgerFilters(community_id=user.community_id))
    else:
        stmt = ledger_query(user, LedgerFilters())
    stmt = stmt.where(Action.status != ActionStatus.DONE)
    actions = db.session.scalars(stmt.limit(8)).all()
    overdue = db.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).where(Action.due_on < today()).subquery())
    )
    return {"my_actions": actions, "overdue_count": overdue, "today": today()}


def _meeting_panels(user) -> dict:
    """My next meetings, the replies my unit owes, and (for hosts) replies still missing."""
    now = utcnow()
    upcoming = (
        visible_meetings(user)
        .options(joinedload(Meeting.room), joinedload(Meeting.community))
        .where(Meeting.end_at >= now, Meeting.status.in_((MeetingStatus.DRAFT, MeetingStatus.SCHEDULED)))
        .order_by(Meeting.start_at)
    )
    if user.role == Role.SECRETARY:
        upcoming = upcoming.where(
            or_(Meeting.community_id == user.community_id, Meeting.community_id.is_(None))
        )
    if user.role in (Role.LIAISON, Role.ARCHIVIST):
        upcoming = upcoming.where(Meeting.status == MeetingStatus.SCHEDULED)
    next_meetings = db.session.scalars(upcoming.limit(6)).all()
    owed = []
    if user.role == Role.LIAISON and user.unit_id:
        owed = db.session.scalars(
            select(Meeting)
            .join(Invitation, Invitation.meeting_id == Meeting.id)
            .where(
                Invitation.unit_id == user.unit_id,
                Invitation.reply == Reply.PENDING,
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.start_at > now,
            )
            .options(joinedload(Meeting.room))
            .order_by(Meeting.start_at)
        ).all()
    pending_counts = {}
    # Only a published meeting's invitations were sent: a draft's units owe no reply yet.
    published = [m.id for m in next_meetings if m.status == MeetingStatus.SCHEDULED]
    if published and user.role in (Role.ADMIN, Role.SECRETARY):
        pending_counts = dict(
            db.session.execute(
                select(Invitation.meeting_id, func.count())
                .where(
                    Invitation.meeting_id.in_(published),
                    Invitation.reply == Reply.PENDING,
                )
                .group_by(Invitation.meeting_id)
            ).all()
        )
    return {"next_meetings": next_meetings, "owed": owed, "pending_counts": pending_counts}
