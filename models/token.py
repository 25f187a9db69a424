"""Personal API tokens: shown once, stored as a SHA-256 digest, read or read-write."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.dates import SHANGHAI

from .base import Base, utcnow
from .user import User

SCOPES = {"read": "只读", "write": "读写"}


class ApiToken(Base):
    """A user's key to the JSON API (/api/v1).

    Only the digest of the secret is kept; `prefix` (its first characters) lets the owner
    tell tokens apart. The rate window (`window_start` in epoch minutes, `window_count`
    requests in it) is counted in the same row, so every server sees the same count.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    scope: Mapped[str] = mapped_column(String(10), default="read")
    digest: Mapped[str] = mapped_column(String(64), unique=True, info={"audit": False})
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column(info={"audit": False})
    revoked_at: Mapped[datetime | None] = mapped_column()
    # A demo login's token, derived from the install's secret so /account can show it again.
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    window_start: Mapped[int] = mapped_column(Integer, default=0, server_default="0", info={"audit": False})
    window_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0", info={"audit": False})

    user: Mapped[User] = relationship()

    @property
    def scope_label(self) -> str:
        return SCOPES.get(self.scope, self.scope)

    @property
    def writes(self) -> bool:
        return self.scope == "write"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def expires_on(self) -> date | None:
        """The last day it works (Beijing time): it stops at the start of the next."""
        if self.expires_at is None:
            return None
        return (self.expires_at.astimezone(SHANGHAI) - timedelta(microseconds=1)).date()

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())
