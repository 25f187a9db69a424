"""Views of the resource catalogue (资源清单), community rooms and bookings (预约)."""

from __future__ import annotations

from types import SimpleNamespace

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from blueprints.resources import bp
from blueprints.resources.forms import BookingForm, DeclineForm, ResourceForm, RoomForm
from common.dates import SHANGHAI, format_range
from models import Booking, BookingStatus, Community, Resource, ResourceKind, Room, Street, Visibility, db
from services import permissions as perm
from services import resources as svc
from services import rooms as rooms_svc
from services.places import community_options
from services.scope import in_scope
from web import panels
from web.concurrency import field_values, lost_update, stamp
from web.flow import attempt
from web.forms import Form
from web.pagination import paginate

FIELD_LABELS = {
    "kind": "资源类别",
    "title": "资源名称",
    "description": "资源说明",
    "capacity": "容纳人数",
    "quantity": "数量",
    "availability": "开放时间说明",
    "available_from": "开放起始日期",
    "available_until": "开放截止日期",
    "conditions": "使用条件",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "visibility": "可见范围",
    "bookable": "开放预约",
    "opens_at": "每天开放",
    "closes_at": "关闭",
    "open_days": "开放日",
    "overnight": "允许跨午夜使用",
    "owner_name": "提供单位",
}
TABS = {"todo": "待我审批", "mine": "我的申请", "received": "收到的预约", "all": "全部预约"}


# --- helpers ----------------------------------------------------------------------------------


def _filters() -> svc.CatalogueFilters:
    """Read the catalogue's search and filters, ignoring invalid values."""
    args = request.args
    kind = args.get("kind", "")
    return svc.CatalogueFilters(
        q=args.get("q", "")[:100].strip(),
        kind=ResourceKind(kind) if kind in ResourceKind._value2member_map_ else None,
        community_id=args.get("community", type=int),
        owner_unit_id=args.get("owner", type=int),
        bookable=args.get("bookable") == "1",
        inactive=args.get("inactive") == "1",
    )


def _load_resource(resource_id: int) -> Resource:
    resource = db.session.scalar(
        select(Resource)
        .where(Resource.id == resource_id)
        .options(
            joinedload(Resource.owner_unit),
            joinedload(Resource.owner_community),
            joinedload(Resource.community),
        )
    )
    if resource is None or not in_scope(current_user, resource.street_id):
        abort(404)
    if not perm.can_view_resource(current_user, resource):
        abort(403)
    return resource


def _editable(resource_id: int) -> Resource:
    resource = _load_resource(resource_id)
    if not perm.can_edit_resource(current_user, resource):
        abort(403)
    return resource


def _load_room(room_id: int) -> Room:
    room = db.session.scalar(
        select(Room).where(Room.id == room_id).options(joinedload(Room.community), joinedload(Room.unit))
    )
    if room is None or not in_scope(current_user, room.street_id):
        abort(404)
    return room


def _load_booking(booking_id: int) -> Booking:
    booking = svc.load_booking(booking_id)
    if booking is None or not in_scope(current_user, perm.booking_street_id(booking)):
        abort(404)
    if not perm.can_view_booking(current_user, booking):
        abort(403)
    return booking


def _range(form: BookingForm):
    """The form's Beijing wall-clock times as aware datetimes."""
    return form.start_at.data.replace(tzinfo=SHANGHAI), form.end_at.data.replace(tzinfo=SHANGHAI)


def _data(form: ResourceForm) -> dict:
    data = {k: form.data[k] for k in svc.RESOURCE_FIELDS}
    data["kind"] = ResourceKind(data["kind"])
    data["visibility"] = Visibility(data["visibility"])
    for key in ("description", "quantity", "availability", "conditions", "contact_name", "contact_phone"):
        data[key] = data[key] or ""
    data["open_days"] = form.open_days.stored
    return data


# --- catalogue --------------------------------------------------------------------------------


@bp.route("/resources")
@login_required
def index():
    """List the resources shared with the viewer, with filters and pagination."""
    f = _filters()
    stmt, params = svc.catalogue_query(current_user, f)
    pagination = paginate(
        stmt,
        per_page=current_app.config.get("RESOURCES_PER_PAGE", 20),
        rows=True,
        params=params,
    )
    communities = community_options(current_user)
    owners = svc.owners_with_resources(current_user)
    return render_template(
        "resources/index.html",
        pagination=pagination,
        f=f,
        communities=communities,
        owners=owners,
        ResourceKind=ResourceKind,
    )


@bp.route("/resources/new", methods=["GET", "POST"])
@login_required
def create():
    """Publish a new resource for one's unit (a secretary: their community or its units)."""
    if not perm.can_create_resource(current_user):
        abort(403)
    owners = svc.owner_choices(current_user)
    form = ResourceForm(owners=owners)
    if request.method == "GET":
        wanted = request.args.get("owner", "")
        if any(key == wanted for key, _ in owners):
            form.owner.data = wanted
    if form.validate_on_submit():
        published = attempt(
            lambda: svc.save_resource(None, form.owner.data, _data(form), current_user),
            lambda resource: f"已发布资源“{resource.title}”。",
            errors=form.bookable,
        )
        if published:
            return redirect(url_for("resources.detail", resource_id=published.value.id))
    return render_template("resources/form.html", form=form, resource=None, conflict=None), (
        400 if form.errors else 200
    )


@bp.route("/resources/<int:resource_id>")
@login_required
def detail(resource_id: int):
    """Show a resource, its coming bookings and, for units that may ask, the booking form."""
    resource = _load_resource(resource_id)
    return _detail_page(resource, BookingForm() if perm.can_book(current_user, resource=resource) else None)


def _detail_page(resource: Resource, form: BookingForm | None, status: int = 200):
    upcoming = svc.upcoming_for(resource=resource)
    return render_template(
        "resources/detail.html",
        resource=resource,
        upcoming=upcoming,
        clashing=svc.clashing_pending(upcoming),
        form=form,
        editor=perm.can_edit_resource(current_user, resource),
    ), status


@bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@login_required
def edit(resource_id: int):
    """Edit a resource (its owner unit's liaison, its community's secretary, or admin)."""
    resource = _editable(resource_id)
    owners = svc.owner_choices(current_user)
    current_owner = svc.owner_key(resource)
    if not any(key == current_owner for key, _ in owners):
        owners = [(current_owner, resource.owner_name)] + owners
    form = ResourceForm(obj=resource, owners=owners)
    fields = (*svc.RESOURCE_FIELDS, "owner_name")
    conflict = None
    if request.method == "GET":
        form.owner.data = current_owner
        form.kind.data = resource.kind.value
        form.visibility.data = resource.visibility.value
        stamp(form, resource.version, field_values(resource, fields))
    elif form.validate_on_submit():
        conflict = lost_update(form, resource.version, field_values(resource, fields), FIELD_LABELS)
        if conflict is None and attempt(
            lambda: svc.save_resource(resource, form.owner.data, _data(form), current_user),
            "资源信息已保存。",
            errors=form.bookable,
        ):
            return redirect(url_for("resources.detail", resource_id=resource.id))
    status = 409 if conflict is not None else (400 if form.errors else 200)
    return render_template("resources/form.html", form=form, resource=resource, conflict=conflict), status


@bp.route("/resources/<int:resource_id>/deactivate", methods=["POST"])
@login_required
def deactivate(resource_id: int):
    """Take a resource off the catalogue; its pending requests are declined."""
    resource = _editable(resource_id)
    if not Form().validate_on_submit():
        abort(400)
    if resource.active:
        attempt(
            lambda: svc.set_active(resource, False, current_user),
            lambda declined: (
                f"资源“{resource.title}”已停用，不再出现在资源清单中。"
                + (f"{declined} 项待审批的预约申请已自动退回。" if declined else "")
            ),
        )
    return redirect(url_for("resources.detail", resource_id=resource.id))


@bp.route("/resources/<int:resource_id>/activate", methods=["POST"])
@login_required
def activate(resource_id: int):
    """Put a deactivated resource back in the catalogue."""
    resource = _editable(resource_id)
    if not Form().validate_on_submit():
        abort(400)
    if not resource.active:
        attempt(lambda: svc.set_active(resource, True, current_user), f"资源“{resource.title}”已重新启用。")
    return redirect(url_for("resources.detail", resource_id=resource.id))


def _submit_booking(form: BookingForm, message: str, **target) -> Booking | None:
    """File a booking request from the form; a clash or a rule comes back as the form's error."""
    if not form.validate_on_submit():
        return None
    start, end = _range(form)
    requested = attempt(
        lambda: svc.request_booking(current_user, start, end, form.purpose.data, **target),
        message.replace("{range}", format_range(start, end)),
        errors=form.start_at,
    )
    return requested.value


@bp.route("/resources/<int:resource_id>/book", methods=["POST"])
@login_required
def book(resource_id: int):
    """Request a bookable resource for a time range."""
    resource = _load_resource(resource_id)
    if not perm.can_request_booking(current_user):
        abort(403)
    form = BookingForm()
    message = "已提交预约申请（{range}），请等待" + resource.owner_name + "审批。"
    booking = _submit_booking(form, message, resource=resource)
    if booking is not None:
        return redirect(url_for("resources.booking", booking_id=booking.id))
    return _detail_page(_load_resource(resource_id), form, 400)


# --- rooms ------------------------------------------------------------------------------------


@bp.route("/rooms")
@login_required
def rooms():
    """List the community meeting rooms and venues that can be booked."""
    return render_template(
        "resources/rooms.html", rooms=db.session.scalars(svc.bookable_rooms(current_user)).all()
    )


def _room_page(room: Room, form: BookingForm | None, status: int = 200):
    upcoming = svc.upcoming_for(room=room)
    return render_template(
        "resources/room.html",
        room=room,
        upcoming=upcoming,
        clashing=svc.clashing_pending(upcoming),
        meetings=svc.room_meetings(room, current_user),
        draft_holds=svc.draft_holds(upcoming, current_user),
        form=form,
        editor=perm.can_edit_room(current_user, room),
    ), status


@bp.route("/rooms/<int:room_id>")
@login_required
def room(room_id: int):
    """Show a room's calendar (meetings and bookings) and the booking form."""
    room = _load_room(room_id)
    form = BookingForm() if perm.can_book(current_user, room=room) else None
    return _room_page(room, form)


def _room_facts(form: RoomForm) -> rooms_svc.RoomFacts:
    return rooms_svc.RoomFacts(
        name=form.name.data,
        capacity=form.capacity.data,
        address=form.address.data or "",
        equipment=form.equipment.data or "",
        bookable=bool(form.bookable.data),
        opens_at=form.opens_at.data,
        closes_at=form.closes_at.data,
        open_days=form.open_days.stored,
        overnight=bool(form.overnight.data),
    )


@bp.route("/rooms/new", methods=["GET", "POST"])
@login_required
def new_room():
    """Add a meeting room to a community (?community=ID) or a street (?street=ID)."""
    community_id = request.args.get("community", type=int)
    street_id = None if community_id else request.args.get("street", type=int)
    owner = (
        db.session.get(Community, community_id) if community_id else db.session.get(Street, street_id or 0)
    )
    if owner is None or not in_scope(current_user, owner.id if street_id else owner.street_id):
        abort(404)
    if not perm.can_add_room(current_user, owner):
        abort(403)
    form = RoomForm()
    if request.method == "GET":
        form.bookable.data = True
    if form.validate_on_submit():
        saved = attempt(
            lambda: rooms_svc.save_room(
                None, _room_facts(form), community_id=community_id, street_id=street_id
            ),
            lambda room: f"已新增会议室“{room.name}”。",
            errors=form.name,
        )
        if saved:
            return redirect(url_for("resources.room", room_id=saved.value.id))
    return render_template(
        "resources/room_form.html", form=form, room=None, owner=owner
    ), 400 if form.errors else 200


@bp.route("/rooms/<int:room_id>/edit", methods=["GET", "POST"])
@login_required
def edit_room(room_id: int):
    """Change a room: name, size, address, equipment, bookability, opening hours (its owner, or admin)."""
    room = _load_room(room_id)
    if not perm.can_edit_room(current_user, room):
        abort(403)
    form = RoomForm(obj=room)
    if form.validate_on_submit() and attempt(
        lambda: rooms_svc.save_room(room, _room_facts(form)),
        lambda _: f"“{room.name}”已保存，开放时间：{room.hours_text}。",
        errors=form.name,
    ):
        return redirect(url_for("resources.room", room_id=room.id))
    return render_template(
        "resources/room_form.html", form=form, room=room, owner=None
    ), 400 if form.errors else 200


@bp.route("/rooms/<int:room_id>/retire", methods=["POST"])
@login_required
def retire_room(room_id: int):
    """Stop using a room; its history stays."""
    room = _load_room(room_id)
    if not perm.can_edit_room(current_user, room):
        abort(403)
    if not Form().validate_on_submit():
        abort(400)
    attempt(lambda: rooms_svc.retire_room(room), f"会议室“{room.name}”已停用，历史记录保留。")
    return redirect(url_for("resources.room", room_id=room.id))


@bp.route("/rooms/<int:room_id>/restore", methods=["POST"])
@login_required
def restore_room(room_id: int):
    """Use a stopped room again."""
    room = _load_room(room_id)
    if not perm.can_edit_room(current_user, room):
        abort(403)
    if not Form().validate_on_submit():
        abort(400)
    attempt(lambda: rooms_svc.restore_room(room), f"会议室“{room.name}”已恢复使用。")
    return redirect(url_for("resources.room", room_id=room.id))


@bp.route("/rooms/<int:room_id>/book", methods=["POST"])
@login_required
def book_room(room_id: int):
    """Request a community room for a time range."""
    room = _load_room(room_id)
    if not perm.can_request_booking(current_user):
        abort(403)
    form = BookingForm()
    booking = _submit_booking(form, "已提交会议室预约申请（{range}），请等待审批。", room=room)
    if booking is not None:
        return redirect(url_for("resources.booking", booking_id=booking.id))
    return _room_page(_load_room(room_id), form, 400)


# --- bookings ---------------------------------------------------------------------------------


def _tabs() -> list[str]:
    user = current_user
    tabs = []
    if perm.can_create_resource(user) or perm.can_request_booking(user):
        tabs.append("todo")
    if perm.can_request_booking(user):
        tabs.append("mine")
    if perm.can_request_booking(user):
        tabs.append("received")
    if perm.can_view_all_bookings(user):
        tabs.append("all")
    return tabs


@bp.route("/bookings")
@login_required
def bookings():
    """My requests, the requests awaiting my decision, and (for staff) all bookings."""
    tabs = _tabs()
    tab = request.args.get("tab", "")
    if tab not in tabs:
        tab = tabs[0] if tabs else "all"
        if tab not in tabs:
            abort(403)
    stmt = {
        "todo": lambda: svc.awaiting_decision(current_user),
        "mine": lambda: svc.my_requests(current_user),
        "received": lambda: svc.received(current_user),
        "all": lambda: svc.all_bookings(current_user),
    }[tab]()
    status = request.args.get("status", "")
    if status in BookingStatus._value2member_map_ and tab != "todo":
        stmt = stmt.where(Booking.status == BookingStatus(status))
    pagination = paginate(stmt, per_page=current_app.config.get("BOOKINGS_PER_PAGE", 30))
    todo_count = (
        db.session.scalar(
            select(func.count()).select_from(svc.awaiting_decision(current_user).order_by(None).subquery())
        )
        if "todo" in tabs
        else 0
    )
    return render_template(
        "resources/bookings.html",
        pagination=pagination,
        tab=tab,
        tabs=[(t, TABS[t]) for t in tabs],
        todo_count=todo_count,
        status=status,
        clashing=svc.clashing_pending(list(pagination.items)),
        draft_holds=svc.draft_holds(list(pagination.items), current_user),
        BookingStatus=BookingStatus,
    )


@bp.route("/bookings/<int:booking_id>")
@login_required
def booking(booking_id: int):
    """One booking with its decision and the buttons the viewer may use."""
    booking = _load_booking(booking_id)
    return _booking_page(booking, DeclineForm())


def _booking_page(booking: Booking, decline_form: DeclineForm, status: int = 200):
    return render_template(
        "resources/booking.html",
        booking=booking,
        decline_form=decline_form,
        clashing=svc.clashing_pending([booking]),
        draft_holds=svc.draft_holds([booking], current_user),
    ), status


def _decide(booking_id: int) -> Booking:
    booking = _load_booking(booking_id)
    if not perm.can_decide_booking(current_user, booking):
        abort(403)
    return booking


@bp.route("/bookings/<int:booking_id>/approve", methods=["POST"])
@login_required
def approve(booking_id: int):
    """Approve a pending request (refused if the slot was taken meanwhile)."""
    booking = _decide(booking_id)
    if not Form().validate_on_submit():
        abort(400)
    attempt(
        lambda: svc.approve(booking, current_user),
        f"已同意{booking.requester_name}的预约申请。",
        errors=lambda message: flash(f"未能同意：{message}", "error"),
    )
    return redirect(_back(booking))


@bp.route("/bookings/<int:booking_id>/decline", methods=["POST"])
@login_required
def decline(booking_id: int):
    """Decline a pending request with a reason."""
    booking = _decide(booking_id)
    form = DeclineForm()
    if form.validate_on_submit():
        attempt(
            lambda: svc.decline(booking, form.reason.data, current_user),
            f"已拒绝{booking.requester_name}的预约申请。",
        )
        return redirect(_back(booking))
    return _booking_page(booking, form, 400)


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@login_required
def cancel(booking_id: int):
    """Withdraw one's own request or approved booking."""
    booking = _load_booking(booking_id)
    if not perm.can_cancel_booking(current_user, booking):
        abort(403)
    if not Form().validate_on_submit():
        abort(400)
    attempt(lambda: svc.cancel(booking, current_user), "预约已取消。")
    return redirect(url_for("resources.booking", booking_id=booking.id))


def _back(booking: Booking) -> str:
    """Where a decision returns to: the list it was made from, else the booking."""
    if request.form.get("next") == "todo":
        return url_for("resources.bookings", tab="todo")
    return url_for("resources.booking", booking_id=booking.id)


# --- panels -----------------------------------------------------------------------------------


@panels.dashboard_panel
def pending_decisions_panel(user):
    """Requests awaiting the viewer's decision (none shown when there are none)."""
    if not (perm.can_create_resource(user) or perm.can_request_booking(user)):
        return None
    items = svc.first_awaiting_decision(user, 6)
    if not items:
        return None
    return "resources/_dashboard_panel.html", {"bookings": items, "more": len(items) == 6}


@panels.unit_panel
def unit_resources_panel(user, unit):
    """The unit's shared resources on its page."""
    items, total = svc.unit_resources(user, unit)
    # Whoever may edit the unit's resources may add one: ask with a stand-in resource of the unit.
    may_add = perm.can_edit_resource(
        user, SimpleNamespace(owner_unit_id=unit.id, community_id=unit.community_id, street_id=unit.street_id)
    )
    if not items and not may_add:
        return None
    return "resources/_unit_panel.html", {
        "resources": items,
        "total": total,
        "unit": unit,
        "may_add": may_add,
    }
