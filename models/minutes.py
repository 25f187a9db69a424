"""Minutes (会议纪要) with immutable approved revisions, confirmations and archive numbers."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .base import Base, RuleError, utcnow
from .enums import ConfirmationStatus, MinutesStatus, Retention, enum_column
from .meeting import Meeting
from .unit import Unit

if TYPE_CHECKING:
    from .user import User


class MinutesError(RuleError):
    """A minutes rule was broken; the message is for the user."""


class Minutes(Base):
    """The minutes of one meeting: a series of revisions, the last approved one being official."""

    __tablename__ = "minutes"
    __table_args__ = (UniqueConstraint("archive_scope", "archive_year", "archive_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), unique=True)
    # Given at the first approval: e.g. 青年路社区联席〔2026〕3号.
    archive_no: Mapped[str | None] = mapped_column(String(80), unique=True)
    archive_scope: Mapped[str | None] = mapped_column(String(40))
    archive_year: Mapped[int | None] = mapped_column()
    archive_seq: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Archival description (DA/T 22-2015, DA/T 46): proposed at the first approval (年度,
    # 保管期限 by meeting kind), changed by the archivist with a reason, and fixed when the
    # archivist files the item: 全宗号 and a 件号 gap-free per 全宗, 年度 and 保管期限 make the 档号.
    filing_year: Mapped[int | None] = mapped_column()
    retention: Mapped[Retention | None] = mapped_column(enum_column(Retention, "retention"))
    organ: Mapped[str] = mapped_column(String(40), default="", server_default="")
    fonds_code: Mapped[str | None] = mapped_column(String(20))
    item_no: Mapped[int | None] = mapped_column()
    file_no: Mapped[str | None] = mapped_column(String(80), unique=True, index=True)
    filed_at: Mapped[datetime | None] = mapped_column()
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The last run of verify-archive over this item's files (and whether every digest held).
    verified_at: Mapped[datetime | None] = mapped_column(info={"audit": False})
    verified_ok: Mapped[bool | None] = mapped_column(info={"audit": False})

    meeting: Mapped[Meeting] = relationship()
    revisions: Mapped[list[MinutesRevision]] = relationship(
        back_populates="minutes", order_by="MinutesRevision.number"
    )

    @property
    def name(self) -> str:
        return self.archive_no or f"会议纪要 #{self.id}"

    @property
    def title(self) -> str:
        """题名 as an archive lists it: 2026年第三季度共驻共建联席会议纪要."""
        title = self.meeting.title
        return title + ("纪要" if title.endswith("会议") else "会议纪要")

    @property
    def filed(self) -> bool:
        """Filed by the archivist: 件号 and 档号 given, 保管期限 fixed."""
        return self.file_no is not None

    @property
    def retention_ends(self) -> int | None:
        """The year the 保管期限 runs out (年度 + its years); None when kept for ever."""
        if self.retention is None or self.filing_year is None or self.retention.years is None:
            return None
        return self.filing_year + self.retention.years

    @property
    def current(self) -> MinutesRevision:
        return self.revisions[-1]

    @property
    def approved(self) -> MinutesRevision | None:
        """The latest approved revision, if any."""
        return self.latest(MinutesStatus.APPROVED)

    def latest(self, *statuses: MinutesStatus) -> MinutesRevision | None:
        """Return the newest revision in one of these statuses, if any."""
        return next((r for r in reversed(self.revisions) if r.status in statuses), None)

    def revision(self, number: int) -> MinutesRevision | None:
        """Return the revision with this number, if there is one."""
        return next((r for r in self.revisions if r.number == number), None)


class MinutesRevision(Base):
    """One revision of the minutes. Once approved the database refuses to change or delete it."""

    __tablename__ = "minutes_revision"
    __table_args__ = (UniqueConstraint("minutes_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_id: Mapped[int] = mapped_column(ForeignKey("minutes.id"), index=True)
    number: Mapped[int] = mapped_column(default=1)
    status: Mapped[MinutesStatus] = mapped_column(
        enum_column(MinutesStatus, "minutes_status"), default=MinutesStatus.DRAFT
    )
    recorder: Mapped[str] = mapped_column(String(50), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    # [{"item_id": 3, "title": "...", "presenter": "...", "html": "<p>...</p>"}, ...]
    discussion: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    correction_reason: Mapped[str] = mapped_column(Text, default="")
    confirm_due: Mapped[date | None] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column()
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column()
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_by_name: Mapped[str] = mapped_column(String(64), default="")
    # What the approved PDF showed, kept with the revision.
    attendance_snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    actions_snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # 上次议定事项落实情况: the host's earlier actions still open at approval, with their progress,
    # 督办 and changes (empty for revisions approved before it was recorded).
    followup_snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, info={"audit": False}))
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    pdf_sm3: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    minutes: Mapped[Minutes] = relationship(back_populates="revisions")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    confirmations: Mapped[list[Confirmation]] = relationship(
        back_populates="revision", order_by="Confirmation.id", cascade="save-update, merge"
    )
    # Later renditions of the approved PDF (the revision's own `pdf` is rendition 1).
    renditions: Mapped[list[MinutesRendition]] = relationship(
        back_populates="revision", order_by="MinutesRendition.number", cascade="save-update, merge"
    )

    @property
    def name(self) -> str:
        return f"第 {self.number} 版"

    @property
    def editable(self) -> bool:
        return self.status == MinutesStatus.DRAFT

    @property
    def locked(self) -> bool:
        return self.status == MinutesStatus.APPROVED

    @property
    def is_submitted(self) -> bool:
        """Submitted for approval (签发), perhaps with units asked to confirm (会签)."""
        return self.status == MinutesStatus.SUBMITTED


class MinutesRendition(Base):
    """A later archival rendition of an approved revision, kept beside the original PDF.

    Made by `flask migrate-archive` when the newest rendition fails the font check
    (exports/pdfcheck.py), from the revision's own stored content, never today's meeting
    data. Rendition 1 is the revision's own `pdf`, which never changes; these are numbered
    from 2, each with its digests and where it came from. The database refuses to change
    or delete one.
    """

    __tablename__ = "minutes_rendition"
    __table_args__ = (UniqueConstraint("revision_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("minutes_revision.id"), index=True)
    number: Mapped[int] = mapped_column()  # 2, 3, ...
    source_number: Mapped[int] = mapped_column()  # the rendition it was made from (1: the original)
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False, info={"audit": False}))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sm3: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)  # why, for people
    findings: Mapped[list[str]] = mapped_column(JSON, default=list)  # what the check found in the source
    # {"gongjian": ..., "weasyprint": ..., "pydyf": ..., "fonttools": ..., "pikepdf": ..., "font": ...}
    software: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    made_by: Mapped[str] = mapped_column(String(64))  # the command or user that made it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    revision: Mapped[MinutesRevision] = relationship(back_populates="renditions")

    @property
    def name(self) -> str:
        archive_no = self.revision.minutes.archive_no if self.revision else ""
        return (
            f"{archive_no} 第 {self.revision.number if self.revision else '?'} 版 第 {self.number} 份存档文件"
        )


class MinutesOfd(Base):
    """The OFD (GB/T 33190-2016) rendition of one archival PDF of an approved revision, made when
    the minutes are filed (and for each later PDF rendition), with its own digests. Like the PDF
    renditions, the database refuses to change or delete one."""

    __tablename__ = "minutes_ofd"
    __table_args__ = (UniqueConstraint("revision_id", "source_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("minutes_revision.id"), index=True)
    source_number: Mapped[int] = mapped_column()  # the PDF rendition it was made from
    ofd: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False, info={"audit": False}))
    sha256: Mapped[str] = mapped_column(String(64))
    sm3: Mapped[str] = mapped_column(String(64))
    made_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def name(self) -> str:
        return f"OFD（据第 {self.source_number} 份存档文件）"


class Confirmation(Base):
    """An attending unit's confirmation of submitted minutes (会签)."""

    __tablename__ = "minutes_confirmation"
    __table_args__ = (UniqueConstraint("revision_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("minutes_revision.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    status: Mapped[ConfirmationStatus] = mapped_column(
        enum_column(ConfirmationStatus, "confirmation_status"), default=ConfirmationStatus.PENDING
    )
    comment: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime | None] = mapped_column()
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    revision: Mapped[MinutesRevision] = relationship(back_populates="confirmations")
    unit: Mapped[Unit] = relationship()
    responded_by: Mapped[User | None] = relationship(foreign_keys=[responded_by_id])

    @property
    def name(self) -> str:
        return self.unit.name if self.unit else ""

    @property
    def is_pending(self) -> bool:
        """The unit has not answered yet."""
        return self.status == ConfirmationStatus.PENDING

    @property
    def is_confirmed(self) -> bool:
        return self.status == ConfirmationStatus.CONFIRMED


class ArchiveCounter(Base):
    """The last archive number given per series and year; incremented under a row lock."""

    __tablename__ = "archive_counter"
    __table_args__ = (UniqueConstraint("scope", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column()
    last_number: Mapped[int] = mapped_column(default=0)
