"""Time the needs board, a need's page and the dashboard with 100 and 10,000 needs.

    .venv/bin/python bench/needs.py                  # both sizes, 200 requests per page and role
    .venv/bin/python bench/needs.py --requests 50    # quicker, noisier
    .venv/bin/python bench/needs.py --only 10000     # one size
    .venv/bin/python bench/needs.py --build-only --only 10000   # just bench/out/bench-needs-10000.db
    DATABASE_URL=postgresql://... .venv/bin/python bench/needs.py --reset

Each size gets a fresh database (SQLite under bench/out/, or the PostgreSQL database in
DATABASE_URL, whose public schema is dropped): the street, its five communities and 500
units from generate.py, 600 shared resources, then N needs (a third of them 微心愿) over the
past three years in every state, with claims, updates and matches. Pages go through the Flask
test client, logged in through POST /login. The table and bench/out/needs.json give the
median and p95 per request and the SQL statements per request (BEGIN/COMMIT excluded).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
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

SIZES = {"100": 100, "10000": 10_000}
UNITS = 500
RESOURCES = 600
TARGET_P95_MS = 50.0

SUBJECTS = [
    ("独居老人", "家里的水龙头漏水需要更换"),
    ("社区活动室", "周末需要借用场地开展亲子活动"),
    ("留守儿童", "想要一套课外读物"),
    ("小区楼道", "声控灯损坏需要维修"),
    ("困难家庭", "冬季需要棉被和取暖器"),
    ("老年大学", "书法班需要教室"),
    ("暑期托管班", "需要英语辅导志愿者"),
    ("社区图书角", "需要书架和桌椅"),
    ("环卫工人", "冬季想要一个热饮歇脚点"),
    ("视障老人", "希望每周有人来读报"),
    ("居民", "希望开展防范电信诈骗讲座"),
    ("残疾人家庭", "轮椅需要维修"),
]
STATES = [  # status value, share
    ("open", 0.35),
    ("claimed", 0.08),
    ("in_progress", 0.17),
    ("fulfilled", 0.32),
    ("withdrawn", 0.08),
]


def generate_needs(n: int, seed: int = 2026) -> dict[str, Any]:
    """Add RESOURCES resources and n needs with claims, updates and matches to the current database."""
    from sqlalchemy import insert, select

    from models import (
        Community,
        Match,
        MatchStatus,
        Need,
        NeedStatus,
        NeedUpdate,
        Resource,
        ResourceKind,
        Role,
        Unit,
        UnitStatus,
        User,
        db,
    )

    rng = random.Random(seed)
    now = datetime.now(UTC)
    communities = db.session.scalars(select(Community).order_by(Community.position)).all()
    street_id = communities[0].street_id
    units = db.session.execute(
        select(Unit.id, Unit.community_id).where(Unit.status != UnitStatus.WITHDRAWN).order_by(Unit.id)
    ).all()
    secretaries = dict(
        db.session.execute(select(User.community_id, User.id).where(User.role == Role.SECRETARY)).all()
    )
    liaisons = dict(db.session.execute(select(User.unit_id, User.id).where(User.role == Role.LIAISON)).all())
    kinds = list(ResourceKind)

    resources = []
    for i in range(RESOURCES):
        unit_id, community_id = rng.choice(units)
        start = date.today() - timedelta(days=rng.randint(0, 400))
        resources.append(
            {
                "street_id": street_id,
                "owner_unit_id": unit_id,
                "community_id": community_id,
                "kind": rng.choice(kinds),
                "title": f"共享资源{i + 1:04d}",
                "available_from": start if rng.random() < 0.4 else None,
                "available_until": start + timedelta(days=rng.randint(200, 900))
                if rng.random() < 0.4
                else None,
                "active": rng.random() < 0.95,
            }
        )
    db.session.execute(insert(Resource), resources)

    states = [s for s, share in STATES for _ in range(round(share * 100))]
    rows = []
    for i in range(n):
        community = rng.choice(communities)
        who, what = rng.choice(SUBJECTS)
        wish = rng.random() < 0.33
        status = rng.choice(states)
        created = now - timedelta(days=rng.randint(0, 3 * 365), minutes=rng.randint(0, 1440))
        row = {
            "street_id": street_id,
            "community_id": community.id,
            "kind": rng.choice(kinds),
            "is_wish": wish,
            "title": f"{who}{what}（{i + 1}）",
            "description": f"{community.name}{who}{what}，请共建单位帮助。",
            "people_served": rng.randint(1, 200),
            "wanted_by": (created + timedelta(days=rng.randint(10, 90))).date()
            if rng.random() < 0.7
            else None,
            "resident_name": "居民" + str(i) if wish else "",
            "resident_phone": f"139{i:08d}" if wish else "",
            "status": NeedStatus(status),
            "posted_by_id": secretaries.get(community.id),
            "created_at": created,
            "updated_at": created,
            "last_activity_at": created,
            "withdrawn_reason": "居民已自行解决" if status == "withdrawn" else "",
        }
        if status in ("claimed", "in_progress", "fulfilled"):
            unit_id, _ = rng.choice(units)
            claimed = created + timedelta(days=rng.randint(1, 10))
            row.update(claimed_unit_id=unit_id, claimed_at=claimed, claimed_by_id=liaisons.get(unit_id))
            row["last_activity_at"] = claimed
            if status != "claimed":
                row["claim_confirmed_at"] = claimed + timedelta(days=1)
            if status == "fulfilled":
                row.update(fulfilled_at=claimed + timedelta(days=20), fulfilment_note="已完成，居民满意。")
                row["last_activity_at"] = row["fulfilled_at"]
        for key in ("claimed_unit_id", "claimed_at", "claimed_by_id", "claim_confirmed_at", "fulfilled_at"):
            row.setdefault(key, None)
        row.setdefault("fulfilment_note", "")
        rows.append(row)
    db.session.execute(insert(Need), rows)

    claimed = db.session.execute(
        select(Need.id, Need.claimed_unit_id, Need.claimed_by_id, Need.claimed_at, Need.status).where(
            Need.claimed_unit_id.is_not(None)
        )
    ).all()
    updates = []
    for need_id, unit_id, by, at, status in claimed:
        updates.append(
            {
                "need_id": need_id,
                "unit_id": unit_id,
                "author_id": by,
                "on": at.date(),
                "text": "认领了此需求。",
            }
        )
        for k in range(rng.randint(0, 4) if status != NeedStatus.CLAIMED else 0):
            updates.append(
                {
                    "need_id": need_id,
                    "unit_id": unit_id,
                    "author_id": by,
                    "on": at.date() + timedelta(days=3 * (k + 1)),
                    "text": f"第 {k + 1} 次上门，进展顺利。",
                    "is_fulfilment": False,
                }
            )
    for u in updates:
        u.setdefault("is_fulfilment", False)
    if updates:
        db.session.execute(insert(NeedUpdate), updates)

    need_ids = db.session.scalars(select(Need.id).where(Need.status == NeedStatus.OPEN)).all()
    resource_ids = db.session.scalars(select(Resource.id)).all()
    pairs = {(rng.choice(need_ids), rng.choice(resource_ids)) for _ in range(min(len(need_ids), n // 10))}
    if pairs:
        db.session.execute(
            insert(Match),
            [
                {"need_id": a, "resource_id": b, "status": rng.choice(list(MatchStatus)), "reason": ""}
                for a, b in pairs
            ],
        )
    db.session.commit()
    return {"needs": n, "updates": len(updates), "matches": len(pairs), "resources": RESOURCES}


def build(size: str, url: str):
    from models import db

    app = make_app(url)
    fresh_schema(app)
    with app.app_context():
        generate(UNITS)
        counts = generate_needs(SIZES[size])
        db.session.remove()
    return app, counts


def pages(app) -> list[tuple[str, str]]:
    """(label, URL) of the pages measured, chosen the same way at every size."""
    from sqlalchemy import func, select

    from models import Need, NeedStatus, NeedUpdate, User, db

    with app.app_context():
        secretary = db.session.scalar(select(User).where(User.username == "secretary1"))
        # The running need of secretary1's community with the most updates.
        need_id = db.session.scalar(
            select(Need.id)
            .join(NeedUpdate)
            .where(Need.community_id == secretary.community_id, Need.status == NeedStatus.IN_PROGRESS)
            .group_by(Need.id)
            .order_by(func.count().desc(), Need.id)
            .limit(1)
        )
        last_page = max(1, (db.session.scalar(select(func.count()).select_from(Need)) + 19) // 20)
        community = secretary.community_id
        db.session.remove()
    return [
        ("board", "/needs"),
        ("board, open wishes", "/needs?type=wish&status=open"),
        ("board, community+kind", f"/needs?community={community}&kind=volunteer"),
        ("board, search", "/needs?q=" + "独居老人"),
        ("board, last page", f"/needs?page={last_page}"),
        ("board, stale claims", "/needs?stale=1"),
        ("need page", f"/needs/{need_id}"),
        ("dashboard", "/"),
    ]


def _percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def measure(size: str, requests: int, warmup: int) -> dict[str, Any]:

    url = database_url(None, f"needs-{size}")
    started = time.perf_counter()
    app, counts = build(size, url)
    build_s = time.perf_counter() - started
    statements = record_statements(app)

    results = []
    for username in ("secretary1", "liaison1"):
        client = app.test_client()
        if client.post("/login", data={"username": username, "password": PASSWORD}).status_code != 302:
            raise SystemExit(f"login as {username} failed")
        for label, path in pages(app):
            for _ in range(warmup):
                client.get(path)
            times, queries = [], set()
            for _ in range(requests):
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
                    **_percentiles(times),
                    "queries": max(queries),
                    "queries_varied": len(queries) > 1,
                }
            )
    return {
        "size": size,
        "counts": counts,
        "dialect": url.split(":", 1)[0],
        "build_s": round(build_s, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "results": results,
    }


def report(sizes: list[dict[str, Any]]) -> tuple[str, bool]:
    lines = []
    head = f"{'page':<24} {'role':<11}"
    sub = f"{'':<24} {'':<11}"
    for s in sizes:
        head += f" | {s['size'] + ' needs':^22}"
        sub += f" | {'median':>7} {'p95':>7} {'SQL':>5}"
    lines += [head, sub, "-" * len(sub)]
    ok = True
    for i, row in enumerate(sizes[0]["results"]):
        line = f"{row['page']:<24} {row['role']:<11}"
        counts = set()
        for s in sizes:
            r = s["results"][i]
            star = "*" if r["queries_varied"] else " "
            line += f" | {r['median_ms']:7.1f} {r['p95_ms']:7.1f} {r['queries']:4d}{star}"
            counts.add(r["queries"])
            if s is sizes[-1] and r["page"] != "dashboard" and r["p95_ms"] > TARGET_P95_MS:
                ok = False
        if len(counts) > 1:
            ok = False
            line += "  (query count grows)"
        lines.append(line)
    lines.append("")
    lines.append("times in ms per request; SQL = statements per request (* = varied between requests)")
    for s in sizes:
        c = s["counts"]
        lines.append(
            f"{s['size']}: {c['needs']} needs, {c['updates']} updates, {c['matches']} matches, "
            f"{c['resources']} resources on {s['dialect']}, built in {s['build_s']} s, "
            f"peak RSS {s['peak_rss_mib']} MiB"
        )
    lines.append(
        f"board p95 < {TARGET_P95_MS:.0f} ms and the same query count at every size: {'met' if ok else 'NOT met'}"
    )
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--only", choices=sorted(SIZES))
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--reset", action="store_true", help="allow dropping the schema of DATABASE_URL")
    args = parser.parse_args(argv)
    import os

    if os.environ.get("DATABASE_URL") and not args.reset:
        raise SystemExit("DATABASE_URL is set: its public schema would be dropped; confirm with --reset")
    sizes = [args.only] if args.only else list(SIZES)
    if args.build_only:
        for size in sizes:
            build(size, database_url(None, f"needs-{size}"))
            print(f"built {database_url(None, f'needs-{size}')}")
        return 0
    measured = [measure(size, args.requests, args.warmup) for size in sizes]
    table, ok = report(measured)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "needs.json").write_text(
        json.dumps(
            {"python": platform.python_version(), "when": datetime.now(UTC).isoformat(), "sizes": measured},
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
