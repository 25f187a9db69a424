"""Shared resources (资源清单) and bookings of resources and community rooms."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import BookingStatus, ResourceKind, Visibility, enum_column
from .geo import Community, Room
from .hours import OpeningHours
from .unit import Unit

if TYPE_CHECKING:
    from .user import User


class Resource(OpeningHours, Base):
    """Something a unit (or a community) offers to the others."""

    __tablename__ = "resource"
    __table_args__ = (
        CheckConstraint("(owner_unit_id IS NULL) <> (owner_community_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    owner_community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    # The community the resource is in (the owner unit's, or the owner community).
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    kind: Mapped[ResourceKind] = mapped_column(enum_column(ResourceKind, "resource_kind"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None] = mapped_column()
    quantity: Mapped[str] = mapped_column(String(60), default="")
    availability: Mapped[str] = mapped_column(String(200), default="")
    available_from: Mapped[date | None] = mapped_column()
    available_until: Mapped[date | None] = mapped_column()
    conditions: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    visibility: Mapped[Visibility] = mapped_column(
        enum_column(Visibility, "visibility"), default=Visibility.ALL
    )
    bookable: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    owner_unit: Mapped[Unit | None] = relationship(foreign_keys=[owner_unit_id])
    owner_community: Mapped[Community | None] = relationship(foreign_keys=[owner_community_id])
    community: Mapped[Community] = relationship(foreign_keys=[community_id])

    @property
    def name(self) -> str:
        return self.title

    @property
    def community_only(self) -> bool:
        """Shared with the units of its own community only."""
        return self.visibility == Visibility.COMMUNITY

    @property
    def owner_name(self) -> str:
        if self.owner_unit is not None:
            return self.owner_unit.name
        return self.owner_community.name if self.owner_community else ""


class Booking(Base):
    """A request to use a bookable resource or a community room for a time range."""

    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint("(resource_id IS NULL) <> (room_id IS NULL)", name="one_target"),
        CheckConstraint("end_at > start_at", name="positive_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resource.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id"), index=True)
    requester_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    requester_community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    start_at: Mapped[datetime] = mapped_column(index=True)
    end_at: Mapped[datetime] = mapped_column()
    purpose: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[BookingStatus] = mapped_column(
        enum_column(BookingStatus, "booking_status"), default=BookingStatus.PENDING, index=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)

    resource: Mapped[Resource | None] = relationship()
    room: Mapped[Room | None] = relationship()
    requester_unit: Mapped[Unit | None] = relationship(foreign_keys=[requester_unit_id])
    requester_community: Mapped[Community | None] = relationship(foreign_keys=[requester_community_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    @property
    def name(self) -> str:
        return self.purpose[:40]

    @property
    def is_pending(self) -> bool:
        """Waiting for the owner's decision."""
        return self.status == BookingStatus.PENDING

    @property
    def is_approved(self) -> bool:
        return self.status == BookingStatus.APPROVED

    @property
    def is_live(self) -> bool:
        """Pending or approved: a request that still stands and may be withdrawn or cancelled."""
        return self.status in (BookingStatus.PENDING, BookingStatus.APPROVED)

    @property
    def requester_name(self) -> str:
        if self.requester_unit is not None:
            return self.requester_unit.name
        return self.requester_community.name if self.requester_community else ""
