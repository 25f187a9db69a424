"""Jinja filters and globals: Chinese dates, labels and permissions."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, request
from markupsafe import Markup

from models.enums import MeetingKind, MeetingStatus, Role, UnitCategory, UnitStatus
from services import permissions

SHANGHAI = ZoneInfo("Asia/Shanghai")


def format_datetime(value: datetime | None) -> str:
    """2026年11月28日 14:30 in Beijing time."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def format_date(value: date | datetime | None) -> str:
    """2026年11月28日."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return f"{value.year}年{value.month:02d}月{value.day:02d}日"


def format_time(value: datetime | None) -> str:
    """14:30 in Beijing time."""
    return value.astimezone(SHANGHAI).strftime("%H:%M") if value else ""


def local_input(value: datetime | None) -> str:
    """The value of a datetime-local input, in Beijing time."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") if value else ""


CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十 (up to 99), for headings such as （三）."""
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return (CN_DIGITS[tens] if tens > 1 else "") + "十" + (CN_DIGITS[ones] if ones else "")


def rich(html: str | None) -> Markup:
    """Stored minutes text, sanitised again on the way out (never marked safe unsanitised)."""
    from services.minutes import clean_html

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
    from common.links import external_url

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
