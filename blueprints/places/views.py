from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from blueprints.places import bp
from blueprints.places.forms import AreaForm, PlaceForm, PlaceImportForm, StaffForm
from exports.sheets import places_template_xlsx
from models import Area, City, District, Grid, GridDuty, GridStaff, PlaceImport, Room, Unit, UnitStatus, db
from models.base import RuleError
from services import areas, filing, grids, place_import
from services import permissions as perm
from services import places as svc
from services.places import active_communities
from services.scope import in_scope
from web.downloads import download_response
from web.flow import attempt


def _require_manager():
    if not perm.can_manage_places(current_user):
        abort(403)


def _kind(kind_key: str) -> svc.Kind:
    try:
        return svc.kind_of(kind_key)
    except RuleError:
        abort(404)


def _load(kind_key: str, place_id: int):
    """The place if the user manages it; a street admin finds no place outside their street."""
    kind = _kind(kind_key)
    place = db.get_or_404(kind.model, place_id)
    if not perm.can_view_place(current_user, place):
        # Another street's place does not exist for the user; their own street's is refused.
        street_id = svc.street_id_of(place)
        abort(403 if street_id is not None and in_scope(current_user, street_id) else 404)
    return kind, place


def _load_managed(kind_key: str, place_id: int):
    kind, place = _load(kind_key, place_id)
    if not perm.can_manage_place(current_user, place):
        abort(403)
    return kind, place


def _require_sysadmin():
    if not perm.can_import_places(current_user):
        abort(403)


def _districts(keep_id: int | None = None):
    """Districts in use (and a street's current one), labelled with their city."""
    rows = db.session.execute(
        select(District.id, City.name, District.name)
        .join(City, City.id == District.city_id)
        .where(District.retired_at.is_(None) | (District.id == (keep_id or 0)))
        .order_by(City.position, City.id, District.position, District.id)
    )
    return [(id_, f"{city} · {name}") for id_, city, name in rows]


def _place_url(place) -> str:
    return url_for("places.detail", kind_key=svc.kind_for(place).key, place_id=place.id)


@bp.route("")
@login_required
def index():
    """The top of the hierarchy: cities, and streets not yet placed in a district (a street
    admin starts at their street)."""
    _require_manager()
    if current_user.street_id is not None and not perm.can_add_place(current_user, "city", None):
        return redirect(url_for("places.detail", kind_key="street", place_id=current_user.street_id))
    show_retired = request.args.get("retired") == "1"
    cities = svc.children(None, "city", include_retired=show_retired)
    loose = svc.children(None, "street", include_retired=show_retired)
    return render_template(
        "places/index.html",
        cities=cities,
        loose_streets=loose,
        counts=svc.child_counts("city", [c.id for c in cities]),
        street_counts=svc.child_counts("street", [s.id for s in loose]),
        show_retired=show_retired,
        form=PlaceForm(kind=svc.KINDS["city"], prefix="new"),
    )


@bp.route("/<kind_key>/<int:place_id>")
@login_required
def detail(kind_key: str, place_id: int):
    """A place: its details, the places one level below, and (streets, communities) its rooms;
    a community the ten duties its grids still lack; a grid its roster, units and needs."""
    kind, place = _load(kind_key, place_id)
    show_retired = request.args.get("retired") == "1"
    child = svc.KINDS[kind.child] if kind.child else None
    items = svc.children(place, kind.child, include_retired=show_retired) if child else []
    rooms = []
    if kind.key in ("street", "community"):
        column = Room.community_id if kind.key == "community" else Room.street_id
        stmt = (
            select(Room)
            .where(column == place.id)
            .order_by(Room.retired_at.is_not(None), Room.position, Room.id)
        )
        if kind.key == "street":
            stmt = stmt.where(Room.community_id.is_(None))
        rooms = db.session.scalars(stmt).all()
    return render_template(
        "places/detail.html",
        kind=kind,
        place=place,
        trail=svc.ancestors(place),
        child=child,
        items=items,
        counts=svc.child_counts(child.key, [i.id for i in items]) if child else {},
        rooms=rooms,
        usage=svc.place_usage(place),
        show_retired=show_retired,
        form=PlaceForm(kind=child, prefix="new")
        if child and perm.can_add_place(current_user, child.key, place)
        else None,
        **_grid_sections(kind, place, show_retired),
    )


def _grid_sections(kind: svc.Kind, place, show_former: bool) -> dict:
    """What a community's page (the duties its grids lack) and a grid's page (roster, units,
    needs) show besides the places below them."""
    if kind.key == "community":
        return {"coverage": grids.coverage(place), "duties": list(GridDuty)}
    if kind.key != "grid":
        return {}
    editor = perm.can_manage_grid_roster(current_user, place)
    return {
        "roster": grids.roster(place, include_former=show_former),
        "grid_units": grids.grid_units(place),
        "grid_needs": grids.grid_needs(place),
        "staff_form": StaffForm(units=_community_units(place), prefix="staff")
        if editor and not place.retired
        else None,
        "roster_editor": editor,
    }


def _community_units(grid: Grid) -> list[Unit]:
    """The units a grid's people may be sent by: the community's, not withdrawn."""
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.community_id == grid.community_id, Unit.status != UnitStatus.WITHDRAWN)
            .order_by(Unit.name)
        )
    )


def _load_grid_for_roster(grid_id: int) -> Grid:
    grid = db.get_or_404(Grid, grid_id)
    if not perm.can_view_place(current_user, grid):
        abort(403 if in_scope(current_user, grid.community.street_id) else 404)
    if not perm.can_manage_grid_roster(current_user, grid):
        abort(403)
    return grid


def _facts(form: StaffForm) -> grids.StaffFacts:
    return grids.StaffFacts(
        name=form.name.data,
        phone=form.phone.data or "",
        unit_id=form.unit_id.data or None,
        duties=form.duties.data or [],
    )


@bp.route("/grid/<int:grid_id>/staff", methods=["POST"])
@login_required
def add_staff(grid_id: int):
    """Put a person on a grid's roster with their duties."""
    grid = _load_grid_for_roster(grid_id)
    form = StaffForm(units=_community_units(grid), prefix="staff")
    if form.validate_on_submit() and attempt(
        lambda: grids.save_staff(grid, None, _facts(form)),
        lambda s: f"已将“{s.name}”加入{grid.name}：{'、'.join(s.duty_labels)}。",
        errors=form.name,
    ):
        return redirect(url_for("places.detail", kind_key="grid", place_id=grid.id) + "#roster")
    return render_template("places/staff_form.html", form=form, grid=grid, staff=None), 400


@bp.route("/grid/<int:grid_id>/staff/<int:staff_id>/edit", methods=["GET", "POST"])
@login_required
def edit_staff(grid_id: int, staff_id: int):
    """Change a person's name, phone, unit or duties."""
    grid = _load_grid_for_roster(grid_id)
    staff = db.get_or_404(GridStaff, staff_id)
    if staff.grid_id != grid.id:
        abort(404)
    form = StaffForm(obj=staff, units=_community_units(grid))
    if request.method == "GET":
        form.unit_id.data = staff.unit_id or 0
    if form.validate_on_submit() and attempt(
        lambda: grids.save_staff(grid, staff, _facts(form)),
        lambda s: f"“{s.name}”的信息已保存。",
        errors=form.name,
    ):
        return redirect(url_for("places.detail", kind_key="grid", place_id=grid.id) + "#roster")
    return render_template(
        "places/staff_form.html", form=form, grid=grid, staff=staff
    ), 400 if form.errors else 200


@bp.route("/grid/<int:grid_id>/staff/<int:staff_id>/<any(leave, return):change>", methods=["POST"])
@login_required
def staff_status(grid_id: int, staff_id: int, change: str):
    """Take a person off the roster (their row stays), or back on."""
    grid = _load_grid_for_roster(grid_id)
    staff = db.get_or_404(GridStaff, staff_id)
    if staff.grid_id != grid.id:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if change == "leave":
        attempt(lambda: grids.staff_leaves(staff), f"“{staff.name}”已离任，记录保留。")
    else:
        attempt(lambda: grids.staff_returns(staff), f"“{staff.name}”已恢复在任。")
    return redirect(url_for("places.detail", kind_key="grid", place_id=grid.id) + "#roster")


@bp.route("/<kind_key>/new", methods=["GET", "POST"])
@login_required
def create(kind_key: str):
    """Add a place under a parent (a city, or a street not yet in a district, under none)."""
    _require_manager()
    kind = _kind(kind_key)
    parent_id = request.args.get("parent", type=int)
    parent = None
    if kind.parent is not None and parent_id:
        parent = db.session.get(svc.KINDS[kind.parent].model, parent_id)
    if kind.parent is not None and parent is None and kind.key != "street":
        abort(404)
    if parent is not None and not perm.can_view_place(current_user, parent):
        abort(404)
    if not perm.can_add_place(current_user, kind.key, parent):
        abort(403)
    form = PlaceForm(kind=kind, prefix="new", districts=_districts())
    if request.method == "GET" and kind.key == "street" and parent is not None:
        form.district_id.data = parent.id
    if form.validate_on_submit():
        target = parent.id if parent is not None else None
        if kind.key == "street":
            target = form.district_id.data or None
        made = attempt(
            lambda: svc.create_place(
                kind.key,
                target,
                form.name.data,
                form.short_name.data,
                form.address.data if "address" in form else "",
            ),
            lambda p: f"已新增{kind.label}“{p.name}”。",
            errors=form.name,
        )
        if made:
            return redirect(_place_url(parent) if parent is not None else url_for("places.index"))
    status = 400 if form.errors else 200
    return render_template("places/form.html", form=form, kind=kind, parent=parent, place=None), status


@bp.route("/<kind_key>/<int:place_id>/edit", methods=["GET", "POST"])
@login_required
def edit(kind_key: str, place_id: int):
    """Rename a place; change its short name and address (a street: also its district)."""
    _require_manager()
    kind, place = _load_managed(kind_key, place_id)
    form = PlaceForm(
        obj=place,
        kind=kind,
        districts=_districts(getattr(place, "district_id", None)),
        fonds=perm.can_set_fonds_code(current_user),
    )
    if request.method == "GET" and kind.key == "street":
        form.district_id.data = place.district_id or 0

    def save():
        saved = svc.update_place(
            place,
            form.name.data,
            form.short_name.data,
            form.address.data if "address" in form else "",
            (form.district_id.data or None) if kind.key == "street" else None,
        )
        if "fonds_code" in form:
            filing.set_fonds_code(place, form.fonds_code.data or "")
        return saved

    if form.validate_on_submit() and attempt(
        save,
        lambda p: f"{kind.label}“{p.name}”已保存。",
        errors=form.name,
    ):
        return redirect(_place_url(place))
    status = 400 if form.errors else 200
    return render_template(
        "places/form.html", form=form, kind=kind, parent=svc.parent_of(place), place=place
    ), status


def _back(place):
    """Back to the page the button was on: the parent's list, or the place itself."""
    parent = svc.parent_of(place)
    if request.form.get("back") == "self":
        return redirect(_place_url(place))
    return redirect(_place_url(parent) if parent is not None else url_for("places.index"))


@bp.route("/<kind_key>/<int:place_id>/move", methods=["POST"])
@login_required
def move(kind_key: str, place_id: int):
    """Move a place one up or one down among its siblings."""
    _require_manager()
    _, place = _load_managed(kind_key, place_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    attempt(lambda: svc.move_place(place, request.form.get("direction", "")))
    return _back(place)


@bp.route("/<kind_key>/<int:place_id>/retire", methods=["POST"])
@login_required
def retire(kind_key: str, place_id: int):
    """Retire a place: it keeps its records and leaves the choices for new ones."""
    _require_manager()
    kind, place = _load_managed(kind_key, place_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    attempt(lambda: svc.retire_place(place), f"{kind.label}“{place.name}”已撤销，其历史记录保留。")
    return _back(place)


@bp.route("/<kind_key>/<int:place_id>/restore", methods=["POST"])
@login_required
def restore(kind_key: str, place_id: int):
    """Bring a retired place back into use."""
    _require_manager()
    kind, place = _load_managed(kind_key, place_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    attempt(lambda: svc.restore_place(place), f"{kind.label}“{place.name}”已恢复使用。")
    return _back(place)


# --- import ---------------------------------------------------------------------------


@bp.route("/import/template.xlsx")
@login_required
def import_template():
    """An empty list of places to fill in, with an example row."""
    _require_sysadmin()
    return download_response(
        places_template_xlsx(place_import.HEADERS),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "地点导入模板.xlsx",
    )


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_upload():
    """Upload a list of places and check it row by row."""
    _require_sysadmin()
    form = PlaceImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        checked = attempt(
            lambda: place_import.check_import(upload.filename or "upload", upload.read(), current_user),
            errors=form.file,
        )
        if checked:
            return redirect(url_for("places.import_preview", batch_id=checked.value.id))
    return render_template("places/import.html", form=form), 400 if form.errors else 200


def _load_batch(batch_id: int) -> PlaceImport:
    _require_sysadmin()
    return db.get_or_404(PlaceImport, batch_id)


@bp.route("/import/<int:batch_id>")
@login_required
def import_preview(batch_id: int):
    """Show which places an import would create and which rows were refused, and why."""
    batch = _load_batch(batch_id)
    return render_template(
        "places/import_preview.html", batch=batch, form=FlaskForm(), headers=place_import.LEVEL_HEADERS
    )


@bp.route("/import/<int:batch_id>/confirm", methods=["POST"])
@login_required
def import_confirm(batch_id: int):
    """Create the places of a checked import."""
    batch = _load_batch(batch_id)
    if batch.confirmed_at:
        flash("这批数据已经导入过了。", "warning")
        return redirect(url_for("places.import_preview", batch_id=batch.id))
    if not FlaskForm().validate_on_submit():
        abort(400)
    attempt(lambda: place_import.confirm_import(batch, current_user), lambda n: f"已新建 {n} 个地点。")
    return redirect(url_for("places.index"))


# --- 片区 ---------------------------------------------------------------------------------


def _require_area_manager():
    if not perm.can_manage_areas(current_user):
        abort(403)


def _area_form(**kwargs) -> AreaForm:
    communities = db.session.scalars(active_communities(viewer=current_user)).all()
    return AreaForm(communities=communities, **kwargs)


def _load_area(area_id: int) -> Area:
    _require_area_manager()
    area = db.get_or_404(Area, area_id)
    if not perm.can_manage_area(current_user, area):
        abort(404 if not any(in_scope(current_user, c.street_id) for c in area.communities) else 403)
    return area


@bp.route("/areas")
@login_required
def areas_index():
    """The 片区 the user sees: groups of communities that hold joint meetings together."""
    _require_area_manager()
    return render_template("places/areas.html", areas=areas.visible_areas(current_user))


@bp.route("/areas/new", methods=["GET", "POST"])
@login_required
def area_create():
    """Group communities into a 片区."""
    _require_area_manager()
    form = _area_form()
    if form.validate_on_submit() and attempt(
        lambda: areas.save_area(None, form.name.data, form.note.data, form.communities.data, current_user),
        lambda a: f"已新增片区“{a.name}”。",
        errors=form.communities,
    ):
        return redirect(url_for("places.areas_index"))
    return render_template("places/area_form.html", form=form, area=None), 400 if form.errors else 200


@bp.route("/areas/<int:area_id>/edit", methods=["GET", "POST"])
@login_required
def area_edit(area_id: int):
    """Rename a 片区 or change its communities."""
    area = _load_area(area_id)
    form = _area_form(obj=area)
    if request.method == "GET":
        form.communities.data = [c.id for c in area.communities]
    if form.validate_on_submit() and attempt(
        lambda: areas.save_area(area, form.name.data, form.note.data, form.communities.data, current_user),
        lambda a: f"片区“{a.name}”已保存。",
        errors=form.communities,
    ):
        return redirect(url_for("places.areas_index"))
    return render_template("places/area_form.html", form=form, area=area), 400 if form.errors else 200


@bp.route("/areas/<int:area_id>/<any(retire, restore):change>", methods=["POST"])
@login_required
def area_status(area_id: int, change: str):
    """Retire a 片区 (its meetings stay) or bring it back."""
    area = _load_area(area_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if change == "retire":
        attempt(lambda: areas.retire_area(area), f"片区“{area.name}”已撤销，其会议记录保留。")
    else:
        attempt(lambda: areas.restore_area(area), f"片区“{area.name}”已恢复使用。")
    return redirect(url_for("places.areas_index"))
