from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import case, func, or_, select
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
from services.actions import LedgerFilters, involves, ledger_select
from services.meetings import visible_meetings
from web import panels


@bp.route("/")
@login_required
def dashboard():
    """Show the work overview for the current role."""
    user = current_user
    # The communities with their units counted by status, in one statement.
    table: dict[int, dict[UnitStatus, int]] = {}
    listed: dict[int, Community] = {}
    for community, status, n in db.session.execute(
        select(Community, Unit.status, func.count(Unit.id))
        .outerjoin(Unit, Unit.community_id == Community.id)
        .group_by(Community.id, Unit.status)
        .order_by(Community.street_id, Community.position)
    ):
        listed.setdefault(community.id, community)
        if status is not None:
            table.setdefault(community.id, {s: 0 for s in UnitStatus})[UnitStatus(status)] = n
    communities = list(listed.values())
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
        stmt = ledger_select(user, LedgerFilters()).where(involves(user.unit_id or 0))
    elif user.role == Role.SECRETARY:
        stmt = ledger_select(user, LedgerFilters(community_id=user.community_id))
    else:
        stmt = ledger_select(user, LedgerFilters())
    day = today()
    # The overdue count comes with the rows (a window over all open actions, before LIMIT).
    overdue_total = func.sum(case((Action.due_on < day, 1), else_=0)).over()
    rows = db.session.execute(
        stmt.add_columns(overdue_total)
        .where(Action.status != ActionStatus.DONE)
        .options(joinedload(Action.lead_unit))
        .limit(8)
    ).all()
    return {"my_actions": [a for a, _ in rows], "overdue_count": rows[0][1] if rows else 0, "today": day}


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
    hosts = user.role in (Role.ADMIN, Role.SECRETARY)
    if hosts:  # the replies still missing come with each meeting
        upcoming = upcoming.add_columns(
            select(func.count())
            .where(Invitation.meeting_id == Meeting.id, Invitation.reply == Reply.PENDING)
            .scalar_subquery()
        )
    rows = db.session.execute(upcoming.limit(6)).all()
    next_meetings = [row[0] for row in rows]
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
    # Only a published meeting's invitations were sent: a draft's units owe no reply yet.
    pending_counts = {m.id: n for m, n in rows if m.status == MeetingStatus.SCHEDULED and n} if hosts else {}
    return {"next_meetings": next_meetings, "owed": owed, "pending_counts": pending_counts}
