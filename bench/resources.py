"""Time the resource catalogue and the booking pages with 10,000 resources.

    .venv/bin/python bench/resources.py                  # 100 and 10,000 resources, 200 requests per page
    .venv/bin/python bench/resources.py --requests 50    # quicker, noisier
    .venv/bin/python bench/resources.py --only 10000     # one size
    DATABASE_URL=postgresql://... .venv/bin/python bench/resources.py --reset

Each size gets a fresh database (SQLite under bench/out/, or the PostgreSQL database in
DATABASE_URL, whose public schema is dropped): the street, its five communities and 500 units
from generate.py, then N resources of every kind owned by the units (and a few by the
communities), 70 % visible to all units and 30 % to their own community, a third bookable,
5 % deactivated, and about N / 5 bookings in every status. Pages go through the Flask test
client, logged in through POST /login as a liaison (the visibility filter applies), a
secretary and admin. The table and bench/out/resources.json give the median and p95 per
request and the SQL statements per request (BEGIN/COMMIT excluded).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
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

SIZES = {"100": 100, "10000": 10_000}
UNITS = 500
TARGET_P95_MS = 50.0

TITLES = {
    "venue": ["多功能厅", "会议室", "报告厅", "篮球场", "活动室", "阅览室", "排练厅", "田径场"],
    "equipment": ["投影仪", "音响设备", "应急发电车", "心电图机", "帐篷", "折叠桌椅", "高空作业车"],
    "expertise": ["法律咨询", "义诊专家", "税务政策辅导", "心理咨询", "家电维修技师"],
    "volunteer": ["志愿服务队", "助老志愿者", "环保志愿者", "文明劝导队"],
    "funds": ["公益资金", "慰问物资", "助学金", "爱心图书"],
    "training": ["防诈骗讲座", "消防培训", "书法公益课", "智能手机课堂", "急救培训"],
    "other": ["宣传栏", "停车位错时共享", "流动图书箱", "爱心车厢"],
}


def generate_resources(n: int, seed: int = 2026) -> dict[str, Any]:
    """Add n resources and about n / 5 bookings to the generated street."""
    from sqlalchemy import insert, select

    from models import (
        Booking,
        BookingStatus,
        Community,
        Resource,
        ResourceKind,
        Role,
        Street,
        Unit,
        UnitStatus,
        User,
        Visibility,
        db,
    )

    rng = random.Random(seed)
    now = datetime.now(UTC)
    street = db.session.scalar(select(Street))
    communities = list(db.session.scalars(select(Community).order_by(Community.position)))
    units = db.session.execute(
        select(Unit.id, Unit.community_id, Unit.short_name).where(Unit.status != UnitStatus.WITHDRAWN)
    ).all()
    kinds = list(ResourceKind)
    rows = []
    for k in range(n):
        kind = kinds[k % len(kinds)]
        by_community = k % 50 == 0
        unit = units[rng.randrange(len(units))]
        community_id = communities[k % len(communities)].id if by_community else unit.community_id
        bookable = kind in (ResourceKind.VENUE, ResourceKind.EQUIPMENT) and rng.random() < 0.8
        rows.append(
            {
                "street_id": street.id,
                "owner_unit_id": None if by_community else unit.id,
                "owner_community_id": community_id if by_community else None,
                "community_id": community_id,
                "kind": kind,
                "title": f"{'社区' if by_community else unit.short_name}{rng.choice(TITLES[kind.value])}",
                "description": "面向辖区共建单位和居民开放，具体安排请与联系人商定。",
                "capacity": rng.choice((20, 40, 60, 120)) if kind == ResourceKind.VENUE else None,
                "quantity": "",
                "availability": rng.choice(("工作日", "周末全天", "工作日晚间", "寒暑假")),
                "conditions": "",
                "contact_name": "",
                "contact_phone": "",
                "visibility": Visibility.ALL if rng.random() < 0.7 else Visibility.COMMUNITY,
                "bookable": bookable,
                "active": rng.random() > 0.05,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
    db.session.execute(insert(Resource), rows)
    bookable = db.session.execute(
        select(Resource.id, Resource.owner_unit_id).where(
            Resource.bookable.is_(True), Resource.active.is_(True)
        )
    ).all()
    statuses = list(BookingStatus)
    booking_rows = []
    for i in range(n // 5):
        resource = bookable[i % len(bookable)]
        requester = units[rng.randrange(len(units))]
        # Each resource's bookings sit in their own day, so approved ones never overlap.
        start = now + timedelta(days=1 + i // len(bookable), hours=rng.randrange(8))
        booking_rows.append(
            {
                "resource_id": resource.id,
                "requester_unit_id": requester.id,
                "start_at": start,
                "end_at": start + timedelta(hours=2),
                "purpose": "开展共建活动",
                "status": statuses[i % len(statuses)],
                "created_at": now,
                "decline_reason": "",
            }
        )
    if booking_rows:
        db.session.execute(insert(Booking), booking_rows)
    # The liaison whose unit owns most bookable resources: their "awaiting my decision" is the longest.
    owner_unit = max(
        {r.owner_unit_id for r in bookable if r.owner_unit_id},
        key=lambda u: sum(1 for r in bookable if r.owner_unit_id == u),
    )
    owner_liaison = db.session.scalar(
        select(User.username).where(User.unit_id == owner_unit, User.role == Role.LIAISON).limit(1)
    )
    community1 = communities[0]
    a_liaison = db.session.scalar(
        select(User.username)
        .join(Unit, Unit.id == User.unit_id)
        .where(Unit.community_id == community1.id, User.role == Role.LIAISON)
        .order_by(User.id)
        .limit(1)
    )
    sample = db.session.scalar(
        select(Resource.id)
        .where(Resource.bookable.is_(True), Resource.active.is_(True), Resource.visibility == Visibility.ALL)
        .order_by(Resource.id.desc())
        .limit(1)
    )
    db.session.commit()
    return {
        "resources": n,
        "bookings": len(booking_rows),
        "owner_liaison": owner_liaison,
        "liaison": a_liaison,
        "community": community1.id,
        "sample_resource": sample,
        "owner_unit": owner_unit,
    }


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def measure(size: str, requests: int, warmup: int) -> dict[str, Any]:

    from models import db

    url = database_url(None, f"resources-{size}")
    app = make_app(url)
    started = time.perf_counter()
    fresh_schema(app)
    with app.app_context():
        generate(UNITS)
        info = generate_resources(SIZES[size])
        db.session.remove()
    build_s = time.perf_counter() - started

    statements = record_statements(app)

    def timed(client, path: str, n: int) -> dict[str, Any]:
        times, queries = [], set()
        for _ in range(n):
            statements.clear()
            t0 = time.perf_counter()
            resp = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            if resp.status_code != 200:
                raise SystemExit(f"GET {path}: {resp.status_code}")
            queries.add(count_queries(statements))
        return {**_percentiles(times), "queries": max(queries), "queries_varied": len(queries) > 1}

    pages = [
        ("catalogue", "/resources"),
        ("catalogue, keyword", "/resources?q=多功能厅"),
        ("catalogue, filters", f"/resources?kind=venue&community={info['community']}&bookable=1"),
        ("catalogue, owner", f"/resources?owner={info['owner_unit']}"),
        ("catalogue, page 100", "/resources?page=100"),
        ("resource page", f"/resources/{info['sample_resource']}"),
        ("bookings, mine", "/bookings?tab=mine"),
    ]
    results = []
    for username in (info["liaison"], "secretary1", "admin", info["owner_liaison"]):
        client = app.test_client()
        if client.post("/login", data={"username": username, "password": PASSWORD}).status_code != 302:
            raise SystemExit(f"login as {username} failed")
        role_pages = (
            pages
            if username != info["owner_liaison"]
            else [
                ("bookings, to decide", "/bookings?tab=todo"),
                ("dashboard (with panel)", "/"),
            ]
        )
        for label, path in role_pages:
            if username in ("admin", "secretary1") and path.startswith("/bookings?tab=mine"):
                path = "/bookings?tab=all"
                label = "bookings, all"
            timed(client, path, warmup)
            results.append({"page": label, "role": username, "path": path, **timed(client, path, requests)})
    return {
        "size": size,
        "build_s": round(build_s, 1),
        "info": info,
        "results": results,
        "database": url.split(":")[0],
    }


def report(runs: list[dict[str, Any]]) -> str:
    head = f"{'page':26} {'role':12}" + "".join(f" | {r['size'] + ' resources':>24}" for r in runs)
    sub = " " * 39 + "".join(f" | {'median':>8}{'p95':>8}{'SQL':>7}" for _ in runs)
    lines = [head, sub, "-" * len(sub)]
    for i, row in enumerate(runs[0]["results"]):
        role = (
            row["role"]
            if row["role"] in ("admin", "secretary1")
            else ("owner" if row["page"].startswith(("bookings, to", "dashboard")) else "liaison")
        )
        line = f"{row['page']:26} {role:12}"
        for r in runs:
            x = r["results"][i]
            line += f" | {x['median_ms']:8.1f}{x['p95_ms']:8.1f}{x['queries']:6d}{'*' if x['queries_varied'] else ' '}"
        lines.append(line)
    big = runs[-1]["results"]
    worst = max(x["p95_ms"] for x in big)
    lines.append("")
    lines.append(
        f"worst p95 at {runs[-1]['size']} resources: {worst:.1f} ms (target {TARGET_P95_MS:.0f} ms: "
        f"{'met' if worst < TARGET_P95_MS else 'missed'})"
    )
    if len(runs) > 1:
        same = all(a["queries"] == b["queries"] for a, b in zip(runs[0]["results"], big, strict=True))
        lines.append(f"same query count at every size: {'met' if same else 'missed'}")
    for r in runs:
        lines.append(
            f"{r['size']}: {r['info']['resources']} resources, {r['info']['bookings']} bookings on "
            f"{r['database']}, built in {r['build_s']} s"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--only", choices=list(SIZES))
    parser.add_argument(
        "--reset", action="store_true", help="allow dropping the PostgreSQL schema in DATABASE_URL"
    )
    args = parser.parse_args(argv)
    import os

    if os.environ.get("DATABASE_URL", "").startswith("postgres") and not args.reset:
        raise SystemExit("DATABASE_URL is PostgreSQL: its public schema is dropped; confirm with --reset")
    runs = [measure(s, args.requests, args.warmup) for s in ([args.only] if args.only else list(SIZES))]
    text = report(runs)
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "resources.json").write_text(json.dumps(runs, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
