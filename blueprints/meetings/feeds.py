"""Private calendar subscription feeds and their management on /account."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from models import CalendarFeed, Community, Role, Unit, db
from services import meetings as svc
from web.database import begin_write
from web.forms import Form

bp = Blueprint("feeds", __name__)


@bp.route("/calendar/<token>.ics")
def feed(token: str):
    """Serve a private feed; answer 304 when nothing changed since the client's copy."""
    feed = svc.feed_for_token(token)
    if feed is None or not feed_alive(feed):
        abort(404)
    etag, last_modified, stale = svc.feed_fingerprint(feed)
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
        if stale:
            begin_write(db.session)
        body = svc.feed_body(feed)
        db.session.commit()
        resp = Response(body, mimetype="text/calendar")
        resp.headers["Content-Type"] = "text/calendar; charset=utf-8"
        resp.headers["Content-Disposition"] = 'inline; filename="gongjian.ics"'
    resp.set_etag(etag)
    if last_modified:
        resp.last_modified = last_modified
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def feed_alive(feed: CalendarFeed) -> bool:
    """A feed answers while its maker is active and may still hold it (role, community, unit)."""
    if feed.user_id is not None:
        return feed.user is not None and feed.user.active
    maker = feed.created_by
    if maker is None or not maker.active:
        return False
    if feed.community_id:
        return may_hold(maker, "community", feed.community_id)
    return feed.unit_id is not None and may_hold(maker, "unit", feed.unit_id)


def feed_targets(user) -> list[tuple[str, str, int, CalendarFeed | None]]:
    """The feeds a user may hold: (label, kind, target id, existing feed or None)."""
    targets: list[tuple[str, str, int]] = [("我的日历（与我相关的全部会议）", "user", user.id)]
    if user.role == Role.ADMIN:
        for c in db.session.scalars(select(Community).order_by(Community.street_id, Community.position)):
            targets.append((f"{c.name}（社区日历）", "community", c.id))
    elif user.role == Role.SECRETARY and user.community_id:
        targets.append((f"{user.community.name}（社区日历）", "community", user.community_id))
    elif user.role == Role.LIAISON and user.unit_id:
        targets.append((f"{user.unit.name}（单位日历）", "unit", user.unit_id))
    feeds = db.session.scalars(
        select(CalendarFeed).where(
            (CalendarFeed.user_id == user.id)
            | (
                (CalendarFeed.created_by_id == user.id)
                & (
                    CalendarFeed.community_id.in_([t for _, k, t in targets if k == "community"])
                    | CalendarFeed.unit_id.in_([t for _, k, t in targets if k == "unit"])
                )
            )
        )
    ).all()
    index = {("user", f.user_id): f for f in feeds if f.user_id}
    index |= {("community", f.community_id): f for f in feeds if f.community_id}
    index |= {("unit", f.unit_id): f for f in feeds if f.unit_id}
    return [(label, kind, target, index.get((kind, target))) for label, kind, target in targets]


def may_hold(user, kind: str, target: int) -> bool:
    if kind == "user":
        return target == user.id
    if kind == "community":
        return user.role == Role.ADMIN or (user.role == Role.SECRETARY and user.community_id == target)
    if kind == "unit":
        if user.role == Role.ADMIN:
            return True
        if user.role == Role.LIAISON:
            return user.unit_id == target
        unit = db.session.get(Unit, target)
        return unit is not None and user.role == Role.SECRETARY and unit.community_id == user.community_id
    return False


@bp.route("/account/feeds/<kind>/<int:target>", methods=["POST"])
@login_required
def manage(kind: str, target: int):
    """Create a feed link, or reset it so the old link stops working."""
    if kind not in ("user", "community", "unit"):
        abort(404)
    if not may_hold(current_user, kind, target):
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
        svc.get_or_create_feed(**args)
        flash("订阅链接已生成，复制到日历软件中即可订阅。", "success")
    else:
        svc.reset_feed(existing)
        flash("订阅链接已重置，旧链接已失效；请在日历软件中更新为新链接。", "success")
    db.session.commit()
    return redirect(url_for("auth.account") + "#feeds")
