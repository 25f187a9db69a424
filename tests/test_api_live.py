"""The API against a live server on the demo: Schemathesis on every operation, and a client
generated from the OpenAPI document (openapi-python-client) syncing the whole demo."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from models import Action, Booking, Community, Grid, Meeting, Minutes, Need, Resource, Room, Street, Unit, db
from services.tokens import derived_secret

BIN = Path(sys.executable).parent


@pytest.fixture
def api_server(app, seeded_demo):
    """The demo served on a free port; yield the API's base URL."""
    app.config["API_RATE_LIMIT"] = 1_000_000
    server = make_server(host="127.0.0.1", port=0, app=app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/v1"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def demo_token(app, username: str) -> str:
    """The demo login's token (seed-demo derives it from the install's secret)."""
    return derived_secret(username, app.config["SECRET_KEY"])


@pytest.mark.parametrize("username", ["liaison1", "secretary1"])
def test_schemathesis_finds_nothing(app, api_server, username, tmp_path):
    """Every operation, bounded examples, as a liaison and as a secretary (their writes too):
    no 5xx, and every status, content type, header and body as the document says."""
    cmd = [
        str(BIN / "schemathesis"),
        "run",
        f"{api_server}/openapi.json",
        "--header",
        f"Authorization: Bearer {demo_token(app, username)}",
        "--phases",
        "examples,fuzzing,stateful",
        "--max-examples",
        "8",
        "--seed",
        "20261130",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,response_headers_conformance",
        "--no-color",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert cases and cases.group(1) == cases.group(2) and int(cases.group(1)) > 100, done.stdout[-3000:]


def _generate_client(api_server: str, folder: Path):
    with urllib.request.urlopen(f"{api_server}/openapi.json") as resp:
        (folder / "openapi.json").write_bytes(resp.read())
    (folder / "config.yml").write_text(
        "post_hooks: []\nproject_name_override: gongjian-client\npackage_name_override: gongjian_client\n"
    )
    done = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yml",
            "--meta",
            "none",
            "--output-path",
            "gongjian_client",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=folder,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("gongjian_client")
    finally:
        sys.path.remove(str(folder))


# The lists a client syncs: (tag, module) of the generated client, and what each should hold
# for the system administrator (everything).
LISTS = {
    ("地点", "streets"): lambda: select(func.count()).select_from(Street),
    ("地点", "grids"): lambda: select(func.count()).select_from(Grid),
    ("地点", "communities"): lambda: select(func.count()).select_from(Community),
    ("地点", "rooms"): lambda: select(func.count()).select_from(Room).where(Room.unit_id.is_(None)),
    ("单位", "units"): lambda: select(func.count()).select_from(Unit),
    ("会议", "meetings"): lambda: select(func.count()).select_from(Meeting),
    ("纪要", "minutes_list"): lambda: select(func.count()).select_from(Minutes),
    ("议定事项", "actions"): lambda: select(func.count()).select_from(Action),
    ("资源", "resources"): lambda: (
        select(func.count()).select_from(Resource).where(Resource.active.is_(True))
    ),
    ("资源", "bookings"): lambda: select(func.count()).select_from(Booking),
    ("需求", "needs"): lambda: select(func.count()).select_from(Need),
}


def _sync(package, client, tag: str, name: str, **filters) -> tuple[list, object]:
    """Every item of a list, page by page; return the items and the first page's as_of."""
    module = importlib.import_module(f"{package.__name__}.api.{tag}.{name}")
    items, cursor, as_of = [], None, None
    while True:
        resp = module.sync_detailed(client=client, limit=50, cursor=cursor, **filters)
        page = resp.parsed
        assert resp.status_code == 200 and hasattr(page, "items"), (
            name,
            resp.status_code,
            resp.content[:500],
        )
        as_of = as_of or page.as_of
        items += page.items
        cursor = page.next_cursor
        if not cursor:
            return items, as_of


def test_a_generated_client_syncs_the_demo(app, api_server, tmp_path):
    package = _generate_client(api_server, tmp_path)
    client = package.AuthenticatedClient(base_url=api_server, token=demo_token(app, "sysadmin"))
    with app.app_context():
        expected = {name: db.session.scalar(statement()) for (_, name), statement in LISTS.items()}
    as_of = {}
    for tag, name in LISTS:
        items, as_of[name] = _sync(package, client, tag, name)
        ids = [item.id if hasattr(item, "id") else item.meeting_id for item in items]
        assert len(ids) == len(set(ids)) == expected[name], name
    # The typed models carry the enums and nested objects of the document.
    meetings, _ = _sync(package, client, "会议", "meetings")
    assert any(m.invitations and m.invitations[0].reply.value for m in meetings)

    # Incremental: nothing changed since, then one reply through the client as liaison1.
    unchanged, _ = _sync(package, client, "会议", "meetings", updated_since=as_of["meetings"])
    assert unchanged == []
    liaison = package.AuthenticatedClient(base_url=api_server, token=demo_token(app, "liaison1"))
    mine, _ = _sync(
        package,
        liaison,
        "会议",
        "meetings",
        status=importlib.import_module(f"{package.__name__}.models.meeting_status").MeetingStatus.SCHEDULED,
    )
    target = mine[0]
    reply = importlib.import_module(f"{package.__name__}.api.会议.reply")
    models = importlib.import_module(f"{package.__name__}.models")
    answered = reply.sync(
        meeting_id=target.id,
        client=liaison,
        body=models.ReplyIn(reply=models.Reply.DELEGATE, delegate_name="王强", delegate_post="副主任"),
    )
    assert answered.invitations[0].delegate_name == "王强"
    changed, _ = _sync(package, client, "会议", "meetings", updated_since=as_of["meetings"])
    assert [m.id for m in changed] == [target.id]
    # Problem details come back typed as well.
    problem = reply.sync_detailed(
        meeting_id=999999, client=liaison, body=models.ReplyIn(reply=models.Reply.ACCEPT)
    )
    assert problem.status_code == 404 and json.loads(problem.content)["title"] == "不存在"


def test_the_demo_logins_see_their_token_on_the_account_page(app, seeded_demo):
    client = app.test_client()
    resp = client.post("/login", data={"username": "liaison1", "password": seeded_demo.password})
    assert resp.status_code == 302
    html = client.get("/account").get_data(as_text=True)
    secret = demo_token(app, "liaison1")
    assert f'value="{secret}"' in html and "演示令牌" in html and "长期有效" in html
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.get_json()["username"] == "liaison1" and me.get_json()["token_scope"] == "write"
    # Another login's token is not on this page.
    assert demo_token(app, "liaison2") not in html
    assert "gj_demo_" in seeded_demo.seeded.output  # seed-demo prints some of them


def test_the_demo_points_to_the_next_meetings_poster(app, seeded_demo):
    """seed-demo names the next meeting's 扫码签到 screen and poster; both open for secretary1."""
    found = re.search(
        r"扫码签到（secretary1 登录后）：(/meetings/\d+/signin)，A4 签到海报：(\S+\.pdf)",
        seeded_demo.seeded.output,
    )
    assert found, seeded_demo.seeded.output[-800:]
    client = app.test_client()
    client.post("/login", data={"username": "secretary1", "password": seeded_demo.password})
    screen = client.get(found.group(1))
    assert screen.status_code == 200 and "签到" in screen.get_data(as_text=True)
    poster = client.get(found.group(2))
    assert poster.status_code == 200 and poster.mimetype == "application/pdf"
    assert poster.data.startswith(b"%PDF")
