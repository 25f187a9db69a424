"""The mail outbox: written in the request's transaction, sent after commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .enums import MailStatus, enum_column


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(200))
    to_name: Mapped[str] = mapped_column(String(100), default="")
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    ics_method: Mapped[str | None] = mapped_column(String(20))
    ics_body: Mapped[str | None] = mapped_column(Text)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"), index=True)
    status: Mapped[MailStatus] = mapped_column(
        enum_column(MailStatus, "mail_status"), default=MailStatus.QUEUED, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    @property
    def name(self) -> str:
        return self.subject

    @property
    def is_queued(self) -> bool:
        return self.status == MailStatus.QUEUED

    @property
    def retryable(self) -> bool:
        """Waiting or failed: an admin may send it again now (one being sent is left alone)."""
        return self.status in (MailStatus.QUEUED, MailStatus.FAILED)
