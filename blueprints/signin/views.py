"""扫码签到: the host's screen with the rotating QR code and the live count, and the phone's
sign-in page the code opens (no account needed; a logged-in liaison signs in with one tap)."""

from __future__ import annotations

import segno
from flask import abort, jsonify, render_template, request
from flask_login import current_user, login_required
from markupsafe import Markup

from blueprints.signin import bp
from blueprints.signin.forms import SignInForm
from common.links import external_url
from exports.poster import render_signin_poster
from models import Meeting, db
from models.base import utcnow
from services import permissions as perm
from services import signin as svc
from services.scope import in_scope
from web.downloads import download_response
from web.flow import attempt
from web.forms import Form


def _hosted(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    if not perm.can_manage_meeting(current_user, meeting):
        # Another street's meeting does not exist for the user.
        abort(403 if in_scope(current_user, meeting.street_id) else 404)
    return meeting


def qr_svg(url: str, scale: int = 8, fluid: bool = False) -> Markup:
    """The QR code of a link as inline SVG (segno; error correction M, quiet zone kept). Its
    title, the alternative text on the page and in the tagged poster, gives the link too.
    A fluid code has a viewBox and no size of its own, so the page's CSS scales it whole."""
    qr = segno.make(url, error="m")
    return Markup(qr.svg_inline(scale=scale, title=f"签到二维码：{url}", omitsize=fluid))


@bp.route("/meetings/<int:meeting_id>/signin")
@login_required
def screen(meeting_id: int):
    """Show the sign-in QR code for the room's screen, with the live count."""
    meeting = _hosted(meeting_id)
    now = utcnow()
    url = external_url("signin.form", token=svc.screen_token(meeting, now))
    people, units = svc.count(meeting.id)
    problem = None
    try:
        svc.check_open(meeting, now)
    except svc.SignInError as exc:
        problem = str(exc)
    return render_template(
        "signin/screen.html",
        meeting=meeting,
        url=url,
        qr=qr_svg(url, fluid=True),
        people=people,
        units=units,
        problem=problem,
        closed=svc.is_closed(meeting, now),
        signed=svc.people(meeting.id),
    )


@bp.route("/meetings/<int:meeting_id>/signin/poster.pdf")
@login_required
def poster(meeting_id: int):
    """Download the A4 poster with the sign-in code valid for the whole sign-in period."""
    meeting = _hosted(meeting_id)
    url = external_url("signin.form", token=svc.poster_token(meeting))
    pdf = render_signin_poster(meeting, url, qr_svg(url, scale=4))
    return download_response(pdf, "application/pdf", f"{meeting.title}签到海报.pdf")


@bp.route("/meetings/<int:meeting_id>/signin/count")
@login_required
def live_count(meeting_id: int):
    """The live count, polled by the screen."""
    meeting = _hosted(meeting_id)
    people, units = svc.count(meeting.id)
    return jsonify(people=people, units=units, invited=len(meeting.invitations))


@bp.route("/s/<token>", methods=["GET", "POST"])
def form(token: str):
    """The phone's sign-in page: pick the unit, give name and post; no account needed."""
    try:
        meeting = svc.read_token(token)
    except svc.SignInError as exc:
        return render_template("signin/closed.html", message=str(exc), heading=exc.heading), 410
    units = svc.invited_units(meeting)
    form = SignInForm()
    form.unit_id.choices = [(0, "请选择")] + [(u.id, u.name) for u in units]
    own = current_user.is_authenticated and current_user.unit_id in {u.id for u in units}
    address = (request.remote_addr or "")[:64]
    if request.method == "POST" and request.form.get("tap") == "1" and own:
        outcome = attempt(
            lambda: svc.sign_in(
                meeting,
                current_user.unit_id,
                current_user.display_name,
                "联络员",
                False,
                address,
                current_user,
            ),
            errors=form.name,
        )
        if outcome:
            return render_template("signin/done.html", meeting=meeting, record=outcome.value)
    elif form.validate_on_submit():
        outcome = attempt(
            lambda: svc.sign_in(
                meeting, form.unit_id.data, form.name.data, form.post.data, form.is_delegate.data, address
            ),
            errors=form.name,
        )
        if outcome:
            return render_template("signin/done.html", meeting=meeting, record=outcome.value)
    status = 400 if form.errors else 200
    return render_template(
        "signin/form.html", meeting=meeting, form=form, own=own, tap_form=Form(), token=token
    ), status
