"""CSRF switched on: every POST needs the form's token; no GET changes state."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from models import LoginAttempt, Unit, UnitImport, UnitStatusChange, User, db
from models.base import today
from tests.conftest import PASSWORD

CSRF_MESSAGE = "安全校验未通过"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def scrape_token(client, url: str) -> str:
    """The hidden csrf_token of the first form on a page, as a browser would submit it."""
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    m = TOKEN_RE.search(resp.get_data(as_text=True))
    assert m, f"no csrf_token on {url}"
    return m.group(1) or m.group(2)


def login(client, username: str) -> None:
    token = scrape_token(client, "/login")
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


def state() -> dict:
    """What a refused POST must leave alone."""
    return {
        "units": db.session.execute(
            select(Unit.id, Unit.name, Unit.address, Unit.status, Unit.version).order_by(Unit.id)
        ).all(),
        "users": db.session.execute(
            select(
                User.id, User.username, User.display_name, User.active, User.password_hash, User.session_token
            ).order_by(User.id)
        ).all(),
        "imports": db.session.execute(select(UnitImport.id, UnitImport.confirmed_at)).all(),
        "status_changes": db.session.scalar(select(func.count()).select_from(UnitStatusChange)),
        "login_attempts": db.session.scalar(select(func.count()).select_from(LoginAttempt)),
    }


def _stage_import(world) -> int:
    batch = UnitImport(
        created_by_id=world.secretary1,
        filename="units.csv",
        valid_rows=[
            {
                "row": 2,
                "name": "防伪测试导入单位",
                "category": "school",
                "community_id": world.community1,
                "party_member_count": 0,
            }
        ],
        rejected_rows=[],
    )
    db.session.add(batch)
    db.session.commit()
    return batch.id


@dataclass
class Case:
    name: str
    who: str | None  # None: anonymous
    token_page: str  # the page whose form carries the token
    url: str
    data: Callable  # world -> form data
    expect: int = 302


def unit_data(world, **over):
    data = {
        "name": "防伪测试单位",
        "short_name": "",
        "category": "other",
        "community_id": str(world.community1),
        "address": "青年路 7 号",
        "party_member_count": "0",
        "registered_on": today().isoformat(),
    }
    data.update(over)
    return data


def edit_data(world):
    data = unit_data(world, name="东大街第一小学", category="school", address="防伪路 1 号", version="1")
    del data["registered_on"]
    return data


CASES = [
    Case("login", None, "/login", "/login", lambda w: {"username": "admin", "password": PASSWORD}),
    Case("logout", "secretary1", "/", "/logout", lambda w: {}),
    Case(
        "account",
        "secretary1",
        "/account",
        "/account",
        lambda w: {
            "current_password": PASSWORD,
            "new_password": "我们社区共建共享",
            "confirm": "我们社区共建共享",
        },
    ),
    Case("unit create", "secretary1", "/units/new", "/units/new", unit_data),
    Case("unit edit", "liaison_a", "/units/{unit_a}/edit", "/units/{unit_a}/edit", edit_data),
    Case(
        "unit status",
        "secretary1",
        "/units/{unit_a}",
        "/units/{unit_a}/status",
        lambda w: {"to_status": "active", "effective_on": today().isoformat(), "reason": "签订协议"},
    ),
    Case(
        "unit import",
        "secretary1",
        "/units/import",
        "/units/import",
        lambda w: {
            "file": (io.BytesIO("单位名称,单位类别,所属社区\n防伪导入,学校,青年路社区\n".encode()), "u.csv")
        },
    ),
    Case(
        "import confirm",
        "secretary1",
        "/units/import/{batch}",
        "/units/import/{batch}/confirm",
        lambda w: {},
    ),
    Case(
        "user create",
        "admin",
        "/admin/users/new",
        "/admin/users/new",
        lambda w: {
            "username": "csrf_user",
            "display_name": "新用户",
            "role": "archivist",
            "street_id": str(w.street),
            "community_id": "0",
            "unit_id": "0",
            "new_password": "新的共建口令二〇二六",
            "active": "y",
        },
    ),
    Case(
        "user edit",
        "admin",
        "/admin/users/{liaison_a}/edit",
        "/admin/users/{liaison_a}/edit",
        lambda w: {
            "username": "liaison_a",
            "display_name": "liaison_a",
            "role": "liaison",
            "community_id": "0",
            "unit_id": str(w.unit_a),
            "new_password": "",
            # "active" cleared: disabling the account
        },
    ),
]


def _prepare(app, client, world, case: Case) -> dict:
    ids = dict(vars(world))
    if "{batch}" in case.url:
        with app.app_context():
            ids["batch"] = _stage_import(world)
    if case.who:
        login(client, case.who)
    return ids


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_post_without_token_is_refused_and_changes_nothing(csrf_app, client, world, case):
    ids = _prepare(csrf_app, client, world, case)
    with csrf_app.app_context():
        before = state()
    resp = client.post(case.url.format(**ids), data=case.data(world))
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert CSRF_MESSAGE in body and "请刷新页面" in body
    with csrf_app.app_context():
        assert state() == before
    # The user's session survives the refusal (and anonymous stays anonymous).
    assert logged_in(client) == bool(case.who)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_post_with_a_forged_token_is_refused(csrf_app, client, world, case):
    ids = _prepare(csrf_app, client, world, case)
    with csrf_app.app_context():
        before = state()
    data = {
        **case.data(world),
        "csrf_token": "IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAi.forged",
    }
    resp = client.post(case.url.format(**ids), data=data)
    assert resp.status_code == 400
    with csrf_app.app_context():
        assert state() == before


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_post_with_the_forms_token_succeeds(csrf_app, client, world, case):
    ids = _prepare(csrf_app, client, world, case)
    token = scrape_token(client, case.token_page.format(**ids))
    with csrf_app.app_context():
        before = state()
    resp = client.post(case.url.format(**ids), data={**case.data(world), "csrf_token": token})
    assert resp.status_code == case.expect, resp.get_data(as_text=True)[:2000]
    assert not resp.headers["Location"].startswith("/login?")
    with csrf_app.app_context():
        assert state() != before


def test_a_token_from_another_session_is_refused(csrf_app, world):
    attacker, victim = csrf_app.test_client(), csrf_app.test_client()
    login(attacker, "liaison_c")
    login(victim, "admin")
    stolen = scrape_token(attacker, "/account")
    with csrf_app.app_context():
        before = state()
    resp = victim.post(
        "/admin/users/new",
        data={
            "username": "planted",
            "display_name": "x",
            "role": "admin",
            "community_id": "0",
            "unit_id": "0",
            "new_password": "新的共建口令二〇二六",
            "active": "y",
            "csrf_token": stolen,
        },
    )
    assert resp.status_code == 400
    with csrf_app.app_context():
        assert state() == before


# --- no state change on GET --------------------------------------------------------------


@pytest.mark.parametrize("url", ["/logout", "/units/{unit_a}/status", "/units/import/{batch}/confirm"])
def test_state_changing_urls_refuse_get(csrf_app, client, world, url):
    with csrf_app.app_context():
        batch = _stage_import(world)
    login(client, "secretary1")
    with csrf_app.app_context():
        before = state()
    resp = client.get(url.format(batch=batch, **vars(world)))
    assert resp.status_code == 405
    assert "操作方式不正确" in resp.get_data(as_text=True)
    with csrf_app.app_context():
        assert state() == before
    assert logged_in(client)


def test_no_get_changes_state(csrf_app, world):
    """Visit every GET route as each kind of user: the data stays as it was."""
    with csrf_app.app_context():
        batch = _stage_import(world)
    ids = {
        **vars(world),
        "batch_id": batch,
        "unit_id": world.unit_a,
        "user_id": world.liaison_a,
        "fmt": "csv",
    }
    clients = {}
    for who in ("admin", "secretary1", "liaison_a"):
        clients[who] = csrf_app.test_client()
        login(clients[who], who)
    with csrf_app.app_context():
        before = state()
    visited = 0
    for rule in csrf_app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = re.sub(r"<(?:[^>]*:)?([^>:]+)>", lambda m: str(ids.get(m.group(1), 1)), rule.rule)
        for client in clients.values():
            for query in ("", "?q=%25&status=active&page=2"):
                client.get(url + query)
                visited += 1
    assert visited >= 60
    with csrf_app.app_context():
        assert state() == before
    for client in clients.values():
        assert logged_in(client)
