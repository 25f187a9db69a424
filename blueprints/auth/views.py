from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from blueprints.auth import bp
from blueprints.auth.forms import LoginForm, PasswordForm, TokenForm
from models import ApiToken, db
from services import auth, tokens
from services.calendar import feed_targets
from web.flow import attempt


def _safe_next(target: str | None) -> str:
    """Only follow redirects to a path on this site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log a user in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    result = None
    if form.validate_on_submit():
        # Committed whatever the answer: a failed try counts towards throttling.
        result = attempt(
            lambda: auth.authenticate(form.username.data, form.password.data, request.remote_addr or "")
        ).value
        if result.user is not None:
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")))
    page = render_template("auth/login.html", form=form, error=result and result.error)
    if result and result.retry_after:
        return page, 429, {"Retry-After": str(result.retry_after)}
    return page


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out, ending every session of this user."""
    attempt(lambda: auth.end_sessions(current_user._get_current_object()))
    logout_user()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Show my account and change my password."""
    user = current_user._get_current_object()
    form = PasswordForm(user.username)
    status, headers = 200, {}
    if form.validate_on_submit():
        # Committed whatever the answer: a failed try counts towards throttling.
        checked = attempt(
            lambda: auth.change_password(
                user, form.current_password.data, form.new_password.data, request.remote_addr or ""
            )
        ).value
        if checked.error:
            form.current_password.errors.append(checked.error)
            if checked.retry_after:
                status, headers = 429, {"Retry-After": str(checked.retry_after)}
        else:
            # Keep this session; the new token has ended all the others.
            login_user(user)
            flash("密码已修改，其他设备上的登录已失效。", "success")
            return redirect(url_for("auth.account"))
    return _account_page(user, form=form), status, headers


def _account_page(user, form=None, token_form=None, new_secret=None, new_token=None) -> str:
    """The account page: password, API tokens (a new one's secret shown this once), feeds."""
    secret_key = current_app.config["SECRET_KEY"]
    mine = [(t, tokens.shown_secret(t, secret_key)) for t in tokens.tokens_of(user)]
    return render_template(
        "auth/account.html",
        form=form or PasswordForm(user.username, formdata=None),
        user=user,
        feeds=feed_targets(user),
        feed_form=FlaskForm(),
        token_form=token_form or TokenForm(formdata=None),
        api_tokens=mine,
        new_secret=new_secret,
        new_token=new_token,
    )


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token():
    """Make a personal API token; its secret is on the page this once, never again."""
    user = current_user._get_current_object()
    form = TokenForm()
    if form.validate_on_submit():
        made = attempt(
            lambda: tokens.issue(user, form.name.data, form.scope.data, form.expires_on.data),
            errors=form.name,
        )
        if made:
            token, secret = made.value
            return _account_page(user, new_secret=secret, new_token=token)
    return _account_page(user, token_form=form), 400


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    """Revoke one of my tokens: it stops at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    attempt(lambda: tokens.revoke(token), f"令牌“{token.name}”已吊销，使用它的程序将无法再访问。")
    return redirect(url_for("auth.account") + "#tokens")
