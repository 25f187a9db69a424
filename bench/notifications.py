"""Time the bell and /notifications with 100,000 notifications in the database.

    .venv/bin/python bench/notifications.py                  # 200 requests per page and user
    .venv/bin/python bench/notifications.py --requests 50    # quicker, noisier
    .venv/bin/python bench/notifications.py --temp-cluster   # on a throwaway PostgreSQL 15
    DATABASE_URL=postgresql://... .venv/bin/python bench/notifications.py --reset

A fresh database (SQLite under bench/out/, or the PostgreSQL database in DATABASE_URL, whose
public schema is dropped) gets the street of generate.py (2,000 units, their liaisons) and
100,000 notifications over the past half year, spread over every user, with a quarter
unread; liaison1 holds 5,000 of them. Pages go through the Flask test client, logged in
through POST /login. Targets (issue 11): /notifications p95 under 30 ms, and the bell at most
one statement per page (counted on /units, whose other statements do not touch notifications).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from datetime import timedelta
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
    refuse_to_reset_unasked,
)

TOTAL = 100_000
HEAVY = 5_000  # liaison1's own
TARGET_P95_MS = 30.0
TEXTS = [
    "请于 2026年12月03日 前会签“第四季度共驻共建联席会议”的会议纪要。",
    "议定事项“开放学校操场供居民周末健身”将于 2026年12月05日 到期，牵头单位：东大街第一小学。",
    "青年路社区邀请贵单位参加“2026年第四季度共驻共建联席会议”（12月10日 14:30），请回复是否参加。",
    "和平里派出所申请预约“第一小学多功能厅”（12月12日 09:00）：消防安全讲座",
]


def fill(n: int = TOTAL, heavy: int = HEAVY, seed: int = 2026) -> dict[str, int]:
    """Insert n notifications: `heavy` for liaison1, the rest spread over every user."""
    from sqlalchemy import insert, select

    from models import User, db
    from models.base import utcnow
    from models.notification import Channel, NoticeKind, Notification

    rng = random.Random(seed)
    users = db.session.scalars(select(User.id).order_by(User.id)).all()
    heavy_id = db.session.scalar(select(User.id).where(User.username == "liaison1"))
    now = utcnow()
    kinds = list(NoticeKind)
    rows = []
    for k in range(n):
        user = heavy_id if k < heavy else rng.choice(users)
        created = now - timedelta(minutes=rng.randint(0, 180 * 24 * 60))
        rows.append(
            {
                "user_id": user,
                "kind": rng.choice(kinds),
                "text": rng.choice(TEXTS),
                "url": f"/meetings/{rng.randint(1, 500)}",
                "channel": Channel.APP,
                "created_at": created,
                "read_at": None if rng.random() < 0.25 else created + timedelta(hours=3),
            }
        )
        if len(rows) == 10_000:
            db.session.execute(insert(Notification), rows)
            rows = []
    if rows:
        db.session.execute(insert(Notification), rows)
    db.session.commit()
    return {"notifications": n, "liaison1": heavy, "users": len(users)}


PAGES = [
    ("notifications", "/notifications"),
    ("notifications, unread", "/notifications?unread=1"),
    ("notifications, page 50", "/notifications?page=50"),
    ("units (bell on a page)", "/units"),
]


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def measure(requests: int, warmup: int, url: str) -> dict[str, Any]:
    app = make_app(url)
    fresh_schema(app)
    started = time.perf_counter()
    with app.app_context():
        generate(2000)
        counts = fill()
    build_s = time.perf_counter() - started
    statements = record_statements(app)
    results = []
    for username in ("liaison1", "secretary1"):
        client = app.test_client()
        if client.post("/login", data={"username": username, "password": PASSWORD}).status_code != 302:
            raise SystemExit(f"login as {username} failed")
        for label, path in PAGES:
            for _ in range(warmup):
                client.get(path)
            times, queries, bell = [], set(), set()
            for _ in range(requests):
                statements.clear()
                t0 = time.perf_counter()
                resp = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                if resp.status_code != 200:
                    raise SystemExit(f"GET {path} as {username}: {resp.status_code}")
                queries.add(count_queries(statements))
                bell.add(sum("notification" in s for s in statements))
            results.append(
                {
                    "page": label,
                    "path": path,
                    "user": username,
                    **_percentiles(times),
                    "queries": max(queries),
                    "notification_statements": max(bell),
                }
            )
    return {
        "counts": counts,
        "dialect": url.split(":", 1)[0],
        "build_s": round(build_s, 1),
        "results": results,
    }


def report(data: dict[str, Any]) -> tuple[str, bool]:
    lines = [
        f"{data['counts']['notifications']:,} notifications ({data['counts']['liaison1']:,} of liaison1's), "
        f"{data['counts']['users']} users, {data['dialect']}; built in {data['build_s']} s",
        f"{'page':<26} {'user':<11} | {'median':>7} {'p95':>7} {'SQL':>4} {'bell SQL':>8}",
    ]
    ok = True
    for r in data["results"]:
        lines.append(
            f"{r['page']:<26} {r['user']:<11} | {r['median_ms']:7.1f} {r['p95_ms']:7.1f} {r['queries']:4d} "
            f"{r['notification_statements']:8d}"
        )
        if r["path"].startswith("/notifications") and r["p95_ms"] >= TARGET_P95_MS:
            ok = False
        if r["path"] == "/units" and r["notification_statements"] > 1:
            ok = False
    lines.append(
        f"/notifications p95 < {TARGET_P95_MS:.0f} ms and the bell one statement per page: {'met' if ok else 'NOT met'}"
    )
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--reset", action="store_true", help="drop the PostgreSQL schema in DATABASE_URL")
    parser.add_argument("--temp-cluster", action="store_true", help="on a throwaway PostgreSQL 15 cluster")
    args = parser.parse_args(argv)
    if args.temp_cluster:
        from city import temp_cluster

        with temp_cluster() as url:
            data = measure(args.requests, args.warmup, url)
    else:
        refuse_to_reset_unasked(parser, args)
        data = measure(args.requests, args.warmup, database_url(None, "notifications"))
    text, ok = report(data)
    print(text)
    OUT.mkdir(exist_ok=True)
    data["machine"] = platform.platform()
    (OUT / "notifications.json").write_text(json.dumps(data, ensure_ascii=False, indent=1))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
