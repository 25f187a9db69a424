import contextlib
from datetime import datetime

from flask import abort, current_app, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from blueprints.actions import bp
from blueprints.actions.forms import CloseForm, ExtendForm, LeadForm, ProgressForm, SuperviseForm
from exports.sheets import actions_to_csv, actions_to_xlsx
from models import (
    Action,
    ActionProgress,
    ActionStatus,
    Attachment,
    Principle,
    Unit,
    db,
)
from models.base import today
from services import actions as svc
from services import audit, supervision
from services import permissions as perm
from services.places import community_options
from services.scope import in_scope, visible_streets
from web.downloads import download_response
from web.flow import attempt, write_in_get
from web.pagination import paginate


def _filters() -> svc.LedgerFilters:
    args = request.args
    status = args.get("status", "")
    principle = args.get("principle", "")
    month = None
    with contextlib.suppress(ValueError):
        month = datetime.strptime(args.get("month", ""), "%Y-%m").date()
    return svc.LedgerFilters(
        community_id=args.get("community", type=int),
        unit_id=args.get("unit", type=int),
        status=ActionStatus(status) if status in ActionStatus._value2member_map_ else None,
        principle=Principle(principle) if principle in Principle._value2member_map_ else None,
        overdue=args.get("overdue") == "1",
        due_month=month,
        q=args.get("q", "")[:100].strip(),
    )


@bp.route("/actions")
@login_required
def index():
    """The action ledger with filters."""
    f = _filters()
    stmt, params = svc.ledger_page_query(current_user, f, today())
    pagination = paginate(
        stmt,
        per_page=current_app.config["ACTIONS_PER_PAGE"],
        rows=True,
        params=params,
    )
    communities = community_options(current_user)
    unit = db.session.get(Unit, f.unit_id) if f.unit_id else None
    if unit is not None and not in_scope(current_user, unit.street_id):
        unit = None  # another street's unit is not named, even by id
    return render_template(
        "actions/index.html",
        pagination=pagination,
        extras=svc.ledger_extras(pagination.items),
        f=f,
        communities=communities,
        unit=unit,
        today=today(),
        Principle=Principle,
        ActionStatus=ActionStatus,
    )


@bp.route("/actions/export.<any(xlsx, csv):fmt>")
@login_required
def export(fmt: str):
    """Download the ledger (with the current filters) as xlsx or CSV."""
    if not perm.can_export_actions(current_user):
        abort(403)
    actions = db.session.scalars(
        svc.ledger_query(current_user, _filters()).options(
            joinedload(Action.meeting), selectinload(Action.events)
        )
    ).all()
    # Build the file before the audit commit: the commit expires the loaded actions (every
    # row would be read again, one SELECT each) and the write lock is not held meanwhile.
    if fmt == "xlsx":
        body = actions_to_xlsx(actions, today())
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = actions_to_csv(actions, today())
        mimetype = "text/csv; charset=utf-8"
    write_in_get(lambda: audit.record("export", summary=f"议定事项台账 {fmt}，{len(actions)} 项"))
    return download_response(body, mimetype, f"议定事项台账.{fmt}")


def _load(action_id: int) -> Action:
    action = db.session.scalar(
        select(Action)
        .where(Action.id == action_id)
        .options(
            joinedload(Action.lead_unit),
            joinedload(Action.meeting),
            selectinload(Action.co_units),
            selectinload(Action.tags),
            selectinload(Action.progress).joinedload(ActionProgress.author),
            selectinload(Action.progress).joinedload(ActionProgress.attachment),
            selectinload(Action.events),
        )
    )
    if action is None:
        abort(404)
    if not perm.can_view_action(current_user, action):
        abort(403 if in_scope(current_user, action.street_id) else 404)
    return action


@bp.route("/actions/<int:action_id>")
@login_required
def detail(action_id: int):
    """One action with its progress reports."""
    action = _load(action_id)
    return _detail_page(action)


def _detail_page(action: Action, status: int = 200, **forms):
    """The action's page with each form the user may use (a refused one passed in, with its errors)."""
    open_ = action.status != ActionStatus.DONE
    defaults = {
        "progress_form": ProgressForm if perm.can_report_progress(current_user, action) and open_ else None,
        "close_form": CloseForm if perm.can_close_action(current_user, action) and open_ else None,
        "supervise_form": SuperviseForm if perm.can_supervise(current_user, action) else None,
        "extend_form": ExtendForm if perm.can_change_action(current_user, action) else None,
        "lead_form": LeadForm if perm.can_change_action(current_user, action) else None,
    }
    built = {}
    for name, cls in defaults.items():
        form = forms.get(name) or (cls(formdata=None) if cls is not None else None)
        built[name] = form
    if built["lead_form"] is not None:
        built["lead_form"].unit_id.choices = _lead_choices(action)
    return render_template("actions/detail.html", action=action, today=today(), **built), status


def _lead_choices(action: Action) -> list[tuple[int, str]]:
    return [(0, "—")] + [(u.id, u.name) for u in supervision.lead_choices(action)]


@bp.route("/actions/<int:action_id>/progress", methods=["POST"])
@login_required
def progress(action_id: int):
    """Report progress, optionally with an attachment."""
    action = _load(action_id)
    if not perm.can_report_progress(current_user, action):
        abort(403)
    form = ProgressForm()

    def report():
        attachment = None
        upload = form.attachment.data
        if upload and upload.filename:
            attachment = svc.store_attachment(
                upload.filename, upload.read(svc.MAX_ATTACHMENT + 1), current_user
            )
        svc.post_progress(action, current_user, form.on.data, form.text.data, attachment)

    def beside_the_field(message: str) -> None:
        # A refused upload is shown at the file, any other refusal at the text.
        upload_problem = "附件" in message or "文件" in message or "上传" in message
        target = form.attachment if upload_problem else form.text
        target.errors.append(message)

    if form.validate_on_submit() and attempt(report, "进展已报送。", errors=beside_the_field):
        return redirect(url_for("actions.detail", action_id=action.id))
    return _detail_page(action, 400, progress_form=form)


@bp.route("/actions/<int:action_id>/done", methods=["POST"])
@login_required
def done(action_id: int):
    """Close an action as done with its result."""
    action = _load(action_id)
    if not perm.can_close_action(current_user, action):
        abort(403)
    form = CloseForm()
    return _submit(
        action,
        "close_form",
        form,
        lambda: svc.close(action, current_user, form.result.data, form.on.data),
        "事项已标记为完成。",
        form.result,
    )


def _submit(action: Action, name: str, form, operation, success: str, errors):
    """Run a form of the action's page: back to the page, or the page again showing why not."""
    if form.validate_on_submit() and attempt(operation, success, errors=errors):
        return redirect(url_for("actions.detail", action_id=action.id))
    return _detail_page(action, 400, **{name: form})


@bp.route("/actions/<int:action_id>/supervise", methods=["POST"])
@login_required
def supervise(action_id: int):
    """Send a 督办 notice to the lead unit (and the host), with a deadline."""
    action = _load(action_id)
    if not perm.can_supervise(current_user, action):
        abort(403)
    form = SuperviseForm()
    return _submit(
        action,
        "supervise_form",
        form,
        lambda: supervision.supervise(action, current_user, form.text.data, form.deadline.data),
        "督办通知已发出。",
        form.text,
    )


@bp.route("/actions/<int:action_id>/extend", methods=["POST"])
@login_required
def extend(action_id: int):
    """Move the due date, with a reason."""
    action = _load(action_id)
    if not perm.can_change_action(current_user, action):
        abort(403)
    form = ExtendForm()
    return _submit(
        action,
        "extend_form",
        form,
        lambda: supervision.extend(action, current_user, form.due_on.data, form.reason.data),
        "完成时限已调整。",
        form.due_on,
    )


@bp.route("/actions/<int:action_id>/lead", methods=["POST"])
@login_required
def change_lead(action_id: int):
    """Give the action another lead unit, with a reason."""
    action = _load(action_id)
    if not perm.can_change_action(current_user, action):
        abort(403)
    form = LeadForm()
    form.unit_id.choices = _lead_choices(action)
    return _submit(
        action,
        "lead_form",
        form,
        lambda: supervision.change_lead(
            action, current_user, db.session.get(Unit, form.unit_id.data), form.reason.data
        ),
        "牵头单位已更换。",
        form.unit_id,
    )


@bp.route("/actions/supervision")
@login_required
def board():
    """The 督办 board: overdue and stalled actions across communities, most overdue first."""
    if not perm.can_view_supervision_board(current_user):
        abort(403)
    args = request.args
    sort = args.get("sort", "overdue")
    f = supervision.BoardFilters(
        street_id=args.get("street", type=int),
        community_id=args.get("community", type=int),
        sort=sort if sort in supervision.SORTS else "overdue",
    )
    pagination = paginate(supervision.board_rows(current_user, f), per_page=50, rows=True)
    return render_template(
        "actions/board.html",
        pagination=pagination,
        f=f,
        sorts=supervision.SORTS,
        streets=visible_streets(current_user),
        communities=community_options(current_user),
        today=today(),
        stalled_days=supervision.stalled_days(),
    )


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    """Download an attachment (always as a file, never rendered inline)."""
    att = db.get_or_404(Attachment, attachment_id)
    entry = db.session.scalar(
        select(ActionProgress)
        .where(ActionProgress.attachment_id == att.id)
        .options(joinedload(ActionProgress.action))
    )
    if entry is None or not perm.can_view_action(current_user, entry.action):
        abort(403)
    path = svc.upload_folder() / att.storage_name
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=att.content_type, as_attachment=True, download_name=att.filename)
