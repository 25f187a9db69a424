"""Time the unit list, a unit page and the dashboard at demo size and at 2,000 units,
then the meeting pages and calendar feeds (bench/meetings.py).

    .venv/bin/python bench/run.py                 # both sizes, ~200 requests per page and role
    .venv/bin/python bench/run.py --requests 50   # quicker
    .venv/bin/python bench/run.py --only 2000     # one size of the unit register (no meetings)
    .venv/bin/python bench/run.py --suite units   # the unit register only (or: meetings)
    DATABASE_URL=postgresql://... .venv/bin/python bench/run.py --reset

Each size runs in its own process on a fresh database (SQLite under bench/out/, or the
PostgreSQL database in DATABASE_URL, whose public schema is dropped), through the Flask
test client: the time is the server's, without network or browser. The table and
bench/out/results.json give the median and p95 per request, the SQL statements per request
(BEGIN/COMMIT excluded) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import (  # noqa: E402
    OUT,
    PASSWORD,
    ROOT,
    count_queries,
    database_url,
    fresh_schema,
    generate,
    make_app,
    refuse_to_reset_unasked,
)

# Both sizes come from the same generator, so the query counts compare like with like
# (the seed-demo data also has meetings, resources and needs, whose panels add queries).
SIZES = {"demo": 31, "2000": 2000}
TARGET_P95_MS = 50.0


def build(size: str, url: str) -> Any:
    """A fresh database of the given size; return the app bound to it."""
    from models import db

    app = make_app(url)
    fresh_schema(app)
    with app.app_context():
        generate(SIZES[size])
        db.session.remove()
    return app


def pages(app) -> list[tuple[str, str]]:
    """(label, URL) of the pages measured, chosen the same way at every size."""
    from sqlalchemy import func, select

    from models import Community, Unit, UnitStatus, UnitStatusChange, User, db

    with app.app_context():
        secretary = db.session.scalar(select(User).where(User.username == "secretary1"))
        community = db.session.get(Community, secretary.community_id)
        # The secretary's unit with the longest status history (ties: lowest id).
        unit_id = db.session.scalar(
            select(Unit.id)
            .join(UnitStatusChange)
            .where(Unit.community_id == community.id)
            .group_by(Unit.id)
            .order_by(func.count().desc(), Unit.id)
            .limit(1)
        )
        db.session.remove()
    return [
        ("unit list", "/units"),
        ("unit list, search", "/units?q=" + "银行"),
        ("unit list, filter", f"/units?community={community.id}&status={UnitStatus.ACTIVE.value}"),
        ("unit page", f"/units/{unit_id}"),
        ("dashboard", "/"),
    ]


def measure(size: str, requests: int, warmup: int) -> dict[str, Any]:
    """Build the database for one size and time every page as secretary1 and as admin."""
    from sqlalchemy import event, func, select

    from models import Unit, db

    url = database_url(None, size)
    started = time.perf_counter()
    app = build(size, url)
    build_s = time.perf_counter() - started

    statements: list[str] = []
    with app.app_context():
        units = db.session.scalar(select(func.count()).select_from(Unit))
        db.session.remove()

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

    results = []
    for username in ("secretary1", "admin"):
        client = app.test_client()
        resp = client.post("/login", data={"username": username, "password": PASSWORD})
        if resp.status_code != 302:
            raise SystemExit(f"login as {username} failed: {resp.status_code}")
        for label, path in pages(app):
            for _ in range(warmup):
                client.get(path)
            times, counts = [], set()
            for _ in range(requests):
                statements.clear()
                t0 = time.perf_counter()
                resp = client.get(path)
                elapsed = time.perf_counter() - t0
                if resp.status_code != 200:
                    raise SystemExit(f"{username} GET {path}: {resp.status_code}")
                times.append(elapsed * 1000)
                counts.add(count_queries(statements))
            times.sort()
            results.append(
                {
                    "page": label,
                    "path": path,
                    "role": username,
                    "requests": requests,
                    "median_ms": round(statistics.median(times), 2),
                    "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
                    "max_ms": round(times[-1], 2),
                    "queries": max(counts),
                    "queries_varied": len(counts) > 1,
                }
            )
    return {
        "size": size,
        "units": units,
        "database": app.config["SQLALCHEMY_DATABASE_URI"].split("://", 1)[0],
        "build_seconds": round(build_s, 2),
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pages": results,
    }


def run_in_subprocess(size: str, requests: int, warmup: int) -> dict[str, Any]:
    """Measure one size in a fresh interpreter so its peak RSS is its own."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", size]
    cmd += ["--requests", str(requests), "--warmup", str(warmup)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"measuring {size} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(sizes: list[dict[str, Any]]) -> tuple[str, bool]:
    """A readable table, and whether the issue's targets are met."""
    by_size = {s["size"]: s for s in sizes}
    lines = []
    header = f"{'page':<20} {'role':<11}"
    for s in sizes:
        header += f" | {s['size'] + ' (' + str(s['units']) + ' units)':^26}"
    lines.append(header)
    sub = f"{'':<20} {'':<11}" + "".join(f" | {'median':>7} {'p95':>7} {'SQL':>8}" for _ in sizes)
    lines.append(sub)
    lines.append("-" * len(sub))
    ok = True
    first = sizes[0]
    for i, row in enumerate(first["pages"]):
        line = f"{row['page']:<20} {row['role']:<11}"
        for s in sizes:
            r = s["pages"][i]
            q = f"{r['queries']}{'*' if r['queries_varied'] else ''}"
            line += f" | {r['median_ms']:>7.1f} {r['p95_ms']:>7.1f} {q:>8}"
        lines.append(line)
        if len({s["pages"][i]["queries"] for s in sizes}) > 1:
            ok = False
    lines.append("")
    lines.append("times in ms per request; SQL = statements per request (* = varied between requests)")
    for s in sizes:
        lines.append(
            f"{s['size']}: {s['units']} units on {s['database']}, built in {s['build_seconds']} s, "
            f"peak RSS {s['peak_rss_mib']} MiB"
        )
    big = by_size.get("2000")
    if big:
        slow = [f"{r['page']} ({r['role']})" for r in big["pages"] if r["p95_ms"] >= TARGET_P95_MS]
        if slow:
            ok = False
            lines.append(f"MISSED p95 < {TARGET_P95_MS:.0f} ms at 2,000 units: " + ", ".join(slow))
        else:
            lines.append(f"p95 < {TARGET_P95_MS:.0f} ms at 2,000 units: met on every page")
    if len(sizes) > 1:
        lines.append(
            "same query count at both sizes: " + ("met on every page" if ok or not big else "see above")
        )
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="timed requests per page and role (default 200)"
    )
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (default 20)")
    parser.add_argument("--only", choices=list(SIZES), help="run one size of the unit register")
    parser.add_argument(
        "--suite",
        choices=("all", "units", "meetings"),
        default="all",
        help="units: the register; meetings: bench/meetings.py; all (default): both, unless --only",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="allow benchmarking on the PostgreSQL database in DATABASE_URL (drops its public schema)",
    )
    parser.add_argument("--child", choices=list(SIZES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    refuse_to_reset_unasked(parser, args)

    if args.child:
        print(json.dumps(measure(args.child, args.requests, args.warmup), ensure_ascii=False))
        return 0

    if args.suite == "meetings" or (args.suite == "all" and not args.only):
        import meetings

        meetings_args = ["--requests", str(args.requests), "--warmup", str(args.warmup)]
        if args.reset:
            meetings_args.append("--reset")
        if args.suite == "meetings":
            return meetings.main(meetings_args)
    else:
        meetings = meetings_args = None

    sizes = [args.only] if args.only else list(SIZES)
    measured = []
    for size in sizes:
        print(f"measuring {size} ...", file=sys.stderr, flush=True)
        measured.append(run_in_subprocess(size, args.requests, args.warmup))
    table, ok = report(measured)
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs",
        "targets": {"p95_ms_at_2000": TARGET_P95_MS, "same_query_count": True},
        "targets_met": ok,
        "sizes": measured,
    }
    (OUT / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten: {(OUT / 'results.json').relative_to(ROOT)}")
    if meetings is not None:
        print("\nmeetings ...", file=sys.stderr, flush=True)
        return meetings.main(meetings_args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
