"""The JSON API: tokens, permissions, lists and sync, writes, bad input, and its OpenAPI document."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from models import (
    Action,
    ApiToken,
    AuditEvent,
    Booking,
    Invitation,
    Meeting,
    MeetingStatus,
    Need,
    NeedStatus,
    Reply,
    ResourceKind,
    Topic,
    User,
    db,
)
from models.base import today, utcnow
from services import signin, tokens
from tests.conftest import count
from tests.test_resources import statements
from tests.test_signin import _started

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def token_for(app):
    """token_for(username or id, scope="write") -> the secret of a fresh token."""

    def _make(user, scope: str = "write", expires_on: date | None = None) -> str:
        with app.app_context():
            found = (
                db.session.get(User, user)
                if isinstance(user, int)
                else db.session.scalar(select(User).where(User.username == user))
            )
            _, secret = tokens.issue(found, "测试令牌", scope, expires_on)
            db.session.commit()
            return secret

    return _make


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)[:800]
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["title"]), body["title"]
    return body


# --- tokens ---------------------------------------------------------------------------------


def test_a_token_made_on_the_account_page_is_shown_once_and_stored_hashed(app, client, world, login_as):
    login_as("liaison_a")
    page = client.post(
        "/account/tokens", data={"name": "区平台同步", "scope": "read", "expires_on": "2026-12-31"}
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    start = html.index('id="new-token" value="') + len('id="new-token" value="')
    secret = html[start : html.index('"', start)]
    assert secret.startswith("gj_") and len(secret) > 40
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.name == "区平台同步"))
        assert token.digest == tokens.digest(secret) and secret not in token.digest
        assert token.scope == "read" and token.prefix == secret[:10]
        assert token.expires_at.astimezone(SHANGHAI).date() == date(2027, 1, 1)
        assert token.expires_on == date(2026, 12, 31)
    # Listed on the account page afterwards, never with its secret.
    again = client.get("/account").get_data(as_text=True)
    assert "区平台同步" in again and secret[:10] in again and secret not in again
    assert "有效期至 2026年12月31日" in again
    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200 and me.get_json()["username"] == "liaison_a"
    with app.app_context():
        assert db.session.get(ApiToken, token.id).last_used_at is not None


def test_a_refused_token_form_says_why_and_makes_nothing(app, client, world, login_as):
    login_as("liaison_a")
    resp = client.post("/account/tokens", data={"name": "", "scope": "admin", "expires_on": "2020-01-01"})
    assert resp.status_code == 400
    assert "请填写令牌名称" in resp.get_data(as_text=True)
    resp = client.post("/account/tokens", data={"name": "过期", "scope": "read", "expires_on": "2020-01-01"})
    assert resp.status_code == 400 and "有效期须晚于今天" in resp.get_data(as_text=True)
    with app.app_context():
        assert count(ApiToken) == 0


def test_revoked_expired_and_deactivated_tokens_stop_at_once(app, client, world, login_as, token_for):
    secret = token_for("liaison_a")
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        token_id = token.id
    login_as("liaison_a")
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    body = problem(client.get("/api/v1/me", headers=bearer(secret)), 401)
    assert "吊销" in body["detail"]

    expiring = token_for("liaison_a", expires_on=today() + timedelta(days=2))
    with app.app_context():
        t = db.session.scalar(select(ApiToken).where(ApiToken.digest == tokens.digest(expiring)))
        t.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert "过期" in problem(client.get("/api/v1/me", headers=bearer(expiring)), 401)["detail"]

    live = token_for("liaison_b")
    assert client.get("/api/v1/units", headers=bearer(live)).status_code == 200
    with app.app_context():
        db.session.get(User, world.liaison_b).active = False
        db.session.commit()
    assert "停用" in problem(client.get("/api/v1/units", headers=bearer(live)), 401)["detail"]
    # Someone else's token cannot be revoked through my account.
    other = token_for("liaison_c")
    with app.app_context():
        other_id = db.session.scalar(select(ApiToken.id).where(ApiToken.digest == tokens.digest(other)))
    assert client.post(f"/account/tokens/{other_id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200


def test_no_token_a_forged_one_or_a_session_cookie_is_not_enough(app, client, world, login_as):
    problem(client.get("/api/v1/units"), 401)
    resp = client.get("/api/v1/units", headers=bearer("gj_" + "x" * 43))
    assert problem(resp, 401) and resp.headers["WWW-Authenticate"].startswith("Bearer")
    login_as("admin")  # a logged-in browser session does not open the API
    problem(client.get("/api/v1/units"), 401)
    problem(client.get("/api/v1/units", headers={"Authorization": "Basic YWRtaW46eA=="}), 401)


def test_create_token_command_prints_a_working_token(app, client, world, runner):
    result = runner.invoke(args=["create-token", "--user", "secretary1", "--scope", "read", "--name", "脚本"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/me", headers=bearer(secret)).get_json()["token_scope"] == "read"
    bad = runner.invoke(args=["create-token", "--user", "nobody"])
    assert bad.exit_code != 0 and "没有用户" in bad.output


def test_a_read_token_cannot_write(app, client, world, token_for, make_meeting):
    mid = make_meeting(status=MeetingStatus.SCHEDULED)
    secret = token_for("liaison_a", scope="read")
    resp = client.post(f"/api/v1/meetings/{mid}/reply", json={"reply": "accept"}, headers=bearer(secret))
    assert "读取权限" in problem(resp, 403)["detail"]
    with app.app_context():
        assert (
            db.session.scalar(
                select(Invitation.reply).where(
                    Invitation.meeting_id == mid, Invitation.unit_id == world.unit_a
                )
            )
            == Reply.PENDING
        )


def test_requests_over_the_rate_limit_wait(app, client, world, token_for):
    app.config["API_RATE_LIMIT"] = 3
    secret = token_for("secretary1")
    for _ in range(3):
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    resp = client.get("/api/v1/me", headers=bearer(secret))
    problem(resp, 429)
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    # Another token has its own count.
    assert client.get("/api/v1/me", headers=bearer(token_for("secretary2"))).status_code == 200


# --- reading -----------------------------------------------------------------------------------


def test_lists_page_by_cursor_without_gaps_or_repeats(app, client, world, token_for, make_unit):
    for _ in range(7):
        make_unit()
    secret = token_for("admin", scope="read")
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/units?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=bearer(secret)).get_json()
        seen += [u["id"] for u in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 4 and len(seen) == 10 and seen == sorted(set(seen))
    problem(client.get("/api/v1/units?cursor=bm9wZQ", headers=bearer(secret)), 400)


def test_filters_and_updated_since_and_etags(app, client, world, token_for, make_meeting):
    secret = token_for("admin", scope="read")
    units = client.get(f"/api/v1/units?community_id={world.community2}", headers=bearer(secret)).get_json()
    assert [u["name"] for u in units["items"]] == ["和平里派出所"]
    assert units["items"][0]["liaison_phone"] is not None  # staff see the liaison's contact

    first = client.get("/api/v1/units", headers=bearer(secret))
    etag = first.headers["ETag"]
    again = client.get("/api/v1/units", headers={**bearer(secret), "If-None-Match": etag})
    assert again.status_code == 304 and not again.get_data()

    mid = make_meeting(status=MeetingStatus.SCHEDULED)
    other = make_meeting(days=3, status=MeetingStatus.SCHEDULED)
    as_of = client.get("/api/v1/meetings", headers=bearer(secret)).get_json()["as_of"]
    changed = client.get("/api/v1/meetings", headers=bearer(secret), query_string={"updated_since": as_of})
    assert changed.get_json()["items"] == []
    # A reply through the API changes the meeting for incremental sync, and nothing else.
    liaison = token_for("liaison_a")
    resp = client.post(f"/api/v1/meetings/{mid}/reply", json={"reply": "accept"}, headers=bearer(liaison))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    since = client.get("/api/v1/meetings", headers=bearer(secret), query_string={"updated_since": as_of})
    assert [m["id"] for m in since.get_json()["items"]] == [mid] and other != mid
    problem(client.get("/api/v1/meetings?updated_since=yesterday", headers=bearer(secret)), 400)


def test_a_liaison_reads_what_the_pages_show_them(app, client, world, token_for, make_meeting):
    invited = make_meeting(status=MeetingStatus.SCHEDULED, units=[world.unit_a, world.unit_b])
    not_invited = make_meeting(days=2, status=MeetingStatus.SCHEDULED, units=[world.unit_c])
    draft = make_meeting(days=4, units=[world.unit_a])
    secret = token_for("liaison_a", scope="read")
    listed = client.get("/api/v1/meetings", headers=bearer(secret)).get_json()["items"]
    assert [m["id"] for m in listed] == [invited]
    # Only their own unit's invitation, as on the page.
    assert [i["unit_id"] for i in listed[0]["invitations"]] == [world.unit_a]
    problem(client.get(f"/api/v1/meetings/{not_invited}", headers=bearer(secret)), 403)
    problem(client.get(f"/api/v1/meetings/{draft}", headers=bearer(secret)), 403)
    problem(client.get("/api/v1/meetings/999999", headers=bearer(secret)), 404)
    units = client.get("/api/v1/units", headers=bearer(secret)).get_json()["items"]
    contacts = {u["id"]: u["liaison_phone"] for u in units}
    assert contacts[world.unit_a] is not None and contacts[world.unit_c] is None
    with app.app_context():
        events = count(AuditEvent, AuditEvent.action == "forbidden", AuditEvent.actor_id == world.liaison_a)
    assert events == 2  # refusals are audited as the pages' are


def test_the_host_reads_the_sign_in_sheet(app, client, world, token_for, make_meeting):
    mid = _started(make_meeting, units=[world.unit_a, world.unit_b, world.unit_c])
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        signin.sign_in(meeting, world.unit_b, "赵医生", "科主任", True, "10.0.0.2")
        signin.sign_in(meeting, world.unit_a, "王丽华", "副校长", False, "10.0.0.1")
        signin.sign_in(meeting, world.unit_a, "李明", "", False, "10.0.0.1")
        db.session.commit()
    url = f"/api/v1/meetings/{mid}/signins"
    host = bearer(token_for("secretary1", scope="read"))
    with statements(app) as few:
        sheet = client.get(url, headers=host).get_json()
    assert (sheet["meeting_id"], sheet["people"], sheet["units"], sheet["invited"]) == (mid, 3, 2, 3)
    assert [(p["unit_name"], p["name"], p["post"], p["is_delegate"], p["late"]) for p in sheet["items"]] == [
        ("市第三人民医院", "赵医生", "科主任", True, True),  # in the order they came
        ("东大街第一小学", "王丽华", "副校长", False, True),
        ("东大街第一小学", "李明", "", False, True),
    ]
    assert all(p["signed_at"].endswith("+08:00") for p in sheet["items"])
    # The sheet costs the same statements however many signed in (each person's unit with them).
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        for n in range(5):
            signin.sign_in(meeting, world.unit_c, f"志愿者{n}", "", False, "10.0.0.3")
        db.session.commit()
    with statements(app) as more:
        assert client.get(url, headers=host).get_json()["people"] == 8
    assert len(more) == len(few)
    # As the screen page: only those who run the meeting; an invited liaison or another
    # community's secretary may see the meeting but not who came.
    problem(client.get(url, headers=bearer(token_for("liaison_a", scope="read"))), 403)
    problem(client.get(url, headers=bearer(token_for("secretary2", scope="read"))), 403)
    problem(client.get("/api/v1/meetings/999999/signins", headers=bearer(token_for("secretary1"))), 404)


# --- writing ---------------------------------------------------------------------------------------


def test_reply_and_topic_through_the_api(app, client, world, token_for, make_meeting):
    mid = make_meeting(days=10, status=MeetingStatus.SCHEDULED)
    secret = token_for("liaison_a")
    resp = client.post(f"/api/v1/meetings/{mid}/reply", json={"reply": "decline"}, headers=bearer(secret))
    assert "原因" in problem(resp, 422)["detail"]
    resp = client.post(
        f"/api/v1/meetings/{mid}/reply",
        json={"reply": "delegate", "delegate_name": "李明", "delegate_post": "副校长"},
        headers=bearer(secret),
    )
    mine = resp.get_json()["invitations"][0]
    assert mine["reply"] == "delegate" and mine["delegate_name"] == "李明"
    resp = client.post(
        f"/api/v1/meetings/{mid}/topics", json={"title": "联合开展冬季送温暖活动"}, headers=bearer(secret)
    )
    assert resp.status_code == 201 and resp.get_json()["status"] == "submitted"
    with app.app_context():
        inv = db.session.scalar(
            select(Invitation).where(Invitation.meeting_id == mid, Invitation.unit_id == world.unit_a)
        )
        assert inv.reply == Reply.DELEGATE and inv.replied_by_id == world.liaison_a
        assert count(Topic, Topic.meeting_id == mid) == 1
    # Unit C is not invited: refused, nothing changed.
    other = token_for("liaison_c")
    problem(
        client.post(f"/api/v1/meetings/{mid}/reply", json={"reply": "accept"}, headers=bearer(other)), 403
    )


def test_progress_booking_and_claim_through_the_api(
    app, client, world, token_for, held_meeting, make_resource
):
    mid = held_meeting()
    with app.app_context():
        action = Action(
            meeting_id=mid,
            street_id=world.street,
            community_id=world.community1,
            title="共建四点半课堂",
            lead_unit_id=world.unit_a,
            due_on=today() + timedelta(days=30),
        )
        need = Need(
            street_id=world.street,
            community_id=world.community1,
            kind=ResourceKind.VENUE,
            title="寒假托管场地",
            last_activity_at=utcnow(),
        )
        db.session.add_all([action, need])
        db.session.commit()
        action_id, need_id = action.id, need.id
    resource_id = make_resource(owner_unit_id=world.unit_c, community_id=world.community2)
    liaison = token_for("liaison_a")
    resp = client.post(
        f"/api/v1/actions/{action_id}/progress",
        json={"on": today().isoformat(), "text": "已完成场地布置"},
        headers=bearer(liaison),
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert (
        resp.get_json()["status"] == "in_progress"
        and resp.get_json()["progress"][0]["text"] == "已完成场地布置"
    )
    future = (today() + timedelta(days=1)).isoformat()
    problem(
        client.post(
            f"/api/v1/actions/{action_id}/progress", json={"on": future, "text": "x"}, headers=bearer(liaison)
        ),
        422,
    )
    problem(
        client.post(
            f"/api/v1/actions/{action_id}/progress",
            json={"on": today().isoformat(), "text": "x"},
            headers=bearer(token_for("liaison_c")),
        ),
        403,
    )

    day = datetime.now(SHANGHAI).date() + timedelta(days=14)
    start = datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI)
    booking = {
        "start_at": start.isoformat(),
        "end_at": (start + timedelta(hours=2)).isoformat(),
        "purpose": "党员冬训",
    }
    resp = client.post(f"/api/v1/resources/{resource_id}/bookings", json=booking, headers=bearer(liaison))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["status"] == "pending"
    backwards = {**booking, "end_at": (start - timedelta(hours=1)).isoformat()}
    refused = client.post(
        f"/api/v1/resources/{resource_id}/bookings", json=backwards, headers=bearer(liaison)
    )
    assert "结束" in problem(refused, 422)["detail"]
    mine = client.get("/api/v1/bookings", headers=bearer(liaison)).get_json()["items"]
    assert [b["resource_id"] for b in mine] == [resource_id]

    resp = client.post(f"/api/v1/needs/{need_id}/claim", headers=bearer(liaison))
    assert resp.status_code == 200 and resp.get_json()["claimed_unit_id"] == world.unit_a
    problem(client.post(f"/api/v1/needs/{need_id}/claim", headers=bearer(token_for("liaison_b"))), 422)
    with app.app_context():
        assert db.session.get(Need, need_id).status == NeedStatus.CLAIMED
        assert count(Booking) == 1


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_is_refused_with_problem_details(app, client, world, token_for, make_meeting):
    mid = make_meeting(status=MeetingStatus.SCHEDULED)
    secret = token_for("liaison_a")
    url = f"/api/v1/meetings/{mid}/reply"
    headers = {**bearer(secret), "Content-Type": "application/json"}
    problem(client.post(url, data="{not json", headers=headers), 400)
    problem(client.post(url, data=b"\xff\xfe", headers=headers), 400)
    problem(client.post(url, data="[1, 2]", headers=headers), 400)
    body = problem(client.post(url, json={"reply": "accept", "colour": "red"}, headers=bearer(secret)), 400)
    assert body["errors"] == [{"field": "colour", "in": "body", "message": "不认识的字段。"}]
    body = problem(client.post(url, json={"reply": "maybe"}, headers=bearer(secret)), 400)
    assert body["errors"][0]["field"] == "reply" and "可选" in body["errors"][0]["message"]
    problem(
        client.post(
            url,
            data="reply=accept",
            headers={**bearer(secret), "Content-Type": "application/x-www-form-urlencoded"},
        ),
        415,
    )
    huge = json.dumps({"reply": "decline", "reason": "长" * 70000})
    problem(client.post(url, data=huge, headers=headers), 413)
    problem(client.get("/api/v1/units?limit=0", headers=bearer(secret)), 400)
    problem(client.get("/api/v1/units?limit=5&limit=6", headers=bearer(secret)), 400)
    problem(client.get("/api/v1/units?colour=red", headers=bearer(secret)), 400)
    problem(client.get("/api/v1/nothing-here", headers=bearer(secret)), 404)
    problem(client.delete("/api/v1/units", headers=bearer(secret)), 405)
    problem(client.get("/api/v1/me?x=1", headers=bearer(secret)), 400)
    with app.app_context():
        assert (
            db.session.scalar(
                select(Invitation.reply).where(
                    Invitation.meeting_id == mid, Invitation.unit_id == world.unit_a
                )
            )
            == Reply.PENDING
        )


# --- the document ----------------------------------------------------------------------------------


def test_the_openapi_document_is_valid_and_covers_every_route(app, client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.docs":
            path = rule.rule.removeprefix("/api/v1")
            path = path.replace("<int:", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((method, path))
    assert documented == routes
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert op["summary"] and op["description"], path
            assert any("\u4e00" <= ch <= "\u9fff" for ch in op["summary"])
            for status, response in op["responses"].items():
                if status[0] in "45":
                    schema = response["content"]["application/problem+json"]["schema"]
                    assert schema["$ref"].endswith("/ProblemDetails")
    assert spec["components"]["schemas"]["UnitOut"]["properties"]["name"]["examples"]
    # Described for the platforms' people, in Chinese: enums by their values and labels.
    for name, schema in spec["components"]["schemas"].items():
        text = schema.get("description", "")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), name
        assert not re.search(r"[A-Za-z]+(?:[ ,]+[A-Za-z]+){3,}", text), (name, text)  # no English prose
    assert spec["components"]["schemas"]["Role"]["description"].startswith("sysadmin＝")


def test_the_docs_page_lists_every_operation(app, client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    spec = client.get("/api/v1/openapi.json").get_json()
    for ops in spec["paths"].values():
        for op in ops.values():
            assert f'id="op-{op["operationId"]}"' in html and op["summary"] in html
    assert "cdn" not in html.lower() and '<script src="http' not in html
    # 必填 marks what a client sends, not what every response carries.
    reply_in = html[
        html.index('id="schema-ReplyIn"') : html.index('id="schema-ReplyOut"')
        if 'id="schema-ReplyOut"' in html
        else None
    ]
    assert "必填" in reply_in
    unit_out = html[html.index('id="schema-UnitOut"') : html.index('id="schema-UnitPage"')]
    assert "必填" not in unit_out
