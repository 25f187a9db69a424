"""Dates: the one time zone (Beijing), Chinese formatting, and parsing of typed dates.

Times are stored in UTC and shown in Beijing time as 2026年11月28日 14:30. Python's dates end
at 9999-12-31 and a month grid or a Beijing-to-UTC shift near either end overflows, so every
page takes its day and month arguments through `parse_day` and `parse_month`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

MIN_YEAR, MAX_YEAR = 1900, 2100

_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})", re.ASCII)


class DateArgError(ValueError):
    """A date or month argument that is malformed or out of range; str() is the Chinese message."""


def _in_range(year: int, what: str, years: tuple[int, int] = (MIN_YEAR, MAX_YEAR)) -> None:
    first, last = years
    if not first <= year <= last:
        raise DateArgError(f"{what}须在 {first} 年到 {last} 年之间。")


def parse_day(
    raw: str | None, what: str = "日期", years: tuple[int, int] = (MIN_YEAR, MAX_YEAR)
) -> date | None:
    """2026-03-05 → date; None when empty; DateArgError when malformed or outside `years`."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _DAY.fullmatch(raw)
    if not match:
        raise DateArgError(f"{what}无效，请按“2026-01-31”的格式填写。")
    year, month, day = (int(g) for g in match.groups())
    _in_range(year, what, years)
    try:
        return date(year, month, day)
    except ValueError:
        raise DateArgError(f"{what}无效：{year}年{month}月没有{day}日。") from None


def parse_month(raw: str | None, what: str = "月份") -> date | None:
    """2026-03 → the first of that month; None when empty; DateArgError otherwise."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _MONTH.fullmatch(raw)
    if not match:
        raise DateArgError(f"{what}无效，请按“2026-03”的格式填写。")
    year, month = (int(g) for g in match.groups())
    _in_range(year, what)
    if not 1 <= month <= 12:
        raise DateArgError(f"{what}无效：月份须在 1 到 12 之间。")
    return date(year, month, 1)


def local_dt(day: date, at: time) -> datetime:
    """A Beijing wall-clock date and time as an aware datetime."""
    return datetime.combine(day, at, SHANGHAI)


def to_local(value: datetime) -> datetime:
    """The same instant in Beijing time."""
    return value.astimezone(SHANGHAI)


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


def format_month_day_time(value: datetime) -> str:
    """11月28日 14:30 in Beijing time (where the year goes without saying)."""
    local = to_local(value)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def format_range(start: datetime, end: datetime) -> str:
    """2026年11月28日 14:00—16:00, or with the end date when it ends on another day."""
    local_start, local_end = to_local(start), to_local(end)
    if local_start.date() == local_end.date():
        return f"{format_datetime(start)}—{local_end:%H:%M}"
    return f"{format_datetime(start)}—{format_datetime(end)}"


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
