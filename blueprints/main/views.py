from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from models import Community, Role, Unit, UnitStatus, db

from . import bp


@bp.route("/")
@login_required
def dashboard():
    """Show the work overview for the current role."""
    user = current_user
    counts = select(Unit.community_id, Unit.status, func.count()).group_by(Unit.community_id, Unit.status)
    table: dict[int, dict[UnitStatus, int]] = {}
    for community_id, status, n in db.session.execute(counts):
        table.setdefault(community_id, {s: 0 for s in UnitStatus})[UnitStatus(status)] = n
    communities = db.session.scalars(
        select(Community).order_by(Community.street_id, Community.position)
    ).all()
    pending = []
    if user.role in (Role.ADMIN, Role.SECRETARY):
        stmt = select(Unit).where(Unit.status == UnitStatus.REGISTERED).order_by(Unit.registered_on)
        if user.role == Role.SECRETARY:
            stmt = stmt.where(Unit.community_id == user.community_id)
        pending = db.session.scalars(stmt.limit(10)).all()
    missing_profile = []
    if user.role == Role.LIAISON and user.unit:
        unit = user.unit
        for field, label in (
            ("liaison_phone", "联系电话"),
            ("liaison_email", "电子邮箱"),
            ("address", "地址"),
            ("party_org_name", "党组织名称"),
            ("introduction", "单位简介"),
        ):
            if not getattr(unit, field):
                missing_profile.append(label)
    return render_template(
        "main/dashboard.html",
        communities=communities,
        table=table,
        pending=pending,
        missing_profile=missing_profile,
    )
