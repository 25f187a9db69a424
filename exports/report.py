"""The annual report 年度共建工作报告 as a PDF, from the same figures as the street dashboard."""

from __future__ import annotations

from datetime import datetime

from flask import render_template

from models import Street


def annual_report_context(street: Street, year: int) -> dict:
    """Everything the annual report shows for a street and year."""
    from services import stats as svc

    period = svc.year_period(year)
    d = svc.dashboard(street, period)
    return {
        "street": street,
        "year": year,
        "d": d,
        "charts": svc.dashboard_charts(d),
        "top_units": svc.street_top_units(street, year),
        "rules": svc.point_rules(),
        "RULES": svc.RULES,
        "percent": svc.percent,
        "generated": datetime.now().astimezone(),
    }


def render_annual_report(street: Street, year: int) -> bytes:
    """Render the street's annual report for a year through the safe PDF renderer."""
    from exports.pdf import render_pdf

    ctx = annual_report_context(street, year)
    html = render_template("pdf/annual_report.html", **ctx)
    return render_pdf(
        html,
        metadata={
            "title": f"{street.name}{year}年度共建工作报告",
            "authors": [f"{street.name}党工委"],
            "lang": "zh-CN",
            "created": ctx["generated"],
            "modified": ctx["generated"],
        },
    )
