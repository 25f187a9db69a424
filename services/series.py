"""Regular series: occurrence dates by rule, their clashes, and the meetings they create."""

from __future__ import annotations

import calendar as pycal
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from common.dates import local_dt
from models import (
    Meeting,
    MeetingKind,
    MeetingSeries,
    Room,
    User,
    db,
)
from models.base import utcnow
from services.meetings import MeetingData, save_meeting
from services.rooms import RoomHold, find_clash, lock_room, next_free_slot, pending_requests

# --- series -----------------------------------------------------------------------------


@dataclass
class SeriesRule:
    rule: str  # "monthly_nth" or "weekly"
    interval: int
    weekday: int  # 0 = Monday
    nth: int | None  # 1..4, or -1 for the last
    start_time: time
    duration_minutes: int
    first_date: date
    until: date


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    days = [
        d for d in pycal.Calendar().itermonthdates(year, month) if d.month == month and d.weekday() == weekday
    ]
    if nth == -1:
        return days[-1]
    return days[nth - 1] if nth - 1 < len(days) else None


def occurrence_dates(rule: SeriesRule, limit: int = 200) -> list[date]:
    """Dates of a series from first_date up to until (at most `limit`)."""
    out: list[date] = []
    if rule.rule == "weekly":
        day = rule.first_date + timedelta(days=(rule.weekday - rule.first_date.weekday()) % 7)
        while day <= rule.until and len(out) < limit:
            out.append(day)
            day += timedelta(weeks=rule.interval)
        return out
    year, month = rule.first_date.year, rule.first_date.month
    while len(out) < limit:
        day = nth_weekday(year, month, rule.weekday, rule.nth or 1)
        if day and day > rule.until:
            break
        if day and day >= rule.first_date:
            out.append(day)
        month += rule.interval
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        if date(year, month, 1) > rule.until:
            break
    return out


@dataclass
class Occurrence:
    start_at: datetime
    end_at: datetime
    clash: Meeting | RoomHold | None = None
    suggestion: datetime | None = None
    past: bool = False
    pending: list = field(default_factory=list)  # booking requests the occurrence would overlap


def plan_series(rule: SeriesRule, room_id: int) -> list[Occurrence]:
    """Every occurrence of a series with the clashes it would have, before anything is saved."""
    now = utcnow()
    duration = timedelta(minutes=rule.duration_minutes)
    plan = []
    for day in occurrence_dates(rule):
        start = local_dt(day, rule.start_time)
        occ = Occurrence(start, start + duration, past=start <= now)
        occ.clash = find_clash(room_id, occ.start_at, occ.end_at)
        if occ.clash:
            occ.suggestion = next_free_slot(room_id, occ.start_at, duration)
        else:
            occ.pending = pending_requests([room_id], occ.start_at, occ.end_at)
        plan.append(occ)
    return plan


def create_series(
    rule: SeriesRule,
    title: str,
    kind: MeetingKind,
    community_id: int | None,
    room_id: int,
    unit_ids: set[int],
    starts: list[datetime],
    by: User,
) -> MeetingSeries:
    """Create the series and one draft meeting per chosen start (each re-checked for clashes)."""
    lock_room(room_id)
    room = db.session.get(Room, room_id)
    series = MeetingSeries(
        street_id=room.street_id,
        community_id=community_id,
        title=title,
        kind=kind,
        rule=rule.rule,
        interval=rule.interval,
        nth=rule.nth,
        weekday=rule.weekday,
        start_time=rule.start_time,
        duration_minutes=rule.duration_minutes,
        room_id=room_id,
        first_date=rule.first_date,
        until=rule.until,
        created_by_id=by.id,
    )
    db.session.add(series)
    duration = timedelta(minutes=rule.duration_minutes)
    for n, start in enumerate(sorted(starts), start=1):
        data = MeetingData(
            kind=kind,
            title=f"{title}（第{n}次）",
            description="",
            community_id=community_id,
            room_id=room_id,
            start_at=start,
            end_at=start + duration,
            topic_deadline=None,
            agenda=[],
            unit_ids=unit_ids,
        )
        meeting = save_meeting(None, data, by)
        meeting.series = series
        db.session.flush()
    return series
