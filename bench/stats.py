"""Time the street dashboard, the points pages and the annual report over five years of data.

    .venv/bin/python bench/stats.py                    # build, then ~100 requests per page
    .venv/bin/python bench/stats.py --requests 30      # quicker
    .venv/bin/python bench/stats.py --build-only       # just the database, to browse it
    DATABASE_URL=postgresql://... .venv/bin/python bench/stats.py --reset

The database (SQLite under bench/out/bench-stats.db, or the PostgreSQL database in
DATABASE_URL, whose public schema is dropped with --reset) gets the street, its five
communities and 500 units from generate.py, then five years of work (four and a half
past, half a year ahead): two meetings a month per community with 20 invited units each
and attendance for the held ones, three actions per held meeting, 10,000 needs, 2,000
resources and 20,000 bookings. Pages go through the Flask test client, logged in through
POST /login as admin and as secretary1. The table and bench/out/stats.json give the median
and p95 per request and the SQL statements per request (BEGIN/COMMIT excluded).
Target (issue 5, point 9): the dashboard under 200 ms p95 over five years of data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import (  # noqa: E402
    OUT,
    PASSWORD,
    count_queries,
    database_url,
    fresh_schema,
    generate,
    make_app,
    record_statements,
)

from common.dates import SHANGHAI  # noqa: E402  (generate put the repository on sys.path)

UNITS = 500
NEEDS = 10_000
RESOURCES = 2_000
BOOKINGS = 20_000
TARGET_MS = 200.0


def generate_work(seed: int = 2026) -> dict[str, int]:
    """Add five years of meetings, attendance, actions, needs, resources and bookings."""
    from sqlalchemy import insert, select

    from models import (
        Action,
        ActionStatus,
        Attendance,
        Booking,
        BookingStatus,
        Community,
        Invitation,
        Meeting,
        MeetingKind,
        MeetingStatus,
        Need,
        NeedStatus,
        Resource,
        ResourceKind,
        Room,
        Street,
        Unit,
        db,
    )

    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    first = today - timedelta(days=round(4.5 * 365))
    span = round(5 * 365)
    street = db.session.scalar(select(Street))
    communities = db.session.scalars(select(Community).order_by(Community.position)).all()
    rooms = {
        r.community_id: r.id for r in db.session.scalars(select(Room).where(Room.community_id.is_not(None)))
    }
    units_by_c: dict[int, list[int]] = {}
    for uid, cid in db.session.execute(select(Unit.id, Unit.community_id)):
        units_by_c.setdefault(cid, []).append(uid)
    all_units = [u for us in units_by_c.values() for u in us]

    def moment(day: date, hour: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)

    # Meetings: two a month per community, on a weekday afternoon.
    meetings, plan = [], []
    for c in communities:
        day = first
        while day < first + timedelta(days=span):
            for d in (rng.randint(2, 12), rng.randint(15, 27)):
                mday = day.replace(day=d)
                start = moment(mday, 14)
                held = start < now
                meetings.append(
                    {
                        "street_id": street.id,
                        "community_id": c.id,
                        "kind": MeetingKind.REGULAR,
                        "title": f"{c.short_name}{mday:%Y年%m月}联席会议",
                        "start_at": start,
                        "end_at": start + timedelta(hours=2),
                        "room_id": rooms[c.id],
                        "status": MeetingStatus.HELD if held else MeetingStatus.SCHEDULED,
                    }
                )
                plan.append((c.id, mday, held))
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    db.session.execute(insert(Meeting), meetings)
    ids = db.session.scalars(select(Meeting.id).order_by(Meeting.id)).all()
    invitations, actions = [], []
    attendance = [Attendance.PRESENT] * 7 + [
        Attendance.ABSENT_LEAVE,
        Attendance.ABSENT_NO_LEAVE,
        Attendance.UNKNOWN,
    ]
    for mid, (cid, mday, held) in zip(ids, plan, strict=True):
        invited = rng.sample(units_by_c[cid], min(20, len(units_by_c[cid])))
        for uid in invited:
            invitations.append(
                {
                    "meeting_id": mid,
                    "unit_id": uid,
                    "attendance": rng.choice(attendance) if held else Attendance.UNKNOWN,
                }
            )
        if held:
            for k in range(3):
                due = mday + timedelta(days=rng.randint(20, 90))
                done = rng.random() < 0.7 and due - timedelta(days=30) < today
                done_on = min(due + timedelta(days=rng.randint(-25, 10)), today) if done else None
                actions.append(
                    {
                        "meeting_id": mid,
                        "street_id": street.id,
                        "community_id": cid,
                        "title": f"议定事项{mid}-{k}",
                        "lead_unit_id": rng.choice(invited),
                        "due_on": due,
                        "status": ActionStatus.DONE
                        if done
                        else rng.choice([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]),
                        "done_on": done_on,
                    }
                )
    db.session.execute(insert(Invitation), invitations)
    db.session.execute(insert(Action), actions)

    kinds = list(ResourceKind)
    needs = []
    for i in range(NEEDS):
        c = rng.choice(communities)
        created = now - timedelta(days=rng.uniform(0, 4.5 * 365))
        status = rng.choice(
            [NeedStatus.FULFILLED] * 5
            + [NeedStatus.OPEN, NeedStatus.CLAIMED, NeedStatus.IN_PROGRESS, NeedStatus.WITHDRAWN]
        )
        claimed = rng.choice(units_by_c[c.id]) if status != NeedStatus.OPEN else None
        fulfilled = created + timedelta(days=rng.uniform(1, 60)) if status == NeedStatus.FULFILLED else None
        needs.append(
            {
                "street_id": street.id,
                "community_id": c.id,
                "kind": rng.choice(kinds),
                "is_wish": rng.random() < 0.4,
                "title": f"需求{i}",
                "status": status,
                "claimed_unit_id": claimed,
                "fulfilled_at": min(fulfilled, now) if fulfilled else None,
                "created_at": created,
            }
        )
    db.session.execute(insert(Need), needs)
    unit_community = {u: c for c, us in units_by_c.items() for u in us}
    resources = []
    for i in range(RESOURCES):
        owner = rng.choice(all_units)
        resources.append(
            {
                "street_id": street.id,
                "owner_unit_id": owner,
                "community_id": unit_community[owner],
                "kind": rng.choice(kinds),
                "title": f"资源{i}",
                "bookable": True,
                "created_at": now - timedelta(days=rng.uniform(0, 5 * 365)),
            }
        )
    db.session.execute(insert(Resource), resources)
    resource_rows = db.session.execute(select(Resource.id, Resource.owner_unit_id)).all()
    bookings = []
    for _ in range(BOOKINGS):
        rid, _owner = rng.choice(resource_rows)
        start = moment(first + timedelta(days=rng.randint(0, span - 1)), rng.randint(8, 18))
        bookings.append(
            {
                "resource_id": rid,
                "requester_unit_id": rng.choice(all_units),
                "start_at": start,
                "end_at": start + timedelta(hours=2),
                "purpose": "活动",
                "status": rng.choice(
                    [BookingStatus.APPROVED] * 3 + [BookingStatus.PENDING, BookingStatus.DECLINED]
                ),
            }
        )
    db.session.execute(insert(Booking), bookings)
    db.session.commit()
    return {
        "units": len(all_units),
        "meetings": len(meetings),
        "invitations": len(invitations),
        "actions": len(actions),
        "needs": len(needs),
        "resources": len(resources),
        "bookings": len(bookings),
    }


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "max_ms": round(times[-1], 2),
    }


def measure(app, requests: int, warmup: int, pdf_requests: int) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    from models import Invitation, User, db

    statements = record_statements(app)
    with app.app_context():
        secretary = db.session.scalar(select(User).where(User.username == "secretary1"))
        busiest = db.session.scalar(
            select(Invitation.unit_id).group_by(Invitation.unit_id).order_by(func.count().desc()).limit(1)
        )
        community_id = secretary.community_id
        db.session.remove()

    today = datetime.now(SHANGHAI).date()
    five_years = (
        f"from={today - timedelta(days=round(4.5 * 365)):%Y-%m-%d}&to={today + timedelta(days=180):%Y-%m-%d}"
    )
    pages = [
        ("dashboard, this year", "/stats", requests),
        ("dashboard, last 12 months", "/stats?period=12m", requests),
        ("dashboard, five years", f"/stats?{five_years}", requests),
        ("ranking, community", f"/stats/points?community={community_id}", requests),
        ("points of a unit", f"/stats/points/units/{busiest}", requests),
        ("ranking xlsx", f"/stats/points.xlsx?community={community_id}", max(requests // 5, 5)),
        ("annual report PDF", f"/stats/report.pdf?year={today.year - 1}", pdf_requests),
    ]
    results = []
    for username in ("admin", "secretary1"):
        client = app.test_client()
        resp = client.post("/login", data={"username": username, "password": PASSWORD})
        if resp.status_code != 302:
            raise SystemExit(f"login as {username} failed: {resp.status_code}")
        for label, path, n in pages:
            for _ in range(min(warmup, n)):
                client.get(path)
            times, queries = [], set()
            for _ in range(n):
                statements.clear()
                t0 = time.perf_counter()
                resp = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                if resp.status_code != 200:
                    raise SystemExit(f"GET {path} as {username}: {resp.status_code}")
                queries.add(count_queries(statements))
            results.append(
                {
                    "page": label,
                    "path": path,
                    "role": username,
                    "requests": n,
                    **_percentiles(times),
                    "queries": max(queries),
                    "queries_varied": len(queries) > 1,
                }
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--pdf-requests", type=int, default=5)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--reset", action="store_true", help="confirm dropping the PostgreSQL schema")
    args = parser.parse_args(argv)
    url = database_url(None, "stats")
    if not url.startswith("sqlite") and not args.reset:
        raise SystemExit("refusing to drop the schema of DATABASE_URL without --reset")
    app = make_app(url)
    t0 = time.perf_counter()
    fresh_schema(app)
    from models import db

    with app.app_context():
        generate(UNITS)
        counts = generate_work()
        db.session.remove()
    build_s = round(time.perf_counter() - t0, 1)
    print(f"built in {build_s} s: {counts}", flush=True)
    if args.build_only:
        return 0
    results = measure(app, args.requests, args.warmup, args.pdf_requests)
    ok = True
    print(f"\n{'page':<28} {'role':<11} {'n':>4} {'median':>8} {'p95':>8} {'SQL':>5}")
    for r in results:
        flag = ""
        if r["page"].startswith("dashboard") and r["p95_ms"] >= TARGET_MS:
            ok, flag = False, "  over target"
        print(
            f"{r['page']:<28} {r['role']:<11} {r['requests']:>4} {r['median_ms']:>8.1f} {r['p95_ms']:>8.1f} "
            f"{str(r['queries']) + ('*' if r['queries_varied'] else ''):>5}{flag}"
        )
    print(f"\ndashboard p95 under {TARGET_MS:.0f} ms over five years of data: {'yes' if ok else 'NO'}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "stats.json").write_text(
        json.dumps(
            {
                "database": "postgresql" if not url.startswith("sqlite") else "sqlite",
                "counts": counts,
                "build_s": build_s,
                "results": results,
                "target_met": ok,
                "pid": os.getpid(),
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
