"""Agreed actions (议定事项), their follow-up and uploaded attachments."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.dates import SHANGHAI

from .base import Base, utcnow
from .enums import ActionStatus, LabelledEnum, Principle, enum_column
from .geo import Community
from .meeting import Meeting
from .unit import Unit

if TYPE_CHECKING:
    from .user import User

action_co_unit = Table(
    "action_co_unit",
    Base.metadata,
    Column("action_id", Integer, ForeignKey("action.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", Integer, ForeignKey("unit.id"), primary_key=True, index=True),
)


class Action(Base):
    __tablename__ = "action"
    __table_args__ = (
        # The ledger's order (services.actions.LEDGER_ORDER: open before done, soonest due first):
        # the first page of a city's 100,000 actions is read from here instead of sorting them all.
        # PostgreSQL only (SQLite cannot reflect an expression index; see its migration).
        Index("ix_action_ledger", text("(status = 'done')"), "due_on", "id").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    due_on: Mapped[date] = mapped_column(index=True)
    status: Mapped[ActionStatus] = mapped_column(
        enum_column(ActionStatus, "action_status"), default=ActionStatus.OPEN, index=True
    )
    result: Mapped[str] = mapped_column(Text, default="")
    done_on: Mapped[date | None] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    position: Mapped[int] = mapped_column(default=0)
    reminded_on: Mapped[date | None] = mapped_column(info={"audit": False})
    # What the action uses: a shared resource and/or the need it answers.
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resource.id"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("need.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    meeting: Mapped[Meeting] = relationship()
    community: Mapped[Community | None] = relationship()
    lead_unit: Mapped[Unit] = relationship(foreign_keys=[lead_unit_id])
    co_units: Mapped[list[Unit]] = relationship(secondary=action_co_unit, order_by="Unit.name")
    tags: Mapped[list[ActionTag]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="ActionTag.principle"
    )
    progress: Mapped[list[ActionProgress]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="ActionProgress.id"
    )
    events: Mapped[list[ActionEvent]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="ActionEvent.id"
    )

    @property
    def principles(self) -> list[Principle]:
        """Tags in the order of the principle 资源共享、优势互补、共建共驻、共同发展."""
        order = list(Principle)
        return sorted((t.principle for t in self.tags), key=order.index)

    @property
    def is_done(self) -> bool:
        return self.status == ActionStatus.DONE

    def is_overdue(self, today: date) -> bool:
        return self.status != ActionStatus.DONE and self.due_on < today

    @property
    def done_late(self) -> bool:
        """Done after its due date (the date in force: an extension moved it, with a reason)."""
        return self.is_done and self.done_on is not None and self.done_on > self.due_on

    @property
    def supervisions(self) -> list[ActionEvent]:
        return [e for e in self.events if e.kind == ActionEventKind.SUPERVISE]

    @property
    def changes(self) -> list[ActionEvent]:
        return [e for e in self.events if e.kind != ActionEventKind.SUPERVISE]

    def involves(self, unit_id: int | None) -> bool:
        return unit_id is not None and (
            unit_id == self.lead_unit_id or any(u.id == unit_id for u in self.co_units)
        )


class ActionEventKind(LabelledEnum):
    """What happened to an action besides its progress: 督办, a new due date, a new lead."""

    SUPERVISE = "supervise", "督办"
    EXTEND = "extend", "调整完成时限"
    RELEAD = "relead", "更换牵头单位"


class ActionEvent(Base):
    """One 督办 notice, due-date change or lead change on an action, with its reason: the
    action's history, the ledger's 变更与督办 column and the next minutes' follow-up show them."""

    __tablename__ = "action_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ActionEventKind] = mapped_column(enum_column(ActionEventKind, "action_event_kind"))
    # 督办: what is asked and by when; a change: the reason, and the value before and after.
    text: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[date | None] = mapped_column()
    before: Mapped[str] = mapped_column(String(200), default="")
    after: Mapped[str] = mapped_column(String(200), default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    by_name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    action: Mapped[Action] = relationship(back_populates="events")

    @property
    def name(self) -> str:
        return f"{self.kind.label}：{self.text[:30]}"

    @property
    def is_supervision(self) -> bool:
        return self.kind == ActionEventKind.SUPERVISE

    @property
    def summary(self) -> str:
        """One line for the ledger and the minutes' follow-up."""
        day = self.created_at.astimezone(SHANGHAI).date().isoformat()
        if self.kind == ActionEventKind.SUPERVISE:
            until = f"，限 {self.deadline.isoformat()} 前" if self.deadline else ""
            return f"{day} 督办{until}：{self.text}"
        return f"{day} {self.kind.label}（{self.before} → {self.after}）：{self.text}"


class ActionTag(Base):
    __tablename__ = "action_tag"

    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"), primary_key=True)
    principle: Mapped[Principle] = mapped_column(enum_column(Principle, "principle"), primary_key=True)

    action: Mapped[Action] = relationship(back_populates="tags")


class Attachment(Base):
    """An uploaded file, stored outside static/ under a random name and served as a download."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def name(self) -> str:
        return self.filename


class ActionProgress(Base):
    __tablename__ = "action_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"), index=True)
    on: Mapped[date] = mapped_column()
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    action: Mapped[Action] = relationship(back_populates="progress")
    author: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    attachment: Mapped[Attachment | None] = relationship()

    @property
    def name(self) -> str:
        return self.text[:40]
