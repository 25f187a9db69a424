"""The administrative hierarchy (street, community, grid) and meeting rooms."""

from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .hours import OpeningHours

if TYPE_CHECKING:
    from .unit import Unit


class Street(Base):
    __tablename__ = "street"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    short_name: Mapped[str] = mapped_column(String(20))

    communities: Mapped[list[Community]] = relationship(
        back_populates="street", order_by="Community.position"
    )


class Community(Base):
    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=0)
    address: Mapped[str] = mapped_column(String(200), default="")

    street: Mapped[Street] = relationship(back_populates="communities")
    grids: Mapped[list[Grid]] = relationship(back_populates="community")
    rooms: Mapped[list[Room]] = relationship(back_populates="community", foreign_keys="Room.community_id")
    units: Mapped[list[Unit]] = relationship(back_populates="community")


class Grid(Base):
    __tablename__ = "grid"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    community: Mapped[Community] = relationship(back_populates="grids")


class Room(OpeningHours, Base):
    """A meeting room or venue, owned by a community or by a unit (never both)."""

    __tablename__ = "room"
    __table_args__ = (CheckConstraint("(community_id IS NULL) <> (unit_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column(default=0)
    address: Mapped[str] = mapped_column(String(200), default="")
    bookable: Mapped[bool] = mapped_column(default=True)

    community: Mapped[Community | None] = relationship(back_populates="rooms", foreign_keys=[community_id])
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])

    def set_booking_hours(
        self, *, bookable: bool, opens_at: time, closes_at: time, open_days: str, overnight: bool
    ) -> None:
        """Open the room to booking requests or not, and within which weekly hours."""
        self.bookable = bookable
        self.opens_at = opens_at
        self.closes_at = closes_at
        self.open_days = open_days
        self.overnight = overnight
