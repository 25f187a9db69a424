"""Weekly opening hours of a bookable resource or room, and the rule a booking must meet."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import String, text
from sqlalchemy.orm import Mapped, mapped_column

from common.dates import SHANGHAI, format_month_day_time

DEFAULT_OPENS = time(8, 0)
DEFAULT_CLOSES = time(21, 0)
ALL_DAYS = "1234567"  # ISO weekdays: 1 = Monday … 7 = Sunday
WEEKDAY_NAMES = {1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 6: "六", 7: "日"}
WEEKDAY_CHOICES = [(str(d), f"星期{n}") for d, n in WEEKDAY_NAMES.items()]


def days_text(days: str) -> str:
    """1234567 → 每天; 12345 → 星期一至星期五; 67 → 星期六、星期日."""
    picked = sorted({int(c) for c in days if c in ALL_DAYS})
    if len(picked) == 7:
        return "每天"
    if not picked:
        return "不开放"
    if len(picked) >= 3 and picked == list(range(picked[0], picked[-1] + 1)):
        return f"星期{WEEKDAY_NAMES[picked[0]]}至星期{WEEKDAY_NAMES[picked[-1]]}"
    return "、".join(f"星期{WEEKDAY_NAMES[d]}" for d in picked)


def _hm(t: time) -> str:
    return t.strftime("%H:%M")


class OpeningHours:
    """Columns and rule shared by Resource and Room: open on some weekdays, from one time to another.

    A closing time at or before the opening time means the day's opening runs to that time the
    next morning (00:00 is midnight); past midnight is allowed only with ``overnight``, which
    also lets a booking run over several days (collected and returned within opening hours).
    """

    opens_at: Mapped[time] = mapped_column(default=DEFAULT_OPENS, server_default=text("'08:00:00'"))
    closes_at: Mapped[time] = mapped_column(default=DEFAULT_CLOSES, server_default=text("'21:00:00'"))
    open_days: Mapped[str] = mapped_column(String(7), default=ALL_DAYS, server_default=ALL_DAYS)
    overnight: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    @property
    def hours_text(self) -> str:
        """每天 08:00–21:00, as the resource and room pages show it."""
        closes = _hm(self.closes_at)
        if self.closes_at <= self.opens_at and self.closes_at != time(0, 0):
            closes = "次日 " + closes
        elif self.closes_at == time(0, 0):
            closes = "24:00"
        text_ = f"{days_text(self.open_days or '')} {_hm(self.opens_at)}–{closes}"
        return text_ + "，可跨午夜使用" if self.overnight else text_

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The opening that starts on a local day, or None if closed that day."""
        if str(day.isoweekday()) not in (self.open_days or ""):
            return None
        opens = datetime.combine(day, self.opens_at, SHANGHAI)
        closes = datetime.combine(day, self.closes_at, SHANGHAI)
        if closes <= opens:
            closes += timedelta(days=1)
        return opens, closes

    def _windows_around(self, moment: datetime) -> list[tuple[datetime, datetime]]:
        day = moment.astimezone(SHANGHAI).date()
        found = (self._window(day - timedelta(days=1)), self._window(day))
        return [w for w in found if w is not None]

    def hours_problem(self, name: str, start: datetime, end: datetime) -> str | None:
        """Why a booking from start to end does not fit the opening hours, in Chinese; None if it does."""
        hours = f"开放时间为{self.hours_text}"
        local_start, local_end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
        crosses_midnight = (end - timedelta(microseconds=1)).astimezone(SHANGHAI).date() != local_start.date()
        if crosses_midnight and not self.overnight:
            return f"“{name}”的预约不能跨过午夜，请在当天 24:00 前结束，或分天预约；{hours}。"
        starts_in = [w for w in self._windows_around(start) if w[0] <= start < w[1]]
        if not starts_in:
            if str(local_start.isoweekday()) not in (self.open_days or ""):
                return f"“{name}”星期{WEEKDAY_NAMES[local_start.isoweekday()]}不开放，{hours}。"
            return f"开始时间 {local_start:%H:%M} 不在“{name}”的开放时间内，{hours}。"
        if any(end <= w[1] for w in starts_in):
            return None
        if not self.overnight:
            return f"结束时间 {local_end:%H:%M} 已过“{name}”的关闭时间，{hours}。"
        # A booking over several days: it must end within an opening too.
        if not any(w[0] < end <= w[1] for w in self._windows_around(end - timedelta(microseconds=1))):
            return (
                f"结束时间（{format_month_day_time(end)}）不在“{name}”的开放时间内，"
                f"请在开放时间内归还；{hours}。"
            )
        return None
