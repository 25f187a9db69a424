"""Several gunicorn workers on one SQLite file: concurrent read-then-write requests never fail.

Each failed login reads the throttling counters, then inserts a login attempt and an audit
row. With a deferred BEGIN, concurrent workers fail such requests with "database is locked";
the app's BEGIN IMMEDIATE for writing requests must make every one of them succeed.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 4
REQUESTS = 120

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite"),
    reason="SQLite locking only: PostgreSQL has row-level locks",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(url: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "concurrency-test-secret",
        "WTF_CSRF_ENABLED": True,
        "HTTPS": False,
        # Cheap hashing, and no throttling, so every request takes the full read-then-write path.
        "PASSWORD_TIME_COST": 1,
        "PASSWORD_MEMORY_COST": 8,
        "PASSWORD_PARALLELISM": 1,
        "LOGIN_MAX_FAILURES": 10 * REQUESTS,
        "MAIL_DELIVERY": "off",  # no sender thread in the workers
    }


def _prepare_database(url: str) -> None:
    """Build the schema through the migrations and add a street, a community and users."""
    from flask_migrate import upgrade

    from app import create_app
    from models import Community, Role, Street, User, db
    from services.passwords import hash_password

    app = create_app(_config(url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        street = Street(name="东大街街道", short_name="东大街")
        community = Community(street=street, name="青年路社区", short_name="青年路", position=1)
        db.session.add_all([street, community])
        db.session.flush()
        pw = hash_password("共建并发测试口令")
        for i in range(5):
            db.session.add(
                User(
                    username=f"secretary{i}",
                    display_name=f"书记{i}",
                    role=Role.SECRETARY,
                    community_id=community.id,
                    password_hash=pw,
                )
            )
        db.session.commit()
        db.engine.dispose()


def _count_rows(url: str) -> tuple[int, int]:
    from app import create_app
    from models import AuditEvent, LoginAttempt, db

    app = create_app(_config(url))
    with app.app_context():
        attempts = db.session.scalar(select(func.count()).select_from(LoginAttempt))
        failures = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login_failed")
        )
        db.engine.dispose()
        return attempts, failures


@pytest.fixture
def server(tmp_path):
    """A gunicorn with several workers (gunicorn.conf.py) on a temporary SQLite file."""
    url = f"sqlite:///{tmp_path / 'concurrency.db'}"
    _prepare_database(url)
    # The entry module pins the test database, whatever instance/config.py may say.
    (tmp_path / "concurrency_wsgi.py").write_text(
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
                "concurrency_wsgi:app",
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
        yield base, url, log_path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def test_concurrent_failed_logins_never_hit_a_locked_database(server):
    base, url, log_path = server
    start = threading.Barrier(REQUESTS, timeout=30)

    def one_client(i: int) -> tuple[int, str]:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(base + "/login", timeout=30) as resp:
            token = CSRF_RE.search(resp.read().decode()).group(1)
        body = urllib.parse.urlencode(
            {"csrf_token": token, "username": f"secretary{i % 6}", "password": f"错误的口令{i}"}
        ).encode()
        start.wait()  # every client posts at the same moment
        try:
            with opener.open(base + "/login", data=body, timeout=30) as resp:
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        results = list(pool.map(one_client, range(REQUESTS)))

    log = log_path.read_text(errors="replace")
    statuses = sorted({status for status, _ in results})
    assert "database is locked" not in log
    assert statuses == [200], (statuses, log[-3000:])
    assert all("用户名或密码错误" in body for _, body in results)
    assert _count_rows(url) == (REQUESTS, REQUESTS)
