"""Personal API tokens: issued once, kept as a SHA-256 digest, checked and counted per request.

A token is `gj_` and 43 random URL-safe characters (256 bits): a digest of it is as good as
a password hash for finding it again and leaks nothing. The rate window is counted in the
token's own row with one UPDATE … RETURNING, so two app servers share one count.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, select, update

from common.dates import SHANGHAI
from models import ApiToken, User, db
from models.base import RuleError, today, utcnow
from models.token import SCOPES

PREFIX = "gj_"
MAX_TOKENS = 20
MAX_DAYS = 366


class TokenError(RuleError):
    """A token refused: the message says why (in Chinese)."""


def digest(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def _new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def _expiry(expires_on: date | None) -> datetime | None:
    if expires_on is None:
        return None
    if expires_on <= today():
        raise TokenError("有效期须晚于今天。")
    if expires_on > today() + timedelta(days=MAX_DAYS):
        raise TokenError("有效期最长一年。")
    # Valid through the whole of the last day, Beijing time.
    return datetime.combine(expires_on + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def issue(user: User, name: str, scope: str, expires_on: date | None) -> tuple[ApiToken, str]:
    """Make a token for `user`; return it and its secret (shown once, never stored)."""
    name = (name or "").strip()
    if not name:
        raise TokenError("请填写令牌名称，例如“区智慧党建平台同步”。")
    if len(name) > 60:
        raise TokenError("令牌名称不能超过 60 个字。")
    if scope not in SCOPES:
        raise TokenError("权限只能是只读或读写。")
    if not user.active:
        raise TokenError("账号已停用，不能生成令牌。")
    live = [t for t in tokens_of(user) if not t.revoked]
    if len(live) >= MAX_TOKENS:
        raise TokenError(f"每个账号最多保留 {MAX_TOKENS} 个有效令牌，请先吊销不用的令牌。")
    plain = _new_secret()
    token = ApiToken(
        user=user,
        name=name,
        scope=scope,
        digest=digest(plain),
        prefix=plain[:10],
        expires_at=_expiry(expires_on),
    )
    db.session.add(token)
    db.session.flush()
    return token, plain


def derived_secret(username: str, secret_key: str) -> str:
    """A token secret derived from a key and a username (the demo's, and the tests')."""
    mac = hmac.new(secret_key.encode("utf-8"), f"demo-api-token:{username}".encode(), "sha256")
    return PREFIX + "demo_" + mac.hexdigest()[:40]


def demo_secret(user: User, secret_key: str) -> str:
    """A demo login's token: derived from the install's secret, so it can be shown again."""
    return derived_secret(user.username, secret_key)


def issue_demo(user: User, secret_key: str) -> str:
    """Give a demo login its read-write token (once); return the secret."""
    plain = demo_secret(user, secret_key)
    found = db.session.scalar(select(ApiToken).where(ApiToken.digest == digest(plain)))
    if found is None:
        db.session.add(
            ApiToken(
                user=user, name="演示令牌", scope="write", digest=digest(plain), prefix=plain[:10], demo=True
            )
        )
        db.session.flush()
    return plain


def shown_secret(token: ApiToken, secret_key: str) -> str | None:
    """The secret of a demo token (shown on its owner's account page); None for real ones."""
    if not token.demo:
        return None
    plain = demo_secret(token.user, secret_key)
    return plain if hmac.compare_digest(digest(plain), token.digest) else None


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    )


def revoke(token: ApiToken) -> None:
    if token.revoked:
        raise TokenError("该令牌已吊销。")
    token.revoked_at = utcnow()


@dataclass
class Checked:
    """An API request's token, counted: who it is for and whether it may go on."""

    token_id: int
    user_id: int
    scope: str
    wait: int | None  # seconds until the token's next minute, when over the limit


def check_and_count(plain: str, limit: int, now: datetime | None = None) -> Checked:
    """Find the token by its digest and count this request in its minute, in one statement;
    TokenError when it is unknown, revoked, expired or its user is deactivated.

    The caller commits right after, before the request reads anything else (so the count
    is a short write of its own, and nothing loaded before it is expired by that commit).
    """
    if not plain.startswith(PREFIX) or len(plain) > 100:
        raise TokenError("令牌无效。")
    now = now or utcnow()
    minute = int(now.timestamp() // 60)
    row = db.session.execute(
        update(ApiToken)
        .where(ApiToken.digest == digest(plain))
        .values(
            window_count=case((ApiToken.window_start == minute, ApiToken.window_count + 1), else_=1),
            window_start=minute,
            last_used_at=now,
        )
        .returning(
            ApiToken.id,
            ApiToken.user_id,
            ApiToken.scope,
            ApiToken.revoked_at,
            ApiToken.expires_at,
            ApiToken.window_count,
        )
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        raise TokenError("令牌无效。")
    token_id, user_id, scope, revoked_at, expires_at, count = row
    if revoked_at is not None:
        raise TokenError("令牌已吊销。")
    if expires_at is not None and expires_at <= now:
        raise TokenError("令牌已过期。")
    if not db.session.scalar(select(User.active).where(User.id == user_id)):
        raise TokenError("账号已停用，令牌不再有效。")
    wait = max(1, 60 - int(now.timestamp()) % 60) if count > limit else None
    return Checked(token_id, user_id, scope, wait)
