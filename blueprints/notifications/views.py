"""The bell's page: a user's notifications, marking them read, how they are told, unsubscribing."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.notifications import bp
from blueprints.notifications.forms import PreferencesForm
from models import Notification, db
from models.notification import Channel
from services import notify
from web.flow import attempt
from web.forms import Form
from web.pagination import paginate


@bp.route("/notifications")
@login_required
def index():
    """List the user's notifications, newest first (only unread with ?unread=1)."""
    unread_only = request.args.get("unread") == "1"
    pagination = paginate(
        notify.notifications_of(current_user.id, unread_only),
        per_page=current_app.config["NOTIFICATIONS_PER_PAGE"],
    )
    return render_template(
        "notifications/index.html", pagination=pagination, unread_only=unread_only, action_form=Form()
    )


def _own(note_id: int) -> Notification:
    note = db.session.get(Notification, note_id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    return note


@bp.route("/notifications/<int:note_id>/open", methods=["POST"])
@login_required
def open_one(note_id: int):
    """Mark a notification read and go to what it is about."""
    note = _own(note_id)
    target = note.url if note.url.startswith("/") and not note.url.startswith("//") else None
    if Form().validate_on_submit():
        attempt(lambda: notify.mark_read(current_user.id, note.id))
    return redirect(target or url_for("notifications.index"))


@bp.route("/notifications/<int:note_id>/read", methods=["POST"])
@login_required
def read_one(note_id: int):
    """Mark one notification read."""
    note = _own(note_id)
    if Form().validate_on_submit():
        attempt(lambda: notify.mark_read(current_user.id, note.id), "已标为已读。")
    return redirect(url_for("notifications.index", unread="1" if request.form.get("unread") == "1" else None))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all():
    """Mark every notification of the user read."""
    if Form().validate_on_submit():
        attempt(lambda: notify.mark_read(current_user.id), lambda n: f"已将 {n} 条提醒标为已读。")
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Choose, per kind, to be told in the app only, by mail at once or in the daily digest."""
    form = PreferencesForm.for_kinds(notify.preferences(current_user.id))
    if form.validate_on_submit():

        def save() -> int:
            return sum(notify.set_preference(current_user.id, k, c) for k, c in form.chosen().items())

        if attempt(save, lambda n: f"提醒设置已保存（修改了 {n} 项）。" if n else "提醒设置没有变化。"):
            return redirect(url_for("notifications.settings"))
    return render_template(
        "notifications/settings.html",
        form=form,
        has_email=bool(current_user.email.strip()),
        status=400 if form.errors else 200,
    ), 400 if form.errors else 200


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """Stop mail of one kind from a link in a mail, without logging in (confirmed by a button)."""
    found = notify.read_unsubscribe_token(token)
    if found is None:
        return render_template("notifications/unsubscribe.html", invalid=True), 404
    user, kind = found
    form = Form()
    if form.validate_on_submit() and attempt(lambda: notify.set_preference(user.id, kind, Channel.APP)):
        return render_template("notifications/unsubscribe.html", done=True, kind=kind, user=user)
    already = notify.preferences(user.id)[kind] == Channel.APP
    return render_template("notifications/unsubscribe.html", kind=kind, user=user, form=form, already=already)
