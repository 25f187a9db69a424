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
    street_id: int | None = None  # a street admin's or an archivist's street
    district_id: int | None = None  # an observer's district, or
    city_id: int | None = None  # an observer's city
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
    if account.role in (Role.ADMIN, Role.ARCHIVIST):
        if not account.street_id:
            raise RuleError(f"{account.role.label}必须选择所属街道。")
        user.street_id = account.street_id
    if account.role == Role.OBSERVER:
        if not (account.district_id or account.city_id):
            raise RuleError("上级党组织账号必须选择所在的区或市。")
        user.district_id = account.district_id or None
        user.city_id = None if account.district_id else account.city_id
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
