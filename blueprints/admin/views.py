from datetime import datetime, time, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from blueprints.admin import bp
from blueprints.admin.forms import UserForm
from common.dates import SHANGHAI, DateArgError, parse_day
from common.search import escape_like
from models import AuditEvent, City, District, MailStatus, OutboxMessage, Role, Unit, User, db
from models.audit import ACTION_LABELS, OBJECT_LABELS
from services import auditlog
from services import mail as mailer
from services import permissions as perm
from services import users as users_svc
from services.places import active_communities
from services.scope import scoped, visible_streets
from web.flow import attempt
from web.forms import Form
from web.pagination import paginate


def _require_admin():
    if not perm.can_manage_users(current_user):
        abort(403)


def _form(**kwargs) -> UserForm:
    """The user form with the places and roles the admin may give: the system administrator
    every role anywhere; a street admin the roles of their street, in it."""
    communities = db.session.scalars(active_communities(viewer=current_user)).all()
    units = db.session.scalars(
        select(Unit).where(scoped(Unit.street_id, current_user)).order_by(Unit.name)
    ).all()
    streets = [s for s in visible_streets(current_user) if not s.retired]
    places: list[tuple[str, str]] = []
    roles = list(Role)
    if current_user.role == Role.SYSADMIN:
        for d in db.session.scalars(
            select(District)
            .where(District.retired_at.is_(None))
            .order_by(District.city_id, District.position)
        ):
            places.append((f"d:{d.id}", f"{d.city.name} · {d.name}（区级）"))
        for c in db.session.scalars(select(City).where(City.retired_at.is_(None)).order_by(City.position)):
            places.append((f"c:{c.id}", f"{c.name}（市级）"))
    else:
        roles = [Role.ADMIN, Role.SECRETARY, Role.LIAISON, Role.ARCHIVIST]
    return UserForm(
        communities=communities, units=units, streets=streets, places=places, roles=roles, **kwargs
    )


def _account(form: UserForm) -> users_svc.Account:
    """The account as the form describes it."""
    kind, _, place_id = (form.place.data or "").partition(":")
    return users_svc.Account(
        username=form.username.data,
        display_name=form.display_name.data,
        email=form.email.data or "",
        role=Role(form.role.data),
        community_id=form.community_id.data,
        unit_id=form.unit_id.data,
        street_id=form.street_id.data or None,
        district_id=int(place_id) if kind == "d" and place_id.isdigit() else None,
        city_id=int(place_id) if kind == "c" and place_id.isdigit() else None,
        active=bool(form.active.data),
        password=form.new_password.data or "",
    )


def _username_taken(form: UserForm, exclude_id: int | None = None) -> bool:
    """Mark the username field if another account has that name."""
    if users_svc.username_taken(form.username.data, exclude_id):
        form.username.errors.append(users_svc.USERNAME_TAKEN)
        return True
    return False


@bp.route("/users")
@login_required
def users():
    """List the accounts."""
    _require_admin()
    q = request.args.get("q", "")[:64].strip()
    stmt = (
        select(User)
        .options(
            joinedload(User.community),
            joinedload(User.unit),
            joinedload(User.street),
            joinedload(User.district),
            joinedload(User.city),
        )
        .order_by(User.role, User.username)
    )
    if current_user.role != Role.SYSADMIN:
        stmt = stmt.where(
            User.street_id == (current_user.street_id or 0), User.role.not_in((Role.SYSADMIN, Role.OBSERVER))
        )
    if q:
        pattern = f"%{escape_like(q)}%"
        stmt = stmt.where(
            or_(User.username.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\"))
        )
    role = request.args.get("role", "")
    if role in Role._value2member_map_:
        stmt = stmt.where(User.role == Role(role))
    pagination = paginate(stmt, per_page=50)
    return render_template("admin/users.html", pagination=pagination, q=q, role=role)


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def user_create():
    """Create an account."""
    _require_admin()
    form = _form(creating=True)
    if (
        form.validate_on_submit()
        and not _username_taken(form)
        and attempt(
            lambda: users_svc.save_user(None, _account(form)),
            lambda user: f"已创建用户“{user.username}”。",
            errors=form.username,
        )
    ):
        return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def user_edit(user_id: int):
    """Edit an account: role, scope, activation, password reset."""
    _require_admin()
    user = db.get_or_404(User, user_id)
    if not perm.can_manage_user(current_user, user):
        abort(404)  # an account of another street does not exist for a street admin
    form = _form(obj=user, creating=False)
    if request.method == "GET":
        form.community_id.data = user.community_id or 0
        form.unit_id.data = user.unit_id or 0
        form.street_id.data = user.street_id or 0
        form.place.data = (
            f"d:{user.district_id}" if user.district_id else (f"c:{user.city_id}" if user.city_id else "")
        )
        form.role.data = user.role.value
    if form.validate_on_submit() and not _username_taken(form, user.id):
        if user.id == current_user.id and (not form.active.data or form.role.data != current_user.role.value):
            form.role.errors.append("不能停用自己的账号或取消自己的管理员角色。")
        elif attempt(
            lambda: users_svc.save_user(user, _account(form)),
            lambda saved: f"用户“{saved.username}”已保存。",
            errors=form.username,
        ):
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/audit")
@login_required
def audit():
    """Browse the audit log with filters, in Chinese: labels, names and Beijing time."""
    if not perm.can_view_audit(current_user):
        abort(403)
    args = request.args
    stmt = (
        select(AuditEvent)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    if current_user.role != Role.SYSADMIN:
        # A street's admin and archivist read their street's events; the system administrator
        # reads everything (logins of unknown names included).
        stmt = stmt.where(AuditEvent.street_id == (current_user.street_id or 0))
    actor = args.get("actor", "")[:64].strip()
    if actor:
        stmt = stmt.where(AuditEvent.actor_name.ilike(f"%{escape_like(actor)}%", escape="\\"))
    action = args.get("action", "")
    if action in ACTION_LABELS:
        stmt = stmt.where(AuditEvent.action == action)
    object_type = args.get("object_type", "")
    if object_type in OBJECT_LABELS:
        stmt = stmt.where(AuditEvent.object_type == object_type)
        object_id = args.get("object_id", type=int)
        if object_id and 0 < object_id < 2**31:
            stmt = stmt.where(AuditEvent.object_id == object_id)
    errors = {}
    start = end = None
    try:
        start = parse_day(args.get("start"), "开始日期")
    except DateArgError as exc:
        errors["start"] = str(exc)
    try:
        end = parse_day(args.get("end"), "结束日期")
    except DateArgError as exc:
        errors["end"] = str(exc)
    if start:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(start, time(), SHANGHAI))
    if end:
        stmt = stmt.where(AuditEvent.at < datetime.combine(end + timedelta(days=1), time(), SHANGHAI))
    pagination = paginate(stmt, per_page=current_app.config["AUDIT_PER_PAGE"])
    return render_template(
        "admin/audit.html",
        pagination=pagination,
        rows=auditlog.rows_for(pagination.items, see_residents=perm.can_see_residents_in_audit(current_user)),
        visible=auditlog.visible,
        actions=ACTION_LABELS,
        objects=OBJECT_LABELS,
        errors=errors,
        f={
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "start": args.get("start", "")[:10],
            "end": args.get("end", "")[:10],
            "object_id": args.get("object_id", "")[:10],
        },
    )


@bp.route("/outbox")
@login_required
def outbox():
    """List outgoing mail with its delivery status."""
    if not perm.can_view_outbox(current_user):
        abort(403)
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    status = request.args.get("status", "")
    if status in MailStatus._value2member_map_:
        stmt = stmt.where(OutboxMessage.status == MailStatus(status))
    pagination = paginate(stmt, per_page=50)
    return render_template(
        "admin/outbox.html",
        pagination=pagination,
        status=status,
        configured=bool(current_app.config.get("MAIL_SERVER")),
        form=Form(),
    )


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@login_required
def outbox_retry(message_id: int):
    """Send a waiting or failed message again now."""
    if not perm.can_view_outbox(current_user):
        abort(403)
    msg = db.get_or_404(OutboxMessage, message_id)
    if not Form().validate_on_submit():
        abort(400)
    if msg.status == MailStatus.SENT:
        flash("这封邮件已经发送成功。", "info")
    else:
        attempt(lambda: mailer.retry(msg), "已重新排队发送。")
    return redirect(url_for("admin.outbox"))
