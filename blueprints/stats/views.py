"""Unit points (积分), the annual ranking, the street dashboard and the annual report."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.routing import BuildError

from blueprints.stats import bp
from blueprints.stats.forms import PointRulesForm
from exports.pdf import PdfRenderError
from exports.sheets import to_xlsx
from models import Community, Role, Unit, db
from models.base import today
from services import audit, dashboard, periods, points, rollup
from services import permissions as perm
from services.scope import in_scope, scoped, visible_streets
from web import panels
from web.downloads import download_response
from web.flow import attempt, write_in_get

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _years() -> list[int]:
    """Years offered in the pickers: this year and the five before it."""
    this = today().year
    return list(range(this, this - 6, -1))


def _communities() -> list[Community]:
    """The communities of the streets the user sees, for the ranking's picker."""
    return list(
        db.session.scalars(
            select(Community)
            .where(scoped(Community.street_id, current_user))
            .order_by(Community.street_id, Community.position)
        )
    )


# --- street dashboard ----------------------------------------------------------------------


def _requested_period() -> tuple[periods.Period, str | None]:
    """The period the query asks for, or this year with the reason the request was refused."""
    try:
        return periods.parse_period(
            request.args.get("period"), request.args.get("from"), request.args.get("to")
        ), None
    except periods.StatsError as exc:
        return periods.preset_period("year"), str(exc)


@bp.route("/stats")
@login_required
def index():
    """Show the street dashboard for a period: figures per community and charts."""
    if not perm.can_view_street_stats(current_user):
        abort(403)
    period, error = _requested_period()
    street = dashboard.street_for(current_user, request.args.get("street", type=int))
    if street is None:
        return render_template("stats/index.html", street=None, error=error, d=None), 400 if error else 200
    d = dashboard.street_dashboard(street, period)
    own = current_user.community_id if current_user.role == Role.SECRETARY else None
    streets = visible_streets(current_user) if current_user.street_id is None else []
    return render_template(
        "stats/index.html",
        d=d,
        street=street,
        streets=streets,
        period=period,
        presets=periods.PRESETS,
        own=own,
        charts=dashboard.dashboard_charts(d, own),
        percent=dashboard.percent,
        years=_years(),
        error=error,
        args=request.args,
    ), 400 if error else 200


@bp.route("/stats/rollup")
@login_required
def rollup_view():
    """The dashboard rolled up level by level: a city per district, a district per street."""
    if not perm.can_view_rollup(current_user):
        abort(403)
    period, error = _requested_period()
    place = rollup.rollup_for(
        current_user, request.args.get("city", type=int), request.args.get("district", type=int)
    )
    r = rollup.rollup(place, period) if place is not None else None
    keep = (
        {"period": period.preset} if period.preset != "custom" else {"from": period.start, "to": period.end}
    )
    links = {}
    if r is not None:
        below = "district" if r.is_city else "street"
        view = "stats.rollup_view" if r.is_city else "stats.index"
        links = {
            row.key: url_for(view, **{below: row.key}, **keep)
            for row in r.rows
            if row.key != rollup.LEVEL_ROW
        }
    return render_template(
        "stats/rollup.html",
        r=r,
        links=links,
        can_go_up=place is not None and rollup.can_go_up(current_user, place),
        place=place,
        period=period,
        presets=periods.PRESETS,
        percent=dashboard.percent,
        error=error,
        args=request.args,
    ), 400 if error else 200


@bp.route("/stats/report.pdf")
@login_required
def report():
    """Download the annual report 年度共建工作报告 as a PDF."""
    if not perm.can_view_street_stats(current_user):
        abort(403)
    try:
        year = periods.parse_year(request.args.get("year"))
    except periods.StatsError as exc:
        flash(str(exc), "error")
        return redirect(url_for("stats.index")), 303
    street = dashboard.street_for(current_user, request.args.get("street", type=int))
    if street is None:
        abort(404)
    # Rendered before the audit takes the write lock: rendering only reads, and takes seconds.
    try:
        pdf = dashboard.annual_report_pdf(street, year)
    except PdfRenderError:
        flash("年度报告生成失败，请稍后再试。", "error")
        return redirect(url_for("stats.index")), 303
    write_in_get(lambda: audit.record("export", summary=f"{street.name}{year}年度共建工作报告 PDF"))
    return download_response(pdf, "application/pdf", f"{street.name}{year}年度共建工作报告.pdf")


# --- points ------------------------------------------------------------------------------


def _ranking_args() -> tuple[int, Community | None, str | None]:
    """Year and community from the query string, with a Chinese message if either is bad."""
    error = None
    try:
        year = periods.parse_year(request.args.get("year"))
    except periods.StatsError as exc:
        error, year = str(exc), today().year
    community = None
    raw = request.args.get("community", "")
    if raw:
        cid = request.args.get("community", type=int)
        community = db.session.get(Community, cid) if cid else None
        if community is None or not in_scope(current_user, community.street_id):
            community, error = None, error or "所选社区不存在。"
    if community is None:
        default_id = current_user.community_id or (
            current_user.unit.community_id if current_user.unit else None
        )
        community = db.session.get(Community, default_id) if default_id else None
        if community is None:
            community = db.session.scalar(
                select(Community)
                .where(scoped(Community.street_id, current_user))
                .order_by(Community.street_id, Community.position)
                .limit(1)
            )
    return year, community, error


@bp.route("/stats/points")
@login_required
def ranking():
    """Show the annual points ranking of a community's units."""
    if not perm.can_view_points_ranking(current_user):
        abort(403)
    year, community, error = _ranking_args()
    rows, rules = (
        points.community_ranking(community, year)
        if community
        else ([], points.point_rules(current_user.street_id))
    )
    return render_template(
        "stats/ranking.html",
        year=year,
        years=_years(),
        community=community,
        communities=_communities(),
        rows=rows,
        rules=rules,
        RULES=points.RULES,
        error=error,
    ), 400 if error else 200


@bp.route("/stats/points.xlsx")
@login_required
def ranking_export():
    """Download a community's annual ranking as xlsx."""
    if not perm.can_export_points(current_user):
        abort(403)
    year, community, error = _ranking_args()
    if error or community is None:
        flash(error or "没有可导出的社区。", "error")
        return redirect(url_for("stats.ranking")), 303
    rows, _ = points.community_ranking(community, year)
    write_in_get(
        lambda: audit.record(
            "export", summary=f"{community.name}{year}年度单位积分排行 xlsx，{len(rows)} 个单位"
        )
    )
    body = to_xlsx(points.RANKING_HEADERS, points.ranking_rows(rows), f"{year}年度积分排行")
    return download_response(body, XLSX, f"{community.name}{year}年度单位积分排行.xlsx")


@bp.route("/stats/points/units/<int:unit_id>")
@login_required
def unit_points(unit_id: int):
    """Show a unit's points in a year with the events behind them."""
    unit = db.get_or_404(Unit, unit_id)
    if not in_scope(current_user, unit.street_id):
        abort(404)
    if not perm.can_view_unit_points(current_user, unit):
        abort(403)
    error = None
    try:
        year = periods.parse_year(request.args.get("year"))
    except periods.StatsError as exc:
        error, year = str(exc), today().year
    p = points.unit_points(unit, year)
    for event in p.events:
        event.url = _event_url(event)
    return render_template(
        "stats/unit_points.html",
        unit=unit,
        p=p,
        years=_years(),
        RULES=points.RULES,
        error=error,
    ), 400 if error else 200


EVENT_ARGS = {
    "meetings.detail": "meeting_id",
    "actions.detail": "action_id",
    "needs.detail": "need_id",
    "resources.detail": "resource_id",
}


def _event_url(event: points.PointEvent) -> str:
    """The page of the object behind a point event ("" if that page does not exist)."""
    if not event.endpoint or event.ref_id is None:
        return ""
    try:
        return url_for(event.endpoint, **{EVENT_ARGS[event.endpoint]: event.ref_id})
    except (BuildError, KeyError):
        return ""


@bp.route("/stats/points/rules", methods=["GET", "POST"])
@login_required
def rules():
    """Let an admin set how many points each event earns."""
    if not perm.can_edit_point_rules(current_user):
        abort(403)
    street = dashboard.street_for(current_user, request.args.get("street", type=int))
    if street is None:
        abort(404)
    current = points.point_rules(street.id)
    form = PointRulesForm(data=current)
    error = None
    if form.validate_on_submit():
        # The refusal is shown above the form (not flashed), so it is read from the outcome.
        saved = attempt(lambda: points.set_point_rules(street.id, form.values()), errors=lambda message: None)
        if saved:
            if saved.value:
                flash(f"{street.name}的积分规则已保存，各单位的积分已按新规则重新计算。", "success")
            else:
                flash("积分规则没有变化。", "info")
            return redirect(url_for("stats.rules", street=street.id))
        error = saved.error
    status = 400 if request.method == "POST" else 200
    streets = visible_streets(current_user) if current_user.street_id is None else []
    return render_template(
        "stats/rules.html",
        form=form,
        RULES=points.RULES,
        current=current,
        error=error,
        street=street,
        streets=streets,
    ), status


@panels.unit_panel
def points_panel(user, unit: Unit):
    """This year's points of the unit on its page (2 statements)."""
    if not user.is_authenticated:
        return None
    p = points.unit_points(unit, today().year, with_events=False)
    return "stats/_unit_panel.html", {
        "p": p,
        "RULES": points.RULES,
        "may_see_detail": perm.can_view_unit_points(user, unit),
    }
