"""Periods of the figures (a year, a quarter, the last twelve months, or chosen dates).

Points and the dashboard both count within a period; the dashboard reads it from the
query string, so a bad year or date becomes a Chinese message here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_

from common.dates import SHANGHAI, DateArgError, format_date, parse_day
from models.base import RuleError, today

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_SPAN_DAYS = 366 * 10


class StatsError(RuleError):
    """Bad input for a figure or a rule; the message is for the user."""


@dataclass(frozen=True)
class Period:
    """Dates from start to end, both included, in Beijing time."""

    start: date
    end: date
    preset: str = "custom"

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(0), SHANGHAI).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)

    @property
    def label(self) -> str:
        if self.start == date(self.start.year, 1, 1) and self.end == date(self.start.year, 12, 31):
            return f"{self.start.year}年"
        return f"{format_date(self.start)}至{format_date(self.end)}"

    def months(self) -> list[str]:
        """Each month the period touches, as "YYYY-MM"."""
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


PRESETS = {
    "year": "本年度",
    "last_year": "上一年度",
    "quarter": "本季度",
    "12m": "近12个月",
}


def year_period(year: int) -> Period:
    """Return the calendar year as a period."""
    return Period(date(year, 1, 1), date(year, 12, 31), "year")


def preset_period(preset: str, day: date | None = None) -> Period:
    """Return the period a preset names, relative to day (default today)."""
    day = day or today()
    if preset == "last_year":
        return Period(date(day.year - 1, 1, 1), date(day.year - 1, 12, 31), preset)
    if preset == "quarter":
        first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        nxt = date(first.year + (first.month == 10), (first.month + 3 - 1) % 12 + 1, 1)
        return Period(first, nxt - timedelta(days=1), preset)
    if preset == "12m":
        # From the first day of the month eleven months back, to today.
        y, m = (day.year, 1) if day.month == 12 else (day.year - 1, day.month + 1)
        return Period(date(y, m, 1), day, preset)
    return Period(date(day.year, 1, 1), date(day.year, 12, 31), "year")


def parse_year(raw: str | None, default: int | None = None) -> int:
    """Read a year from a query argument; StatsError with a Chinese message if it is not one."""
    if raw is None or raw.strip() == "":
        return default if default is not None else today().year
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:
        raise StatsError("年份无效，请填写四位数字的年份，例如 2026。")
    year = int(raw)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise StatsError(f"年份须在 {MIN_YEAR} 到 {MAX_YEAR} 之间。")
    return year


def _parse_date(raw: str, what: str) -> date:
    try:
        return parse_day(raw, what, years=(MIN_YEAR, MAX_YEAR))
    except DateArgError as exc:
        raise StatsError(str(exc)) from None


def parse_period(preset: str | None, start: str | None, end: str | None) -> Period:
    """Read the period from the dashboard's query arguments (a preset, or from/to dates)."""
    preset = (preset or "").strip()
    if (start or "").strip() or (end or "").strip():
        if not (start or "").strip() or not (end or "").strip():
            raise StatsError("自定义时段请同时填写开始日期和结束日期。")
        a, b = _parse_date(start, "开始日期"), _parse_date(end, "结束日期")
        if a > b:
            raise StatsError("开始日期不能晚于结束日期。")
        if (b - a).days > MAX_SPAN_DAYS:
            raise StatsError("统计时段不能超过十年。")
        return Period(a, b, "custom")
    if preset and preset not in PRESETS:
        raise StatsError("未知的统计时段。")
    return preset_period(preset or "year")


def in_period(col, period: Period) -> ColumnElement[bool]:
    """Return the SQL condition that a UTC timestamp column falls within the period."""
    return and_(col >= period.start_utc, col < period.end_utc)


def date_in_period(col, period: Period) -> ColumnElement[bool]:
    """Return the SQL condition that a date column falls within the period."""
    return and_(col >= period.start, col <= period.end)
