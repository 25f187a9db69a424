"""Accounts: login, throttling, password policy and hashing, sessions, headers, errors, CLI."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from app import create_app
from config import Defaults
from models import AuditEvent, LoginAttempt, Minutes, MinutesRendition, Role, Street, Unit, User, db
from tests.conftest import PASSWORD, count

SAME_LOGIN_ERROR = "用户名或密码错误"
THROTTLED = "次数过多"


def _user(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def _post_login(client, username, password, ip="127.0.0.1", next_=None):
    url = "/login" + (f"?next={next_}" if next_ is not None else "")
    return client.post(
        url, data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def _logged_in(client) -> bool:
    resp = client.get("/")
    if resp.status_code == 200:
        return True
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    return False


def _events(app, action: str, **where) -> list[AuditEvent]:
    with app.app_context():
        stmt = select(AuditEvent).where(AuditEvent.action == action)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEvent, key) == value)
        events = db.session.scalars(stmt.order_by(AuditEvent.id)).all()
        for e in events:
            db.session.expunge(e)
        return events


def _same_config(app, **overrides) -> dict:
    """A test config for a second app instance on the same database."""
    keys = (
        "TESTING",
        "SQLALCHEMY_DATABASE_URI",
        "SECRET_KEY",
        "WTF_CSRF_ENABLED",
        "PASSWORD_TIME_COST",
        "PASSWORD_MEMORY_COST",
        "PASSWORD_PARALLELISM",
    )
    return {**{k: app.config[k] for k in keys}, **overrides}


# --- login ------------------------------------------------------------------------------


def test_login_success_goes_to_dashboard(client, world):
    resp = _post_login(client, "secretary1", PASSWORD)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
    assert _logged_in(client)


def test_login_is_case_insensitive_on_username(client, world):
    assert _post_login(client, "Secretary1", PASSWORD).status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_message(client, world):
    wrong = _post_login(client, "secretary1", "不是这个密码啊啊啊")
    unknown = _post_login(client, "nobody-here", "不是这个密码啊啊啊")
    assert wrong.status_code == unknown.status_code == 200
    wrong_text, unknown_text = wrong.get_data(as_text=True), unknown.get_data(as_text=True)
    assert SAME_LOGIN_ERROR in wrong_text and SAME_LOGIN_ERROR in unknown_text

    def alert(text):
        return re.search(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', text, re.S).group(1).strip()

    assert alert(wrong_text) == alert(unknown_text)
    assert "不存在" not in unknown_text
    assert not _logged_in(client)


def test_inactive_user_cannot_log_in(app, client, world):
    with app.app_context():
        db.session.get(User, world.liaison_a).active = False
        db.session.commit()
    resp = _post_login(client, "liaison_a", PASSWORD)
    assert resp.status_code == 200
    assert SAME_LOGIN_ERROR in resp.get_data(as_text=True)
    assert not _logged_in(client)


def test_logged_in_user_visiting_login_goes_to_dashboard(client, world, login_as):
    login_as("admin")
    resp = client.get("/login")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


# --- throttling -------------------------------------------------------------------------


def _assert_throttled(resp, minutes: int | None = None):
    """Refused for too many failures: 429, a Retry-After in seconds, the Chinese message on the form."""
    assert resp.status_code == 429
    wait = int(resp.headers["Retry-After"])
    assert 0 < wait <= 15 * 60
    page = resp.get_data(as_text=True)
    assert THROTTLED in page
    assert f"请 {minutes if minutes is not None else -(-wait // 60)} 分钟后再试" in page
    assert 'name="username"' in page  # still the login form, ready for the next try
    return wait


def test_an_attacker_failing_many_times_does_not_lock_the_owner_out(app, client, world):
    for _ in range(10):
        resp = _post_login(client, "secretary1", "错误的口令第几次", ip="203.0.113.66")
        assert resp.status_code == 200 and SAME_LOGIN_ERROR in resp.get_data(as_text=True)
    # The attacking address is throttled, even when it guesses right.
    _assert_throttled(_post_login(client, "secretary1", PASSWORD, ip="203.0.113.66"), minutes=15)
    assert not _logged_in(client)
    assert _events(app, "login_throttled")
    # The owner, from an address that has not been failing, gets in.
    assert _post_login(client, "secretary1", PASSWORD, ip="198.51.100.7").status_code == 302
    assert _logged_in(client)


def test_distributed_guessing_is_throttled_per_address_for_that_account(client, world):
    # Four addresses, three failures each: the account has twelve, no address ten.
    attackers = [f"203.0.113.{i}" for i in range(1, 5)]
    for ip in attackers:
        for _ in range(3):
            _post_login(client, "secretary1", "错误的口令第几次", ip=ip)
    for ip in attackers:
        _assert_throttled(_post_login(client, "secretary1", PASSWORD, ip=ip))
    # The same addresses may still log in to other accounts (three failures are not ten) ...
    assert _post_login(client, "secretary2", PASSWORD, ip=attackers[0]).status_code == 302
    # ... and the owner still gets in from anywhere else.
    assert _post_login(client, "secretary1", PASSWORD, ip="198.51.100.7").status_code == 302


def test_below_the_account_limit_a_few_typos_never_block(client, world):
    for _ in range(5):
        _post_login(client, "secretary1", "错误的口令第几次", ip="10.0.0.1")
    assert _post_login(client, "secretary1", PASSWORD, ip="10.0.0.1").status_code == 302


def test_retry_after_counts_down_from_the_stored_failures(app, client, world):
    for _ in range(10):
        _post_login(client, "guess", "错误的口令第几次", ip="192.0.2.9")
    from datetime import timedelta

    from models.base import utcnow

    with app.app_context():
        for attempt in db.session.scalars(select(LoginAttempt)):
            attempt.at = utcnow() - timedelta(minutes=10)
        db.session.commit()
    wait = _assert_throttled(_post_login(client, "admin", PASSWORD, ip="192.0.2.9"), minutes=5)
    assert 4 * 60 < wait <= 5 * 60


def test_wrong_current_password_is_throttled_with_429(app, client, world, login_as):
    login_as("liaison_a")
    before = _user(app, "liaison_a").password_hash
    data = {
        "current_password": "不是这个密码啊",
        "new_password": "新的共建口令2027",
        "confirm": "新的共建口令2027",
    }
    for _ in range(10):
        resp = client.post("/account", data=data)
        assert resp.status_code == 200 and "当前密码不正确" in resp.get_data(as_text=True)
    resp = client.post("/account", data={**data, "current_password": PASSWORD})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert "密码错误次数过多" in resp.get_data(as_text=True)
    assert _user(app, "liaison_a").password_hash == before


def test_nine_failures_do_not_lock(client, world):
    for i in range(9):
        _post_login(client, "secretary1", "错误的口令第几次", ip=f"10.0.0.{i + 1}")
    assert _post_login(client, "secretary1", PASSWORD, ip="10.0.1.1").status_code == 302


def test_ten_failures_from_one_address_lock_that_address_across_usernames(client, world):
    for i in range(10):
        _post_login(client, f"guess{i}", "错误的口令第几次", ip="192.0.2.7")
    _assert_throttled(_post_login(client, "admin", PASSWORD, ip="192.0.2.7"))
    assert not _logged_in(client)
    # The account itself is fine from another address.
    assert _post_login(client, "admin", PASSWORD, ip="192.0.2.8").status_code == 302


def test_lock_lifts_once_the_failures_are_older_than_the_window(app, client, world):
    for _ in range(10):
        _post_login(client, "secretary1", "错误的口令第几次", ip="10.0.0.1")
    assert THROTTLED in _post_login(client, "secretary1", PASSWORD, ip="10.0.0.1").get_data(as_text=True)
    from datetime import timedelta

    from models.base import utcnow

    with app.app_context():
        minutes = app.config["LOGIN_WINDOW_MINUTES"]
        for attempt in db.session.scalars(select(LoginAttempt)):
            attempt.at = utcnow() - timedelta(minutes=minutes + 1)
        db.session.commit()
    assert _post_login(client, "secretary1", PASSWORD, ip="10.0.0.1").status_code == 302


def test_throttle_counter_is_shared_by_another_app_instance(app, client, world):
    for i in range(12):
        _post_login(client, "secretary1", "错误的口令第几次", ip=f"10.0.0.{i % 4 + 1}")
    # A second worker process: its own app, engine and memory, the same database.
    other = create_app(_same_config(app))
    try:
        with other.app_context():
            assert count(LoginAttempt, LoginAttempt.success.is_(False)) == 12
        _assert_throttled(_post_login(other.test_client(), "secretary1", PASSWORD, ip="10.0.0.2"))
        assert _post_login(other.test_client(), "secretary1", PASSWORD, ip="10.9.9.9").status_code == 302
    finally:
        with other.app_context():
            db.engine.dispose()


# --- password policy --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("short7!", "至少需要 8 个字符"),
        ("长度不够的口令", "至少需要 8 个字符"),
        ("".join(chr(ord("a") + i % 26) for i in range(129)), "不能超过 128 个字符"),
        ("password1", "过于常见"),
        ("12345678", "过于常见"),
        ("woaini1314", "过于常见"),
        ("PASSWORD1", "过于常见"),
        ("liaison_a", "过于常见|不能与用户名相同"),
    ],
)
def test_weak_new_password_is_refused_with_a_chinese_message(
    app, client, world, login_as, new_password, message
):
    login_as("liaison_a")
    before = _user(app, "liaison_a")
    resp = client.post(
        "/account",
        data={"current_password": PASSWORD, "new_password": new_password, "confirm": new_password},
    )
    assert resp.status_code == 200
    assert re.search(message, resp.get_data(as_text=True))
    after = _user(app, "liaison_a")
    assert after.password_hash == before.password_hash
    assert after.session_token == before.session_token
    assert _logged_in(client)
    assert not _events(app, "password")


def test_chinese_passphrase_is_accepted_and_works(app, client, world, login_as):
    login_as("liaison_a")
    new = "我们社区共建共享"
    resp = client.post("/account", data={"current_password": PASSWORD, "new_password": new, "confirm": new})
    assert resp.status_code == 302
    client.post("/logout")
    other = app.test_client()
    assert _post_login(other, "liaison_a", PASSWORD).status_code == 200
    assert _post_login(other, "liaison_a", new).status_code == 302


def test_wrong_current_password_changes_nothing(app, client, world, login_as):
    login_as("liaison_a")
    before = _user(app, "liaison_a")
    new = "我们社区共建共享"
    resp = client.post(
        "/account", data={"current_password": "不对的旧口令啊", "new_password": new, "confirm": new}
    )
    assert resp.status_code == 200
    assert "当前密码不正确" in resp.get_data(as_text=True)
    assert _user(app, "liaison_a").password_hash == before.password_hash


def test_mismatched_confirmation_changes_nothing(app, client, world, login_as):
    login_as("liaison_a")
    before = _user(app, "liaison_a")
    resp = client.post(
        "/account",
        data={
            "current_password": PASSWORD,
            "new_password": "我们社区共建共享",
            "confirm": "我们社区共建共赢",
        },
    )
    assert resp.status_code == 200
    assert "不一致" in resp.get_data(as_text=True)
    assert _user(app, "liaison_a").password_hash == before.password_hash


# --- sessions ---------------------------------------------------------------------------


def test_password_change_ends_other_sessions_but_keeps_this_one(app, world, login_as):
    a, b = app.test_client(), app.test_client()
    login_as("secretary1", the_client=a)
    login_as("secretary1", the_client=b)
    assert _logged_in(a) and _logged_in(b)
    new = "我们社区共建共享"
    resp = a.post("/account", data={"current_password": PASSWORD, "new_password": new, "confirm": new})
    assert resp.status_code == 302
    assert _logged_in(a)
    resp = b.get("/units")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert _logged_in(a)


def test_logout_ends_the_users_other_sessions(app, world, login_as):
    a, b = app.test_client(), app.test_client()
    login_as("secretary1", the_client=a)
    login_as("secretary1", the_client=b)
    other_user = app.test_client()
    login_as("secretary2", the_client=other_user)
    resp = a.post("/logout")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert not _logged_in(a)
    assert not _logged_in(b)
    assert _logged_in(other_user)


def test_stolen_cookie_is_useless_after_logout(app, world, login_as):
    a = app.test_client()
    login_as("secretary1", the_client=a)
    cookie = a.get_cookie("session").value
    a.post("/logout")
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert not _logged_in(replay)


def test_admin_disabling_a_user_ends_their_session(app, world, login_as):
    admin, victim = app.test_client(), app.test_client()
    login_as("admin", the_client=admin)
    login_as("liaison_a", the_client=victim)
    assert _logged_in(victim)
    resp = admin.post(
        f"/admin/users/{world.liaison_a}/edit",
        data={
            "username": "liaison_a",
            "display_name": "liaison_a",
            "email": "",
            "role": "liaison",
            "community_id": "0",
            "unit_id": str(world.unit_a),
            "new_password": "",
            # "active" left out: the checkbox is cleared.
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert _user(app, "liaison_a").active is False
    assert not _logged_in(victim)
    assert _post_login(app.test_client(), "liaison_a", PASSWORD).status_code == 200


def test_admin_password_reset_ends_the_users_sessions(app, world, login_as):
    admin, victim = app.test_client(), app.test_client()
    login_as("admin", the_client=admin)
    login_as("liaison_a", the_client=victim)
    resp = admin.post(
        f"/admin/users/{world.liaison_a}/edit",
        data={
            "username": "liaison_a",
            "display_name": "liaison_a",
            "role": "liaison",
            "community_id": "0",
            "unit_id": str(world.unit_a),
            "new_password": "新的共建口令二〇二六",
            "active": "y",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert not _logged_in(victim)
    assert _logged_in(admin)


# --- hashing ----------------------------------------------------------------------------


def test_login_rehashes_a_password_stored_with_weaker_parameters(app, client, world):
    old_hash = _user(app, "secretary1").password_hash
    assert ",t=1," in old_hash
    app.config["PASSWORD_TIME_COST"] = 2
    assert _post_login(client, "secretary1", PASSWORD).status_code == 302
    new_hash = _user(app, "secretary1").password_hash
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$") and ",t=2," in new_hash
    assert PasswordHasher().verify(new_hash, PASSWORD)
    # And it still logs in.
    assert _post_login(app.test_client(), "secretary1", PASSWORD).status_code == 302


def test_failed_login_does_not_rehash(app, client, world):
    old_hash = _user(app, "secretary1").password_hash
    app.config["PASSWORD_TIME_COST"] = 2
    _post_login(client, "secretary1", "错误的口令第几次")
    assert _user(app, "secretary1").password_hash == old_hash


def test_production_hash_parameters_meet_owasp_asvs(app):
    # OWASP: argon2id with at least m=19 MiB, t=2, p=1.
    assert Defaults.PASSWORD_MEMORY_COST >= 19 * 1024
    assert Defaults.PASSWORD_TIME_COST >= 2
    assert Defaults.PASSWORD_PARALLELISM >= 1
    from services.passwords import hash_password

    with app.app_context():
        for key in ("PASSWORD_TIME_COST", "PASSWORD_MEMORY_COST", "PASSWORD_PARALLELISM"):
            app.config[key] = getattr(Defaults, key)
        hashed = hash_password("我们社区共建共享")
    assert hashed.startswith("$argon2id$")
    params = dict(p.split("=") for p in hashed.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2
    assert PasswordHasher().verify(hashed, "我们社区共建共享")


# --- cookies and headers ----------------------------------------------------------------


def _session_cookie_header(resp, name: str = "session") -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    assert cookies, resp.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite_lax(client, world):
    header = _session_cookie_header(_post_login(client, "admin", PASSWORD))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header


def test_session_cookie_is_secure_when_configured_for_https(app, world):
    other = create_app(_same_config(app, HTTPS=True))
    try:
        client = other.test_client()
        resp = client.post(
            "/login", data={"username": "admin", "password": PASSWORD}, base_url="https://localhost"
        )
        assert resp.status_code == 302
        # The __Host- prefix: browsers accept it only Secure, on Path=/ and without Domain, so
        # no sibling subdomain or plain-HTTP page can plant or overwrite the session.
        assert not [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
        header = _session_cookie_header(resp, "__Host-session")
        assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
        assert "Path=/;" in header + ";" and "Domain=" not in header
        assert "Strict-Transport-Security" in resp.headers
        assert client.get("/", base_url="https://localhost").status_code == 200  # the cookie works
    finally:
        with other.app_context():
            db.engine.dispose()


def test_remember_cookie_uses_the_host_prefix_with_https(app, world):
    from flask_login import login_user

    other = create_app(_same_config(app, HTTPS=True))

    def remember_me():
        login_user(db.session.get(User, world.admin), remember=True)
        return "ok"

    other.add_url_rule("/_remember-me", view_func=remember_me)
    try:
        resp = other.test_client().get("/_remember-me", base_url="https://localhost")
        header = _session_cookie_header(resp, "__Host-remember_token")
        assert "Secure" in header and "Path=/" in header and "Domain=" not in header
    finally:
        with other.app_context():
            db.engine.dispose()


def _static_file(app) -> str:
    from pathlib import Path

    root = Path(app.static_folder)
    first = next(p for p in sorted(root.rglob("*.css")) if p.is_file())
    return "/static/" + first.relative_to(root).as_posix()


def _assert_security_headers(resp):
    h = resp.headers
    csp = h.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src, csp
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert directives.get("frame-ancestors") == ["'none'"]
    assert h.get("X-Content-Type-Options") == "nosniff"
    assert h.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        (None, "/login", 200),
        (None, "/", 302),
        (None, "/no/such/page", 404),
        (None, "STATIC", 200),
        ("secretary1", "/", 200),
        ("secretary1", "/units/999999", 404),
        ("liaison_a", "/admin/users", 403),
        ("admin", "/units/export.csv", 200),
        ("admin", "/logout", 405),
    ],
)
def test_security_headers_on_every_response(app, client, world, login_as, who, url, status):
    if who:
        login_as(who)
    if url == "STATIC":
        url = _static_file(app)
    resp = client.get(url)
    assert resp.status_code == status
    _assert_security_headers(resp)


def test_pages_have_no_inline_script(client, world, login_as):
    login_as("admin")
    for url in ("/", "/units", f"/units/{world.unit_a}", f"/units/{world.unit_a}/edit", "/account"):
        html = client.get(url).get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (url, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), url
        # Every asset is local (intranets have no internet).
        for ref in re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"', html):
            assert ref.startswith("/"), (url, ref)


# --- error pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "url", "method", "status", "text"),
    [
        ("secretary1", "/no/such/page", "get", 404, "页面不存在"),
        ("secretary1", "/units/999999", "get", 404, "页面不存在"),
        ("liaison_a", "/admin/audit", "get", 403, "没有权限"),
        ("secretary1", "/logout", "get", 405, "操作方式不正确"),
    ],
)
def test_error_pages_are_friendly_chinese(client, world, login_as, who, url, method, status, text):
    login_as(who)
    resp = getattr(client, method)(url)
    assert resp.status_code == status
    body = resp.get_data(as_text=True)
    assert text in body
    assert 'lang="zh' in body
    assert "Traceback" not in body and "Werkzeug" not in body


def test_unhandled_error_shows_chinese_500_without_traceback_and_rolls_back(app, client, world, login_as):
    def explode():
        unit = db.session.get(Unit, world.unit_a)
        unit.address = "不应保存的地址"
        db.session.flush()
        raise RuntimeError("secret-internal-detail /work/main/app.py")

    def explode_in_sql():
        db.session.add(User(username="admin", display_name="dup", role=Role.ADMIN, password_hash="x"))
        db.session.flush()  # IntegrityError: the session's transaction is now broken

    app.add_url_rule("/_test/explode", "test_explode", explode, methods=["GET", "POST"])
    app.add_url_rule("/_test/sql", "test_sql", explode_in_sql)
    login_as("admin")
    for url in ("/_test/explode", "/_test/sql"):
        resp = client.get(url)
        assert resp.status_code == 500
        body = resp.get_data(as_text=True)
        assert "系统出错了" in body
        assert "Traceback" not in body and "secret-internal-detail" not in body
        assert "RuntimeError" not in body and "IntegrityError" not in body
    resp = client.post("/_test/explode")
    assert resp.status_code == 500
    with app.app_context():
        assert db.session.get(Unit, world.unit_a).address == ""
        assert count(User, User.display_name == "dup") == 0
    # The app keeps working after the failures.
    assert client.get(f"/units/{world.unit_a}").status_code == 200


# --- redirects --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/%09/evil.example/",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
    ],
)
def test_login_never_redirects_off_site(client, world, target):
    from urllib.parse import quote

    resp = _post_login(client, "admin", PASSWORD, next_=quote(target, safe=""))
    assert resp.status_code == 302
    assert _stays_on_site(resp.headers["Location"]), resp.headers["Location"]


def _stays_on_site(location: str) -> bool:
    """Whether a browser following this Location stays here (browsers read \\ as / and drop tabs)."""
    from urllib.parse import urlsplit

    as_browser = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    parts = urlsplit(as_browser)
    return as_browser.startswith("/") and not as_browser.startswith("//") and not parts.netloc


def test_login_follows_a_local_next(client, world):
    resp = _post_login(client, "admin", PASSWORD, next_="/units%3Fq%3D%E5%B0%8F%E5%AD%A6")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/units?q=小学" or resp.headers["Location"].startswith("/units?q=")


def test_anonymous_is_sent_to_login_with_next(client, world, login_as):
    resp = client.get(f"/units/{world.unit_a}")
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("/login?next=")
    resp = client.post("/login" + location[len("/login") :], data={"username": "admin", "password": PASSWORD})
    assert resp.headers["Location"] == f"/units/{world.unit_a}"


# --- audit ------------------------------------------------------------------------------


def test_login_failed_login_logout_and_password_change_are_audited(app, client, world):
    _post_login(client, "secretary1", "错误的口令第几次", ip="198.51.100.4")
    failed = _events(app, "login_failed")
    assert len(failed) == 1
    assert failed[0].summary == "secretary1" and failed[0].ip == "198.51.100.4"
    assert failed[0].actor_id is None

    _post_login(client, "secretary1", PASSWORD)
    logins = _events(app, "login")
    assert [(e.actor_id, e.object_type, e.object_id) for e in logins] == [
        (world.secretary1, "user", world.secretary1)
    ]
    assert logins[0].at is not None and logins[0].at.utcoffset().total_seconds() == 0

    new = "我们社区共建共享"
    client.post("/account", data={"current_password": PASSWORD, "new_password": new, "confirm": new})
    changes = _events(app, "password")
    assert [(e.actor_id, e.object_id) for e in changes] == [(world.secretary1, world.secretary1)]
    # The hash never reaches the audit log.
    with app.app_context():
        for e in db.session.scalars(select(AuditEvent)):
            assert "argon2" not in str(e.changes)

    client.post("/logout")
    assert [e.actor_id for e in _events(app, "logout")] == [world.secretary1]


def test_refused_access_is_audited(app, client, world, login_as):
    login_as("liaison_c")
    assert client.get(f"/units/{world.unit_a}/edit").status_code == 403
    events = _events(app, "forbidden")
    assert len(events) == 1
    assert events[0].actor_id == world.liaison_c
    assert f"/units/{world.unit_a}/edit" in events[0].summary + events[0].path


def test_admin_can_filter_the_audit_log_for_failed_logins(app, client, world, login_as):
    _post_login(client, "nobody-here", "错误的口令第几次")
    login_as("admin")
    html = client.get("/admin/audit?action=login_failed").get_data(as_text=True)
    assert "nobody-here" in html


# --- CLI --------------------------------------------------------------------------------


def test_create_user_makes_the_first_system_administrator(app, runner):
    with app.app_context():
        assert count(User) == 0
    result = runner.invoke(
        args=[
            "create-user",
            "--username",
            "chief",
            "--display-name",
            "街道主任",
            "--password",
            "我们社区共建共享",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "chief" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "chief"))
        assert user.role == Role.SYSADMIN and user.active
        assert user.password_hash.startswith("$argon2id$")
        assert "我们社区共建共享" not in user.password_hash
    assert _post_login(app.test_client(), "chief", "我们社区共建共享").status_code == 302


@pytest.mark.parametrize("password", ["12345678", "password1", "short", "chief"])
def test_create_user_refuses_a_weak_password(app, runner, password):
    result = runner.invoke(
        args=["create-user", "--username", "chief", "--display-name", "街道主任", "--password", password]
    )
    assert result.exit_code != 0
    assert "密码" in result.output
    with app.app_context():
        assert count(User) == 0


def test_create_user_refuses_a_duplicate_and_a_secretary_without_community(app, runner, world):
    result = runner.invoke(
        args=["create-user", "--username", "ADMIN", "--display-name", "x", "--password", "我们社区共建共享"]
    )
    assert result.exit_code != 0 and "已被使用" in result.output
    result = runner.invoke(
        args=[
            "create-user",
            "--username",
            "sec9",
            "--display-name",
            "x",
            "--role",
            "secretary",
            "--password",
            "我们社区共建共享",
        ]
    )
    assert result.exit_code != 0 and "社区" in result.output
    result = runner.invoke(
        args=[
            "create-user",
            "--username",
            "sec9",
            "--display-name",
            "x",
            "--role",
            "secretary",
            "--community",
            "和平里社区",
            "--password",
            "我们社区共建共享",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "sec9"))
        assert user.role == Role.SECRETARY and user.community_id == world.community2


def test_seed_demo_twice_creates_nothing_new(app, runner, seeded_demo):
    def counts():
        with app.app_context():
            return count(User), count(Unit), count(AuditEvent)

    first = seeded_demo.seeded  # seed-demo on the empty database, once per session
    assert first.exit_code == 0, first.output
    users, units, events = counts()
    assert units >= 30 and users >= 2 + 5 + 30 and events > 0
    with app.app_context():
        street1_units = db.session.scalar(
            select(func.count()).select_from(Unit).join(Street).where(Street.name == "东大街街道")
        )
    for name in (
        "sysadmin",
        "admin",
        "archivist",
        "secretary1",
        "secretary5",
        "liaison1",
        f"liaison{street1_units}",
        "admin2",
        "secretary2-1",
        "liaison2-6",
        "district",
        "city",
    ):
        assert f"  {name} " in first.output, name
    with app.app_context():
        # The oldest minutes were archived with the faulty font, then migrated; filing stamped
        # the newest rendition of every filed item (demo/filing.py).
        renditions = count(MinutesRendition)
        filed = count(Minutes, Minutes.file_no.is_not(None))
        assert filed > 0 and renditions == 1 + filed
    second = runner.invoke(args=["seed-demo", "--password", seeded_demo.password])
    assert second.exit_code == 0, second.output
    assert counts() == (users, units, events)
    with app.app_context():
        assert count(MinutesRendition) == renditions
    assert _post_login(app.test_client(), "secretary1", "演示口令共建2026").status_code == 302


def test_seed_demo_refuses_a_weak_password(app, runner):
    result = runner.invoke(args=["seed-demo", "--password", "12345678"])
    assert result.exit_code != 0
    with app.app_context():
        assert count(User) == 0


def test_fresh_install_has_no_account(tmp_path):
    from pathlib import Path

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_TIME_COST": 1,
            "PASSWORD_MEMORY_COST": 8,
            "PASSWORD_PARALLELISM": 1,
        }
    )
    migrations = str(Path(__file__).resolve().parent.parent / "migrations")
    result = fresh.test_cli_runner().invoke(args=["db", "upgrade", "-d", migrations])
    assert result.exit_code == 0, result.output
    with fresh.app_context():
        assert count(User) == 0
        db.engine.dispose()
    # Nobody can log in, not even with a guessable default.
    client = fresh.test_client()
    for username, password in (("admin", "admin"), ("admin", "admin123"), ("admin", "password")):
        resp = client.post("/login", data={"username": username, "password": password})
        assert resp.status_code == 200
