"""User accounts: created and changed by an admin (/admin/users) and by `flask create-user`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import Role, User, db
from models.base import RuleError
from services.passwords import set_password

USERNAME_TAKEN = "这个用户名已被使用。"


@dataclass
class Account:
    """What an account is given; a password left empty keeps the current one."""

    username: str
    display_name: str
    role: Role
    email: str = ""
    community_id: int | None = None  # kept for a secretary only
    unit_id: int | None = None  # kept for a liaison only
    active: bool = True
    password: str = ""


def username_taken(username: str, exclude_id: int | None = None) -> bool:
    """Whether another account already has this username (case does not count)."""
    stmt = select(User.id).where(func.lower(User.username) == username.lower())
    if exclude_id:
        stmt = stmt.where(User.id != exclude_id)
    return db.session.scalar(stmt) is not None


def save_user(user: User | None, account: Account) -> User:
    """Create an account (user None) or change one; a new password or a deactivation ends its sessions."""
    creating = user is None
    if user is None:
        user = User(password_hash="")
    user.username = account.username
    user.display_name = account.display_name
    user.email = account.email
    user.role = account.role
    user.community_id = account.community_id if account.role == Role.SECRETARY else None
    user.unit_id = account.unit_id if account.role == Role.LIAISON else None
    was_active = user.active
    user.active = account.active
    if account.password:
        set_password(user, account.password)
    elif was_active and not user.active:
        user.end_sessions()
    if creating:
        db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # taken by someone else since the form was checked
        raise RuleError(USERNAME_TAKEN) from exc
    return user
