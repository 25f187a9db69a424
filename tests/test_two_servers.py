"""Two app servers on one PostgreSQL database behave as one.

Two gunicorns (the production entry point, `gunicorn -c gunicorn.conf.py wsgi:app`, two
workers each) run on one database with a shared SECRET_KEY and instance folders of their
own, behind a pretend load balancer (GONGJIAN_PROXIES=1, each client with its own
X-Forwarded-For). The tests drive both over HTTP, with CSRF tokens from the forms: a
session is one session on both and ends on both; failed logins on both count together;
a change on one reaches the other's feeds and invites at once; minutes approved at the
same moment on both get gap-free archive numbers; and each server's sender threads
deliver the outbox between them, each message exactly once.

PostgreSQL only: a SQLite file belongs to one machine's server.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import create_app
from models import (
    ArchiveCounter,
    Community,
    Invitation,
    MailStatus,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Minutes,
    OutboxMessage,
    Role,
    Room,
    Street,
    Unit,
    UnitCategory,
    User,
    db,
)
from services import minutes as minutes_svc
from services.passwords import hash_password

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "两台服务器测试口令2026"
BASE_URL = "https://gongjian.two-servers.example.cn"
SECRET_KEY = "two-servers-share-this-secret-key"
# What both servers are configured with besides the environment (instance/config.py).
INSTANCE_CONFIG = """
PASSWORD_TIME_COST = 1
PASSWORD_MEMORY_COST = 8
PASSWORD_PARALLELISM = 1
LOGIN_MAX_FAILURES = 4
LOGIN_ACCOUNT_ADDRESS_FAILURES = 2
MAIL_POLL_SECONDS = 0.2
MAIL_TIMEOUT = 5
"""
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
OUTBOX_MESSAGES = 30

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="several servers share a PostgreSQL database; a SQLite file is one machine's",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the data both servers serve ------------------------------------------------------


@dataclass
class Ids:
    secretary1: int
    secretary_s: int
    units: list[int]  # four units of community 1, liaison1 ... liaison4
    draft: int  # tomorrow's meeting, not yet published
    scheduled: int  # published, the four units invited
    held: list[int]  # six past meetings whose minutes wait for approval


def _seed(url: str) -> Ids:
    """Build the schema through the migrations (as `flask db upgrade` does), then the people,
    meetings and minutes: a few rows, in well under a second, where seed-demo takes ten."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET_KEY,
            "BASE_URL": BASE_URL,
            "PASSWORD_TIME_COST": 1,
            "PASSWORD_MEMORY_COST": 8,
            "PASSWORD_PARALLELISM": 1,
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        street = Street(name="东大街街道", short_name="东大街")
        community = Community(street=street, name="青年路社区", short_name="青年路", position=1)
        room = Room(community=community, name="青年路社区共驻共建会议室", capacity=30)
        db.session.add_all([street, community, room])
        db.session.flush()
        units = [
            Unit(
                street_id=street.id,
                community=community,
                name=name,
                category=UnitCategory.OTHER,
                registered_on=datetime(2026, 1, 5).date(),
            )
            for name in ("东大街第一小学", "市第三人民医院", "青年路派出所", "东大街邮政所")
        ]
        db.session.add_all(units)
        db.session.flush()
        pw = hash_password(PASSWORD)

        def user(username: str, role: Role, **fields) -> User:
            u = User(username=username, display_name=username, role=role, password_hash=pw, **fields)
            db.session.add(u)
            return u

        secretary = user("secretary1", Role.SECRETARY, community_id=community.id)
        moving = user("secretary_s", Role.SECRETARY, community_id=community.id)  # sessions
        user("secretary_t", Role.SECRETARY, community_id=community.id)  # throttling
        for n, unit in enumerate(units, start=1):
            user(f"liaison{n}", Role.LIAISON, unit_id=unit.id)
        db.session.flush()

        def meeting(days: int, title: str, status: MeetingStatus) -> Meeting:
            day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=days)).date()
            start = datetime(day.year, day.month, day.day, 14, tzinfo=ZoneInfo("Asia/Shanghai"))
            m = Meeting(
                street_id=street.id,
                community_id=community.id,
                kind=MeetingKind.REGULAR,
                title=title,
                start_at=start,
                end_at=start + timedelta(hours=2),
                room_id=room.id,
                status=status,
                topic_deadline=start - timedelta(days=3),
                created_by=secretary,
            )
            m.invitations = [Invitation(unit_id=u.id) for u in units]
            db.session.add(m)
            db.session.flush()
            return m

        draft = meeting(1, "新发布的联席会议", MeetingStatus.DRAFT)
        scheduled = meeting(2, "已发布的联席会议", MeetingStatus.SCHEDULED)
        held = [meeting(-n, f"第{n}次已召开的会议", MeetingStatus.HELD) for n in range(1, 7)]
        for m in held:
            revision = minutes_svc.start_minutes(m, secretary).revisions[0]
            revision.summary = f"<p>{m.title}的纪要。</p>"
            minutes_svc.submit(revision, secretary, None)
        db.session.commit()
        ids = Ids(
            secretary.id, moving.id, [u.id for u in units], draft.id, scheduled.id, [m.id for m in held]
        )
        db.session.remove()
        db.engine.dispose()
    return ids


# --- the outbox's two mail servers --------------------------------------------------------


class Sink:
    """An SMTP server that notes, for each message, which app server sent it (one sink each)."""

    def __init__(self, name: str, received: list[tuple[str, str]], lock: threading.Lock):
        self.name, self.received, self.lock = name, received, lock

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.03)  # a mail server takes a moment: deliveries overlap
        with self.lock:
            self.received.extend((self.name, rcpt) for rcpt in envelope.rcpt_tos)
        return "250 Message accepted for delivery"


# --- the servers ----------------------------------------------------------------------


@dataclass
class Server:
    name: str
    base: str
    proc: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    a: Server
    b: Server
    url: str
    ids: Ids
    received: list[tuple[str, str]]  # (server, recipient) of each message the sinks took

    @contextmanager
    def database(self) -> Iterator:
        """The shared database's session, as a third process sees it (no server's cache)."""
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": self.url, "SECRET_KEY": SECRET_KEY, "BASE_URL": BASE_URL}
        )
        with app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()
                db.engine.dispose()

    def check_logs(self) -> None:
        """Neither server logged an error (a deadlock, a serialization failure, a 500)."""
        for server in (self.a, self.b):
            log = server.log_text()
            assert "Traceback" not in log and "ERROR" not in log, f"server {server.name}:\n{log[-4000:]}"


def _start(name: str, url: str, root: Path, mail_port: int) -> Server:
    """Start gunicorn as production does: wsgi:app, settings from the environment and instance/config.py."""
    instance = root / f"instance-{name}"
    instance.mkdir(mode=0o700)
    (instance / "config.py").write_text(INSTANCE_CONFIG)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "BASE_URL": BASE_URL,
        "GONGJIAN_INSTANCE_PATH": str(instance),
        "GONGJIAN_PROXIES": "1",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mail_port),
        "MAIL_DELIVERY": "thread",
        "MAIL_DEFAULT_SENDER": "共建联席会议 <gongjian@two-servers.example.cn>",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_LOGLEVEL": "warning",
    }
    log = root / f"gunicorn-{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Server(name, f"http://127.0.0.1:{port}", proc, log)


def _wait_ready(server: Server, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(server.base + "/login", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if server.proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"gunicorn {server.name} did not start:\n{server.log_text()[-3000:]}")
        time.sleep(0.1)


def _stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="module")
def cluster(postgres, tmp_path_factory) -> Iterator[Cluster]:
    """A database of its own, two SMTP sinks and two gunicorns on it; all stopped afterwards."""
    if postgres is None:
        pytest.skip("PostgreSQL only")
    root = tmp_path_factory.mktemp("two_servers")
    name = postgres.name("two_servers")
    url = postgres.create(name)
    received: list[tuple[str, str]] = []
    lock = threading.Lock()
    sinks, servers = [], []
    try:
        ids = _seed(url)
        for server_name in "AB":
            sink = Controller(Sink(server_name, received, lock), hostname="127.0.0.1", port=_free_port())
            sink.start()
            sinks.append(sink)
            servers.append(_start(server_name, url, root, sink.port))
        deadline = time.monotonic() + 60
        for server in servers:
            _wait_ready(server, deadline)
        yield Cluster(servers[0], servers[1], url, ids, received)
    finally:
        for server in servers:
            _stop(server)
        for sink in sinks:
            sink.stop()
        postgres.drop(name)


# --- a browser ------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    @property
    def to_login(self) -> bool:
        return self.status == 302 and urllib.parse.urlsplit(self.headers["Location"]).path == "/login"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One user's browser behind the load balancer: its cookies go to either server."""

    def __init__(self, address: str):
        self.address = address  # what the proxy puts in X-Forwarded-For
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects
        )

    def request(self, server: Server, path: str, data: dict | None = None, **headers) -> Response:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        req = urllib.request.Request(server.base + path, data=body, headers=headers)
        req.add_header("X-Forwarded-For", self.address)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return Response(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, dict(err.headers), err.read())

    def get(self, server: Server, path: str, **headers) -> Response:
        return self.request(server, path, **headers)

    def csrf(self, server: Server, path: str = "/") -> str:
        page = self.get(server, path)
        assert page.status == 200, (page.status, path)
        return CSRF_RE.search(page.text).group(1)

    def post(
        self, server: Server, path: str, data: dict | None = None, token_from: Server | None = None
    ) -> Response:
        """POST a form with the CSRF token of a page on token_from (by default the same server)."""
        token = self.csrf(token_from or server, "/login" if path == "/login" else "/")
        return self.request(server, path, {"csrf_token": token, **(data or {})})

    def login(self, server: Server, username: str, password: str = PASSWORD) -> Response:
        return self.post(server, "/login", {"username": username, "password": password})


def _unfold(data: bytes) -> str:
    return data.decode().replace("\r\n ", "")


def _event(data: bytes, title: str):
    events = [e for e in icalendar.Calendar.from_ical(data).walk("VEVENT") if str(e["SUMMARY"]) == title]
    assert len(events) == 1, _unfold(data)
    return events[0]


def _partstats(event) -> dict[str, str]:
    """Each attendee's reply, by address (mailto:unit-<id>@noemail.invalid)."""
    found = event.get("ATTENDEE", [])
    return {str(a): str(a.params["PARTSTAT"]) for a in (found if isinstance(found, list) else [found])}


def _unit(unit_id: int) -> str:
    return f"mailto:unit-{unit_id}@noemail.invalid"


# --- the tests --------------------------------------------------------------------------


def test_a_session_is_one_on_both_servers_and_ends_on_both(cluster):
    a, b = cluster.a, cluster.b
    laptop, phone = Browser("10.0.1.1"), Browser("10.0.1.2")
    assert laptop.login(a, "secretary_s").status == 302
    assert laptop.get(a, "/").status == 200
    assert laptop.get(b, "/").status == 200  # the same session, whichever server answers
    # A form from A posts to B: the CSRF token is the session's, not the server's.
    assert laptop.post(b, f"/account/feeds/user/{cluster.ids.secretary_s}", token_from=a).status == 302

    # Logging out on B, from the phone, ends every session of the user: the laptop's on A too.
    assert phone.login(b, "secretary_s").status == 302
    assert phone.post(b, "/logout").to_login
    assert laptop.get(a, "/").to_login
    assert laptop.get(b, "/").to_login

    # Changing the password on B ends the laptop's new session on A at once; the phone keeps its own.
    assert laptop.login(a, "secretary_s").status == 302
    assert phone.login(b, "secretary_s").status == 302
    new = "两台服务器改过的口令2026"
    changed = phone.post(b, "/account", {"current_password": PASSWORD, "new_password": new, "confirm": new})
    assert changed.status == 302, changed.text[:2000]
    assert laptop.get(a, "/").to_login
    assert phone.get(a, "/").status == 200
    assert laptop.login(a, "secretary_s", PASSWORD).status == 200  # the old password is refused ...
    assert laptop.login(b, "secretary_s", new).status == 302  # ... and the new one works on either
    cluster.check_logs()


def test_failed_logins_on_both_servers_count_together(cluster):
    a, b = cluster.a, cluster.b
    attacker = Browser("10.0.2.66")
    # LOGIN_MAX_FAILURES = 4 failures from one address, split over the two servers ...
    for server in (a, b, a, b):
        resp = attacker.login(server, "secretary_t", "猜一个口令123")
        assert resp.status == 200 and "用户名或密码错误" in resp.text, (server.name, resp.status)
    # ... and the address is refused on both, even with the right password.
    for server in (a, b):
        resp = attacker.login(server, "secretary_t")
        assert resp.status == 429, (server.name, resp.status)
        assert 0 < int(resp.headers["Retry-After"]) <= 15 * 60

    # The account's failures count on both too: it is protected, so another address that
    # fails LOGIN_ACCOUNT_ADDRESS_FAILURES = 2 times for it (once on each server) waits ...
    other = Browser("10.0.2.67")
    assert other.login(a, "secretary_t", "再猜一个口令456").status == 200
    assert other.login(b, "secretary_t", "再猜一个口令789").status == 200
    assert other.login(a, "secretary_t").status == 429
    # ... while the owner, from an address that has not been guessing, still gets in.
    assert Browser("10.0.2.7").login(b, "secretary_t").status == 302
    cluster.check_logs()


def test_a_change_on_one_server_reaches_feeds_and_invites_on_the_other(cluster):
    a, b, ids = cluster.a, cluster.b, cluster.ids
    secretary = Browser("10.0.3.1")
    assert secretary.login(a, "secretary1").status == 302
    assert secretary.post(a, f"/account/feeds/user/{ids.secretary1}").status == 302
    # The link made on A is on /account on B.
    links = re.findall(rf'id="feed-user-{ids.secretary1}" value="([^"]+)"', secretary.get(b, "/account").text)
    assert len(links) == 1 and links[0].startswith(BASE_URL)
    feed = links[0].removeprefix(BASE_URL)
    calendar = Browser("10.0.3.9")  # a calendar app: no session

    first = calendar.get(b, feed)
    assert first.status == 200
    assert "已发布的联席会议" in _unfold(first.body) and "新发布的联席会议" not in _unfold(first.body)
    etag = first.headers["ETag"]
    # The ETag comes from the database: the other server agrees that nothing changed.
    assert calendar.get(a, feed, **{"If-None-Match": etag}).status == 304

    # Published on A: B's answer changes at once.
    assert secretary.post(a, f"/meetings/{ids.draft}/publish").status == 302
    resp = calendar.get(b, feed, **{"If-None-Match": etag})
    assert resp.status == 200 and resp.headers["ETag"] != etag
    _event(resp.body, "新发布的联席会议")
    etag = resp.headers["ETag"]

    # Units reply on both servers at once while the calendar app polls both: each reply
    # reaches the feed (a lost revision would leave an event cached without one of them).
    liaisons = [Browser(f"10.0.3.{20 + n}") for n in range(4)]
    for n, liaison in enumerate(liaisons, start=1):
        assert liaison.login(a if n % 2 else b, f"liaison{n}").status == 302
    done = threading.Event()
    polls: list[Response] = []

    def poll(server: Server) -> None:
        seen = etag
        while not done.is_set():
            resp = calendar.get(server, feed, **{"If-None-Match": seen})
            polls.append(resp)
            seen = resp.headers.get("ETag", seen)

    def reply(n: int) -> Response:
        server = b if n % 2 else a  # the other server than the one that logged them in
        return liaisons[n - 1].post(server, f"/meetings/{ids.scheduled}/reply", {"reply": "accept"})

    pollers = [threading.Thread(target=poll, args=(server,)) for server in (a, b)]
    for poller in pollers:
        poller.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            replies = list(pool.map(reply, range(1, 5)))
    finally:
        done.set()
        for poller in pollers:
            poller.join(timeout=30)
    assert [r.status for r in replies] == [302] * 4
    assert polls and {p.status for p in polls} <= {200, 304}
    for server in (a, b):
        resp = calendar.get(server, feed, **{"If-None-Match": etag})
        assert resp.status == 200
        event = _event(resp.body, "已发布的联席会议")
        assert _partstats(event) == {_unit(u): "ACCEPTED" for u in ids.units}, server.name

    # Cancelled on B: the invite downloaded from A says so, and so does A's feed.
    etag = calendar.get(a, feed).headers["ETag"]
    assert secretary.post(b, f"/meetings/{ids.scheduled}/cancel", {"reason": "改期另行通知"}).status == 302
    invite = secretary.get(a, f"/meetings/{ids.scheduled}/invite.ics")
    assert invite.status == 200 and "STATUS:CANCELLED" in _unfold(invite.body)
    resp = calendar.get(a, feed, **{"If-None-Match": etag})
    assert resp.status == 200
    assert str(_event(resp.body, "【已取消】已发布的联席会议")["STATUS"]) == "CANCELLED"
    cluster.check_logs()


def test_minutes_approved_at_once_on_both_servers_are_numbered_without_gaps(cluster):
    a, b, ids = cluster.a, cluster.b, cluster.ids
    on_a, on_b = Browser("10.0.4.1"), Browser("10.0.4.2")
    assert on_a.login(a, "secretary1").status == 302
    assert on_b.login(b, "secretary1").status == 302
    tokens = {a.name: on_a.csrf(a), b.name: on_b.csrf(b)}
    # Every set of minutes is approved on both servers at the same moment.
    jobs = [(browser, server, mid) for mid in ids.held for browser, server in ((on_a, a), (on_b, b))]
    start = threading.Barrier(len(jobs), timeout=30)

    def approve(job) -> tuple[int, int]:
        browser, server, mid = job
        data = {"csrf_token": tokens[server.name], "unconfirmed_ok": "y"}
        start.wait()
        return mid, browser.request(server, f"/meetings/{mid}/minutes/approve", data).status

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(approve, jobs))
    # Each is approved once; the later request finds the minutes approved already.
    for mid in ids.held:
        assert sorted(status for m, status in results if m == mid) == [302, 400], results

    with cluster.database() as session:
        rows = session.execute(
            select(Minutes.archive_seq, Minutes.archive_no).where(Minutes.meeting_id.in_(ids.held))
        ).all()
        counters = session.scalars(select(ArchiveCounter.last_number)).all()
    assert sorted(seq for seq, _ in rows) == [1, 2, 3, 4, 5, 6]
    assert len({no for _, no in rows}) == 6
    assert counters == [6]
    cluster.check_logs()


def test_each_outbox_message_is_sent_once_by_one_of_the_servers(cluster):
    a, b = cluster.a, cluster.b
    # Every worker of both servers has answered a request, so each runs its sender thread,
    # polling the outbox every MAIL_POLL_SECONDS.
    visitor = Browser("10.0.5.1")
    for _ in range(4):
        for server in (a, b):
            assert visitor.get(server, "/login").status == 200
    expected = [f"liaison{n}@unit{n}.example.cn" for n in range(OUTBOX_MESSAGES)]
    with cluster.database() as session:
        session.add_all(
            OutboxMessage(to_addr=addr, subject=f"【会议通知】第{n}封", body_text="两台服务器同时发送。")
            for n, addr in enumerate(expected)
        )
        session.commit()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pending = session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != MailStatus.SENT)
            )
            session.rollback()
            if not pending:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # a second copy, if any, would arrive by now
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.attempts)).all()
    assert rows and all(status == MailStatus.SENT and attempts == 1 for status, attempts in rows), rows
    received = list(cluster.received)
    assert sorted(rcpt for _, rcpt in received) == sorted(expected)  # each exactly once
    by_server = Counter(server for server, _ in received)
    assert by_server["A"] > 0 and by_server["B"] > 0, by_server  # both servers were sending
    cluster.check_logs()
