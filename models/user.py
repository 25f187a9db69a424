"""Accounts, roles and login throttling."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import Role, enum_column
from .geo import Community
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
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated on logout, password change and deactivation: every session that
    # carries an older token is refused on its next request.
    session_token: Mapped[str] = mapped_column(String(64), default=new_token, info={"audit": False})
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(info={"audit": False})

    community: Mapped[Community | None] = relationship()
    unit: Mapped[Unit | None] = relationship()

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
        return self.role == Role.ADMIN

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
        if names is not None and (self.community_id, self.unit_id) == names[0]:
            community_name, unit_name = names[1]
        else:
            community_name = self.community.name if self.community else None
            unit_name = self.unit.name if self.unit else None
        if self.role == Role.SECRETARY and community_name:
            return community_name
        if self.role == Role.LIAISON and unit_name:
            return unit_name
        return ""

    def remember_scope_names(self, community_name: str | None, unit_name: str | None) -> None:
        """Keep the names loaded with the user (web.security), for scope_label without a query.

        They count only while community_id and unit_id are still the ones they were loaded
        with; a user moved to another community in this request is looked up again.
        """
        self.__dict__["_scope_names"] = ((self.community_id, self.unit_id), (community_name, unit_name))

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class LoginAttempt(Base):
    """One login try; failures are counted here so throttling spans worker processes."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(default=False)
