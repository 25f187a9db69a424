"""Invite downloads never fail while others write (SQLite, several gunicorn workers).

GET /meetings/<id>/invite.ics used to store the meeting's event text when the cache was
stale: a write inside a read transaction, which SQLite refuses ("database is locked") when
another worker committed in between, as liaisons' replies do. A GET now never writes.
"""

from __future__ import annotations

import http.cookiejar
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.test_concurrency import CSRF_RE, ROOT, WORKERS, _config, _free_port

UNITS = 10
DOWNLOADS = 200
REPLIES = 20
PASSWORD = "共建并发测试口令"

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite"),
    reason="SQLite locking only: PostgreSQL has row-level locks",
)


def _prepare(url: str) -> int:
    """A community with a room, ten units with a liaison each, and one published meeting."""
    from flask_migrate import upgrade

    from app import create_app
    from models import (
        Community,
        Invitation,
        Meeting,
        MeetingKind,
        MeetingStatus,
        Role,
        Room,
        Street,
        Unit,
        UnitCategory,
        User,
        db,
    )
    from services.passwords import hash_password

    app = create_app(_config(url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        street = Street(name="东大街街道", short_name="东大街")
        community = Community(street=street, name="青年路社区", short_name="青年路", position=1)
        room = Room(community=community, name="青年路社区共驻共建会议室", capacity=40)
        db.session.add_all([street, community, room])
        db.session.flush()
        pw = hash_password(PASSWORD)
        db.session.add(
            User(
                username="secretary",
                display_name="刘芳",
                role=Role.SECRETARY,
                community_id=community.id,
                password_hash=pw,
                email="shuji@qingnianlu.example.gov.cn",
            )
        )
        start = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0) + timedelta(days=7)
        meeting = Meeting(
            street_id=street.id,
            community_id=community.id,
            kind=MeetingKind.REGULAR,
            title="第四季度共驻共建联席会议",
            start_at=start,
            end_at=start + timedelta(hours=2),
            room_id=room.id,
            status=MeetingStatus.SCHEDULED,
        )
        db.session.add(meeting)
        for n in range(UNITS):
            unit = Unit(
                street_id=street.id,
                community=community,
                name=f"驻区单位{n}",
                category=UnitCategory.OTHER,
                registered_on=date(2026, 1, 5),
                liaison_name=f"联络员{n}",
                liaison_email=f"liaison{n}@danwei.example.gov.cn",
            )
            db.session.add(unit)
            db.session.flush()
            meeting.invitations.append(Invitation(unit_id=unit.id))
            db.session.add(
                User(
                    username=f"liaison{n}",
                    display_name=f"联络员{n}",
                    role=Role.LIAISON,
                    unit_id=unit.id,
                    password_hash=pw,
                )
            )
        db.session.commit()
        meeting_id = meeting.id
        db.engine.dispose()
    return meeting_id


@pytest.fixture
def live(tmp_path):
    """gunicorn with several workers (gunicorn.conf.py) on a temporary SQLite file."""
    url = f"sqlite:///{tmp_path / 'invites.db'}"
    meeting_id = _prepare(url)
    (tmp_path / "invites_wsgi.py").write_text(
        f"from app import create_app\napp = create_app({_config(url)!r})\n"
    )
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(16),
        "GUNICORN_WORKERS": str(WORKERS),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_LOGLEVEL": "warning",
    }
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--no-control-socket",
                "invites_wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("gunicorn did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
        yield base, url, meeting_id, log_path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Browser:
    """One logged-in user: a cookie jar and the last CSRF token seen."""

    def __init__(self, base: str, username: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = self.get("/login")[1]
        body = {"csrf_token": CSRF_RE.search(page).group(1), "username": username, "password": PASSWORD}
        status, page = self.post("/login", body)
        assert status == 200 and "退出" in page, page[-2000:]

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=60) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def post(self, path: str, data: dict) -> tuple[int, str]:
        try:
            with self.opener.open(
                self.base + path, data=urllib.parse.urlencode(data).encode(), timeout=60
            ) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")


def test_invite_downloads_all_succeed_while_replies_are_posted(live):
    base, url, meeting_id, log_path = live
    users = [Browser(base, "secretary")] + [Browser(base, f"liaison{n}") for n in range(UNITS)]
    tokens = {}
    for n, user in enumerate(users[1:]):
        status, page = user.get(f"/meetings/{meeting_id}")
        assert status == 200
        tokens[n] = CSRF_RE.search(page).group(1)

    jobs = [("get", users[i % len(users)], None) for i in range(DOWNLOADS)]
    for i in range(REPLIES):  # each liaison declines twice: every reply is a write
        n = i % UNITS
        reason = f"同日另有安排（第{i // UNITS + 1}次回复）"
        jobs.append(("reply", users[n + 1], {"csrf_token": tokens[n], "reply": "decline", "reason": reason}))
    jobs.sort(key=lambda job: secrets.randbelow(1000))  # downloads and replies interleaved
    start = threading.Barrier(len(jobs), timeout=60)

    def run(job) -> tuple[str, int, str]:
        kind, user, data = job
        start.wait()
        if kind == "get":
            status, body = user.get(f"/meetings/{meeting_id}/invite.ics")
        else:
            status, body = user.post(f"/meetings/{meeting_id}/reply", data)
        return kind, status, body

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(run, jobs))

    log = log_path.read_text(errors="replace")
    assert "database is locked" not in log, log[-3000:]
    failures = [(kind, status) for kind, status, _ in results if status != 200]
    assert failures == [], (failures[:10], log[-3000:])
    downloads = [body for kind, _, body in results if kind == "get"]
    assert len(downloads) == DOWNLOADS
    assert all(body.startswith("BEGIN:VCALENDAR") and "METHOD:REQUEST" in body for body in downloads)

    # Every reply was recorded, and the next invite shows them.
    from app import create_app
    from models import Invitation, Reply, db

    app = create_app(_config(url))
    with app.app_context():
        replies = [inv.reply for inv in db.session.query(Invitation).all()]
        db.engine.dispose()
    assert sorted(r.value for r in replies) == sorted([Reply.DECLINE.value] * UNITS)
    status, text = users[0].get(f"/meetings/{meeting_id}/invite.ics")
    assert status == 200 and text.replace("\r\n ", "").count("PARTSTAT=DECLINED") == UNITS
