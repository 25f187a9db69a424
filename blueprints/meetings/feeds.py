"""Private calendar subscription feeds and their management on /account."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from models import CalendarFeed, db
from services import calendar, permissions
from services.calendar import feed_body, feed_fingerprint, feed_for_token, get_or_create_feed, reset_feed
from web.flow import attempt, write_in_get
from web.forms import Form

bp = Blueprint("feeds", __name__)


@bp.route("/calendar/<token>.ics")
def feed(token: str):
    """Serve a private feed; answer 304 when nothing changed since the client's copy."""
    feed = feed_for_token(token)
    if feed is None or not calendar.feed_alive(feed):
        abort(404)
    etag, last_modified, stale = feed_fingerprint(feed)
    # If-None-Match compares weakly (RFC 9110 13.1.2): a compressing proxy turns our ETag
    # into W/"…"; a list of ETags and * count as well.
    if request.if_none_match.contains_weak(etag) or (
        not request.if_none_match
        and request.if_modified_since
        and last_modified
        and last_modified.replace(microsecond=0) <= request.if_modified_since
    ):
        resp = Response(status=304)
    else:
        # Stale events are rebuilt and stored: only then does the GET take the write lock.
        body = write_in_get(lambda: feed_body(feed), lock=bool(stale))
        resp = Response(body, mimetype="text/calendar")
        resp.headers["Content-Type"] = "text/calendar; charset=utf-8"
        resp.headers["Content-Disposition"] = 'inline; filename="gongjian.ics"'
    resp.set_etag(etag)
    if last_modified:
        resp.last_modified = last_modified
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


@bp.route("/account/feeds/<kind>/<int:target>", methods=["POST"])
@login_required
def manage(kind: str, target: int):
    """Create a feed link, or reset it so the old link stops working."""
    if kind not in ("user", "community", "unit"):
        abort(404)
    if not permissions.may_hold_feed(current_user, kind, target):
        abort(403)
    if not Form().validate_on_submit():
        abort(400)
    args = {"user": current_user} if kind == "user" else {f"{kind}_id": target, "by": current_user}
    existing = db.session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.user_id == current_user.id
            if kind == "user"
            else (getattr(CalendarFeed, f"{kind}_id") == target)
            & (CalendarFeed.created_by_id == current_user.id)
        )
    )
    if existing is None:
        attempt(lambda: get_or_create_feed(**args), "订阅链接已生成，复制到日历软件中即可订阅。")
    else:
        attempt(lambda: reset_feed(existing), "订阅链接已重置，旧链接已失效；请在日历软件中更新为新链接。")
    return redirect(url_for("auth.account") + "#feeds")
