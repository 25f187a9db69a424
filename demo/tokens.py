"""The demo logins' API tokens: read-write, derived from the install's secret so each user's
account page (我的账号 → 接口令牌) can show theirs again."""

from __future__ import annotations

from sqlalchemy import select

from models import User, db
from services.tokens import issue_demo


def seed(secret_key: str, usernames: list[str]) -> dict[str, str]:
    """Give every demo login its token (once); return username → token."""
    users = db.session.scalars(select(User).where(User.username.in_(usernames))).all()
    return {user.username: issue_demo(user, secret_key) for user in users}
