"""The JSON API: list pages at 2,000 units and 2,000 meetings, over HTTP beside a hello world,
and a full and an incremental sync of the demo.

    .venv/bin/python bench/api.py                    # everything (about 2 minutes)
    .venv/bin/python bench/api.py --requests 50      # quicker, noisier
    .venv/bin/python bench/api.py --only lists       # or: http, sync

lists: fresh SQLite databases under bench/out/ with the street of generate.py and the
meetings of meetings.py: "small" (200 units, 50 meetings) and "2000" (2,000 units, 2,000
meetings, ten invitations each). Every list of /api/v1 is read through the Flask test client
with a personal token (the default page of 50, then 200 per page), as the system
administrator and as a liaison; median and p95 per request and the SQL statements per
request, which must be the same at both sizes. Target (issue 12, point 7): p95 < 30 ms.

http: gunicorn (gunicorn.conf.py, two workers) serves the 2,000 database; one client asks for
GET /api/v1/meetings and /api/v1/units one after another, and the same for a Flask hello
world served the same way: the ratio is what the API costs beyond Flask and gunicorn.

sync: the demo (`flask seed-demo`) served by gunicorn; a client reads every list page by
page as the system administrator (a full sync), then again with updated_since set to each
list's first as_of (an incremental sync with nothing changed, then after one reply).
Target: a full sync of the demo in under 2 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import (  # noqa: E402
    OUT,
    ROOT,
    count_queries,
    database_url,
    fresh_schema,
    generate,
    make_app,
    record_statements,
)
from http_load import HOST, Server  # noqa: E402
from meetings import generate_meetings  # noqa: E402

TARGET_P95_MS = 30.0
TARGET_SYNC_S = 2.0
LISTS = (
    "streets",
    "grids",
    "communities",
    "rooms",
    "units",
    "meetings",
    "minutes",
    "actions",
    "resources",
    "bookings",
    "needs",
)
SIZES = {"small": (200, 50), "2000": (2000, 2000)}


def _pct(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def _token(app, username: str) -> str:
    from sqlalchemy import select

    from models import User, db
    from services import tokens

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        _, secret = tokens.issue(user, "基准测试", "read", None)
        db.session.commit()
        db.session.remove()
    return secret


def lists(size: str, requests: int) -> list[dict[str, Any]]:
    units, meetings = SIZES[size]
    url = database_url(None, f"api-{size}")
    app = make_app(url)
    app.config["API_RATE_LIMIT"] = 10**9
    fresh_schema(app)
    with app.app_context():
        from models import db

        generate(units)
        generate_meetings(meetings)
        db.session.remove()
    statements = record_statements(app)
    client = app.test_client()
    rows = []
    for username in ("admin", "liaison1"):
        headers = {"Authorization": f"Bearer {_token(app, username)}"}
        for name in LISTS:
            for limit in (None, 200):
                path = f"/api/v1/{name}" + (f"?limit={limit}" if limit else "")
                times, queries, items = [], set(), 0
                for k in range(requests + 20):
                    statements.clear()
                    t0 = time.perf_counter()
                    resp = client.get(path, headers=headers)
                    elapsed = (time.perf_counter() - t0) * 1000
                    if resp.status_code != 200:
                        raise SystemExit(f"{path}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")
                    if k >= 20:
                        times.append(elapsed)
                        queries.add(count_queries(statements))
                        items = len(resp.get_json()["items"])
                rows.append(
                    {
                        "size": size,
                        "role": username,
                        "path": path,
                        "items": items,
                        "queries": max(queries),
                        "varied": len(queries) > 1,
                        **_pct(times),
                    }
                )
    return rows


def _get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _timed(port: int, path: str, n: int, token: str | None = None) -> dict[str, float]:
    times = []
    for k in range(n + 20):
        t0 = time.perf_counter()
        status, _ = _get(port, path, token)
        if status != 200:
            raise SystemExit(f"{path}: {status}")
        if k >= 20:
            times.append((time.perf_counter() - t0) * 1000)
    return _pct(times)


def _env(url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "GUNICORN_BIND", "WEB_CONCURRENCY")}
    return env | {
        "GONGJIAN_INSTANCE_PATH": str(instance),
        "DATABASE_URL": url,
        "API_RATE_LIMIT": "1000000000",
    }


def over_http(requests: int) -> dict[str, Any]:
    url = database_url(None, "api-2000")
    if not Path(url.removeprefix("sqlite:///")).exists():
        lists("2000", 5)
    app = make_app(url)
    token = _token(app, "admin")
    instance = OUT / "api-instance"
    instance.mkdir(parents=True, exist_ok=True)
    api = Server("api", "wsgi:app", _env(url, instance))
    hello = Server("hello", "hello:create_app()", _env(url, instance), extra=["--pythonpath", str(HERE)])
    result: dict[str, Any] = {}
    try:
        api.start(2)
        hello.start(2)
        api.wait_ready("/api/v1/openapi.json")
        hello.wait_ready("/")
        result["hello"] = _timed(hello.port, "/", requests)
        for name in ("meetings", "units"):
            result[name] = _timed(api.port, f"/api/v1/{name}", requests, token)
            result[name]["ratio"] = round(result[name]["median_ms"] / result["hello"]["median_ms"], 1)
    finally:
        api.stop()
        hello.stop()
    return result


def _sync(
    port: int, token: str, since: dict[str, str] | None = None
) -> tuple[float, dict[str, int], dict[str, str]]:
    counts, as_of = {}, {}
    t0 = time.perf_counter()
    for name in LISTS:
        cursor, n = None, 0
        while True:
            query = {"limit": 200}
            if cursor:
                query["cursor"] = cursor
            if since:
                query["updated_since"] = since[name]
            status, body = _get(port, f"/api/v1/{name}?{urllib.parse.urlencode(query)}", token)
            if status != 200:
                raise SystemExit(f"sync {name}: {status} {body[:300]!r}")
            page = json.loads(body)
            as_of.setdefault(name, page["as_of"])
            n += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        counts[name] = n
    return time.perf_counter() - t0, counts, as_of


def sync() -> dict[str, Any]:
    instance = OUT / "api-demo-instance"
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    url = f"sqlite:///{instance / 'demo.db'}"
    env = _env(url, instance)
    seeded = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "seed-demo", "--password", "基准测试-共建-2026"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if seeded.returncode != 0:
        raise SystemExit(seeded.stdout + seeded.stderr)
    made = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "create-token", "--user", "sysadmin"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    token = made.stdout.strip().splitlines()[-1]
    liaison = (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "app",
                "create-token",
                "--user",
                "liaison1",
                "--scope",
                "write",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    server = Server("api-demo", "wsgi:app", env)
    result: dict[str, Any] = {}
    try:
        server.start(2)
        server.wait_ready("/api/v1/openapi.json")
        _sync(server.port, token)  # warm the workers
        full_s, counts, as_of = _sync(server.port, token)
        quiet_s, quiet, _ = _sync(server.port, token, since=as_of)
        # One reply by liaison1, then the incremental sync again.
        status, body = _get(server.port, "/api/v1/meetings?status=scheduled", liaison)
        target = json.loads(body)["items"][0]["id"]
        conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
        conn.request(
            "POST",
            f"/api/v1/meetings/{target}/reply",
            body=json.dumps({"reply": "accept"}),
            headers={"Authorization": f"Bearer {liaison}", "Content-Type": "application/json"},
        )
        replied = conn.getresponse().status
        conn.close()
        after_s, after, _ = _sync(server.port, token, since=as_of)
        result = {
            "full_s": round(full_s, 3),
            "records": counts,
            "incremental_unchanged_s": round(quiet_s, 3),
            "unchanged_records": sum(quiet.values()),
            "reply_status": replied,
            "incremental_after_reply_s": round(after_s, 3),
            "changed_records": after,
        }
    finally:
        server.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--only", choices=("lists", "http", "sync"))
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    ok = True
    if args.only in (None, "lists"):
        rows = lists("small", args.requests) + lists("2000", args.requests)
        report["lists"] = rows
        print(f"{'size':<6} {'role':<9} {'path':<34} {'items':>5} {'SQL':>4} {'median':>8} {'p95':>8}")
        for r in rows:
            print(
                f"{r['size']:<6} {r['role']:<9} {r['path']:<34} {r['items']:>5} {r['queries']:>3}{'*' if r['varied'] else ' '}"
                f" {r['median_ms']:>7.2f} {r['p95_ms']:>7.2f}"
            )
        small = {(r["role"], r["path"]): r["queries"] for r in rows if r["size"] == "small"}
        constant = all(small[(r["role"], r["path"])] == r["queries"] for r in rows if r["size"] == "2000")
        fast = all(
            r["p95_ms"] < TARGET_P95_MS for r in rows if r["size"] == "2000" and "limit=200" not in r["path"]
        )
        worst = max((r for r in rows if r["size"] == "2000"), key=lambda r: r["p95_ms"])
        print(f"statement counts equal at both sizes: {'yes' if constant else 'NO'}")
        print(
            f"p95 of every default page at 2,000 < {TARGET_P95_MS:.0f} ms: {'yes' if fast else 'NO'}"
            f" (slowest, any page size: {worst['path']} as {worst['role']}, {worst['p95_ms']} ms)"
        )
        ok = ok and constant and fast
    if args.only in (None, "http"):
        http_result = over_http(args.requests)
        report["http"] = http_result
        hello = http_result["hello"]
        print(
            f"HTTP (gunicorn, 2 workers, one client): hello world {hello['median_ms']}/{hello['p95_ms']} ms"
        )
        for name in ("meetings", "units"):
            r = http_result[name]
            print(
                f"  GET /api/v1/{name}: {r['median_ms']}/{r['p95_ms']} ms (median/p95), {r['ratio']}× hello world"
            )
    if args.only in (None, "sync"):
        s = sync()
        report["sync"] = s
        print(f"demo full sync: {s['full_s']} s for {sum(s['records'].values())} records {s['records']}")
        print(
            f"incremental, nothing changed: {s['incremental_unchanged_s']} s, {s['unchanged_records']} records"
        )
        print(
            f"incremental after one reply ({s['reply_status']}): {s['incremental_after_reply_s']} s, {s['changed_records']}"
        )
        ok = ok and s["full_s"] < TARGET_SYNC_S and s["unchanged_records"] == 0
    (OUT / "api.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
