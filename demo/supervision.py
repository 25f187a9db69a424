"""The demo's 督办: the street admin pushes 东大街街道's most overdue action, the district's
observer an overdue action of the district meeting, and a secretary moves a due date with a
reason, so the board, the action pages, the ledger and the next minutes show them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from demo.levels import HELD_TITLE
from models import Action, ActionEvent, ActionStatus, Meeting, Role, Street, User, db
from models.base import today
from services import supervision


def seed() -> None:
    """Once: two 督办 notices and one extension."""
    if db.session.scalar(select(ActionEvent.id).limit(1)) is not None:
        return
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    district = db.session.scalar(select(User).where(User.username == "district"))
    street = db.session.scalar(select(Street).where(Street.name == "东大街街道"))
    overdue = select(Action).where(Action.status != ActionStatus.DONE, Action.due_on < today())
    if admin is not None and street is not None:
        worst = db.session.scalar(
            overdue.where(Action.street_id == street.id, Action.community_id.is_not(None)).order_by(
                Action.due_on
            )
        )
        if worst is not None:
            supervision.supervise(
                worst,
                admin,
                "该事项已逾期较长时间，请牵头单位说明原因，制定整改计划，并在系统中报送进展。",
                today() + timedelta(days=7),
            )
            secretary = db.session.scalar(
                select(User).where(User.role == Role.SECRETARY, User.community_id == worst.community_id)
            )
            later = db.session.scalar(
                overdue.where(Action.community_id == worst.community_id, Action.id != worst.id).order_by(
                    Action.due_on.desc()
                )
            )
            if secretary is not None and later is not None:
                supervision.extend(
                    later,
                    secretary,
                    today() + timedelta(days=45),
                    "受冬季施工限制，经联席会议同意顺延至开春。",
                )
    held = db.session.scalar(select(Meeting).where(Meeting.title == HELD_TITLE))
    if district is not None and held is not None:
        action = db.session.scalar(overdue.where(Action.meeting_id == held.id).order_by(Action.due_on))
        if action is not None:
            supervision.supervise(
                action,
                district,
                "“护学岗”涉及两个街道，请牵头单位会同派出所明确值守排班，于期限前报送落实情况。",
                today() + timedelta(days=5),
            )
    db.session.flush()
