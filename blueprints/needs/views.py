"""The needs board (需求清单, 微心愿): posting, claiming, progress, matching with resources."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from blueprints.needs import bp
from blueprints.needs.forms import (
    ActionForm,
    DecideForm,
    FulfilForm,
    NeedForm,
    ProgressForm,
    ProposeForm,
    ReasonForm,
)
from models import (
    Attachment,
    Community,
    Grid,
    Match,
    MatchStatus,
    Meeting,
    Need,
    NeedStatus,
    NeedUpdate,
    Resource,
    ResourceKind,
    Role,
    db,
    need_update_photo,
)
from models.base import today
from services import needs as svc
from services import permissions as perm
from services.actions import MAX_ATTACHMENT, upload_folder
from services.grids import grid_options
from services.places import active_communities, community_options
from services.scope import in_scope
from web import panels
from web.concurrency import field_values, lost_update, stamp
from web.flow import attempt

MAX_ID = 2**31 - 1  # larger ids exist nowhere (and overflow PostgreSQL's integer)


def _known_id(value: int | None) -> int | None:
    return value if value is not None and 0 < value <= MAX_ID else None


def _filters() -> svc.BoardFilters:
    """Read the board's filter arguments, ignoring invalid values."""
    args = request.args
    kind = args.get("kind", "")
    status = args.get("status", "")
    wish = args.get("type", "")
    return svc.BoardFilters(
        community_id=_known_id(args.get("community", type=int)),
        kind=ResourceKind(kind) if kind in ResourceKind._value2member_map_ else None,
        status=NeedStatus(status) if status in NeedStatus._value2member_map_ else None,
        wish={"wish": True, "need": False}.get(wish),
        q=args.get("q", "")[:100].strip(),
        mine=args.get("mine") == "1" and current_user.role == Role.LIAISON,
        stale=args.get("stale") == "1",
    )


@bp.route("/needs")
@login_required
def index():
    """The needs board with filters and pagination."""
    f = _filters()
    pagination = svc.paginate_board(
        svc.board_query(current_user, f),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config.get("NEEDS_PER_PAGE", 20),
    )
    communities = community_options(current_user)
    return render_template(
        "needs/index.html",
        pagination=pagination,
        f=f,
        communities=communities,
        cutoff=svc.stale_cutoff(),
        today_date=today(),
        stale_days=svc.stale_days(),
        ResourceKind=ResourceKind,
        NeedStatus=NeedStatus,
    )


@bp.route("/needs/new", methods=["GET", "POST"])
@login_required
def create():
    """Post a community need or a resident's 微心愿."""
    if not perm.can_post_need(current_user):
        abort(403)
    communities = (
        db.session.scalars(active_communities(viewer=current_user)).all() if current_user.is_admin else ()
    )
    own = [current_user.community] if current_user.community is not None else []
    form = NeedForm(communities=communities, grids=grid_options(list(communities) or own))
    if request.method == "GET" and request.args.get("type") == "wish":
        form.is_wish.data = "1"
    if form.validate_on_submit():
        community = db.session.get(
            Community, form.community_id.data if communities else current_user.community_id
        )
        if community is None:
            abort(403)
        if not _grid_fits(form, community.id):
            return render_template("needs/form.html", form=form, need=None), 400
        posted = attempt(
            lambda: svc.post_need(community, form.data_for_service(), current_user),
            lambda need: f"已发布{'微心愿' if need.is_wish else '需求'}“{need.title}”。",
            errors=form.wanted_by,
        )
        if posted:
            return redirect(url_for("needs.detail", need_id=posted.value.id))
    return render_template("needs/form.html", form=form, need=None), (400 if form.errors else 200)


def _grid_fits(form: NeedForm, community_id: int) -> bool:
    """The chosen grid lies in the need's community (else the grid field says so)."""
    grid = db.session.get(Grid, form.grid_id.data) if form.grid_id.data else None
    if grid is not None and grid.community_id != community_id:
        form.grid_id.errors = [*form.grid_id.errors, "所选网格不属于所选社区。"]
        return False
    return True


def _load(need_id: int, for_update: bool = False) -> Need:
    need = svc.load_need(need_id, for_update=for_update) if _known_id(need_id) else None
    if need is None or not in_scope(current_user, need.street_id):
        abort(404)  # another street's need does not exist for the user
    return need


@bp.route("/needs/<int:need_id>/edit", methods=["GET", "POST"])
@login_required
def edit(need_id: int):
    """Change what a need asks for (its community's secretary or an admin)."""
    need = _load(need_id, for_update=request.method == "POST")
    if not perm.can_manage_need(current_user, need):
        abort(403)
    if need.is_closed:
        flash("已完成或已撤回的需求不能修改。", "error")
        return redirect(url_for("needs.detail", need_id=need.id))
    form = NeedForm(obj=need, grids=grid_options([need.community]))
    conflict = None
    if request.method == "GET":
        form.grid_id.data = need.grid_id or 0
        form.is_wish.data = "1" if need.is_wish else "0"
        form.kind.data = need.kind.value
        stamp(form, need.version, field_values(need, NEED_FIELDS))
    elif form.validate_on_submit():
        # Someone changed or claimed it meanwhile: keep what this user typed, say what changed.
        conflict = lost_update(form, need.version, field_values(need, NEED_FIELDS), NEED_FIELDS)
        if (
            conflict is None
            and _grid_fits(form, need.community_id)
            and attempt(
                lambda: svc.edit_need(need, form.data_for_service()), "需求已保存。", errors=form.title
            )
        ):
            return redirect(url_for("needs.detail", need_id=need.id))
    status = 409 if conflict is not None else (400 if form.errors else 200)
    return render_template("needs/form.html", form=form, need=need, conflict=conflict), status


# The fields of the edit form, with their labels for the lost-update message.
NEED_FIELDS = {
    "title": "标题",
    "kind": "类别",
    "is_wish": "类型",
    "description": "说明",
    "people_served": "受益人数",
    "wanted_by": "期望完成日期",
    "resident_name": "居民姓名",
    "resident_phone": "居民电话",
    "status": "状态",
}


def _detail(need: Need, status: int = 200, **forms):
    """Render a need's page; forms given replace the blank ones (to show their errors)."""
    user = current_user
    manage = perm.can_manage_need(user, need)
    report = perm.can_report_need(user, need)
    matches = svc.matches_of(need)
    action_form = None
    if manage and any(m.status == MatchStatus.ACCEPTED and m.action_id is None for m in matches):
        action_form = forms.get("action_form") or ActionForm(meetings=svc.meetings_for_action(need))
    open_need = not need.is_closed
    return render_template(
        "needs/detail.html",
        need=need,
        manage=manage,
        see_resident=perm.can_see_resident(user, need),
        can_claim=perm.can_claim_need(user, need),
        matches=matches,
        suggestions=svc.suggested_resources(need, user),
        stale=svc.is_stale(need),
        idle_days=svc.idle_days(need),
        stale_days=svc.stale_days(),
        release_form=forms.get("release_form")
        or (ReasonForm(prefix="release") if manage and need.claim_active else None),
        withdraw_form=forms.get("withdraw_form")
        or (ReasonForm(prefix="withdraw") if manage and open_need else None),
        progress_form=forms.get("progress_form") or (ProgressForm(prefix="progress") if report else None),
        fulfil_form=forms.get("fulfil_form") or (FulfilForm(prefix="fulfil") if report else None),
        decide_form=DecideForm(),
        action_form=action_form,
        today=today(),
    ), status


@bp.route("/needs/<int:need_id>")
@login_required
def detail(need_id: int):
    """One need with its claim, progress, photos and matched resources."""
    return _detail(_load(need_id))


@bp.route("/needs/<int:need_id>/claim", methods=["POST"])
@login_required
def claim(need_id: int):
    """Claim an open need for the liaison's unit."""
    need = _load(need_id, for_update=True)
    if not perm.can_claim_needs(current_user):
        abort(403)
    attempt(lambda: svc.claim(need, current_user.unit, current_user), "认领成功，请等待社区确认。")
    return redirect(url_for("needs.detail", need_id=need_id))


@bp.route("/needs/<int:need_id>/confirm", methods=["POST"])
@login_required
def confirm(need_id: int):
    """Confirm a unit's claim (the need's secretary)."""
    need = _load(need_id, for_update=True)
    if not perm.can_manage_need(current_user, need):
        abort(403)
    attempt(lambda: svc.confirm_claim(need, current_user), "已确认认领。")
    return redirect(url_for("needs.detail", need_id=need_id))


def _reason_action(need_id: int, prefix: str, service, done: str):
    """Apply a manager's change that needs a reason (release, withdraw); a refusal is flashed."""
    need = _load(need_id, for_update=True)
    if not perm.can_manage_need(current_user, need):
        abort(403)
    form = ReasonForm(prefix=prefix)
    if form.validate_on_submit():
        attempt(lambda: service(need, current_user, form.reason.data), done)
        return redirect(url_for("needs.detail", need_id=need_id))
    return _detail(need, 400, **{f"{prefix}_form": form})


@bp.route("/needs/<int:need_id>/release", methods=["POST"])
@login_required
def release(need_id: int):
    """Release a unit's claim with a reason: the need is open again."""
    return _reason_action(need_id, "release", svc.release_claim, "已释放认领，需求重新开放。")


@bp.route("/needs/<int:need_id>/withdraw", methods=["POST"])
@login_required
def withdraw(need_id: int):
    """Withdraw a need that is no longer wanted."""
    return _reason_action(need_id, "withdraw", svc.withdraw, "需求已撤回。")


def _read_photos(form) -> list[tuple[str, bytes]]:
    files = []
    for upload in form.photos.data or []:
        if upload and getattr(upload, "filename", ""):
            files.append((upload.filename, upload.read(MAX_ATTACHMENT + 1)))
    return files


def _report(need_id: int, prefix: str, form_cls, text_field: str, service, done: str):
    """Record the claiming unit's progress or fulfilment with its photos; a refusal is shown at its field."""
    need = _load(need_id, for_update=True)
    if not perm.is_claiming_liaison(current_user, need):
        abort(403)
    form = form_cls(prefix=prefix)
    text = getattr(form, text_field)

    def report():
        photos = svc.store_photos(_read_photos(form), current_user)
        service(need, current_user, form.on.data, text.data, photos)

    def beside_the_field(message: str) -> None:
        # A refused photo is shown at the photos, any other refusal at the text.
        target = form.photos if ("照片" in message or "图片" in message) else text
        target.errors = [*target.errors, message]

    if form.validate_on_submit() and attempt(report, done, errors=beside_the_field):
        return redirect(url_for("needs.detail", need_id=need_id))
    return _detail(_load(need_id), 400, **{f"{prefix}_form": form})


@bp.route("/needs/<int:need_id>/progress", methods=["POST"])
@login_required
def progress(need_id: int):
    """Record progress on a claimed need, optionally with photos."""
    return _report(need_id, "progress", ProgressForm, "text", svc.report_progress, "进展已报送。")


@bp.route("/needs/<int:need_id>/fulfil", methods=["POST"])
@login_required
def fulfil(need_id: int):
    """Record that the claimed need is fulfilled, with a note and optional photos."""
    return _report(need_id, "fulfil", FulfilForm, "note", svc.fulfil, "已登记完成，感谢贵单位的支持！")


@bp.route("/needs/photos/<int:attachment_id>")
@login_required
def photo(attachment_id: int):
    """Show a photo of a need's progress (only images are ever stored here)."""
    att = db.get_or_404(Attachment, attachment_id) if _known_id(attachment_id) else abort(404)
    linked = db.session.scalar(
        select(need_update_photo.c.update_id).where(need_update_photo.c.attachment_id == att.id).limit(1)
    )
    if linked is None or not att.content_type.startswith("image/"):
        abort(404)
    need = db.session.scalar(
        select(Need).join(NeedUpdate, NeedUpdate.need_id == Need.id).where(NeedUpdate.id == linked)
    )
    if not in_scope(current_user, need.street_id):
        abort(404)
    if not perm.can_see_need_photos(current_user, need):
        abort(403)
    path = upload_folder() / att.storage_name
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=att.content_type, download_name=att.filename, max_age=3600)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# --- matching -----------------------------------------------------------------------------


@bp.route("/needs/<int:need_id>/matches", methods=["POST"])
@login_required
def propose(need_id: int):
    """Propose a suggested resource to its owner for this need (one click)."""
    need = _load(need_id, for_update=True)
    if not perm.can_manage_need(current_user, need):
        abort(403)
    form = ProposeForm()
    resource = db.session.get(Resource, form.resource_id.data) if form.validate_on_submit() else None
    if resource is None:
        flash("请选择有效的资源。", "error")
        return redirect(url_for("needs.detail", need_id=need_id))
    attempt(
        lambda: svc.propose_match(need, resource, current_user),
        f"已向{resource.owner_name}推荐对接“{resource.title}”，等待对方回应。",
    )
    back = _resource_url(resource) if request.form.get("next") == "resource" else None
    return redirect(back or url_for("needs.detail", need_id=need_id))


def _resource_url(resource: Resource) -> str | None:
    """The resource's page, if the resources feature has one."""
    try:
        return url_for("resources.detail", resource_id=resource.id)
    except BuildError:
        return None


def _load_match(match_id: int) -> Match:
    if not _known_id(match_id):
        abort(404)
    match = db.session.scalar(
        select(Match)
        .where(Match.id == match_id)
        .options(joinedload(Match.need).joinedload(Need.community), joinedload(Match.resource))
        .with_for_update(of=Match)
    )
    if match is None or not in_scope(current_user, match.need.street_id):
        abort(404)
    return match


@bp.route("/needs/matches/<int:match_id>/<any(accept, decline):answer>", methods=["POST"])
@login_required
def decide(match_id: int, answer: str):
    """The resource's owner accepts or declines a proposed match."""
    match = _load_match(match_id)
    if not perm.can_answer_match(current_user, match):
        abort(403)
    form = DecideForm()
    if not form.validate_on_submit():
        flash("；".join(e for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("needs.detail", need_id=match.need_id))
    attempt(
        lambda: svc.decide_match(match, current_user, answer == "accept", form.reason.data or ""),
        "已接受对接，感谢支持！" if answer == "accept" else "已婉拒对接。",
    )
    return redirect(url_for("needs.detail", need_id=match.need_id))


@bp.route("/needs/matches/<int:match_id>/action", methods=["POST"])
@login_required
def to_action(match_id: int):
    """Turn an accepted match into an agreed action (资源共享) of a meeting."""
    match = _load_match(match_id)
    need = match.need
    if not perm.can_manage_need(current_user, need):
        abort(403)
    form = ActionForm(meetings=svc.meetings_for_action(need))
    if not form.validate_on_submit():
        flash("请选择本社区的一次会议。", "error")
        return redirect(url_for("needs.detail", need_id=need.id))
    meeting = db.session.get(Meeting, form.meeting_id.data)
    made = attempt(
        lambda: svc.match_to_action(match, meeting, current_user),
        lambda action: f"已转为议定事项“{action.title}”。",
    )
    if not made:
        return redirect(url_for("needs.detail", need_id=need.id))
    return redirect(url_for("actions.detail", action_id=made.value.id))


# --- for other features: the resource page, the dashboard, the unit page -----------------


@bp.app_template_global("needs_for_resource")
def needs_for_resource_global(resource: Resource, user=None):
    """The open needs a resource could serve (used by templates/needs/_for_resource.html)."""
    return svc.needs_for_resource(resource, user or current_user)


@panels.dashboard_panel
def dashboard_panel(user):
    """Claims to confirm, stale claims and proposals waiting for the user's answer."""
    if not user.is_authenticated or user.role == Role.ARCHIVIST:
        return None
    to_confirm = svc.claims_to_confirm(user)
    stale, stale_total = svc.stale_claims(user) if (user.is_admin or user.role == Role.SECRETARY) else ([], 0)
    proposals = svc.pending_matches(user)
    if not (to_confirm or stale or proposals):
        return None
    return "needs/_dashboard_panel.html", {
        "to_confirm": to_confirm,
        "stale": stale,
        "stale_total": stale_total,
        "stale_days": svc.stale_days(),
        "proposals": proposals,
    }


@panels.unit_panel
def unit_panel(user, unit):
    """The needs a unit has claimed."""
    if not user.is_authenticated:
        return None
    return "needs/_unit_panel.html", {"unit": unit, "claims": svc.unit_claims(unit)}
