"""200 people sign in at one meeting within a minute, through gunicorn over HTTP, on SQLite.

    .venv/bin/python bench/signin.py                 # 200 sign-ins from 20 phones at once
    .venv/bin/python bench/signin.py --people 400 --phones 40

A fresh SQLite database under bench/out/ gets the street of generate.py (200 units) and a
meeting beginning in ten minutes that invites 50 of them; gunicorn (gunicorn.conf.py, two
workers) serves it on a free loopback port. Each "phone" (a thread) opens the sign-in link
(GET, for the form's CSRF token and session cookie) and posts a sign-in, one person after
another. Target (issue 12, point 7): 200 sign-ins within one minute, no error; every one in
the database, the units marked present.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import BENCH_CONFIG, OUT, fresh_schema, generate, make_app  # noqa: E402
from http_load import Server, csrf_token, request  # noqa: E402

TARGET_SECONDS = 60.0


def build(url: str):
    """The data: a meeting in ten minutes inviting 50 units; return its sign-in path and units."""
    from sqlalchemy import select

    from models import Invitation, Meeting, MeetingKind, MeetingStatus, Room, Unit, db
    from models.base import utcnow
    from services import signin

    app = make_app(url)
    fresh_schema(app)
    with app.app_context():
        generate(200)
        room = db.session.scalar(select(Room).where(Room.community_id.is_not(None)).order_by(Room.id))
        units = db.session.scalars(
            select(Unit.id).where(Unit.community_id == room.community_id).limit(50)
        ).all()
        start = utcnow() + timedelta(minutes=10)
        meeting = Meeting(
            street_id=room.street_id,
            community_id=room.community_id,
            kind=MeetingKind.REGULAR,
            title="扫码签到压力测试联席会议",
            start_at=start,
            end_at=start + timedelta(hours=2),
            room_id=room.id,
            status=MeetingStatus.SCHEDULED,
        )
        meeting.invitations = [Invitation(unit_id=u) for u in units]
        db.session.add(meeting)
        db.session.commit()
        path = f"/s/{signin.poster_token(meeting)}"
        db.session.remove()
    return path, list(units), app


def sign_in(port: int, path: str, unit_id: int, n: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    cookies: dict[str, str] = {}
    _, _, html = request(port, "GET", path, cookies)
    form = {"csrf_token": csrf_token(html), "unit_id": unit_id, "name": f"参会人{n:03d}", "post": "干部"}
    status, _, body = request(port, "POST", path, cookies, form)
    ok = status == 200 and "签到成功".encode() in body
    return (time.perf_counter() - t0) * 1000, (0 if ok else status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--phones", type=int, default=20)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    db_file = OUT / "bench-signin.db"
    url = f"sqlite:///{db_file}"
    path, units, app = build(url)
    instance = OUT / "signin-instance"
    instance.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("GUNICORN_BIND", "WEB_CONCURRENCY")}
    # The server signs and reads the links with the key the link above was signed with.
    env |= {
        "DATABASE_URL": url,
        "SECRET_KEY": BENCH_CONFIG["SECRET_KEY"],
        "GONGJIAN_INSTANCE_PATH": str(instance),
    }
    server = Server("signin", "wsgi:app", env)
    server.start(2)
    try:
        server.wait_ready("/login")
        port = server.port
        started = time.perf_counter()
        with ThreadPoolExecutor(args.phones) as pool:
            results = list(
                pool.map(lambda n: sign_in(port, path, units[n % len(units)], n), range(args.people))
            )
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    errors = [code for _, code in results if code]
    times = sorted(t for t, _ in results)
    from sqlalchemy import func, select

    from models import Attendance, Invitation, PersonSignIn, db

    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(PersonSignIn))
        present = db.session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.attendance == Attendance.PRESENT)
        )
    ok = not errors and stored == args.people and elapsed < TARGET_SECONDS
    report = {
        "people": args.people,
        "phones": args.phones,
        "seconds": round(elapsed, 1),
        "errors": len(errors),
        "stored": stored,
        "units_present": present,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "met": ok,
    }
    print(json.dumps(report, ensure_ascii=False))
    (OUT / "signin.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
