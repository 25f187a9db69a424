"""The needs board (需求清单, 微心愿), claims, updates, and resource-need matches."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .action import Attachment
from .base import Base, utcnow
from .enums import MatchStatus, NeedStatus, ResourceKind, enum_column
from .geo import Community, Grid
from .resource import Resource
from .unit import Unit

if TYPE_CHECKING:
    from .user import User

need_update_photo = Table(
    "need_update_photo",
    Base.metadata,
    Column("update_id", Integer, ForeignKey("need_update.id", ondelete="CASCADE"), primary_key=True),
    Column("attachment_id", Integer, ForeignKey("attachment.id"), primary_key=True),
)


# Claimed and not yet fulfilled, confirmed or not.
ACTIVE_CLAIM = (NeedStatus.CLAIMED, NeedStatus.IN_PROGRESS)
# Fulfilled or withdrawn: nothing more happens to the need.
CLOSED = (NeedStatus.FULFILLED, NeedStatus.WITHDRAWN)


class Need(Base):
    """A community need or a resident's 微心愿, claimed and fulfilled by a unit."""

    __tablename__ = "need"

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    kind: Mapped[ResourceKind] = mapped_column(enum_column(ResourceKind, "need_kind"), index=True)
    is_wish: Mapped[bool] = mapped_column(default=False, index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    people_served: Mapped[int | None] = mapped_column()
    wanted_by: Mapped[date | None] = mapped_column(index=True)
    # Private: only the community and the claiming unit see who made the wish.
    resident_name: Mapped[str] = mapped_column(String(50), default="")
    resident_phone: Mapped[str] = mapped_column(String(30), default="")
    status: Mapped[NeedStatus] = mapped_column(
        enum_column(NeedStatus, "need_status"), default=NeedStatus.OPEN, index=True
    )
    claimed_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column()
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    claim_confirmed_at: Mapped[datetime | None] = mapped_column()
    fulfilled_at: Mapped[datetime | None] = mapped_column()
    fulfilment_note: Mapped[str] = mapped_column(Text, default="")
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow, info={"audit": False})
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    community: Mapped[Community] = relationship()
    grid: Mapped[Grid | None] = relationship()
    claimed_unit: Mapped[Unit | None] = relationship(foreign_keys=[claimed_unit_id])
    posted_by: Mapped[User | None] = relationship(foreign_keys=[posted_by_id])
    updates: Mapped[list[NeedUpdate]] = relationship(
        back_populates="need", cascade="all, delete-orphan", order_by="NeedUpdate.id"
    )

    @property
    def name(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        """Waiting for a unit to claim it."""
        return self.status == NeedStatus.OPEN

    @property
    def claim_pending(self) -> bool:
        """Claimed, waiting for the community to confirm the claim."""
        return self.status == NeedStatus.CLAIMED

    @property
    def in_progress(self) -> bool:
        """Claim confirmed: the claiming unit reports progress and fulfilment."""
        return self.status == NeedStatus.IN_PROGRESS

    @property
    def claim_active(self) -> bool:
        return self.status in ACTIVE_CLAIM

    @property
    def is_fulfilled(self) -> bool:
        return self.status == NeedStatus.FULFILLED

    @property
    def is_withdrawn(self) -> bool:
        return self.status == NeedStatus.WITHDRAWN

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED


class NeedUpdate(Base):
    """Progress on a claimed need, or its fulfilment, with optional photos."""

    __tablename__ = "need_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    on: Mapped[date] = mapped_column()
    text: Mapped[str] = mapped_column(Text)
    is_fulfilment: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    need: Mapped[Need] = relationship(back_populates="updates")
    author: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    photos: Mapped[list[Attachment]] = relationship(secondary=need_update_photo)

    @property
    def name(self) -> str:
        return self.text[:40]


class Match(Base):
    """A resource proposed to serve a need (资源需求对接), answered by the resource's owner."""

    __tablename__ = "match"
    __table_args__ = (UniqueConstraint("need_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), index=True)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    status: Mapped[MatchStatus] = mapped_column(
        enum_column(MatchStatus, "match_status"), default=MatchStatus.PROPOSED, index=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str] = mapped_column(Text, default="")
    action_id: Mapped[int | None] = mapped_column(ForeignKey("action.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    need: Mapped[Need] = relationship()
    resource: Mapped[Resource] = relationship()

    @property
    def name(self) -> str:
        return f"需求 #{self.need_id} × 资源 #{self.resource_id}"

    @property
    def is_proposed(self) -> bool:
        """Waiting for the resource's owner to answer."""
        return self.status == MatchStatus.PROPOSED

    @property
    def is_accepted(self) -> bool:
        return self.status == MatchStatus.ACCEPTED


class PointRule(Base):
    """How many points an event earns a unit of a street (its admin changes these; defaults in code)."""

    __tablename__ = "point_rule"
    __table_args__ = (UniqueConstraint("street_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    points: Mapped[int] = mapped_column()

    @property
    def name(self) -> str:
        return self.key
