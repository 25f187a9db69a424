from flask import render_template
from flask_login import current_user, login_required

from blueprints.main import bp
from models import Role
from models.base import today, utcnow
from services import overview
from web import panels


@bp.route("/")
@login_required
def dashboard():
    """Show the work overview for the current role."""
    user = current_user
    communities, table = overview.unit_table(current_user)
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
    now, day = utcnow(), today()
    next_meetings, pending_counts = overview.next_meetings(user, now)
    my_actions, overdue_count = overview.open_actions(user, day)
    return render_template(
        "main/dashboard.html",
        communities=communities,
        table=table,
        pending=overview.new_units(user),
        missing_profile=missing_profile,
        next_meetings=next_meetings,
        owed=overview.owed_replies(user, now),
        pending_counts=pending_counts,
        my_actions=my_actions,
        overdue_count=overdue_count,
        today=day,
        panels=panels.render(panels.DASHBOARD, user),
        setup=overview.setup_steps(user),
    )
