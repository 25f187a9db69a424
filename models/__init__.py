"""All models, imported here so metadata and migrations see every table."""

from .audit import AuditEvent
from .base import Base, db
from .enums import (
    Attendance,
    MailStatus,
    MeetingKind,
    MeetingStatus,
    Reply,
    Role,
    TopicStatus,
    UnitCategory,
    UnitStatus,
)
from .geo import Community, Grid, Room, Street
from .mail import OutboxMessage
from .meeting import AgendaItem, CalendarFeed, Invitation, Meeting, MeetingSeries, Topic
from .unit import Unit, UnitImport, UnitStatusChange, UnitStatusError
from .user import LoginAttempt, User

__all__ = [
    "AgendaItem",
    "Attendance",
    "CalendarFeed",
    "Invitation",
    "MailStatus",
    "Meeting",
    "MeetingKind",
    "MeetingSeries",
    "MeetingStatus",
    "OutboxMessage",
    "Reply",
    "Topic",
    "TopicStatus",
    "AuditEvent",
    "Base",
    "Community",
    "Grid",
    "LoginAttempt",
    "Role",
    "Room",
    "Street",
    "Unit",
    "UnitCategory",
    "UnitImport",
    "UnitStatus",
    "UnitStatusChange",
    "UnitStatusError",
    "User",
    "db",
]
