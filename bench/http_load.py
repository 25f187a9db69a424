"""Speed as users meet it: Gongjian under gunicorn over HTTP, against a Flask hello world.

    .venv/bin/python bench/http_load.py                    # secretary1, 3 rounds of 10 s per page (about 12 min)
    .venv/bin/python bench/http_load.py --duration 5       # 3 rounds of 5 s (about 6 min)
    .venv/bin/python bench/http_load.py --duration 3 --rounds 1   # quick smoke run (about 1.5 min)
    .venv/bin/python bench/http_load.py --user liaison1    # or admin
    .venv/bin/python bench/http_load.py --workers 4        # default: one per CPU
    DATABASE_URL=postgresql://... .venv/bin/python bench/http_load.py --reset

Seeds the demo (`flask --app app seed-demo`) into a fresh instance folder under
bench/out/http-instance/ (or the PostgreSQL database in DATABASE_URL, whose public schema is
dropped, hence --reset), then serves it with gunicorn and the project's gunicorn.conf.py, and
serves bench/hello.py (one route, a short text) with the same settings and worker count, each
on a free loopback port. Logs in over HTTP as --user, creates that user's private calendar
feed through the account page, and loads each page with wrk (20 connections, --duration
seconds after a short warm-up), or with a Python load generator when wrk is missing. The hello
world runs first, between every few pages and after every round; each page's requests per
second are given as a share of the hello world runs just before and after it, next to the
issue's target. Every page is measured --rounds times (in turn, then in reverse order) and its
median round is reported: on a shared virtual machine the speed drifts by tens of per cent
from minute to minute, more for a page that uses the caches than for a hello world. A page
answering anything but 2xx in any round is an
error, however fast. SQL statements per request come from the Flask test client on the same
database (BEGIN/COMMIT excluded). The table is printed and written to bench/out/http.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import (  # noqa: E402
    BENCH_CONFIG,
    OUT,
    ROOT,
    count_queries,
    fresh_schema,
    record_statements,
    refuse_to_reset_unasked,
)

INSTANCE = OUT / "http-instance"
# seed-demo checks the password with the production policy and hashes it with the
# production argon2 parameters; only the one login per run pays for that.
PASSWORD = "基准测试-共建-2026"
USERS = ("secretary1", "liaison1", "admin")
HOST = "127.0.0.1"

# Targets (issue 9, point 7), in % of the hello world's requests per second.
TARGETS = {"page": 8.0, "list": 12.0, "ics": 25.0}
# (label, kind, path); {meeting} and {token} are filled in once the demo is seeded.
PAGES = [
    ("dashboard", "page", "/"),
    ("units", "list", "/units"),
    ("meetings", "list", "/meetings"),
    ("meeting page", "page", "/meetings/{meeting}"),
    ("meeting invite.ics", "ics", "/meetings/{meeting}/invite.ics"),
    ("private feed", "ics", "/calendar/{token}.ics"),
    ("actions", "list", "/actions"),
    ("stats", "page", "/stats"),
    ("resources", "list", "/resources"),
    ("needs", "list", "/needs"),
    ("meeting calendar", "page", "/meetings/calendar"),
    ("new meeting form", "page", "/meetings/new"),
]

# Counts every answer that is not 2xx (wrk itself only counts >= 400 as errors) and prints
# one JSON line at the end, with latency percentiles in microseconds.
WRK_SCRIPT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  codes = {}
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    local key = tostring(status)
    codes[key] = (codes[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local bad, merged = 0, {}
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    for k, v in pairs(t:get("codes")) do
      merged[k] = (merged[k] or 0) + v
    end
  end
  local parts = {}
  for k, v in pairs(merged) do
    table.insert(parts, string.format('"%s":%d', k, v))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"codes":{%s},' ..
    '"socket_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, bad, table.concat(parts, ","),
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""


# --- the two servers ----------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def gunicorn_settings(workers: int) -> dict[str, Any]:
    """What gunicorn.conf.py sets with GUNICORN_WORKERS fixed (for the report)."""
    import runpy

    saved = os.environ.get("GUNICORN_WORKERS")
    os.environ["GUNICORN_WORKERS"] = str(workers)
    try:
        conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        if saved is None:
            os.environ.pop("GUNICORN_WORKERS")
        else:
            os.environ["GUNICORN_WORKERS"] = saved
    keys = (
        "workers",
        "worker_class",
        "preload_app",
        "timeout",
        "keepalive",
        "max_requests",
        "max_requests_jitter",
    )
    return {k: conf.get(k) for k in keys}


class Server:
    """One gunicorn master started with gunicorn.conf.py on a free loopback port."""

    def __init__(self, name: str, app: str, env: dict[str, str], extra: list[str] | None = None):
        self.name, self.app, self.env, self.extra = name, app, env, extra or []
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log = OUT / f"http-{name}.log"

    def start(self, workers: int) -> None:
        self.port = free_port()
        env = {**self.env, "GUNICORN_BIND": f"{HOST}:{self.port}", "GUNICORN_WORKERS": str(workers)}
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), *self.extra]
        # gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl by default: each
        # server here (and any other gunicorn of this user) would take it from the last.
        cmd += ["--control-socket", str(OUT / f"http-{self.name}.ctl"), self.app]
        # The access log (stdout in gunicorn.conf.py) is still written, as in production,
        # but thrown away; the error log goes to a file in case a worker fails.
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: gunicorn exited ({self.proc.returncode}); see {self.log}")
            try:
                status, _, _ = request(self.port, "GET", path)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.name}: no answer on port {self.port} after {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop of master and workers
        try:
            self.proc.wait(timeout=35)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def recycled(self) -> int:
        """Workers restarted so far for reaching max_requests (from the error log)."""
        return self.log.read_text(errors="replace").count("Autorestarting worker") if self.log.exists() else 0

    def cpu_seconds(self) -> float | None:
        """CPU time the server has used so far: master, live workers and reaped workers (Linux)."""
        tick = os.sysconf("SC_CLK_TCK")

        def times(pid: int) -> tuple[int, list[int]] | None:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                return None
            fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
            return int(fields[1]), [int(x) for x in fields[11:15]]  # ppid; utime stime cutime cstime

        master = times(self.proc.pid) if self.proc else None
        if master is None:
            return None
        ticks = sum(master[1])  # cutime/cstime: the workers it has already reaped
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (t := times(int(entry.name))) and t[0] == self.proc.pid:
                ticks += t[1][0] + t[1][1]
        return ticks / tick

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"


# --- HTTP as a browser would ---------------------------------------------------------


def request(
    port: int, method: str, path: str, cookies: dict[str, str] | None = None, form: dict | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request without following redirects; Set-Cookie headers update `cookies`."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if cookies is not None:
        for header in resp.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                cookies[name] = morsel.value
    return resp.status, resp.headers, data


def csrf_token(html: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not match:
        raise SystemExit("no CSRF token in the page")
    return match.group(1).decode()


def log_in(port: int, username: str) -> dict[str, str]:
    """Log in through the login form (CSRF included); return the session cookies."""
    cookies: dict[str, str] = {}
    _, _, html = request(port, "GET", "/login", cookies)
    form = {"csrf_token": csrf_token(html), "username": username, "password": PASSWORD}
    status, headers, _ = request(port, "POST", "/login", cookies, form)
    if status != 302 or "/login" in headers.get("Location", "/login"):
        raise SystemExit(f"login as {username} failed: {status}")
    return cookies


def create_feed(port: int, cookies: dict[str, str]) -> str:
    """Create the user's private calendar feed on the account page; return its token."""
    _, _, html = request(port, "GET", "/account", cookies)
    action = re.search(rb'action="(/account/feeds/user/\d+)"', html)
    if not action:
        raise SystemExit("no 'generate feed link' form for the user on /account")
    status, _, _ = request(port, "POST", action.group(1).decode(), cookies, {"csrf_token": csrf_token(html)})
    if status != 302:
        raise SystemExit(f"creating the feed answered {status}")
    _, _, html = request(port, "GET", "/account", cookies)
    token = re.search(rb'id="feed-user-\d+"[^>]*value="[^"]*/calendar/([^"/]+)\.ics"', html)
    if not token:
        raise SystemExit("the new feed link is not on /account")
    return token.group(1).decode()


# --- load generators -----------------------------------------------------------------


def wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    match = re.search(r"wrk (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


def run_wrk(url: str, cookie: str, connections: int, threads: int, duration: float) -> dict[str, Any]:
    """Load one URL with wrk; requests, non-2xx answers and latency percentiles."""
    script = OUT / "http-wrk.lua"
    script.write_text(WRK_SCRIPT)
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration:g}s"]
    cmd += ["--timeout", "10s", "-s", str(script)]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    proc = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 120)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result for {url}:\n{proc.stdout}\n{proc.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return {
        "seconds": raw["duration_us"] / 1e6,
        "requests": raw["requests"],
        "non2xx": raw["non2xx"],
        "codes": {int(k): v for k, v in raw["codes"].items()},
        "socket_errors": raw["socket_errors"] + raw["timeouts"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "bytes": raw["bytes"],
    }


def _python_client(args: tuple) -> tuple[list[float], dict[int, int], int, int]:
    """One process of the Python load generator: `conns` threads, each with one connection."""
    import threading

    port, path, cookie, conns, duration = args
    headers = {"Cookie": cookie} if cookie else {}
    deadline = time.perf_counter() + duration
    results: list[tuple[list[float], Counter, int, int]] = []

    def loop() -> None:
        latencies: list[float] = []
        codes: Counter = Counter()
        errors = size = 0
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        while (t0 := time.perf_counter()) < deadline:
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                size += len(resp.read())
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            codes[resp.status] += 1
        conn.close()
        results.append((latencies, codes, errors, size))

    threads = [threading.Thread(target=loop) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = [x for r in results for x in r[0]]
    codes = sum((r[1] for r in results), Counter())
    return latencies, dict(codes), sum(r[2] for r in results), sum(r[3] for r in results)


def run_python(url: str, cookie: str, connections: int, processes: int, duration: float) -> dict[str, Any]:
    """Load one URL from a few processes of threads (when wrk is missing; saturates sooner)."""
    import multiprocessing

    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    processes = max(1, min(processes, connections))
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        out = pool.map(_python_client, [(parts.port, path, cookie, n, duration) for n in shares])
    seconds = min(duration, time.perf_counter() - started)
    latencies = sorted(x for r in out for x in r[0])
    codes: Counter = Counter()
    for r in out:
        codes.update(r[1])
    non2xx = {c: n for c, n in codes.items() if not 200 <= c < 300}

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return {
        "seconds": seconds,
        "requests": len(latencies),
        "non2xx": sum(non2xx.values()),
        "codes": non2xx,
        "socket_errors": sum(r[2] for r in out),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "bytes": sum(r[3] for r in out),
    }


# --- the demo database and what to ask for -----------------------------------------------


def seed(url: str, env: dict[str, str]) -> None:
    """A fresh instance folder (and database) with the demo data."""
    shutil.rmtree(INSTANCE, ignore_errors=True)
    INSTANCE.mkdir(parents=True)
    if not url.startswith("sqlite"):
        from generate import make_app

        fresh_schema(make_app(url))  # drops PostgreSQL's public schema (--reset) and migrates
    cmd = [sys.executable, "-m", "flask", "--app", "app", "seed-demo", "--password", PASSWORD]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit("seed-demo failed")


def measuring_app(url: str):
    """The application on the benchmark database, for the test client's statement counts."""
    from app import create_app

    return create_app({**BENCH_CONFIG, "SQLALCHEMY_DATABASE_URI": url})


def upcoming_meeting(app, username: str) -> tuple[int, str, str]:
    """The next published meeting of the user's community (a liaison: their unit's; admin: any)."""
    from sqlalchemy import select

    from models import Invitation, Meeting, MeetingStatus, Role, User, db
    from models.base import utcnow

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise SystemExit(f"no user {username} in the demo")
        stmt = select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED, Meeting.start_at > utcnow())
        if user.role == Role.LIAISON:
            stmt = stmt.where(
                Meeting.id.in_(select(Invitation.meeting_id).where(Invitation.unit_id == user.unit_id))
            )
        elif user.community_id:
            stmt = stmt.where(Meeting.community_id == user.community_id)
        meeting = db.session.scalar(stmt.order_by(Meeting.start_at, Meeting.id).limit(1))
        if meeting is None:
            raise SystemExit(f"the demo has no upcoming meeting for {username}")
        scope = user.community.name if user.community else (user.unit.name if user.unit else "街道")
        found = meeting.id, meeting.title, f"{user.role.label}, {scope}"
        db.session.remove()
    return found


def count_statements(app, username: str, paths: list[str], repeat: int = 3) -> dict[str, dict[str, Any]]:
    """SQL statements per request of each path, through the test client after two warm-up requests."""
    statements = record_statements(app)
    client = app.test_client()
    resp = client.post("/login", data={"username": username, "password": PASSWORD})
    if resp.status_code != 302:
        raise SystemExit(f"test client login as {username} failed: {resp.status_code}")
    out = {}
    for path in paths:
        for _ in range(2):
            client.get(path)
        counts, status = set(), set()
        for _ in range(repeat):
            statements.clear()
            resp = client.get(path)
            status.add(resp.status_code)
            counts.add(count_queries(statements))
        out[path] = {"queries": max(counts), "queries_varied": len(counts) > 1, "status": sorted(status)}
    return out


# --- the run ---------------------------------------------------------------------------


def measure(load, server: Server, url: str, cookie: str, duration: float, warmup: float) -> dict[str, Any]:
    """Warm up (unmeasured), then load for `duration`; add req/s of 2xx answers and the
    server's CPU time per request (which other jobs on the machine disturb far less)."""
    if warmup > 0:
        load(url, cookie, warmup)
    cpu_before = server.cpu_seconds()
    r = load(url, cookie, duration)
    cpu_after = server.cpu_seconds()
    r["rps"] = (r["requests"] - r["non2xx"]) / r["seconds"] if r["seconds"] else 0.0
    r["rps_all"] = r["requests"] / r["seconds"] if r["seconds"] else 0.0
    r["cpu_ms"] = (
        1000 * (cpu_after - cpu_before) / r["requests"]
        if r["requests"] and cpu_before is not None and cpu_after is not None
        else None
    )
    return r


def fmt_codes(r: dict[str, Any]) -> str:
    parts = [f"{n}×{c}" for c, n in sorted(r["codes"].items())]
    if r["socket_errors"]:
        parts.append(f"{r['socket_errors']}×socket")
    if not r["requests"]:
        parts.append("none")
    return ", ".join(parts) or "0"


def report(result: dict[str, Any]) -> str:
    s, cfg = result["settings"], result["gunicorn"]
    lines = [
        f"gunicorn.conf.py: {cfg['workers']} {cfg['worker_class']} workers per server (fixed), "
        f"{'preloaded, ' if cfg['preload_app'] else ''}timeout {cfg['timeout']} s, "
        f"max_requests {cfg['max_requests']} + 0–{cfg['max_requests_jitter']}",
        f"load: {s['generator']}, {s['connections']} connections, {s['duration']:g} s per page "
        f"after {s['warmup']:g} s warm-up; {result['machine']}",
        f"user {result['user']} ({result['user_scope']}) on {result['database']}; "
        f"meeting {result['meeting_id']} {result['meeting_title']}",
        "hello world req/s: "
        + ", ".join(f"{h['rps']:.0f}" for h in result["hello_runs"])
        + f" (mean {result['hello_rps']:.0f})"
        + (f"; server CPU {result['hello_cpu_ms']:.2f} ms a request" if result["hello_cpu_ms"] else ""),
        "",
    ]
    head = (
        f"{'page':<19} {'path':<30} {'req/s':>7} {'% hello':>8} {'target':>7} {'met':>5} {'% near':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>8} {'SQL':>4} {'CPU ms':>7} {'% CPU':>6}"
    )
    lines += [head, "-" * len(head)]
    for p in result["pages"]:
        path = p["path"] if len(p["path"]) <= 30 else p["path"][:27] + "..."
        sql = f"{p['queries']}{'*' if p['queries_varied'] else ''}"
        cpu = f"{p['cpu_ms']:>7.2f}" if p["cpu_ms"] is not None else f"{'—':>7}"
        cpu_ratio = f"{p['cpu_ratio_pct']:>5.1f}%" if p["cpu_ratio_pct"] is not None else f"{'—':>6}"
        lines.append(
            f"{p['page']:<19} {path:<30} {p['rps']:>7.1f} {p['ratio_pct']:>7.1f}% {p['target_pct']:>6.0f}% "
            f"{p['met']:>5} {p['ratio_around_pct']:>6.1f}% {p['p50_ms']:>7.1f} {p['p99_ms']:>7.1f} {fmt_codes(p):>8} {sql:>4}"
            f" {cpu} {cpu_ratio}"
        )
    recycled = [f"{p['page']} ({p['workers_recycled']})" for p in result["pages"] if p["workers_recycled"]]
    met = sum(p["met"] == "yes" for p in result["pages"])
    errors = [p["page"] for p in result["pages"] if p["met"] == "ERROR"]
    lines += [
        "",
        "req/s counts 2xx answers only; % hello = req/s / mean of all hello world runs;",
        "% near = req/s / mean of the two hello world runs around the page (what 'met' judges: a",
        "shared machine drifts, and the runs beside a page saw the machine the page saw); each page",
        f"is measured {result['settings'].get('rounds', 1)} times and its median round is shown",
        "SQL = statements per request (test client, BEGIN/COMMIT excluded; * = varied)",
        "CPU ms = the server's CPU time (master and workers) per request; % CPU = the hello world's / the page's",
        "(steadier than req/s when other jobs share the machine; not what 'met' judges)",
        f"targets met: {met} of {len(result['pages'])}"
        + (f"; errors: {', '.join(errors)}" if errors else ""),
        "Gongjian workers recycled (max_requests) while loading: "
        + (
            ", ".join(recycled) + " (a worker answers nothing while its replacement boots)"
            if recycled
            else "none"
        ),
        "load average (1/5/15 min): "
        + " / ".join(f"{x:.2f}" for x in result["loadavg_start"])
        + " at start, "
        + " / ".join(f"{x:.2f}" for x in result["loadavg_end"])
        + " at end",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--user", choices=USERS, default="secretary1", help="who logs in (default secretary1)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per page (default 10)")
    parser.add_argument(
        "--warmup", type=float, help="unmeasured seconds before each (default duration / 5, 1-2 s)"
    )
    parser.add_argument("--connections", type=int, default=20, help="concurrent connections (default 20)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers per server (default: CPUs)"
    )
    parser.add_argument("--threads", type=int, default=min(os.cpu_count() or 2, 4), help="wrk threads")
    parser.add_argument(
        "--hello-every",
        type=int,
        default=4,
        help="run the hello world again after this many pages (default 4)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure every page this many times and report its median round (default 3)",
    )
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator (default: wrk if installed)",
    )
    parser.add_argument(
        "--no-recycle",
        action="store_true",
        help="start both servers with --max-requests 0 (gunicorn.conf.py recycles workers every ~2,000 requests)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="PAGE",
        help="only these pages, by path or label (/ /units '/calendar/{token}.ics')",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="allow benchmarking on the PostgreSQL database in DATABASE_URL (drops its public schema)",
    )
    args = parser.parse_args(argv)
    refuse_to_reset_unasked(parser, args)
    warmup = args.warmup if args.warmup is not None else min(2.0, max(1.0, args.duration / 5))

    version = wrk_version()
    if args.generator == "wrk" and not version:
        parser.error("wrk is not installed (apt-get install wrk, or scripts/setup.sh)")
    if args.generator == "python" or not version:
        generator = f"Python (http.client, {min(os.cpu_count() or 2, args.connections)} processes)"

        def load(url, cookie, seconds):
            return run_python(url, cookie, args.connections, os.cpu_count() or 2, seconds)

        if args.generator == "auto":
            print("wrk not found: using the Python load generator (it saturates sooner)", file=sys.stderr)
    else:
        generator = f"wrk {version}, {min(args.threads, args.connections)} threads"

        def load(url, cookie, seconds):
            return run_wrk(url, cookie, args.connections, args.threads, seconds)

    OUT.mkdir(parents=True, exist_ok=True)
    loadavg_start = os.getloadavg()
    env_url = os.environ.get("DATABASE_URL", "")
    url = env_url if env_url and not env_url.startswith("sqlite") else f"sqlite:///{INSTANCE / 'gongjian.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "GUNICORN_BIND", "WEB_CONCURRENCY")}
    env |= {"GONGJIAN_INSTANCE_PATH": str(INSTANCE), "DATABASE_URL": url}
    os.environ["GONGJIAN_INSTANCE_PATH"] = str(INSTANCE)

    print("seeding the demo ...", file=sys.stderr, flush=True)
    seed(url, env)
    app = measuring_app(url)
    meeting_id, meeting_title, scope = upcoming_meeting(app, args.user)

    settings = gunicorn_settings(args.workers)
    if args.no_recycle:
        settings["max_requests"] = settings["max_requests_jitter"] = 0
    print(
        f"gunicorn: {settings['workers']} {settings['worker_class']} workers per server; "
        f"load generator: {generator}",
        file=sys.stderr,
        flush=True,
    )
    # --no-recycle: a steadier comparison, but no longer quite the production settings.
    recycle = ["--max-requests", "0"] if args.no_recycle else []
    gongjian = Server("gongjian", "wsgi:app", env, recycle)
    hello = Server("hello", "hello:create_app()", env, [*recycle, "--pythonpath", str(HERE)])
    try:
        for server in (gongjian, hello):
            server.start(args.workers)
        gongjian.wait_ready("/login")
        hello.wait_ready("/")

        cookies = log_in(gongjian.port, args.user)
        token = create_feed(gongjian.port, cookies)
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        pages = [
            (label, kind, path.format(meeting=meeting_id, token=token))
            for label, kind, path in PAGES
            if not args.only or label in args.only or path in args.only
        ]
        counted = count_statements(app, args.user, [p[2] for p in pages])

        hello_runs: list[dict[str, Any]] = []
        measured: list[dict[str, Any]] = []

        def run_hello() -> None:
            print("  hello world", file=sys.stderr, flush=True)
            recycled = hello.recycled()
            hello_runs.append(measure(load, hello, hello.base + "/", "", args.duration, warmup))
            hello_runs[-1]["workers_recycled"] = hello.recycled() - recycled

        run_hello()
        for round_no in range(args.rounds):
            # Every round takes the pages in turn, the next round in reverse, so that a page is
            # not always measured at the same point of a drifting machine.
            order = list(enumerate(pages)) if round_no % 2 == 0 else list(enumerate(pages))[::-1]
            for n, (i, (label, kind, path)) in enumerate(order):
                if n and args.hello_every and n % args.hello_every == 0:
                    run_hello()
                print(
                    f"  {label}: {path} (round {round_no + 1} of {args.rounds})", file=sys.stderr, flush=True
                )
                first, _, _ = request(gongjian.port, "GET", path, dict(cookies))
                recycled = gongjian.recycled()
                r = measure(load, gongjian, gongjian.base + path, cookie, args.duration, warmup)
                r["workers_recycled"] = gongjian.recycled() - recycled
                page = {"page": label, "kind": kind, "path": path, "first_status": first, "order": i}
                # The hello world runs just before and after this page (the one after always comes).
                page["hello_around"] = [len(hello_runs) - 1, len(hello_runs)]
                measured.append({**page, **r})
            run_hello()
    finally:
        for server in (gongjian, hello):
            server.stop()

    hello_rps = statistics.mean(h["rps"] for h in hello_runs)
    hello_cpus = [h["cpu_ms"] for h in hello_runs if h["cpu_ms"]]
    hello_cpu = statistics.mean(hello_cpus) if hello_cpus else None
    for p in measured:
        p["cpu_ratio_pct"] = 100 * hello_cpu / p["cpu_ms"] if hello_cpu and p["cpu_ms"] else None
        c = counted[p["path"]]
        p.update(c)
        p["target_pct"] = TARGETS[p["kind"]]
        p["ratio_pct"] = 100 * p["rps"] / hello_rps if hello_rps else 0.0
        around = statistics.mean(hello_runs[i]["rps"] for i in p["hello_around"])
        p["ratio_around_pct"] = 100 * p["rps"] / around if around else 0.0
    # Each page's median round (by its share of the hello world runs around it) is the one
    # reported and judged; a page that failed in any round is an error.
    pages_out = []
    for i in sorted({p["order"] for p in measured}):
        runs = sorted((p for p in measured if p["order"] == i), key=lambda p: p["ratio_around_pct"])
        p = dict(runs[(len(runs) - 1) // 2])
        p["rounds_ratio_around_pct"] = [r["ratio_around_pct"] for r in runs]
        # Any answer but 2xx, a socket error or timeout, or no answer at all in a run.
        failed = any(
            r["non2xx"] or r["socket_errors"] or not r["requests"] or not 200 <= r["first_status"] < 300
            for r in runs
        )
        p["met"] = "ERROR" if failed else ("yes" if p["ratio_around_pct"] >= p["target_pct"] else "no")
        pages_out.append(p)
    measured = pages_out

    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "database": url.split("://", 1)[0].split("+", 1)[0],
        "user": args.user,
        "user_scope": scope,
        "meeting_id": meeting_id,
        "meeting_title": meeting_title,
        "gunicorn": settings,
        "settings": {
            "generator": generator,
            "connections": args.connections,
            "duration": args.duration,
            "warmup": warmup,
            "rounds": args.rounds,
        },
        "targets_pct": TARGETS,
        "hello_runs": hello_runs,
        "hello_rps": hello_rps,
        "hello_cpu_ms": hello_cpu,
        "pages": measured,
        "loadavg_start": loadavg_start,
        "loadavg_end": os.getloadavg(),
    }
    print(report(result))
    (OUT / "http.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten: {(OUT / 'http.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
