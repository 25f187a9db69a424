"""Dates and months typed into query arguments, parsed within the years the app shows.

Python's dates end at 9999-12-31 and a month grid or a Beijing-to-UTC shift near either end
overflows, so every page takes its day and month arguments through these two functions.
"""

from __future__ import annotations

import re
from datetime import date

MIN_YEAR, MAX_YEAR = 1900, 2100

_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})", re.ASCII)


class DateArgError(ValueError):
    """A date or month argument that is malformed or out of range; str() is the Chinese message."""


def _in_range(year: int, what: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DateArgError(f"{what}须在 {MIN_YEAR} 年到 {MAX_YEAR} 年之间。")


def parse_day(raw: str | None, what: str = "日期") -> date | None:
    """2026-03-05 → date; None when empty; DateArgError when malformed or out of range."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _DAY.fullmatch(raw)
    if not match:
        raise DateArgError(f"{what}无效，请按“2026-01-31”的格式填写。")
    year, month, day = (int(g) for g in match.groups())
    _in_range(year, what)
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
