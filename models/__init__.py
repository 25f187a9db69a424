"""All models, imported here so metadata and migrations see every table."""

from .action import Action, ActionProgress, ActionTag, Attachment, action_co_unit
from .audit import AuditEvent
from .base import Base, db
from .enums import (
    ActionStatus,
    Attendance,
    BookingStatus,
    ConfirmationStatus,
    MailStatus,
    MatchStatus,
    MeetingKind,
    MeetingStatus,
    MinutesStatus,
    NeedStatus,
    Principle,
    Reply,
    ResourceKind,
    Role,
    TopicStatus,
    UnitCategory,
    UnitStatus,
    Visibility,
)
from .geo import Community, Grid, Room, Street
from .mail import OutboxMessage
from .meeting import AgendaItem, CalendarFeed, Invitation, Meeting, MeetingSeries, Topic
from .minutes import ArchiveCounter, Confirmation, Minutes, MinutesError, MinutesRendition, MinutesRevision
from .need import Match, Need, NeedUpdate, PointRule, need_update_photo
from .resource import Booking, Resource
from .unit import Unit, UnitImport, UnitStatusChange, UnitStatusError
from .user import LoginAttempt, User

__all__ = [
    "Booking",
    "BookingStatus",
    "Match",
    "MatchStatus",
    "Need",
    "NeedStatus",
    "NeedUpdate",
    "PointRule",
    "Resource",
    "ResourceKind",
    "Visibility",
    "need_update_photo",
    "Action",
    "ActionProgress",
    "ActionStatus",
    "ActionTag",
    "ArchiveCounter",
    "Attachment",
    "Confirmation",
    "ConfirmationStatus",
    "Minutes",
    "MinutesError",
    "MinutesRendition",
    "MinutesRevision",
    "MinutesStatus",
    "Principle",
    "action_co_unit",
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
