"""Accounts, roles and login throttling."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, event, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import Role, enum_column
from .geo import City, Community, District, Street
from .unit import Unit


def new_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256), info={"audit": False})
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # The street a user works in: a street admin's or archivist's own, and (kept with the
    # community or unit) a secretary's or a liaison's. None for the system administrator and
    # observers, whose scope is a district or a city.
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated on logout, password change and deactivation: every session that
    # carries an older token is refused on its next request.
    session_token: Mapped[str] = mapped_column(String(64), default=new_token, info={"audit": False})
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(info={"audit": False})

    community: Mapped[Community | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    street: Mapped[Street | None] = relationship()
    district: Mapped[District | None] = relationship()
    city: Mapped[City | None] = relationship()

    # Flask-Login: the id carries the session token so rotation ends sessions.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def end_sessions(self) -> None:
        """Invalidate every session of this user."""
        self.session_token = new_token()

    @property
    def is_admin(self) -> bool:
        """A street admin or the system administrator."""
        return self.role in (Role.ADMIN, Role.SYSADMIN)

    @property
    def is_sysadmin(self) -> bool:
        return self.role == Role.SYSADMIN

    @property
    def is_observer(self) -> bool:
        return self.role == Role.OBSERVER

    @property
    def is_secretary(self) -> bool:
        return self.role == Role.SECRETARY

    @property
    def is_liaison(self) -> bool:
        return self.role == Role.LIAISON

    @property
    def is_archivist(self) -> bool:
        return self.role == Role.ARCHIVIST

    @property
    def scope_label(self) -> str:
        """The community a secretary serves or the unit a liaison speaks for, by name."""
        names = self.__dict__.get("_scope_names")
        if names is not None and (self.community_id, self.unit_id, self.street_id) == names[0]:
            community_name, unit_name, street_name = names[1]
        else:
            community_name = self.community.name if self.community else None
            unit_name = self.unit.name if self.unit else None
            street_name = self.street.name if self.street else None
        if self.role == Role.SECRETARY and community_name:
            return community_name
        if self.role == Role.LIAISON and unit_name:
            return unit_name
        if self.role in (Role.ADMIN, Role.ARCHIVIST) and street_name:
            return street_name
        if self.role == Role.OBSERVER:
            place = self.district or self.city
            return place.name if place is not None else ""
        return ""

    def remember_scope_names(
        self, community_name: str | None, unit_name: str | None, street_name: str | None = None
    ) -> None:
        """Keep the names loaded with the user (web.security), for scope_label without a query.

        They count only while community_id and unit_id are still the ones they were loaded
        with; a user moved to another community in this request is looked up again.
        """
        self.__dict__["_scope_names"] = (
            (self.community_id, self.unit_id, self.street_id),
            (community_name, unit_name, street_name),
        )

    def __repr__(self) -> str:
        return f"<User {self.username}>"


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
def _user_keeps_their_street(mapper, connection, user: User) -> None:
    """A secretary's street is their community's, a liaison's their unit's; the system
    administrator and observers work above any street."""
    if user.role == Role.SECRETARY and user.community_id is not None:
        user.street_id = connection.scalar(
            select(Community.street_id).where(Community.id == user.community_id)
        )
    elif user.role == Role.LIAISON and user.unit_id is not None:
        user.street_id = connection.scalar(select(Unit.street_id).where(Unit.id == user.unit_id))
    elif user.role in (Role.SYSADMIN, Role.OBSERVER):
        user.street_id = None
    if user.role != Role.OBSERVER:
        user.district_id = user.city_id = None


class LoginAttempt(Base):
    """One login try; failures are counted here so throttling spans worker processes."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(default=False)
