"""Login with throttling counted in the database (so it holds across workers)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

import audit
from models import LoginAttempt, User, db
from models.base import utcnow
from security import check_password


def _window_start():
    return utcnow() - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def login_throttled(username: str, ip: str) -> bool:
    """Whether recent failures for this account or this address exceed the limit."""
    since = _window_start()
    username = username.lower()
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True)
        )
    )
    account_since = max(since, last_success) if last_success else since
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    by_account = db.session.scalar(
        select(func.count()).where(
            LoginAttempt.username == username,
            LoginAttempt.success.is_(False),
            LoginAttempt.at > account_since,
        )
    )
    if by_account >= limit:
        return True
    by_ip = db.session.scalar(
        select(func.count()).where(
            LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at > since
        )
    )
    return by_ip >= limit


def authenticate(username: str, password: str, ip: str) -> tuple[User | None, str | None]:
    """Check a login; return the user, or None and the message to show."""
    username = username.strip()
    if login_throttled(username, ip):
        audit.record("login_throttled", summary=username, actor_name=username[:64])
        return None, "登录失败次数过多，请 {} 分钟后再试。".format(current_app.config["LOGIN_WINDOW_MINUTES"])
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    ok = check_password(user, password) and user is not None and user.active
    db.session.add(LoginAttempt(username=username.lower()[:64], ip=ip[:64], success=ok))
    if not ok:
        audit.record("login_failed", summary=username, actor_name=username[:64])
        return None, "用户名或密码错误。"
    user.last_login_at = utcnow()
    audit.record("login", user, actor=user)
    return user, None


def check_current_password(user: User, password: str, ip: str) -> str | None:
    """Re-check a logged-in user's password (e.g. before changing it), throttled like logins.

    Without this, someone holding a stolen session could guess the password on /account.
    """
    if login_throttled(user.username, ip):
        audit.record("login_throttled", user, summary=user.username)
        return "密码错误次数过多，请 {} 分钟后再试。".format(current_app.config["LOGIN_WINDOW_MINUTES"])
    if check_password(user, password):
        return None
    db.session.add(LoginAttempt(username=user.username.lower()[:64], ip=ip[:64], success=False))
    audit.record("login_failed", user, summary=f"{user.username}（修改密码时）")
    return "当前密码不正确。"


def prune_attempts() -> int:
    """Delete login attempts older than a day (called opportunistically)."""
    cutoff = utcnow() - timedelta(days=1)
    result = db.session.execute(LoginAttempt.__table__.delete().where(LoginAttempt.at < cutoff))
    return result.rowcount or 0


__all__ = ["authenticate", "login_throttled", "prune_attempts"]
