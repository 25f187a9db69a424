"""Resident units (驻区单位), their status history and staged imports."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, RuleError, utcnow
from .enums import UNIT_TRANSITIONS, UnitCategory, UnitStatus, enum_column
from .geo import Community, Grid

if TYPE_CHECKING:
    from .user import User


class UnitStatusError(RuleError):
    """A status change the rules do not allow; the message is for the user."""


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(40), default="")
    category: Mapped[UnitCategory] = mapped_column(enum_column(UnitCategory, "unit_category"))
    address: Mapped[str] = mapped_column(String(200), default="")
    party_org_name: Mapped[str] = mapped_column(String(100), default="")
    party_member_count: Mapped[int] = mapped_column(default=0)
    liaison_name: Mapped[str] = mapped_column(String(50), default="")
    liaison_phone: Mapped[str] = mapped_column(String(30), default="")
    liaison_email: Mapped[str] = mapped_column(String(120), default="")
    introduction: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[UnitStatus] = mapped_column(
        enum_column(UnitStatus, "unit_status"), default=UnitStatus.REGISTERED, index=True
    )
    registered_on: Mapped[date] = mapped_column()
    activated_on: Mapped[date | None] = mapped_column()
    withdrawn_on: Mapped[date | None] = mapped_column()
    agreement_date: Mapped[date | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    community: Mapped[Community] = relationship(back_populates="units")
    grid: Mapped[Grid | None] = relationship()
    status_changes: Mapped[list[UnitStatusChange]] = relationship(
        back_populates="unit", order_by="UnitStatusChange.id"
    )

    __mapper_args__ = {"version_id_col": version}

    # Fields a liaison may edit on their own unit's profile.
    PROFILE_FIELDS = (
        "short_name",
        "address",
        "party_org_name",
        "party_member_count",
        "liaison_name",
        "liaison_phone",
        "liaison_email",
        "introduction",
    )

    def allowed_statuses(self) -> tuple[UnitStatus, ...]:
        return UNIT_TRANSITIONS[self.status]

    def change_status(self, to: UnitStatus, on: date, reason: str, by: User | None) -> UnitStatusChange:
        """Move the unit to status `to` on date `on`, recording why and by whom."""
        if to not in self.allowed_statuses():
            raise UnitStatusError(f"单位当前状态为“{self.status.label}”，不能变更为“{to.label}”。")
        if on < self.registered_on and to != UnitStatus.REGISTERED:
            raise UnitStatusError("变更日期不能早于报到日期。")
        change = UnitStatusChange(
            from_status=self.status,
            to_status=to,
            effective_on=on,
            reason=reason.strip(),
            changed_by=by,
        )
        self.status_changes.append(change)
        self.status = to
        if to == UnitStatus.ACTIVE:
            self.activated_on = on
        elif to == UnitStatus.WITHDRAWN:
            self.withdrawn_on = on
        elif to == UnitStatus.REGISTERED:
            self.registered_on = on
            self.activated_on = None
            self.withdrawn_on = None
        return change

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name}>"


class UnitStatusChange(Base):
    __tablename__ = "unit_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    from_status: Mapped[UnitStatus | None] = mapped_column(enum_column(UnitStatus, "from_status"))
    to_status: Mapped[UnitStatus] = mapped_column(enum_column(UnitStatus, "to_status"))
    effective_on: Mapped[date] = mapped_column()
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="status_changes")
    changed_by: Mapped[User | None] = relationship()


class UnitImport(Base):
    """An uploaded register file, checked and waiting for the user's confirmation."""

    __tablename__ = "unit_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    filename: Mapped[str] = mapped_column(String(200))
    valid_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rejected_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Rows naming a registered unit with exactly its data: nothing to import (a re-imported export).
    unchanged_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    confirmed_at: Mapped[datetime | None] = mapped_column()
    created_count: Mapped[int] = mapped_column(default=0)

    created_by: Mapped[User] = relationship()
