"""The places, from city to building (市 → 区 → 街道 → 社区 → 网格 → 楼栋), and meeting rooms.

Places are data: created, renamed, reordered and retired on the places pages. Nothing with a
history is deleted; a retired place keeps its records and leaves the choices of new ones.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
    event,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import GridDuty
from .hours import OpeningHours

if TYPE_CHECKING:
    from .unit import Unit


class Place:
    """What every level of the hierarchy has: a place among its siblings, and retirement."""

    position: Mapped[int] = mapped_column(default=0, server_default="0")
    retired_at: Mapped[datetime | None] = mapped_column()
    # When the place last changed (the API's updated_since); null only before the API existed.
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


class City(Place, Base):
    __tablename__ = "city"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    short_name: Mapped[str] = mapped_column(String(20), default="", server_default="")

    districts: Mapped[list[District]] = relationship(back_populates="city", order_by="District.position")


class District(Place, Base):
    __tablename__ = "district"
    __table_args__ = (UniqueConstraint("city_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(20), default="", server_default="")

    city: Mapped[City] = relationship(back_populates="districts")
    streets: Mapped[list[Street]] = relationship(back_populates="district", order_by="Street.position")


class Street(Place, Base):
    __tablename__ = "street"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A street set up before districts were data has none until the administrator places it.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    short_name: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # 全宗号 (DA/T 22): the street's fonds in its archive, set by the system administrator;
    # minutes are filed (件号, 档号) only once it is set.
    fonds_code: Mapped[str] = mapped_column(String(20), default="", server_default="")

    district: Mapped[District | None] = relationship(back_populates="streets")
    communities: Mapped[list[Community]] = relationship(
        back_populates="street", order_by="Community.position"
    )


class Community(Place, Base):
    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200), default="")

    street: Mapped[Street] = relationship(back_populates="communities")
    grids: Mapped[list[Grid]] = relationship(back_populates="community", order_by="Grid.position")
    rooms: Mapped[list[Room]] = relationship(back_populates="community", foreign_keys="Room.community_id")
    units: Mapped[list[Unit]] = relationship(back_populates="community")


class Grid(Place, Base):
    __tablename__ = "grid"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(20), default="", server_default="")
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")

    community: Mapped[Community] = relationship(back_populates="grids")
    buildings: Mapped[list[Building]] = relationship(back_populates="grid", order_by="Building.position")
    staff: Mapped[list[GridStaff]] = relationship(back_populates="grid", order_by="GridStaff.id")


class GridStaff(Base):
    """A person on a grid's roster (网格员), holding one or more of the ten duties, possibly
    sent by a resident unit. Someone who leaves keeps their row, with the day they left."""

    __tablename__ = "grid_staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(30), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    duties: Mapped[list[str]] = mapped_column(JSON, default=list)
    left_at: Mapped[datetime | None] = mapped_column()

    grid: Mapped[Grid] = relationship(back_populates="staff")
    unit: Mapped[Unit | None] = relationship()

    @property
    def duty_labels(self) -> list[str]:
        return [GridDuty(d).label for d in self.duties if d in GridDuty._value2member_map_]


class Building(Place, Base):
    """A building (楼栋) of a grid: a residential block, an office tower, a school's campus."""

    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("grid_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(20), default="", server_default="")
    address: Mapped[str] = mapped_column(String(200), default="", server_default="")

    grid: Mapped[Grid] = relationship(back_populates="buildings")


class Room(OpeningHours, Base):
    """A meeting room or venue, owned by one of: a community, a street (its own rooms, for
    street-level meetings), or a unit. A community's room also names its street."""

    __tablename__ = "room"
    __table_args__ = (
        CheckConstraint(
            "NOT (community_id IS NOT NULL AND unit_id IS NOT NULL)"
            " AND (community_id IS NOT NULL OR unit_id IS NOT NULL OR street_id IS NOT NULL)",
            name="one_owner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column(default=0)
    address: Mapped[str] = mapped_column(String(200), default="")
    equipment: Mapped[str] = mapped_column(String(200), default="", server_default="")
    bookable: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    retired_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)

    community: Mapped[Community | None] = relationship(back_populates="rooms", foreign_keys=[community_id])
    street: Mapped[Street | None] = relationship(foreign_keys=[street_id])
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def owner_name(self) -> str:
        """Who the room belongs to, by name: its community, its unit, or its street."""
        if self.community_id is not None:
            return self.community.name
        if self.unit_id is not None:
            return self.unit.name
        return self.street.name

    def set_booking_hours(
        self, *, bookable: bool, opens_at: time, closes_at: time, open_days: str, overnight: bool
    ) -> None:
        """Open the room to booking requests or not, and within which weekly hours."""
        self.bookable = bookable
        self.opens_at = opens_at
        self.closes_at = closes_at
        self.open_days = open_days
        self.overnight = overnight


area_community = Table(
    "area_community",
    Base.metadata,
    Column("area_id", ForeignKey("area.id"), primary_key=True),
    Column("community_id", ForeignKey("community.id"), primary_key=True, index=True),
)


class Area(Base):
    """A 片区: a named group of communities (across streets if needed) whose secretaries
    convene joint meetings inviting units from the whole group. Retired, it keeps its
    meetings and leaves the choices of new ones."""

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    retired_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    communities: Mapped[list[Community]] = relationship(
        secondary=area_community, order_by="(Community.street_id, Community.position)"
    )

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def member_names(self) -> list[str]:
        """Its communities by name, with the street beside each when it spans several."""
        several = len({c.street_id for c in self.communities}) > 1
        return [f"{c.name}（{c.street.short_name}）" if several else c.name for c in self.communities]


class PlaceImport(Base):
    """An uploaded list of places, checked row by row and waiting for confirmation."""

    __tablename__ = "place_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    filename: Mapped[str] = mapped_column(String(200))
    # Each valid row: {"row": n, "path": [[level, name, short_name, address], ...], "new": [levels]}
    valid_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rejected_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    unchanged_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    confirmed_at: Mapped[datetime | None] = mapped_column()
    created_count: Mapped[int] = mapped_column(default=0)


@event.listens_for(Room, "before_insert")
def _room_names_its_street(mapper, connection, room: Room) -> None:
    """A room names its street (its community's, or its unit's), however it was made."""
    if room.community_id is not None and room.street_id is None:
        room.street_id = connection.scalar(
            select(Community.street_id).where(Community.id == room.community_id)
        )
