"""Login with throttling counted in the database (so it holds across workers)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, func, select

from models import LoginAttempt, User, db
from models.base import utcnow
from services import audit
from services.passwords import check_password, set_password


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def _failures(*where) -> Select:
    return select(LoginAttempt.at).where(LoginAttempt.success.is_(False), *where)


def _wait_until_below(stmt: Select, limit: int, now: datetime) -> timedelta | None:
    """How long until fewer than `limit` of these failures are within the window; None if already."""
    n = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    if n < limit:
        return None
    # The failure whose expiry brings the count below the limit.
    oldest = db.session.scalar(stmt.order_by(LoginAttempt.at).offset(n - limit).limit(1))
    return oldest + _window() - now


def login_wait(username: str, ip: str) -> int | None:
    """Seconds before this address may try this account again, or None if it may now.

    Three counters, after OWASP's advice against letting attackers lock users out:
    - an address with LOGIN_MAX_FAILURES failed logins in the window (any accounts) waits;
    - an account with LOGIN_MAX_FAILURES failures in the window (since its last success,
      from anywhere) is protected: then an address that has itself failed
      LOGIN_ACCOUNT_ADDRESS_FAILURES times for that account waits too,
    - but an address that has not been failing for it still gets its try, so the owner with
      the right password gets in however hard someone else guesses.
    """
    cfg = current_app.config
    limit, own_limit = cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_ACCOUNT_ADDRESS_FAILURES"]
    now = utcnow()
    since = now - _window()
    wait = _wait_until_below(_failures(LoginAttempt.ip == ip, LoginAttempt.at > since), limit, now)
    if wait is None:
        username = username.lower()
        last_success = db.session.scalar(
            select(func.max(LoginAttempt.at)).where(
                LoginAttempt.username == username, LoginAttempt.success.is_(True)
            )
        )
        account = _failures(
            LoginAttempt.username == username, LoginAttempt.at > max(since, last_success or since)
        )
        own = _wait_until_below(account.where(LoginAttempt.ip == ip), own_limit, now)
        if own is not None:
            protected = _wait_until_below(account, limit, now)
            if protected is not None:
                wait = min(own, protected)
    if wait is None:
        return None
    return max(1, math.ceil(wait.total_seconds()))


def _too_many(seconds: int, what: str = "登录失败") -> str:
    return f"{what}次数过多，请 {math.ceil(seconds / 60)} 分钟后再试。"


@dataclass
class LoginResult:
    user: User | None = None
    error: str | None = None
    retry_after: int | None = None  # seconds, when refused for too many failures


def authenticate(username: str, password: str, ip: str) -> LoginResult:
    """Check a login: the user, or why not (and how long to wait if throttled)."""
    username = username.strip()
    wait = login_wait(username, ip)
    if wait is not None:
        audit.record("login_throttled", summary=username, actor_name=username[:64])
        return LoginResult(error=_too_many(wait), retry_after=wait)
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    ok = check_password(user, password) and user is not None and user.active
    db.session.add(LoginAttempt(username=username.lower()[:64], ip=ip[:64], success=ok))
    if not ok:
        audit.record("login_failed", summary=username, actor_name=username[:64])
        return LoginResult(error="用户名或密码错误。")
    user.last_login_at = utcnow()
    audit.record("login", user, actor=user)
    return LoginResult(user=user)


def check_current_password(user: User, password: str, ip: str) -> LoginResult:
    """Re-check a logged-in user's password (e.g. before changing it), throttled like logins.

    Without this, someone holding a stolen session could guess the password on /account.
    """
    wait = login_wait(user.username, ip)
    if wait is not None:
        audit.record("login_throttled", user, summary=user.username)
        return LoginResult(error=_too_many(wait, "密码错误"), retry_after=wait)
    if check_password(user, password):
        return LoginResult(user=user)
    db.session.add(LoginAttempt(username=user.username.lower()[:64], ip=ip[:64], success=False))
    audit.record("login_failed", user, summary=f"{user.username}（修改密码时）")
    return LoginResult(error="当前密码不正确。")


def change_password(user: User, current: str, new: str, ip: str) -> LoginResult:
    """Change a user's password after re-checking the current one; a failed check is recorded, not raised.

    The failure must be committed (it counts towards throttling), so it is returned as a
    result rather than raised as a RuleError, which would roll it back.
    """
    checked = check_current_password(user, current, ip)
    if checked.error is None:
        set_password(user, new)
        audit.record("password", user)
    return checked


def end_sessions(user: User) -> None:
    """Log a user out everywhere: every session of theirs ends, and the logout is audited."""
    user.end_sessions()
    audit.record("logout", user)


def prune_attempts() -> int:
    """Delete login attempts older than a day (called opportunistically)."""
    cutoff = utcnow() - timedelta(days=1)
    result = db.session.execute(LoginAttempt.__table__.delete().where(LoginAttempt.at < cutoff))
    return result.rowcount or 0


__all__ = [
    "LoginResult",
    "authenticate",
    "change_password",
    "check_current_password",
    "end_sessions",
    "login_wait",
    "prune_attempts",
]
