"""The annual report 年度共建工作报告 as a PDF, from the figures the street dashboard shows."""

from __future__ import annotations

from flask import render_template

from exports.pdf import render_pdf


def render_annual_report(ctx: dict) -> bytes:
    """Render the annual report from its figures (services.dashboard.annual_report_context)."""
    street, year = ctx["street"], ctx["year"]
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
