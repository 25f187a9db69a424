from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from blueprints.records import bp
from blueprints.records.forms import DescriptionForm
from exports.sheets import to_xlsx
from models import Meeting, Minutes, MinutesRevision, Retention, db
from models.base import RuleError, today
from services import archive, audit, filing
from services import minutes as minutes_svc
from services import package as package_svc
from services import permissions as perm
from services.places import community_options
from services.scope import in_scope, visible_streets
from web.downloads import download_response
from web.flow import attempt, write_in_get
from web.pagination import paginate

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REGISTER_HEADERS = [
    "档号",
    "全宗号",
    "年度",
    "保管期限",
    "件号",
    "机构（问题）",
    "档案编号（文号）",
    "题名",
    "责任者",
    "会议日期",
    "签发日期",
    "版本数",
    "存档文件数",
    "SHA-256",
    "SM3",
    "最近校验",
    "状态",
]


def _reader() -> None:
    if not perm.can_view_archive(current_user):
        abort(403)


def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _filters() -> filing.RegisterFilters:
    retention = request.args.get("retention", "")
    state = request.args.get("state", "")
    return filing.RegisterFilters(
        q=request.args.get("q", "")[:100],
        year=_int("year"),
        street_id=_int("street"),
        community_id=_int("community"),
        retention=Retention(retention) if retention in Retention._value2member_map_ else None,
        state=state if state in ("filed", "unfiled") else "",
    )


def _row(minutes: Minutes, files: filing.ItemFiles) -> list:
    meeting = minutes.meeting
    return [
        minutes.file_no or "",
        minutes.fonds_code or "",
        minutes.filing_year,
        minutes.retention.label if minutes.retention else "",
        f"{minutes.item_no:04d}" if minutes.item_no else "",
        minutes.organ,
        minutes.archive_no,
        minutes.title,
        meeting.host_name,
        meeting.start_at,
        minutes.filed_at,
        files.revisions,
        files.renditions,
        files.sha256,
        files.sm3,
        minutes.verified_at,
        "已归档" if minutes.filed else "待归档",
    ]


@bp.route("")
@login_required
def index():
    """The minutes register: every approved minutes with its description, files and digests."""
    _reader()
    filters = _filters()
    pagination = paginate(filing.register_query(current_user, filters), per_page=50)
    files = filing.item_files([m.id for m in pagination.items])
    return render_template(
        "records/index.html",
        pagination=pagination,
        files=files,
        filters=filters,
        streets=visible_streets(current_user),
        communities=community_options(current_user),
        Retention=Retention,
        file_form=FlaskForm(),
        this_year=today().year,
    )


@bp.route("/export.xlsx")
@login_required
def export():
    """The register (with the current filters) as xlsx."""
    _reader()
    items = db.session.scalars(filing.register_query(current_user, _filters())).all()
    files = filing.item_files([m.id for m in items])
    body = to_xlsx(REGISTER_HEADERS, [_row(m, files[m.id]) for m in items], "会议纪要登记簿")
    write_in_get(lambda: audit.record("export", summary=f"会议纪要登记簿 xlsx，{len(items)} 件"))
    return download_response(body, XLSX, "会议纪要登记簿.xlsx")


def _item(minutes_id: int, for_update: bool = False) -> Minutes:
    _reader()
    stmt = (
        select(Minutes)
        .where(Minutes.id == minutes_id, Minutes.archive_no.is_not(None))
        .options(
            joinedload(Minutes.meeting).options(joinedload(Meeting.street), joinedload(Meeting.community)),
            selectinload(Minutes.revisions).selectinload(MinutesRevision.renditions),
        )
    )
    if for_update:
        stmt = stmt.with_for_update(of=Minutes)
    minutes = db.session.scalar(stmt)
    if minutes is None or not in_scope(current_user, minutes.meeting.street_id):
        abort(404)
    return minutes


def _item_page(minutes: Minutes, form: DescriptionForm | None = None, status: int = 200):
    if form is None:
        form = DescriptionForm(
            formdata=None, retention=minutes.retention.value if minutes.retention else None
        )
        form.organ.data = minutes.organ
    revisions = [(rev, [*archive.renditions(rev), *archive.ofd_files(rev)]) for rev in minutes.revisions]
    return (
        render_template(
            "records/item.html",
            minutes=minutes,
            form=form,
            revisions=revisions,
            default=minutes_svc.default_retention(minutes.meeting),
            file_form=FlaskForm(),
            can_file=perm.can_file_minutes(current_user, minutes),
        ),
        status,
    )


@bp.route("/<int:minutes_id>")
@login_required
def item(minutes_id: int):
    """One item: its description, how it was filed, its revisions and archival files."""
    return _item_page(_item(minutes_id))


@bp.route("/<int:minutes_id>", methods=["POST"])
@login_required
def describe(minutes_id: int):
    """Change the 保管期限 (with a reason) and the 机构（问题） before filing."""
    minutes = _item(minutes_id, for_update=True)
    if not perm.can_file_minutes(current_user, minutes):
        abort(403)
    form = DescriptionForm()
    if form.validate_on_submit() and attempt(
        lambda: filing.change_description(
            minutes,
            Retention(form.retention.data),
            form.organ.data or "",
            form.reason.data or "",
            current_user,
        ),
        "著录已保存。",
        # A filed item shows no form: the refusal is flashed above the page instead.
        errors=None if minutes.filed else form.reason,
    ):
        return redirect(url_for("records.item", minutes_id=minutes_id))
    if minutes.filed:
        return redirect(url_for("records.item", minutes_id=minutes_id))
    return _item_page(_item(minutes_id), form, 400)


@bp.route("/<int:minutes_id>/file", methods=["POST"])
@login_required
def file_minutes(minutes_id: int):
    """归档: give the 件号 and 档号 and stamp the archival PDF with the 归档章."""
    minutes = _item(minutes_id, for_update=True)
    if not perm.can_file_minutes(current_user, minutes):
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400)
    attempt(
        lambda: filing.file_item(minutes, current_user),
        lambda _: f"已归档，档号 {minutes.file_no}；存档文件已加盖归档章。",
    )
    return redirect(request.form.get("next") or url_for("records.item", minutes_id=minutes_id))


def _year() -> int:
    year = _int("year")
    return year if year and 2000 <= year <= 2200 else today().year


@bp.route("/appraisal")
@login_required
def appraisal():
    """鉴定: the filed items whose 保管期限 has run out by the end of a chosen year."""
    _reader()
    year = _year()
    items = db.session.scalars(filing.appraisal_query(current_user, year)).all()
    return render_template("records/appraisal.html", items=items, year=year)


@bp.route("/appraisal.xlsx")
@login_required
def appraisal_export():
    _reader()
    year = _year()
    items = db.session.scalars(filing.appraisal_query(current_user, year)).all()
    headers = ["档号", "题名", "责任者", "年度", "保管期限", "到期年度", "会议日期"]
    rows = [
        [
            m.file_no,
            m.title,
            m.meeting.host_name,
            m.filing_year,
            m.retention.label,
            m.retention_ends,
            m.meeting.start_at,
        ]
        for m in items
    ]
    body = to_xlsx(headers, rows, f"{year}年到期档案")
    write_in_get(lambda: audit.record("export", summary=f"{year} 年保管期限到期的档案 xlsx，{len(items)} 件"))
    return download_response(body, XLSX, f"{year}年保管期限到期档案鉴定清单.xlsx")


@bp.route("/package.zip")
@login_required
def package():
    """The yearly transfer package of a street's 全宗 (the street the user looks after, or the one chosen)."""
    _reader()
    year = _year()
    streets = visible_streets(current_user)
    chosen = _int("street")
    if chosen and chosen not in {s.id for s in streets}:
        abort(404)  # another street's 全宗 does not exist for this user
    street = (
        next((s for s in streets if s.id == chosen), None)
        if chosen
        else (streets[0] if len(streets) == 1 else None)
    )
    if street is None:
        flash("请先在筛选中选择一个街道（全宗），再导出移交包。", "error")
        return redirect(url_for("records.index", year=year))
    try:
        made, data = package_svc.package_for(street, year)
    except RuleError as exc:
        flash(str(exc), "error")
        return redirect(url_for("records.index", year=year))
    write_in_get(
        lambda: audit.record("export", summary=f"{street.name} {year} 年会议纪要移交包，{len(made.items)} 件")
    )
    return download_response(data, "application/zip", made.filename)
