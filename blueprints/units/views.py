from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from blueprints.units import bp
from blueprints.units.forms import ImportForm, StatusForm, UnitForm
from exports.sheets import import_template_xlsx, units_to_csv, units_to_xlsx
from models import (
    Action,
    ActionStatus,
    Community,
    Invitation,
    Meeting,
    Unit,
    UnitCategory,
    UnitImport,
    UnitStatus,
    UnitStatusChange,
    User,
    db,
)
from models.base import today
from services import audit
from services import permissions as perm
from services.actions import involves
from services.grids import grid_options
from services.meetings import attendance_rates, meetings_query
from services.places import community_options
from services.scope import in_scope
from services.units import (
    apply_changes,
    check_import,
    communities_for,
    confirm_import,
    create_unit,
    name_taken,
    units_query,
)
from web import panels
from web.concurrency import field_values, lost_update, stamp
from web.downloads import download_response
from web.flow import attempt, write_in_get
from web.pagination import paginate

FIELD_LABELS = {
    "name": "单位名称",
    "short_name": "简称",
    "category": "单位类别",
    "community_id": "所属社区",
    "grid_id": "所属网格",
    "address": "地址",
    "party_org_name": "党组织名称",
    "party_member_count": "党员人数",
    "liaison_name": "联络人",
    "liaison_phone": "联系电话",
    "liaison_email": "电子邮箱",
    "introduction": "单位简介",
    "agreement_date": "共建协议签订日期",
}
EDIT_FIELDS = tuple(FIELD_LABELS)


def _filters():
    """Read the register's search and filter arguments, ignoring invalid values."""
    args = request.args
    community_id = args.get("community", type=int)
    category = args.get("category", "")
    status = args.get("status", "")
    return {
        "q": args.get("q", "")[:100],
        "community_id": community_id,
        "category": UnitCategory(category) if category in UnitCategory._value2member_map_ else None,
        "status": UnitStatus(status) if status in UnitStatus._value2member_map_ else None,
    }


def _load_unit(unit_id: int) -> Unit:
    """The unit, if it lies in a street the user sees (another street's does not exist for them)."""
    unit = db.get_or_404(Unit, unit_id)
    if not in_scope(current_user, unit.street_id):
        abort(404)
    return unit


def _unique_name_error(form, street_id, exclude_id=None) -> bool:
    other = name_taken(street_id, form.name.data, exclude_id)
    if other:
        form.name.errors.append(f"本街道已有同名单位“{other.name}”。")
        return True
    return False


@bp.route("")
@login_required
def index():
    """List the register with search, filters and pagination."""
    filters = _filters()
    pagination = paginate(
        units_query(current_user, **filters, rows=True),
        per_page=current_app.config["UNITS_PER_PAGE"],
        rows=True,
    )
    communities = community_options(current_user)
    rates = attendance_rates([u.id for u in pagination.items])
    return render_template(
        "units/index.html",
        pagination=pagination,
        filters=filters,
        communities=communities,
        rates=rates,
    )


@bp.route("/<int:unit_id>")
@login_required
def detail(unit_id: int):
    """Show a unit's profile, liaison and status history."""
    unit = db.session.scalar(
        select(Unit)
        .where(Unit.id == unit_id)
        .options(selectinload(Unit.status_changes).joinedload(UnitStatusChange.changed_by))
    ) or abort(404)
    if not in_scope(current_user, unit.street_id):
        abort(404)
    liaisons = db.session.scalars(select(User).where(User.unit_id == unit.id).order_by(User.id)).all()
    status_form = None
    if perm.can_manage_unit(current_user, unit):
        status_form = StatusForm(allowed=unit.allowed_statuses())
    return render_template(
        "units/detail.html", unit=unit, liaisons=liaisons, status_form=status_form, **_unit_meetings(unit)
    )


def _unit_meetings(unit: Unit) -> dict:
    """The unit's attendance rate and its recent and coming meetings the viewer may see."""
    present, held = attendance_rates([unit.id]).get(unit.id, (0, 0))
    stmt = meetings_query(current_user, unit_id=unit.id).order_by(None).order_by(Meeting.start_at.desc())
    unit_actions = (
        db.session.scalars(
            select(Action)
            .where(involves(unit.id))
            .order_by(Action.status == ActionStatus.DONE, Action.due_on)
            .limit(10)
        ).all()
        if perm.can_view_units(current_user)
        else []
    )
    if not perm.is_own_unit(current_user, unit.id):
        # Another unit's page shows a liaison only the actions their own unit shares with it.
        unit_actions = [a for a in unit_actions if perm.can_view_action(current_user, a)]
    return {
        "panels": panels.render(panels.UNIT_PAGE, current_user, unit),
        "unit_actions": unit_actions,
        "today": today(),
        "attendance": (present, held),
        "meetings": db.session.scalars(stmt.limit(10)).all(),
        "invitations": {
            inv.meeting_id: inv
            for inv in db.session.scalars(select(Invitation).where(Invitation.unit_id == unit.id))
        },
    }


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Register a new unit."""
    if not perm.can_create_unit(current_user):
        abort(403)
    communities = communities_for(current_user)
    form = UnitForm(communities=communities, grids=grid_options(communities), creating=True)
    if request.method == "GET" and current_user.community_id:
        form.community_id.data = current_user.community_id
    if form.validate_on_submit():
        community = db.session.get(Community, form.community_id.data)
        if not _unique_name_error(form, community.street_id):
            data = {k: v for k, v in form.data.items() if k in EDIT_FIELDS or k == "registered_on"}
            data["category"] = UnitCategory(data["category"])
            registered = attempt(
                lambda: create_unit(data, by=current_user),
                lambda unit: f"已登记单位“{unit.name}”。",
                errors=form.name,
            )
            if registered:
                return redirect(url_for("units.detail", unit_id=registered.value.id))
    return render_template("units/form.html", form=form, unit=None)


@bp.route("/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def edit(unit_id: int):
    """Edit a unit: managers all fields, its liaison the profile only."""
    unit = _load_unit(unit_id)
    if not perm.can_edit_unit(current_user, unit):
        abort(403)
    manager = perm.can_manage_unit(current_user, unit)
    fields = EDIT_FIELDS if manager else Unit.PROFILE_FIELDS
    communities = communities_for(current_user, keep_id=unit.community_id) if manager else []
    form = UnitForm(
        obj=unit, communities=communities, grids=grid_options(communities), profile_only=not manager
    )
    if request.method == "GET" and manager:
        form.grid_id.data = unit.grid_id or 0
    if manager and unit.community not in communities_for(current_user, keep_id=unit.community_id):
        abort(403)
    conflict = None
    if request.method == "GET":
        stamp(form, unit.version, field_values(unit, fields))
    elif form.validate_on_submit():
        conflict = lost_update(form, unit.version, field_values(unit, fields), FIELD_LABELS)
        if conflict is None and not (manager and _unique_name_error(form, unit.street_id, unit.id)):
            data = {k: v for k, v in form.data.items() if k in fields}
            if "category" in data:
                data["category"] = UnitCategory(data["category"])
            if data.get("party_member_count") is None and "party_member_count" in data:
                data["party_member_count"] = 0
            if not attempt(lambda: apply_changes(unit, data), "单位资料已保存。"):
                return redirect(url_for("units.edit", unit_id=unit_id))
            return redirect(url_for("units.detail", unit_id=unit.id))
    return render_template("units/form.html", form=form, unit=unit, conflict=conflict, manager=manager)


@bp.route("/<int:unit_id>/status", methods=["POST"])
@login_required
def change_status(unit_id: int):
    """Move a unit between 报到, 在册 and 退出."""
    unit = _load_unit(unit_id)
    if not perm.can_manage_unit(current_user, unit):
        abort(403)
    form = StatusForm(allowed=unit.allowed_statuses())
    if form.validate_on_submit() and attempt(
        lambda: unit.change_status(
            UnitStatus(form.to_status.data), form.effective_on.data, form.reason.data or "", current_user
        ),
        lambda _: f"单位状态已变更为“{unit.status.label}”。",
        errors=form.to_status,
    ):
        return redirect(url_for("units.detail", unit_id=unit.id))
    liaisons = db.session.scalars(select(User).where(User.unit_id == unit.id)).all()
    return render_template(
        "units/detail.html", unit=unit, liaisons=liaisons, status_form=form, **_unit_meetings(unit)
    ), 400


@bp.route("/export.<any(xlsx, csv):fmt>")
@login_required
def export(fmt: str):
    """Download the register (with the current filters) as xlsx or CSV."""
    if not perm.can_export_units(current_user):
        abort(403)
    units = db.session.scalars(units_query(current_user, **_filters())).all()
    # Build the file before the audit commit, which would expire every loaded unit.
    if fmt == "xlsx":
        body = units_to_xlsx(units)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = units_to_csv(units)
        mimetype = "text/csv; charset=utf-8"
    write_in_get(lambda: audit.record("export", summary=f"单位名册 {fmt}，{len(units)} 个单位"))
    return download_response(body, mimetype, f"驻区单位名册.{fmt}")


@bp.route("/import/template.xlsx")
@login_required
def import_template():
    """Download an empty register to fill in for import."""
    if not perm.can_import_units(current_user):
        abort(403)
    return download_response(
        import_template_xlsx(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "驻区单位导入模板.xlsx",
    )


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_upload():
    """Upload a register file and check it row by row."""
    if not perm.can_import_units(current_user):
        abort(403)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        checked = attempt(
            lambda: check_import(upload.filename or "upload", upload.read(), current_user), errors=form.file
        )
        if checked:
            return redirect(url_for("units.import_preview", batch_id=checked.value.id))
    return render_template("units/import.html", form=form)


def _load_batch(batch_id: int) -> UnitImport:
    batch = db.get_or_404(UnitImport, batch_id)
    if not perm.can_review_import(current_user, batch):
        abort(403)
    return batch


@bp.route("/import/<int:batch_id>")
@login_required
def import_preview(batch_id: int):
    """Show what an import would create and which rows were rejected, and why."""
    batch = _load_batch(batch_id)
    names = {c.id: c.name for c in db.session.scalars(select(Community))}
    return render_template("units/import_preview.html", batch=batch, form=FlaskForm(), community_names=names)


@bp.route("/import/<int:batch_id>/confirm", methods=["POST"])
@login_required
def import_confirm(batch_id: int):
    """Create the valid rows of a checked import."""
    batch = _load_batch(batch_id)
    if batch.confirmed_at:
        flash("这批数据已经导入过了。", "warning")
        return redirect(url_for("units.import_preview", batch_id=batch.id))
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)

    def imported(created: list[Unit]) -> str:
        skipped = len(batch.valid_rows) - len(created)
        message = f"已导入 {len(created)} 个单位。"
        if skipped:
            message += f"另有 {skipped} 行因检查后数据变化（如同名单位已被登记）未导入。"
        return message

    attempt(lambda: confirm_import(batch, current_user), imported)
    return redirect(url_for("units.index"))
