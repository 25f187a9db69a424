from datetime import date, datetime, timedelta

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from blueprints.meetings import bp
from blueprints.meetings.forms import MeetingForm, ReasonForm, ReplyForm, SeriesForm, TopicForm
from common.dates import SHANGHAI, DateArgError, format_range, local_dt, parse_month
from exports import ics
from models import (
    Area,
    Attendance,
    City,
    Community,
    District,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Reply,
    Role,
    Room,
    Topic,
    Unit,
    UnitCategory,
    db,
)
from models.base import today, utcnow
from services import areas
from services import mail as mailer
from services import meetings as svc
from services import permissions as perm
from services.calendar import has_current_vevent, invite_vevent
from services.minutes import followup_note
from services.places import active_communities, community_options
from services.rooms import pending_requests, rooms_for
from services.scope import convenes, in_scope, visible_streets
from services.series import SeriesRule, create_series, plan_series
from web.concurrency import lost_update, stamp
from web.flow import attempt
from web.forms import Form
from web.pagination import paginate

# --- helpers ------------------------------------------------------------------------


def _filters():
    args = request.args
    kind = args.get("kind", "")
    status = args.get("status", "")
    community = args.get("community", "")
    return {
        "community_id": int(community) if community.isascii() and community.isdigit() else None,
        "street_level": community == "street",
        "kind": MeetingKind(kind) if kind in MeetingKind._value2member_map_ else None,
        "status": MeetingStatus(status) if status in MeetingStatus._value2member_map_ else None,
        "unit_id": args.get("unit", type=int),
    }


def _communities_for(user) -> list[Community]:
    stmt = active_communities(viewer=user)
    if user.role == Role.SECRETARY:
        stmt = stmt.where(Community.id == user.community_id)
    return list(db.session.scalars(stmt))


def _form_context(user, community_id: int | None, area: Area | None = None):
    """Choices for the meeting form: communities, rooms and invitable units (a 片区 meeting:
    hosted by a member community the user speaks for, inviting the whole 片区's units)."""
    if area is not None:
        hosts = perm.area_host_choices(user, area)
        rooms = [r for r in rooms_for(user, None) if r.community_id in {c.id for c in hosts}]
        return hosts, rooms, areas.area_units(area)
    communities = _communities_for(user)
    rooms = rooms_for(user, None)
    units = svc.invitable_units(user, None if user.is_admin else user.community_id)
    return communities, rooms, units


def _level_of(user) -> City | District | None:
    """The district or city at which an observer convenes joint meetings (四级联动)."""
    level = convenes(user)
    if level is None:
        return None
    return db.session.get(District if level[0] == "district" else City, level[1])


def _street_places(user, communities: list[Community]):
    """The communities a street-level meeting may invite (an admin's form), as place choices."""
    return ((), communities) if perm.can_host_street_meeting(user) else None


def _convener_label(user) -> str:
    """ "区级" or "市级" for an observer who convenes at that level, else ""."""
    level = convenes(user)
    return "" if level is None else ("区级" if level[0] == "district" else "市级")


def _level_context(user):
    """Choices for a meeting convened above the street: every meeting room, unit, street and
    community below the convener."""
    rooms = rooms_for(user, None)
    units = svc.invitable_units(user, None)
    streets = visible_streets(user)
    communities = list(db.session.scalars(active_communities(viewer=user)))
    return rooms, units, (streets, communities)


def _area_arg() -> Area | None:
    """The 片区 of a new meeting (?area=ID), if the user may convene one there."""
    area_id = request.args.get("area", type=int)
    if not area_id:
        return None
    area = db.session.get(Area, area_id)
    if area is None:
        abort(404)
    if not perm.can_convene_area(current_user, area):
        abort(403)
    return area


def _load(meeting_id: int, for_update: bool = False, page: bool = True) -> Meeting:
    """The meeting (404) if the user may see it (403); page=False: without what its page shows."""
    meeting = (
        svc.load_meeting(meeting_id, for_update=for_update) if page else db.session.get(Meeting, meeting_id)
    )
    if meeting is None:
        abort(404)
    if not perm.can_view_meeting(current_user, meeting):
        # Another street's meeting does not exist for the user.
        abort(403 if in_scope(current_user, meeting.street_id) else 404)
    return meeting


def _manage(meeting_id: int) -> Meeting:
    meeting = _load(meeting_id, for_update=True)
    if not perm.can_manage_meeting(current_user, meeting):
        abort(403)
    return meeting


def _snapshot(meeting: Meeting) -> dict[str, str]:
    """What an editor sees, as labelled text, to say what someone else changed."""
    return {
        "会议名称": meeting.title,
        "会议类型": meeting.kind.label,
        "时间": format_range(meeting.start_at, meeting.end_at),
        "会议室": meeting.room.name,
        "会议说明": meeting.description,
        "议程": "；".join(f"{i.title}（{i.minutes}分钟）" for i in meeting.agenda_items),
        "邀请单位": "、".join(sorted(inv.unit.name for inv in meeting.invitations)),
    }


def _invited(form, units: list[Unit]) -> set[int]:
    """The units the invitation pickers come to (templates/meetings/_invite_pickers.html)."""
    return svc.units_for_invitation(
        form.units.data or [],
        [c for c in form.invite_community.data or [] if c],
        [UnitCategory(c) for c in form.invite_category.data or [] if c in UnitCategory._value2member_map_],
        units,
        form.invite_exclude.data or [],
    )


def _form_data(
    form: MeetingForm, units: list[Unit], user, area: Area | None = None, level=None
) -> svc.MeetingData:
    start = local_dt(form.day.data, form.start_time.data)
    end = local_dt(form.day.data, form.end_time.data)
    deadline = form.topic_deadline.data.replace(tzinfo=SHANGHAI) if form.topic_deadline.data else None
    rows = []
    unit_ids = {u.id for u in units}
    for entry in form.agenda:
        title = (entry.title.data or "").strip()
        if not title:
            continue
        presenter = entry.presenter_unit_id.data or None
        rows.append(
            svc.AgendaRow(
                title=title,
                presenter_unit_id=presenter if presenter in unit_ids else None,
                minutes=entry.minutes.data or 10,
                topic_id=int(entry.topic_id.data)
                if (entry.topic_id.data or "").isascii() and (entry.topic_id.data or "").isdigit()
                else None,
                is_followup=entry.is_followup.data == "1",
            )
        )
    invited = _invited(form, units)
    community_id = form.community_id.data or None
    if user.role == Role.SECRETARY:
        community_id = user.community_id
    return svc.MeetingData(
        kind=MeetingKind(form.kind.data),
        title=form.title.data,
        description=form.description.data or "",
        community_id=community_id,
        room_id=form.room_id.data,
        start_at=start,
        end_at=end,
        topic_deadline=deadline,
        agenda=rows,
        unit_ids=invited,
        area_id=area.id if area is not None else None,
        district_id=level.id if isinstance(level, District) else None,
        city_id=level.id if isinstance(level, City) else None,
        place_street_ids=_picked(form.invite_streets) if level is not None else set(),
        # Offered to admins and conveners; the service refuses them for a community's meeting.
        place_community_ids=_picked(form.invite_communities),
    )


def _picked(field) -> set[int]:
    """The checked boxes of a CheckboxList that are among its choices."""
    offered = {value for value, _ in field.choices}
    return {i for i in (field.data or []) if i in offered}


def _initial(meeting: Meeting) -> dict:
    start, end = meeting.start_at.astimezone(SHANGHAI), meeting.end_at.astimezone(SHANGHAI)
    rows = [
        {
            "title": i.title,
            "presenter_unit_id": i.presenter_unit_id or 0,
            "minutes": i.minutes,
            "topic_id": str(i.topic_id or ""),
            "is_followup": "1" if i.is_followup else "",
        }
        for i in meeting.agenda_items
    ]
    rows += [{"title": "", "presenter_unit_id": 0, "minutes": 10}] * 2
    return {
        "kind": meeting.kind.value,
        "title": meeting.title,
        "community_id": meeting.community_id or 0,
        "room_id": meeting.room_id,
        "day": start.date(),
        "start_time": start.time(),
        "end_time": end.time(),
        "topic_deadline": meeting.topic_deadline.astimezone(SHANGHAI).replace(tzinfo=None)
        if meeting.topic_deadline
        else None,
        "description": meeting.description,
        "agenda": rows,
        "units": [inv.unit_id for inv in meeting.invitations],
        "invite_streets": [p.street_id for p in meeting.invited_places if p.street_id],
        "invite_communities": [p.community_id for p in meeting.invited_places if p.community_id],
    }


def _check_scope(form: MeetingForm, user, rooms: list[Room]) -> bool:
    """The room must belong to the host community (any community room for a street meeting)."""
    room = next((r for r in rooms if r.id == form.room_id.data), None)
    if room is None:
        form.room_id.errors.append("请选择有效的会议室。")
        return False
    host = form.community_id.data or None
    if user.role == Role.SECRETARY:
        host = user.community_id
    if host and room.community_id != host:
        form.room_id.errors.append("社区会议请选择本社区的共驻共建会议室。")
        return False
    return True


# --- list and calendar -----------------------------------------------------------------


@bp.route("")
@login_required
def index():
    """List meetings with filters."""
    filters = _filters()
    upcoming = request.args.get("when", "upcoming")
    now = utcnow()
    stmt = svc.meeting_list_rows(current_user, **filters)
    if upcoming == "upcoming":
        stmt = stmt.where(Meeting.end_at >= now - timedelta(hours=12))
    elif upcoming == "past":
        stmt = (
            stmt.where(Meeting.end_at < now)
            .order_by(None)
            .order_by(Meeting.start_at.desc(), Meeting.id.desc())
        )
    pagination = paginate(stmt, per_page=current_app.config["MEETINGS_PER_PAGE"], rows=True)
    communities = community_options(current_user)
    return render_template(
        "meetings/index.html",
        pagination=pagination,
        filters=filters,
        when=upcoming,
        communities=communities,
        unit=_filter_unit(filters["unit_id"]),
        convener_label=_convener_label(current_user),
        convenable_areas=[
            a for a in areas.visible_areas(current_user) if perm.can_convene_area(current_user, a)
        ],
    )


def _filter_unit(unit_id: int | None) -> Unit | None:
    """The unit a list is filtered by, if the user sees its street (another's is not named)."""
    unit = db.session.get(Unit, unit_id) if unit_id else None
    return unit if unit is not None and in_scope(current_user, unit.street_id) else None


@bp.route("/calendar")
@login_required
def calendar():
    """Show a month of meetings as a calendar."""
    try:
        first = parse_month(request.args.get("month"))
    except DateArgError as exc:
        flash(f"{exc}已显示本月。", "warning")
        first = None
    if first is None:
        first = today().replace(day=1)
    weeks = svc.month_grid(first.year, first.month)
    start = local_dt(weeks[0][0], datetime.min.time())
    end = local_dt(weeks[-1][-1] + timedelta(days=1), datetime.min.time())
    filters = _filters()
    meetings = db.session.scalars(svc.meetings_query(current_user, start=start, end=end, **filters)).all()
    by_day: dict[date, list[Meeting]] = {}
    for m in meetings:
        by_day.setdefault(m.start_at.astimezone(SHANGHAI).date(), []).append(m)
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    communities = community_options(current_user)
    return render_template(
        "meetings/calendar.html",
        weeks=weeks,
        first=first,
        by_day=by_day,
        prev_month=prev_month,
        next_month=next_month,
        filters=filters,
        communities=communities,
        today=today(),
    )


# --- one meeting ---------------------------------------------------------------------------


@bp.route("/<int:meeting_id>")
@login_required
def detail(meeting_id: int):
    """Show a meeting: agenda, invitations and replies, attendance, topics and downloads."""
    return _detail_page(_load(meeting_id))


def _detail_page(meeting: Meeting, reply_form=None, topic_form=None, sign_in=None, status: int = 200):
    """The meeting page; a form given (after a refused POST) keeps what the user typed."""
    now = utcnow()
    invitation = perm.invitation_for(current_user, meeting)
    if reply_form is None and perm.can_reply(current_user, meeting):
        reply_form = ReplyForm(
            formdata=None,
            data={
                "reply": invitation.reply.value if invitation.reply != Reply.PENDING else None,
                "reason": invitation.reply_reason,
                "delegate_name": invitation.delegate_name,
                "delegate_post": invitation.delegate_post,
            },
        )
    if topic_form is None and perm.can_submit_topic(current_user, meeting, now):
        topic_form = TopicForm(formdata=None)
    manager = perm.can_manage_meeting(current_user, meeting)
    rates = svc.attendance_rates(inv.unit_id for inv in meeting.invitations) if manager else {}
    return render_template(
        "meetings/detail.html",
        meeting=meeting,
        followup=followup_note(meeting, counted=False) if manager else None,
        invitation=invitation,
        reply_form=reply_form,
        topic_form=topic_form,
        manager=manager,
        now=now,
        replies=svc.summarise_replies(meeting),
        Attendance=Attendance,
        Reply=Reply,
        reason_form=ReasonForm(formdata=None),
        action_form=Form(formdata=None),
        rates=rates,
        my_topics=[t for t in meeting.topics if invitation and t.unit_id == invitation.unit_id],
        sign_in=sign_in
        or {
            inv.id: svc.SignIn(inv.signed_in_as, inv.delegate_name, inv.delegate_post)
            for inv in meeting.invitations
        },
        sign_in_marks=svc.SIGN_IN_MARKS,
    ), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Schedule a meeting (saved as a draft)."""
    if not perm.can_create_meeting(current_user):
        abort(403)
    level = _level_of(current_user)
    if level is not None:
        rooms, units, places = _level_context(current_user)
        form = MeetingForm(rooms=rooms, units=units, level=level, places=places)
        return _save(form, None, units, rooms, level=level)
    area = _area_arg()
    communities, rooms, units = _form_context(current_user, None, area)
    form = MeetingForm(
        communities=communities,
        rooms=rooms,
        units=units,
        allow_street=perm.can_host_street_meeting(current_user) and area is None,
        places=_street_places(current_user, communities) if area is None else None,
    )
    if request.method == "GET":
        form.community_id.data = current_user.community_id or (communities[0].id if communities else 0)
        if rooms:
            form.room_id.data = next(
                (r.id for r in rooms if r.community_id == current_user.community_id), rooms[0].id
            )
    return _save(form, None, units, rooms, area)


@bp.route("/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit(meeting_id: int):
    """Edit a meeting until it is held; a stale form is refused with what changed."""
    meeting = _manage(meeting_id) if request.method == "POST" else _load(meeting_id)
    if not perm.can_manage_meeting(current_user, meeting):
        abort(403)
    if not meeting.editable:
        flash(f"“{meeting.status.label}”的会议不能再修改。", "warning")
        return redirect(url_for("meetings.detail", meeting_id=meeting.id))
    level, places = meeting.convener, None
    if level is not None:
        communities = []
        rooms, units, places = _level_context(current_user)
    else:
        communities, rooms, units = _form_context(current_user, meeting.community_id, meeting.area)
        places = _street_places(current_user, communities) if meeting.area is None else None
    options = dict(
        communities=communities,
        rooms=rooms,
        units=units,
        allow_street=perm.can_host_street_meeting(current_user),
        level=level,
        places=places,
    )
    if request.method == "GET":
        form = MeetingForm(data=_initial(meeting), **options)
        stamp(form, meeting.version, _snapshot(meeting))
    else:
        form = MeetingForm(**options)
    return _save(form, meeting, units, rooms, level=level)


def _save(form: MeetingForm, meeting: Meeting | None, units, rooms, area: Area | None = None, level=None):
    """Add an agenda row, refuse a stale form with what changed, or save the meeting (None: a new one)."""
    conflict = None
    if request.method == "POST" and form.add_row.data:
        form.agenda.append_entry({"title": "", "presenter_unit_id": 0, "minutes": 10})
        form.agenda[-1].presenter_unit_id.choices = form.agenda[0].presenter_unit_id.choices
    elif form.validate_on_submit() and _check_scope(form, current_user, rooms):
        mark = mailer.outbox_mark()
        if meeting is not None:
            conflict = lost_update(form, meeting.version, _snapshot(meeting))
        if conflict is None:
            outcome = attempt(
                lambda: svc.save_meeting(
                    meeting, _form_data(form, units, current_user, area, level), current_user
                ),
                "会议已保存为草稿，确认无误后请发布。" if meeting is None else None,
                errors=form,
            )
            if outcome:
                saved = outcome.value
                if meeting is not None:
                    _flash_mail(saved, mark, "会议已保存。", "通知", everyone=False)
                elif note := followup_note(saved):
                    flash(note, "info")
                _warn_pending_requests(saved)
                return redirect(url_for("meetings.detail", meeting_id=saved.id))
    pending = pending_requests([r.id for r in rooms], utcnow(), limit=20)
    return render_template(
        "meetings/form.html",
        form=form,
        meeting=meeting,
        conflict=conflict,
        pending_requests=pending,
        area=area if meeting is None else meeting.area,
        level=level,
    )


def _warn_pending_requests(meeting: Meeting) -> None:
    """Say which booking requests for the room the meeting now overlaps: they can no longer be approved."""
    overlapping = pending_requests([meeting.room_id], meeting.start_at, meeting.end_at)
    if not overlapping:
        return
    names = "；".join(f"{b.requester_name}（{format_range(b.start_at, b.end_at)}）" for b in overlapping)
    flash(
        f"该时段还有 {len(overlapping)} 项待审批的会议室预约申请：{names}。"
        "会议占用后这些申请将无法同意，请到“我的预约 · 待我审批”中答复申请单位。",
        "warning",
    )


def _flash_mail(meeting: Meeting, mark: int, done: str, what: str, everyone: bool) -> None:
    """Say what was done and what became of the mail it queued: sent, queued, or waiting and why.

    `everyone`: the change mails every invited unit, so units without an address are named.
    """
    outcome = mailer.delivery_outcome(meeting.id, mark)
    unreachable = [inv.unit.name for inv in meeting.invitations if not inv.unit.liaison_email.strip()]
    category = "success"
    if outcome.queued == 0:
        text = done
    elif outcome.waiting == "thread":
        text = f"{done}{what}邮件（{outcome.queued} 封）已加入发送队列，将在后台发出。"
    elif outcome.waiting in ("no_server", "off"):
        why = "系统未配置邮件服务器" if outcome.waiting == "no_server" else "邮件发送已关闭"
        text = f"{done}{what}邮件（{outcome.queued} 封）已保存在发件箱，但尚未发出：{why}。"
        if not perm.can_view_outbox(current_user):
            text += "请联系系统管理员。"
        category = "warning"
    elif outcome.failed:
        text = (
            f"{done}{what}邮件 {outcome.queued} 封中 {outcome.sent} 封已发出，"
            f"{outcome.failed} 封发送失败，系统会自动重试。"
        )
        category = "warning"
    else:
        text = f"{done}{what}已发送给 {outcome.sent} 个受邀单位的联络员。"
    if everyone and unreachable:
        names = "、".join(unreachable)
        if outcome.queued:
            text += f"另有 {len(unreachable)} 个受邀单位未登记联络员邮箱，未能通知：{names}。"
        else:
            text += f"受邀单位均未登记联络员邮箱，没有发出{what}邮件，请另行通知：{names}。"
        category = "warning"
    message = Markup("{}").format(text)
    if outcome.queued and perm.can_view_outbox(current_user):
        message += Markup(' <a href="{}">查看邮件发送</a>').format(url_for("admin.outbox"))
    flash(message, category)


@bp.route("/<int:meeting_id>/publish", methods=["POST"])
@login_required
def publish(meeting_id: int):
    """Publish a draft meeting and send the invitations."""
    meeting = _manage(meeting_id)
    if not Form().validate_on_submit():
        abort(400)
    mark = mailer.outbox_mark()
    if attempt(lambda: svc.publish(meeting, current_user)):
        _flash_mail(meeting, mark, "会议已发布。", "会议邀请", everyone=True)
    return redirect(url_for("meetings.detail", meeting_id=meeting_id))


@bp.route("/<int:meeting_id>/cancel", methods=["POST"])
@login_required
def cancel(meeting_id: int):
    """Cancel a meeting with a reason."""
    meeting = _manage(meeting_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash("取消会议请填写原因。", "error")
        return redirect(url_for("meetings.detail", meeting_id=meeting_id))
    was_published = meeting.status == MeetingStatus.SCHEDULED
    mark = mailer.outbox_mark()
    if attempt(lambda: svc.cancel(meeting, form.reason.data, current_user)):
        if was_published:
            _flash_mail(meeting, mark, "会议已取消。", "取消通知", everyone=True)
        else:
            flash("会议已取消。这份草稿没有发布过，受邀单位不会收到通知。", "success")
    return redirect(url_for("meetings.detail", meeting_id=meeting_id))


@bp.route("/<int:meeting_id>/held", methods=["POST"])
@login_required
def mark_held(meeting_id: int):
    """Mark a meeting as held."""
    meeting = _manage(meeting_id)
    if not Form().validate_on_submit():
        abort(400)
    attempt(lambda: svc.mark_held(meeting, current_user), "会议已标记为已召开。")
    return redirect(url_for("meetings.detail", meeting_id=meeting_id))


@bp.route("/<int:meeting_id>/reply", methods=["POST"])
@login_required
def reply(meeting_id: int):
    """Answer an invitation for my unit."""
    meeting = _load(meeting_id)
    invitation = perm.invitation_for(current_user, meeting)
    if invitation is None:
        abort(403)
    form = ReplyForm()
    if form.validate_on_submit() and attempt(
        lambda: svc.reply(
            invitation,
            Reply(form.reply.data),
            form.reason.data or "",
            form.delegate_name.data or "",
            form.delegate_post.data or "",
            current_user,
        ),
        "回复已提交。",
        errors=form.reply,
    ):
        return redirect(url_for("meetings.detail", meeting_id=meeting_id))
    # Refused: the page again, with the answer as typed and the reasons beside the fields.
    flash("回复未提交，请按提示修改。", "error")
    return _detail_page(_load(meeting_id), reply_form=form, status=400)


@bp.route("/<int:meeting_id>/attendance", methods=["POST"])
@login_required
def attendance(meeting_id: int):
    """Sign units in, or mark them absent with or without leave."""
    meeting = _manage(meeting_id)
    if not Form().validate_on_submit():
        abort(400)
    marks = {}
    for inv in meeting.invitations:
        value = request.form.get(f"att-{inv.id}", "")
        if value in svc.SIGN_IN_MARKS:
            marks[inv.id] = svc.SignIn(
                value,
                request.form.get(f"att-{inv.id}-delegate_name", ""),
                request.form.get(f"att-{inv.id}-delegate_post", ""),
            )
    if not attempt(
        lambda: svc.set_attendance(meeting, marks, current_user),
        lambda changed: f"签到已保存（{changed} 个单位有变化）。",
        errors=lambda message: flash(f"签到未保存：{message}", "error"),
    ):
        # Refused: the sheet again, as the secretary filled it in, with the reason on top.
        return _detail_page(_load(meeting_id), sign_in=marks, status=400)
    return redirect(url_for("meetings.detail", meeting_id=meeting_id) + "#attendance")


@bp.route("/<int:meeting_id>/topics", methods=["POST"])
@login_required
def submit_topic(meeting_id: int):
    """Propose a topic for the agenda (invited units, before the deadline)."""
    meeting = _load(meeting_id)
    invitation = perm.invitation_for(current_user, meeting)
    if invitation is None:
        abort(403)
    form = TopicForm()
    if form.validate_on_submit():
        attempt(
            lambda: svc.submit_topic(
                meeting,
                invitation.unit,
                current_user,
                form.title.data,
                form.detail.data or "",
                form.cooperation.data or "",
            ),
            "议题已提交，社区审核后会在这里显示结果。",
        )
        return redirect(url_for("meetings.detail", meeting_id=meeting_id) + "#topics")
    # Refused: the page again with the topic as typed, nothing lost.
    flash("议题未提交，请按提示修改。", "error")
    return _detail_page(_load(meeting_id), topic_form=form, status=400)


def _topic(meeting: Meeting, topic_id: int) -> Topic:
    topic = next((t for t in meeting.topics if t.id == topic_id), None)
    if topic is None:
        abort(404)
    return topic


@bp.route("/<int:meeting_id>/topics/<int:topic_id>/accept", methods=["POST"])
@login_required
def accept_topic(meeting_id: int, topic_id: int):
    """Put a proposed topic on the agenda."""
    meeting = _manage(meeting_id)
    topic = _topic(meeting, topic_id)
    if not Form().validate_on_submit():
        abort(400)
    attempt(lambda: svc.accept_topic(topic, current_user), f"议题“{topic.title}”已列入议程。")
    return redirect(url_for("meetings.detail", meeting_id=meeting_id) + "#topics")


@bp.route("/<int:meeting_id>/topics/<int:topic_id>/decline", methods=["POST"])
@login_required
def decline_topic(meeting_id: int, topic_id: int):
    """Decline a proposed topic with a reason the unit will see."""
    meeting = _manage(meeting_id)
    topic = _topic(meeting, topic_id)
    form = ReasonForm()
    if form.validate_on_submit():
        attempt(lambda: svc.decline_topic(topic, form.reason.data, current_user), "已答复该议题不予采纳。")
    else:
        flash("请填写不予采纳的原因。", "error")
    return redirect(url_for("meetings.detail", meeting_id=meeting_id) + "#topics")


@bp.route("/<int:meeting_id>/invite.ics")
@login_required
def invite(meeting_id: int):
    """Download the meeting's invite (REQUEST, or CANCEL once cancelled)."""
    # Only the meeting: a current cached VEVENT needs none of its agenda, invitations or topics
    # (a liaison's own invitation loads lazily). A stale one is rendered from all of them,
    # loaded in a fixed number of statements.
    meeting = _load(meeting_id, page=False)
    if not has_current_vevent(meeting):
        meeting = _load(meeting_id)
    # No write in a GET: a stale cache is rendered for this response, not stored.
    body = ics.invite_ics(meeting, invite_vevent(meeting, current_user))
    method = "CANCEL" if meeting.is_cancelled else "REQUEST"
    resp = Response(body, mimetype="text/calendar")
    resp.headers["Content-Type"] = f"text/calendar; charset=utf-8; method={method}"
    resp.headers["Content-Disposition"] = f'attachment; filename="meeting-{meeting.id}.ics"'
    return resp


# --- series --------------------------------------------------------------------------------


def _series_rule(form: SeriesForm) -> SeriesRule:
    rule = form.rule.data
    return SeriesRule(
        rule="weekly" if rule == "weekly" else "monthly_nth",
        interval=(form.interval.data or 1) if rule == "weekly" else (3 if rule == "quarterly" else 1),
        weekday=form.weekday.data,
        nth=form.nth.data if rule != "weekly" else None,
        start_time=form.start_time.data,
        duration_minutes=form.duration.data,
        first_date=form.first_date.data,
        until=form.until.data,
    )


@bp.route("/series/new", methods=["GET", "POST"])
@login_required
def series_new():
    """Plan a regular series; clashes are listed before anything is saved."""
    if not perm.can_plan_series(current_user):
        abort(403)
    communities, rooms, units = _form_context(current_user, None)
    form = SeriesForm(
        communities=communities,
        rooms=rooms,
        units=units,
        allow_street=perm.can_host_street_meeting(current_user),
    )
    if request.method == "GET":
        form.community_id.data = current_user.community_id or (communities[0].id if communities else 0)
        local_today = today()
        form.first_date.data = local_today
        form.until.data = local_today.replace(year=local_today.year + 1)
        form.start_time.data = datetime.strptime("15:00", "%H:%M").time()
    plan = None
    if form.validate_on_submit() and _check_scope(form, current_user, rooms):
        rule = _series_rule(form)
        plan = plan_series(rule, form.room_id.data)
        if not plan:
            form.form_errors.append("这段时间内没有符合规则的日期，请调整。")
            plan = None
        elif "confirm" in request.form:
            return _series_confirm(form, rule, plan, units)
    return _series_page(form, plan, rooms)


def _series_page(form: SeriesForm, plan, rooms: list[Room] | None = None):
    rooms = rooms if rooms is not None else rooms_for(current_user, None)
    pending = pending_requests([r.id for r in rooms], utcnow(), limit=20)
    return render_template("meetings/series.html", form=form, plan=plan, pending_requests=pending)


def _series_confirm(form: SeriesForm, rule: SeriesRule, plan, units):
    """Create the occurrences as the secretary decided: keep, skip or move each one."""
    starts = []
    errors = []
    duration = timedelta(minutes=rule.duration_minutes)
    for i, occ in enumerate(plan):
        action = request.form.get(f"occ-{i}-action", "")
        if action == "skip":
            continue
        if action == "move":
            raw = request.form.get(f"occ-{i}-start", "")
            try:
                start = datetime.strptime(raw, "%Y-%m-%dT%H:%M").replace(tzinfo=SHANGHAI)
            except ValueError:
                errors.append(f"第 {i + 1} 次会议的改期时间无效。")
                continue
        elif action == "keep":
            if occ.clash:
                errors.append(f"第 {i + 1} 次会议与“{occ.clash.title}”冲突，请选择跳过或改期。")
                continue
            start = occ.start_at
        else:
            errors.append(f"请为第 {i + 1} 次会议选择保留、跳过或改期。")
            continue
        if start <= utcnow():
            errors.append(f"第 {i + 1} 次会议的时间已过，请跳过或改期。")
            continue
        if any(s < start + duration and start < s + duration for s in starts):
            errors.append(f"第 {i + 1} 次会议与本系列另一次会议时间重叠。")
            continue
        starts.append(start)
    if not starts and not errors:
        errors.append("至少保留一次会议。")
    if errors:
        form.form_errors.extend(errors)
        return _series_page(form, plan)
    unit_ids = _invited(form, units)
    community_id = (
        current_user.community_id if current_user.role == Role.SECRETARY else (form.community_id.data or None)
    )
    created = attempt(
        lambda: create_series(
            rule,
            form.title.data,
            MeetingKind.REGULAR,
            community_id,
            form.room_id.data,
            unit_ids,
            starts,
            current_user,
        ),
        lambda series: f"已创建系列“{series.title}”的 {len(starts)} 次会议（草稿），请逐次完善议程后发布。",
        errors=lambda message: form.form_errors.append(f"保存时发现新的冲突：{message} 请重新预览。"),
    )
    if not created:
        return _series_page(form, plan_series(rule, form.room_id.data))
    return redirect(url_for("meetings.index", community=community_id or "street"))
