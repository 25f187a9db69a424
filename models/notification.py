"""Notifications: what happened that a person must act on or should know, per user, and how
each person wants to hear of each kind (in the app only, by mail at once, or in a daily digest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .enums import LabelledEnum, enum_column


class NoticeKind(LabelledEnum):
    """The hand-offs a person hears of; the label names the kind in settings and digests."""

    MEETING_PUBLISHED = "meeting_published", "会议通知"
    MEETING_CHANGED = "meeting_changed", "会议变更"
    MEETING_CANCELLED = "meeting_cancelled", "会议取消"
    TOPICS_OPEN = "topics_open", "议题征集"
    TOPICS_CLOSING = "topics_closing", "议题征集即将截止"
    TOPIC_SUBMITTED = "topic_submitted", "单位提交议题"
    TOPIC_DECIDED = "topic_decided", "议题采纳结果"
    CONFIRM_REQUESTED = "confirm_requested", "纪要会签请求"
    CONFIRM_DUE = "confirm_due", "纪要会签即将截止"
    CONFIRM_ANSWERED = "confirm_answered", "纪要会签回复"
    MINUTES_APPROVED = "minutes_approved", "纪要签发"
    ACTION_ASSIGNED = "action_assigned", "议定事项交办"
    ACTION_DUE = "action_due", "议定事项即将到期"
    ACTION_OVERDUE = "action_overdue", "议定事项逾期"
    SUPERVISED = "supervised", "督办通知"
    ACTION_CHANGED = "action_changed", "事项时限或牵头单位调整"
    PROGRESS_REPORTED = "progress_reported", "事项进展报送"
    BOOKING_REQUESTED = "booking_requested", "预约申请"
    BOOKING_DECIDED = "booking_decided", "预约审批结果"
    NEED_CLAIMED = "need_claimed", "需求认领"
    CLAIM_DECIDED = "claim_decided", "认领确认或释放"
    MATCH = "match", "资源对接"
    UNIT_REGISTERED = "unit_registered", "单位报到"


class Channel(LabelledEnum):
    APP = "app", "仅站内提醒"
    MAIL = "mail", "立即发邮件"
    DIGEST = "digest", "每日汇总邮件"


# What a person hears by mail unless they choose otherwise: what they must act on soon, at
# once; what they should know, in the daily digest; a meeting's own changes reach liaisons
# as calendar invitations already, so in the app only.
DEFAULT_CHANNELS: dict[NoticeKind, Channel] = {
    NoticeKind.MEETING_PUBLISHED: Channel.APP,
    NoticeKind.MEETING_CHANGED: Channel.APP,
    NoticeKind.MEETING_CANCELLED: Channel.APP,
    NoticeKind.TOPICS_OPEN: Channel.APP,
    NoticeKind.TOPICS_CLOSING: Channel.DIGEST,
    NoticeKind.TOPIC_SUBMITTED: Channel.DIGEST,
    NoticeKind.TOPIC_DECIDED: Channel.DIGEST,
    NoticeKind.CONFIRM_REQUESTED: Channel.MAIL,
    NoticeKind.CONFIRM_DUE: Channel.MAIL,
    NoticeKind.CONFIRM_ANSWERED: Channel.DIGEST,
    NoticeKind.MINUTES_APPROVED: Channel.DIGEST,
    NoticeKind.ACTION_ASSIGNED: Channel.MAIL,
    NoticeKind.ACTION_DUE: Channel.DIGEST,
    NoticeKind.ACTION_OVERDUE: Channel.DIGEST,
    NoticeKind.SUPERVISED: Channel.MAIL,
    NoticeKind.ACTION_CHANGED: Channel.MAIL,
    NoticeKind.PROGRESS_REPORTED: Channel.DIGEST,
    NoticeKind.BOOKING_REQUESTED: Channel.MAIL,
    NoticeKind.BOOKING_DECIDED: Channel.MAIL,
    NoticeKind.NEED_CLAIMED: Channel.MAIL,
    NoticeKind.CLAIM_DECIDED: Channel.MAIL,
    NoticeKind.MATCH: Channel.DIGEST,
    NoticeKind.UNIT_REGISTERED: Channel.DIGEST,
}


class Notification(Base):
    """One thing one user hears of: what happened, to what, and where to act on it."""

    __tablename__ = "notification"
    __table_args__ = (
        # The bell counts a user's unread; the page lists a user's newest first.
        Index("ix_notification_user_unread", "user_id", "read_at"),
        Index("ix_notification_user_id_id", "user_id", "id"),
        # A reminder sent once per person and occasion (a deadline, a due date).
        UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind, "notice_kind"))
    text: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(300), default="")
    key: Mapped[str | None] = mapped_column(String(120))
    # How it was to reach the person when it was made (their setting then): a digest picks
    # up those of DIGEST not yet mailed.
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "notice_channel"), default=Channel.APP)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column()
    mailed_at: Mapped[datetime | None] = mapped_column()

    @property
    def unread(self) -> bool:
        return self.read_at is None


class NoticePreference(Base):
    """How one user wants to hear of one kind; without a row, DEFAULT_CHANNELS says."""

    __tablename__ = "notice_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind, "notice_kind"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "notice_channel"))
