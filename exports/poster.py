"""The printable A4 sign-in poster (扫码签到): the meeting, its QR code, how to sign in."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from exports.pdf import render_pdf


def render_signin_poster(meeting, url: str, qr_svg: Markup) -> bytes:
    """Render the poster for a meeting: `url` is the poster's sign-in link, `qr_svg` its code."""
    html = render_template(
        "pdf/signin_poster.html", meeting=meeting, url=url, qr=qr_svg, title=f"{meeting.title} 签到"
    )
    return render_pdf(
        html,
        metadata={
            "title": f"{meeting.title} 扫码签到",
            "authors": [meeting.host_name],
            "lang": "zh-CN",
        },
    )
