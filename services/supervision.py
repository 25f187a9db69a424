"""督办: pushing agreed actions through.

The board lists, for those above the host (street admins, district and city observers, the
system administrator), the actions overdue or stalled (no progress for ACTION_STALLED_DAYS)
across communities, most overdue first. A 督办 notice asks the lead unit (and tells the host)
for something by a deadline; it stays on the action. Moving a due date or changing the lead
needs a reason: each is an ActionEvent (the action's history, the ledger's 变更与督办 column,
the next minutes' follow-up) and an audited change of the action itself. Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import Date, Select, case, func, select
from sqlalchemy.orm import aliased

from models import (
    Action,
    ActionEvent,
    ActionEventKind,
    ActionProgress,
    ActionStatus,
    City,
    Community,
    District,
    Meeting,
    Street,
    Unit,
    UnitStatus,
    User,
    db,
)
from models.base import RuleError, today
from services import notify
from services.scope import scoped

SORTS = {"overdue": "逾期天数", "idle": "未报送进展天数", "supervised": "督办次数"}


class SupervisionError(RuleError):
    """A 督办 rule was broken; the message is for the user."""


def stalled_days() -> int:
    return current_app.config["ACTION_STALLED_DAYS"]


@dataclass
class BoardFilters:
    street_id: int | None = None
    community_id: int | None = None
    sort: str = "overdue"


def board_rows(user: User, f: BoardFilters, day: date | None = None) -> Select:
    """The board's rows as plain values: open actions overdue on `day`, or without progress
    for ACTION_STALLED_DAYS, in the streets the user sees; sorted as asked."""
    day = day or today()
    last_progress = (
        select(func.max(ActionProgress.on)).where(ActionProgress.action_id == Action.id).scalar_subquery()
    )
    notices = (
        select(func.count())
        .select_from(ActionEvent)
        .where(ActionEvent.action_id == Action.id, ActionEvent.kind == ActionEventKind.SUPERVISE)
        .scalar_subquery()
    )
    started = Meeting.start_at
    lead = aliased(Unit)
    stalled_since = day - timedelta(days=stalled_days())
    # An action with no progress yet counts as idle since its meeting.
    idle_from = func.coalesce(last_progress, func.date(started, type_=Date))
    stmt = (
        select(
            Action.id,
            Action.title,
            Action.due_on,
            Action.status,
            lead.name.label("lead_name"),
            Community.name.label("community_name"),
            Action.community_id,
            Street.short_name.label("street_name"),
            Meeting.title.label("meeting_title"),
            last_progress.label("last_progress"),
            notices.label("notices"),
            func.date(started, type_=Date).label("meeting_day"),
            func.coalesce(City.name, District.name).label("convener_name"),
        )
        .select_from(Action)
        .join(Meeting, Meeting.id == Action.meeting_id)
        .join(lead, lead.id == Action.lead_unit_id)
        .join(Street, Street.id == Action.street_id)
        .outerjoin(Community, Community.id == Action.community_id)
        .outerjoin(District, District.id == Meeting.district_id)
        .outerjoin(City, City.id == Meeting.city_id)
        .where(
            Action.status != ActionStatus.DONE,
            scoped(Action.street_id, user),
            (Action.due_on < day)
            | (func.coalesce(last_progress, func.date(started, type_=Date)) < stalled_since),
        )
    )
    if f.street_id:
        stmt = stmt.where(Action.street_id == f.street_id)
    if f.community_id:
        stmt = stmt.where(Action.community_id == f.community_id)
    if f.sort == "idle":
        stmt = stmt.order_by(idle_from, Action.due_on, Action.id)
    elif f.sort == "supervised":
        stmt = stmt.order_by(notices.desc(), Action.due_on, Action.id)
    else:
        stmt = stmt.order_by(case((Action.due_on < day, 0), else_=1), Action.due_on, Action.id)
    return stmt


def _record(action: Action, kind: ActionEventKind, by: User, **fields) -> ActionEvent:
    event = ActionEvent(kind=kind, by_id=by.id, by_name=by.display_name, **fields)
    action.events.append(event)
    db.session.flush()
    return event


def supervise(action: Action, by: User, text: str, deadline: date | None) -> ActionEvent:
    """Send a 督办 notice: what is asked of the lead unit, and by when."""
    text = (text or "").strip()
    if action.is_done:
        raise SupervisionError("事项已完成，无需督办。")
    if not text:
        raise SupervisionError("请填写督办要求。")
    if len(text) > 1000:
        raise SupervisionError("督办要求不能超过 1000 个字。")
    if deadline is None:
        raise SupervisionError("请填写督办期限。")
    if deadline < today():
        raise SupervisionError("督办期限不能早于今天。")
    event = _record(action, ActionEventKind.SUPERVISE, by, text=text, deadline=deadline)
    notify.supervised(action, event, by)
    return event


def extend(action: Action, by: User, due_on: date | None, reason: str) -> ActionEvent:
    """Move the due date, with a reason."""
    reason = (reason or "").strip()
    if action.is_done:
        raise SupervisionError("事项已完成，不能再调整完成时限。")
    if due_on is None:
        raise SupervisionError("请填写新的完成时限。")
    if due_on == action.due_on:
        raise SupervisionError("新的完成时限与原时限相同。")
    if due_on < today():
        raise SupervisionError("新的完成时限不能早于今天。")
    if not reason:
        raise SupervisionError("调整完成时限须填写原因。")
    before = action.due_on
    action.due_on = due_on
    action.reminded_on = None  # the new date is reminded of afresh
    event = _record(
        action, ActionEventKind.EXTEND, by, text=reason, before=before.isoformat(), after=due_on.isoformat()
    )
    notify.action_changed(action, event, by)
    return event


def change_lead(action: Action, by: User, unit: Unit | None, reason: str) -> ActionEvent:
    """Give the action another lead unit of its street, with a reason (the old lead is told too)."""
    reason = (reason or "").strip()
    if action.is_done:
        raise SupervisionError("事项已完成，不能再更换牵头单位。")
    if unit is None or unit.street_id != action.street_id or unit.status == UnitStatus.WITHDRAWN:
        raise SupervisionError("请选择本街道在册的单位作为牵头单位。")
    if unit.id == action.lead_unit_id:
        raise SupervisionError("新的牵头单位与原牵头单位相同。")
    if not reason:
        raise SupervisionError("更换牵头单位须填写原因。")
    old = action.lead_unit
    action.lead_unit_id = unit.id
    action.lead_unit = unit
    if unit in action.co_units:
        action.co_units.remove(unit)
    event = _record(action, ActionEventKind.RELEAD, by, text=reason, before=old.name, after=unit.name)
    notify.action_changed(action, event, by, former_lead_id=old.id)
    return event


def lead_choices(action: Action) -> list[Unit]:
    """Units that may lead the action: its street's, not withdrawn, the current lead excluded."""
    return list(
        db.session.scalars(
            select(Unit)
            .where(
                Unit.street_id == action.street_id,
                Unit.status != UnitStatus.WITHDRAWN,
                Unit.id != action.lead_unit_id,
            )
            .order_by(Unit.community_id, Unit.name)
        )
    )
