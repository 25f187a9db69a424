"""Session loading and the security headers sent with every response."""

from __future__ import annotations

import secrets

from flask import Flask
from sqlalchemy import bindparam, select

from models import Community, Street, Unit, User, db
from web.extensions import login_manager

# Built once (Session.get builds and annotates a new statement on every request), with the
# names of the user's community and unit: the menu shows one on every page, and loading the
# Community or Unit for it cost a statement of its own.
_USER_BY_ID = (
    select(User, Community.name, Unit.name, Street.name)
    .outerjoin(Community, Community.id == User.community_id)
    .outerjoin(Unit, Unit.id == User.unit_id)
    .outerjoin(Street, Street.id == User.street_id)
    .where(User.id == bindparam("user_id"))
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the session's user if their session token is still current."""
    uid, _, token = user_id.partition(":")
    if not uid.isdigit() or not token:
        return None
    row = db.session.execute(_USER_BY_ID, {"user_id": int(uid)}).first()
    if row is None:
        return None
    user, community_name, unit_name, street_name = row
    if not user.active:
        return None
    user.remember_scope_names(community_name, unit_name, street_name)
    if not secrets.compare_digest(user.session_token, token):
        return None
    return user


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    """Send security headers on every response."""

    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if response.mimetype == "text/html":
            h.setdefault("Cache-Control", "no-store")
        if app.config.get("HTTPS"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
