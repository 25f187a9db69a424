"""All models, imported here so metadata and migrations see every table."""

from .audit import AuditEvent
from .base import Base, db
from .enums import Role, UnitCategory, UnitStatus
from .geo import Community, Grid, Room, Street
from .unit import Unit, UnitImport, UnitStatusChange, UnitStatusError
from .user import LoginAttempt, User

__all__ = [
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
