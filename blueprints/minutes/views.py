from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from blueprints.minutes import bp
from blueprints.minutes.forms import ApproveForm, ConfirmForm, CorrectionForm, MinutesForm, SubmitMinutesForm
from models import (
    Action,
    Confirmation,
    Meeting,
    Minutes,
    MinutesRevision,
    MinutesStatus,
    Principle,
    Role,
    Unit,
    db,
)
from models.base import today, utcnow
from services import archive
from services import minutes as svc
from services import permissions as perm
from services.meetings import load_meeting
from services.scope import in_scope
from web import panels
from web.concurrency import lost_update, stamp
from web.downloads import download_response
from web.flow import attempt
from web.forms import Form


def _meeting(meeting_id: int, for_update: bool = False) -> Meeting:
    meeting = load_meeting(meeting_id, for_update=for_update)
    if meeting is None:
        abort(404)
    if not perm.can_view_meeting(current_user, meeting):
        abort(403 if in_scope(current_user, meeting.street_id) else 404)
    return meeting


def _minutes(meeting: Meeting) -> Minutes:
    minutes = db.session.scalar(
        select(Minutes)
        .where(Minutes.meeting_id == meeting.id)
        .options(
            selectinload(Minutes.revisions)
            .selectinload(MinutesRevision.confirmations)
            .options(joinedload(Confirmation.unit), joinedload(Confirmation.responded_by))
        )
    )
    if minutes is None:
        abort(404)
    return minutes


def _manage(meeting_id: int) -> tuple[Meeting, Minutes]:
    meeting = _meeting(meeting_id, for_update=True)
    if not perm.can_manage_meeting(current_user, meeting):
        abort(403)
    return meeting, _minutes(meeting)


def _visible_revision(minutes: Minutes) -> MinutesRevision | None:
    """The revision this user may read: staff the current one, a liaison the latest beyond draft."""
    if perm.can_read_minutes_drafts(current_user, minutes.meeting):
        return minutes.current
    return minutes.latest(MinutesStatus.SUBMITTED, MinutesStatus.APPROVED)


def _readable_revision(minutes: Minutes, number: int) -> MinutesRevision:
    """Revision `number` of the minutes: 404 if there is none, 403 if this user may not read it."""
    rev = minutes.revision(number)
    if rev is None:
        abort(404)
    if not perm.can_read_revision(current_user, rev):
        abort(403)
    return rev


def _unit_groups(meeting: Meeting) -> tuple[list[tuple[str, list[Unit]]], set[int]]:
    """The units an action may name, grouped for the pickers, and their ids."""
    invited, others = svc.meeting_units(meeting)
    host = "本社区其他单位" if meeting.community_id else "本街道其他单位"
    return [("参会单位", invited), (host, others)], {u.id for u in invited + others}


def _set_row_choices(form: MinutesForm, existing: dict[int, Action], allowed: set[int]) -> None:
    """Rows of existing actions also offer the units those actions already name."""
    for row in form.actions:
        action = existing.get(_action_id(row))
        if action is None:
            continue
        named = [action.lead_unit, *action.co_units]
        extra = {u.id: u for u in named if u.id not in allowed}
        if extra:
            form.set_unit_choices(row, sorted(extra.values(), key=lambda u: u.name))


def _action_id(row) -> int | None:
    value = row.action_id.data
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else None


def _existing_actions(meeting: Meeting) -> dict[int, Action]:
    return {
        a.id: a
        for a in db.session.scalars(
            select(Action)
            .where(Action.meeting_id == meeting.id)
            .options(joinedload(Action.lead_unit), selectinload(Action.co_units), selectinload(Action.tags))
            .order_by(Action.position, Action.id)
        )
    }


def _action_rows(existing: dict[int, Action]) -> list[dict]:
    return [
        {
            "action_id": str(a.id),
            "title": a.title,
            "detail": a.detail,
            "lead_unit_id": a.lead_unit_id,
            "co_unit_ids": [u.id for u in a.co_units],
            "due_on": a.due_on,
            "principles": [p.value for p in a.principles],
        }
        for a in existing.values()
    ]


def _snapshot(revision: MinutesRevision, existing: dict[int, Action]) -> dict[str, str]:
    """The draft as labelled text, to tell an editor what someone else changed."""
    out = {"记录人": revision.recorder, "会议概况": revision.summary}
    for entry in revision.discussion:
        out[f"议题“{entry['title']}”"] = entry.get("html", "")
    out["议定事项"] = "；".join(a.title for a in existing.values())
    return out


def _parse_actions(
    form: MinutesForm, existing: dict[int, Action], allowed: set[int]
) -> tuple[list[svc.ActionRow], list[str]]:
    rows, errors = [], []
    for n, entry in enumerate(form.actions, start=1):
        title = (entry.title.data or "").strip()
        if not title:
            continue
        row = svc.ActionRow(
            id=_action_id(entry),
            title=title,
            detail=entry.detail.data or "",
            lead_unit_id=entry.lead_unit_id.data or 0,
            co_unit_ids=list(dict.fromkeys(entry.co_unit_ids.data or [])),
            due_on=entry.due_on.data,
            principles=[
                Principle(p) for p in entry.principles.data or [] if p in Principle._value2member_map_
            ],
        )
        row_errors = []
        if not row.lead_unit_id:
            row_errors.append(f"议定事项 {n}“{title}”请选择牵头单位。")
            entry.lead_unit_id.errors = ["请选择牵头单位。"]
        if not row.due_on:
            row_errors.append(f"议定事项 {n}“{title}”请填写有效的完成时限。")
        lead_problem, co_problem = svc.unit_problems(row, allowed, existing.get(row.id) if row.id else None)
        if row.lead_unit_id and lead_problem:
            row_errors.append(f"议定事项 {n}“{title}”：{lead_problem}")
            entry.lead_unit_id.errors = [lead_problem]
        if co_problem:
            row_errors.append(f"议定事项 {n}“{title}”：{co_problem}")
            entry.co_unit_ids.errors = [co_problem]
        errors += row_errors
        if not row_errors:
            rows.append(row)
    return rows, errors


@bp.route("/minutes", methods=["GET", "POST"])
@login_required
def edit(meeting_id: int):
    """Show the minutes, or edit the draft (host secretary or admin)."""
    meeting = _meeting(meeting_id, for_update=request.method == "POST")
    minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))
    manager = perm.can_manage_meeting(current_user, meeting)
    if minutes is None:
        if request.method == "POST":
            abort(405)
        return render_template(
            "minutes/view.html",
            meeting=meeting,
            minutes=None,
            revision=None,
            manager=manager,
            can_start=manager and meeting.minutes_open(utcnow()),
            action_form=Form(),
        )
    minutes = _minutes(meeting)
    revision = minutes.current
    if not (manager and revision.editable):
        if request.method == "POST":
            abort(403 if not manager else 409)
        return _view(meeting, minutes, _visible_revision(minutes), manager)

    unit_groups, allowed = _unit_groups(meeting)
    existing = _existing_actions(meeting)
    if request.method == "GET":
        data = {
            "recorder": revision.recorder,
            "summary": revision.summary,
            "actions": _action_rows(existing) + [{"lead_unit_id": 0}] * 2,
        }
        form = MinutesForm(data=data, unit_groups=unit_groups)
        stamp(form, revision.version, _snapshot(revision, existing))
    else:
        form = MinutesForm(unit_groups=unit_groups)
    if request.method == "POST" and form.add_row.data:
        form.actions.append_entry({"lead_unit_id": 0})
        form.set_unit_choices(form.actions[-1])
    _set_row_choices(form, existing, allowed)
    discussion = {
        e["item_id"]: request.form.get(f"disc-{e['item_id']}", e.get("html", "")) for e in revision.discussion
    }
    conflict = None
    if request.method == "POST" and form.add_row.data:
        pass  # the page again with one more empty row, nothing saved
    elif form.validate_on_submit():
        conflict = lost_update(form, revision.version, _snapshot(revision, existing))
        if conflict is None:
            rows, errors = _parse_actions(form, existing, allowed)
            if errors:
                form.form_errors.extend(errors)
            elif attempt(
                lambda: svc.save_draft(
                    revision, form.recorder.data, form.summary.data or "", discussion, rows, current_user
                ),
                "纪要草稿已保存。",
                errors=form,
            ):
                return redirect(url_for("minutes.edit", meeting_id=meeting.id))
    return render_template(
        "minutes/edit.html",
        meeting=meeting,
        minutes=minutes,
        revision=revision,
        form=form,
        discussion=discussion,
        conflict=conflict,
        submit_form=SubmitMinutesForm(formdata=None),
        carried_over=svc.carried_over(meeting),
        today=today(),
    )


def _view(
    meeting: Meeting,
    minutes: Minutes,
    revision: MinutesRevision | None,
    manager: bool,
    confirm_form: ConfirmForm | None = None,
    correction_form: CorrectionForm | None = None,
    approve_form: ApproveForm | None = None,
    status: int = 200,
):
    """The minutes page; a form given (after a refused POST) keeps what the user typed."""
    my_confirmation = perm.confirmation_for(current_user, revision) if revision is not None else None
    if confirm_form is None and my_confirmation is not None and revision.is_submitted:
        confirm_form = ConfirmForm(formdata=None)
    return render_template(
        "minutes/view.html",
        meeting=meeting,
        minutes=minutes,
        revision=revision,
        manager=manager,
        can_approve=perm.can_approve_minutes(current_user, meeting),
        can_start=False,
        action_form=Form(),
        confirm_form=confirm_form,
        my_confirmation=my_confirmation,
        correction_form=correction_form or CorrectionForm(formdata=None),
        approve_form=approve_form or ApproveForm(formdata=None),
        unconfirmed=svc.unconfirmed(revision) if revision is not None else ([], []),
        renditions=archive.renditions(revision) if revision is not None else [],
        download_rendition=archive.download(revision)[0]
        if revision is not None and revision.locked
        else None,
        software_labels=archive.SOFTWARE_LABELS,
        actions=svc.snapshot_actions(meeting)
        if revision is None or not revision.locked
        else revision.actions_snapshot,
    ), status


@bp.route("/minutes/start", methods=["POST"])
@login_required
def start(meeting_id: int):
    """Open the minutes of a meeting that has started."""
    meeting = _meeting(meeting_id, for_update=True)
    if not perm.can_manage_meeting(current_user, meeting):
        abort(403)
    if not Form().validate_on_submit():
        abort(400)
    attempt(lambda: svc.start_minutes(meeting, current_user), "已开始记录会议纪要。")
    return redirect(url_for("minutes.edit", meeting_id=meeting_id))


@bp.route("/minutes/submit", methods=["POST"])
@login_required
def submit(meeting_id: int):
    """Submit the draft for approval, optionally asking the attending units to confirm."""
    meeting, minutes = _manage(meeting_id)
    form = SubmitMinutesForm()
    if form.validate_on_submit():
        days = (form.confirm_days.data or 3) if form.ask_confirmation.data else None
        attempt(
            lambda: svc.submit(minutes.current, current_user, days),
            lambda asked: f"纪要已提交签发{f'，已请 {asked} 个出席单位会签' if asked else ''}。",
        )
    else:
        flash("提交失败：" + "；".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("minutes.edit", meeting_id=meeting_id))


@bp.route("/minutes/withdraw", methods=["POST"])
@login_required
def withdraw(meeting_id: int):
    """Take submitted minutes back to draft."""
    meeting, minutes = _manage(meeting_id)
    if not Form().validate_on_submit():
        abort(400)
    attempt(lambda: svc.withdraw(minutes.current, current_user), "纪要已退回草稿，可以继续修改。")
    return redirect(url_for("minutes.edit", meeting_id=meeting_id))


@bp.route("/minutes/approve", methods=["POST"])
@login_required
def approve(meeting_id: int):
    """签发: number the minutes and store the archival PDF."""
    meeting, minutes = _manage(meeting_id)
    if not perm.can_approve_minutes(current_user, meeting):
        abort(403)
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    if attempt(
        lambda: svc.approve(minutes.current, current_user, unconfirmed_ok=form.unconfirmed_ok.data),
        lambda _: f"纪要已签发，编号 {minutes.archive_no}。",
        errors=form.unconfirmed_ok,
    ):
        return redirect(url_for("minutes.edit", meeting_id=meeting_id))
    # Refused: the page again, naming the units whose confirmation is missing.
    meeting, minutes = _manage(meeting_id)
    return _view(meeting, minutes, minutes.current, True, approve_form=form, status=400)


@bp.route("/minutes/confirm", methods=["POST"])
@login_required
def confirm(meeting_id: int):
    """会签: a liaison confirms the minutes for their unit or comments on them."""
    meeting = _meeting(meeting_id)
    minutes = _minutes(meeting)
    if perm.confirmation_for(current_user, minutes.current) is None:
        abort(403)
    form = ConfirmForm()
    if form.validate_on_submit() and attempt(
        lambda: svc.respond(
            minutes.current,
            current_user.unit_id,
            current_user,
            form.decision.data == "confirm",
            form.comment.data or "",
        ),
        "会签意见已提交。",
        errors=form.decision,
    ):
        return redirect(url_for("minutes.edit", meeting_id=meeting_id))
    # Refused: the page again with the comment as typed.
    minutes = _minutes(_meeting(meeting_id))
    return _view(minutes.meeting, minutes, minutes.current, False, confirm_form=form, status=400)


@bp.route("/minutes/correct", methods=["POST"])
@login_required
def correct(meeting_id: int):
    """Start a correction of approved minutes as a new revision."""
    meeting, minutes = _manage(meeting_id)
    form = CorrectionForm()
    if form.validate_on_submit() and attempt(
        lambda: svc.start_correction(minutes, form.reason.data, current_user),
        lambda revision: f"已创建第 {revision.number} 版草稿，原签发版本保留不变。",
        errors=form.reason,
    ):
        return redirect(url_for("minutes.edit", meeting_id=meeting_id))
    # Refused: the page again with the reason as typed.
    meeting, minutes = _manage(meeting_id)
    return _view(meeting, minutes, minutes.current, True, correction_form=form, status=400)


@bp.route("/minutes/revisions/<int:number>")
@login_required
def revision(meeting_id: int, number: int):
    """Read one revision of the minutes."""
    meeting = _meeting(meeting_id)
    minutes = _minutes(meeting)
    rev = _readable_revision(minutes, number)
    return _view(meeting, minutes, rev, perm.can_manage_meeting(current_user, meeting))


def _revision_pdf(meeting: Meeting, minutes: Minutes, rev: MinutesRevision) -> Response:
    name = f"{minutes.archive_no or meeting.title}会议纪要.pdf"
    if rev.status == MinutesStatus.APPROVED:
        # The newest archival rendition whose digests hold (see `flask migrate-archive`).
        _, body = archive.download(rev)
        return download_response(body, "application/pdf", name, inline=True)
    return download_response(svc.render_draft_pdf(rev), "application/pdf", name, inline=True)


@bp.route("/minutes.pdf")
@login_required
def pdf(meeting_id: int):
    """Download the minutes: the stored archival PDF once approved, else a draft with a watermark."""
    meeting = _meeting(meeting_id)
    minutes = _minutes(meeting)
    rev = minutes.approved if not perm.can_read_minutes_drafts(current_user, meeting) else minutes.current
    if rev is None:
        rev = _visible_revision(minutes)
    if rev is None:
        abort(403)  # minutes exist, but only as a draft this user may not read
    return _revision_pdf(meeting, minutes, rev)


@bp.route("/minutes.ofd")
@login_required
def ofd(meeting_id: int):
    """Download the OFD (GB/T 33190) rendition of the approved minutes, made when they were filed."""
    meeting = _meeting(meeting_id)
    minutes = _minutes(meeting)
    rev = minutes.approved
    if rev is None:
        abort(404)
    data = archive.download_ofd(rev)
    if data is None:
        abort(404)  # not filed yet: the OFD is made at filing
    name = f"{minutes.file_no or minutes.archive_no}会议纪要.ofd"
    return download_response(data, "application/ofd", name)


@bp.route("/minutes/revisions/<int:number>.pdf")
@login_required
def revision_pdf(meeting_id: int, number: int):
    """Download one revision as PDF (the stored bytes for an approved one)."""
    meeting = _meeting(meeting_id)
    minutes = _minutes(meeting)
    rev = _readable_revision(minutes, number)
    return _revision_pdf(meeting, minutes, rev)


@panels.dashboard_panel
def dashboard_panel(user):
    """A liaison's pending 会签: minutes their unit is asked to confirm, with the due date."""
    if user.role != Role.LIAISON or not user.unit_id:
        return None
    pending = db.session.scalars(svc.pending_confirmations(user.unit_id)).all()
    if not pending:
        return None
    return "minutes/_dashboard_panel.html", {"pending": pending, "today": today()}


@bp.route("/minutes/revisions/<int:number>/renditions/<int:rendition>.pdf")
@login_required
def rendition_pdf(meeting_id: int, number: int, rendition: int):
    """Download one archival rendition of an approved revision exactly as stored (1: the original)."""
    meeting = _meeting(meeting_id)
    minutes = _minutes(meeting)
    rev = minutes.revision(number)
    if rev is None or rev.status != MinutesStatus.APPROVED:
        abort(404)
    body = archive.rendition_bytes(rev, rendition)
    if body is None:
        abort(404)
    name = f"{minutes.archive_no}会议纪要（第{number}版第{rendition}份存档文件）.pdf"
    return download_response(body, "application/pdf", name, inline=True)
