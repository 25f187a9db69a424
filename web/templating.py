"""Jinja filters and globals: Chinese dates, labels and permissions."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, request
from markupsafe import Markup

from common.dates import cn_number, format_date, format_datetime, format_time, local_input
from common.html import clean_html
from common.links import external_url
from models.enums import MeetingKind, MeetingStatus, Role, UnitCategory, UnitStatus
from services import permissions


def rich(html: str | None) -> Markup:
    """Stored minutes text, sanitised again on the way out (never marked safe unsanitised)."""
    return Markup(clean_html(html or ""))


def url_with(**changes) -> str:
    """The current URL with some query arguments replaced (for pagination)."""
    args = request.args.to_dict(flat=True)
    args.update({k: v for k, v in changes.items() if v is not None})
    return request.path + "?" + urlencode(args)


def register(app: Flask) -> None:
    app.jinja_env.filters["dt"] = format_datetime
    app.jinja_env.filters["d"] = format_date
    app.jinja_env.filters["time_only"] = format_time
    app.jinja_env.filters["local_input"] = local_input
    app.jinja_env.filters["cn_number"] = cn_number
    app.jinja_env.filters["rich"] = rich
    # Absolute links (feed addresses to copy) come from BASE_URL, never from the Host header.
    app.jinja_env.globals["external_url"] = external_url
    app.jinja_env.globals.update(
        perm=permissions,
        Role=Role,
        MeetingKind=MeetingKind,
        MeetingStatus=MeetingStatus,
        UnitCategory=UnitCategory,
        UnitStatus=UnitStatus,
        url_with=url_with,
    )
