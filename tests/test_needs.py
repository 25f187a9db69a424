"""The needs board: posting needs and 微心愿, two-way claiming, progress with photos, privacy."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from models import (
    AuditEvent,
    Community,
    MatchStatus,
    Need,
    NeedStatus,
    NeedUpdate,
    ResourceKind,
    Unit,
    UnitStatus,
    db,
)
from models.base import today
from services import needs as svc
from tests.conftest import count

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64
RESIDENT = "张桂兰"
PHONE = "139 1234 5678"


def new_need(app, world, **overrides) -> int:
    """A need straight in the database: an open 微心愿 of community 1 by default."""
    with app.app_context():
        data = {
            "street_id": world.street,
            "community_id": world.community1,
            "kind": ResourceKind.VOLUNTEER,
            "is_wish": True,
            "title": "独居老人家里换一个水龙头",
            "description": "厨房水龙头漏水，老人行动不便。",
            "people_served": 1,
            "wanted_by": today() + timedelta(days=20),
            "resident_name": RESIDENT,
            "resident_phone": PHONE,
            "posted_by_id": world.secretary1,
        }
        data.update(overrides)
        need = Need(**data)
        db.session.add(need)
        db.session.commit()
        return need.id


def get_need(app, need_id: int) -> Need:
    with app.app_context():
        need = db.session.get(Need, need_id)
        need.updates  # noqa: B018
        for u in need.updates:
            u.photos  # noqa: B018
        db.session.expunge_all()
        return need


@pytest.fixture
def need(app, world) -> int:
    return new_need(app, world)


def claim_and_confirm(client, login_as, world, need_id):
    login_as(world.liaison_a)
    assert client.post(f"/needs/{need_id}/claim").status_code == 302
    login_as(world.secretary1)
    assert client.post(f"/needs/{need_id}/confirm").status_code == 302


# --- posting ----------------------------------------------------------------------------


def test_secretary_posts_a_wish_and_a_need(app, client, world, login_as):
    login_as(world.secretary1)
    page = client.get("/needs/new?type=wish")
    assert page.status_code == 200 and "居民微心愿" in page.get_data(as_text=True)
    resp = client.post(
        "/needs/new",
        data={
            "is_wish": "1",
            "kind": "funds",
            "title": "王奶奶想要一台收音机",
            "description": "老人眼睛不好，想听广播。",
            "people_served": "1",
            "wanted_by": (today() + timedelta(days=10)).isoformat(),
            "resident_name": RESIDENT,
            "resident_phone": PHONE,
        },
    )
    assert resp.status_code == 302
    need_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        need = db.session.get(Need, need_id)
        assert need.is_wish and need.kind == ResourceKind.FUNDS and need.status == NeedStatus.OPEN
        assert need.community_id == world.community1 and need.street_id == world.street
        assert (need.resident_name, need.resident_phone, need.posted_by_id) == (
            RESIDENT,
            PHONE,
            world.secretary1,
        )
        assert count(AuditEvent, AuditEvent.object_type == "need") >= 1
    body = client.get(f"/needs/{need_id}").get_data(as_text=True)
    assert "王奶奶想要一台收音机" in body and RESIDENT in body and PHONE in body

    # A community need: resident fields are dropped even if sent.
    resp = client.post(
        "/needs/new",
        data={
            "is_wish": "0",
            "kind": "venue",
            "title": "暑期托管班需要活动场地",
            "resident_name": "不该保存",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        n = db.session.scalar(select(Need).where(Need.title == "暑期托管班需要活动场地"))
        assert not n.is_wish and n.resident_name == "" and n.wanted_by is None


def test_admin_chooses_the_community(app, client, world, login_as):
    login_as(world.admin)
    resp = client.post(
        "/needs/new",
        data={
            "community_id": str(world.community2),
            "is_wish": "0",
            "kind": "training",
            "title": "防诈骗讲座",
        },
    )
    assert resp.status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(select(Need.community_id).where(Need.title == "防诈骗讲座")) == world.community2
        )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": ""}, "请填写标题"),
        ({"kind": "spaceship"}, "不是有效的选择"),
        ({"kind": ""}, "请选择需求类别"),
        ({"resident_phone": "call me"}, "请输入有效的电话号码"),
        ({"people_served": "-3"}, "受益人数应在"),
        ({"people_served": "很多"}, "不是有效的整数"),
        ({"wanted_by": "2020-01-01"}, "期望完成日期不能早于今天"),
        ({"wanted_by": "明天"}, "不是有效的日期值"),
        ({"title": "长" * 121}, "标题不能超过 120 个字"),
        ({"is_wish": "maybe"}, "不是有效的选择"),
    ],
)
def test_bad_input_is_refused_in_chinese(app, client, world, login_as, data, message):
    login_as(world.secretary1)
    form = {"is_wish": "1", "kind": "volunteer", "title": "陪老人去医院复诊", "resident_name": RESIDENT}
    form.update(data)
    resp = client.post("/needs/new", data=form)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert count(Need) == 0


@pytest.mark.parametrize("who", ["liaison_a", "archivist"])
def test_only_staff_post_needs(app, client, world, login_as, who):
    login_as(getattr(world, who))
    assert client.get("/needs/new").status_code == 403
    assert client.post("/needs/new", data={"is_wish": "0", "kind": "venue", "title": "x"}).status_code == 403
    with app.app_context():
        assert count(Need) == 0


def test_anonymous_is_sent_to_login(client, need):
    for url in ("/needs", f"/needs/{need}", "/needs/new"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.post(f"/needs/{need}/claim").status_code in (302, 401)


def test_edit_needs_the_current_version(app, client, world, login_as, need):
    login_as(world.secretary2)
    assert client.get(f"/needs/{need}/edit").status_code == 403
    login_as(world.secretary1)
    page = client.get(f"/needs/{need}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    original = html.unescape(re.search(r'name="original" type="hidden" value="([^"]*)"', page).group(1))
    form = {
        "is_wish": "1",
        "kind": "volunteer",
        "title": "换水龙头（已备好配件）",
        "version": version,
        "original": original,
    }
    with app.app_context():
        n = db.session.get(Need, need)
        n.description = "老人行动不便，请上门"  # someone else saved in between
        n.version += 1
        db.session.commit()
    resp = client.post(f"/needs/{need}/edit", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "其他人修改了这条需求" in page and "老人行动不便，请上门" in page  # what they changed
    assert "换水龙头（已备好配件）" in page  # what this user typed is kept
    assert get_need(app, need).title == "独居老人家里换一个水龙头"
    form["version"] = str(int(version) + 1)
    assert client.post(f"/needs/{need}/edit", data=form).status_code == 302
    assert get_need(app, need).title == "换水龙头（已备好配件）"


# --- privacy of the resident's name and phone --------------------------------------------


def test_resident_is_seen_only_by_community_admin_and_claiming_liaison(app, client, world, login_as, need):
    claim_and_confirm(client, login_as, world, need)
    seen = {}
    for who in ("admin", "archivist", "secretary1", "secretary2", "liaison_a", "liaison_b", "liaison_c"):
        login_as(getattr(world, who))
        body = client.get(f"/needs/{need}").get_data(as_text=True)
        seen[who] = RESIDENT in body or "1234 5678" in body
        board = client.get("/needs").get_data(as_text=True)
        assert "独居老人家里换一个水龙头" in board
        assert RESIDENT not in board and "1234 5678" not in board, who
        unit_page = client.get(f"/units/{world.unit_a}").get_data(as_text=True)
        assert RESIDENT not in unit_page
    assert seen == {
        "admin": True,
        "archivist": False,
        "secretary1": True,
        "secretary2": False,
        "liaison_a": True,
        "liaison_b": False,
        "liaison_c": False,
    }
    # Once the claim is released, the unit no longer sees who made the wish.
    login_as(world.secretary1)
    client.post(f"/needs/{need}/release", data={"release-reason": "单位人手不足"})
    login_as(world.liaison_a)
    assert RESIDENT not in client.get(f"/needs/{need}").get_data(as_text=True)


# --- claiming -------------------------------------------------------------------------------


def test_claim_confirm_progress_and_fulfil_with_photos(app, client, world, login_as, need):
    login_as(world.liaison_a)
    page = client.get(f"/needs/{need}").get_data(as_text=True)
    assert "为本单位认领" in page
    assert client.post(f"/needs/{need}/claim").status_code == 302
    n = get_need(app, need)
    assert (
        n.status == NeedStatus.CLAIMED
        and n.claimed_unit_id == world.unit_a
        and n.claimed_by_id == world.liaison_a
    )
    # Another unit can no longer claim it.
    login_as(world.liaison_b)
    resp = client.post(f"/needs/{need}/claim", follow_redirects=True)
    assert "该需求已被认领或已关闭" in resp.get_data(as_text=True)
    assert get_need(app, need).claimed_unit_id == world.unit_a
    # Progress waits for the community's confirmation.
    login_as(world.liaison_a)
    resp = client.post(
        f"/needs/{need}/progress", data={"progress-on": today().isoformat(), "progress-text": "已联系"}
    )
    assert resp.status_code == 400 and "认领经社区确认后才能报送进展" in resp.get_data(as_text=True)
    # Only the need's own secretary confirms.
    login_as(world.secretary2)
    assert client.post(f"/needs/{need}/confirm").status_code == 403
    login_as(world.liaison_a)
    assert client.post(f"/needs/{need}/confirm").status_code == 403
    login_as(world.secretary1)
    dashboard = client.get("/").get_data(as_text=True)
    assert "待确认的认领" in dashboard
    assert client.post(f"/needs/{need}/confirm").status_code == 302
    assert get_need(app, need).status == NeedStatus.IN_PROGRESS

    # Another unit's liaison may not report.
    login_as(world.liaison_b)
    assert client.post(f"/needs/{need}/progress", data={"progress-text": "x"}).status_code == 403
    assert client.post(f"/needs/{need}/fulfil", data={"fulfil-note": "x"}).status_code == 403

    login_as(world.liaison_a)
    resp = client.post(
        f"/needs/{need}/progress",
        data={
            "progress-on": today().isoformat(),
            "progress-text": "已购买配件，周六上门安装。",
            "progress-photos": [(io.BytesIO(PNG), "配件.png"), (io.BytesIO(PNG), "发票.PNG")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    resp = client.post(
        f"/needs/{need}/fulfil",
        data={
            "fulfil-on": today().isoformat(),
            "fulfil-note": "水龙头已更换，老人很满意。",
            "fulfil-photos": (io.BytesIO(PNG), "完成.png"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    n = get_need(app, need)
    assert n.status == NeedStatus.FULFILLED and n.fulfilment_note == "水龙头已更换，老人很满意。"
    assert n.fulfilled_at is not None
    progress, done = [u for u in n.updates if u.unit_id == world.unit_a and u.author_id == world.liaison_a][
        -2:
    ]
    assert [p.filename for p in progress.photos] == ["配件.png", "发票.PNG"]
    assert done.is_fulfilment and [p.content_type for p in done.photos] == ["image/png"]

    # A 微心愿's photos may show the resident: other units see that there are photos, not them.
    login_as(world.liaison_c)
    body = client.get(f"/needs/{need}").get_data(as_text=True)
    assert "水龙头已更换" in body and f"/needs/photos/{done.photos[0].id}" not in body
    assert "仅社区和认领单位可见" in body
    assert client.get(f"/needs/photos/{done.photos[0].id}").status_code == 403
    # The community sees them; a photo is an image and only an image.
    login_as(world.secretary1)
    body = client.get(f"/needs/{need}").get_data(as_text=True)
    assert f"/needs/photos/{done.photos[0].id}" in body
    photo = client.get(f"/needs/photos/{done.photos[0].id}")
    assert photo.status_code == 200 and photo.data == PNG and photo.mimetype == "image/png"
    assert "sandbox" in photo.headers["Content-Security-Policy"]
    # A fulfilled need takes no more reports.
    login_as(world.liaison_a)
    assert client.post(f"/needs/{need}/fulfil", data={"fulfil-note": "again"}).status_code == 400


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("报告.pdf", b"%PDF-1.7\n", "不是图片"),
        ("照片.png", b"%PDF-1.7 not a png", "文件内容与扩展名不符"),
        ("照片.png", b"", "上传的文件是空的"),
        ("大图.png", PNG + b"\0" * (10 * 1024 * 1024), "文件过大"),
        ("照片", PNG, "不是图片"),
    ],
)
def test_photos_are_images_checked_by_content_and_size(
    app, client, world, login_as, need, name, content, message
):
    claim_and_confirm(client, login_as, world, need)
    login_as(world.liaison_a)
    resp = client.post(
        f"/needs/{need}/progress",
        data={
            "progress-on": today().isoformat(),
            "progress-text": "上门查看",
            "progress-photos": (io.BytesIO(content), name),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code in (400, 413)
    assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert count(NeedUpdate, NeedUpdate.text == "上门查看") == 0


def test_too_many_photos_are_refused(app, client, world, login_as, need):
    claim_and_confirm(client, login_as, world, need)
    login_as(world.liaison_a)
    resp = client.post(
        f"/needs/{need}/progress",
        data={
            "progress-on": today().isoformat(),
            "progress-text": "照片很多",
            "progress-photos": [(io.BytesIO(PNG), f"{i}.png") for i in range(7)],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400 and "最多上传 6 张照片" in resp.get_data(as_text=True)


def test_future_dates_are_refused(app, client, world, login_as, need):
    claim_and_confirm(client, login_as, world, need)
    login_as(world.liaison_a)
    resp = client.post(
        f"/needs/{need}/fulfil",
        data={"fulfil-on": (today() + timedelta(days=3)).isoformat(), "fulfil-note": "完成"},
    )
    assert resp.status_code == 400 and "日期不能晚于今天" in resp.get_data(as_text=True)
    assert get_need(app, need).status == NeedStatus.IN_PROGRESS


def test_release_needs_a_reason_and_reopens(app, client, world, login_as, need):
    claim_and_confirm(client, login_as, world, need)
    login_as(world.liaison_a)
    assert client.post(f"/needs/{need}/release", data={"release-reason": "不想做了"}).status_code == 403
    login_as(world.secretary1)
    resp = client.post(f"/needs/{need}/release", data={"release-reason": "  "})
    assert resp.status_code == 400 and "请填写原因" in resp.get_data(as_text=True)
    assert get_need(app, need).status == NeedStatus.IN_PROGRESS
    assert client.post(f"/needs/{need}/release", data={"release-reason": "单位联系不上"}).status_code == 302
    n = get_need(app, need)
    assert n.status == NeedStatus.OPEN and n.claimed_unit_id is None and n.claimed_at is None
    assert "单位联系不上" in n.updates[-1].text
    # ... and another unit may claim it now.
    login_as(world.liaison_c)
    client.post(f"/needs/{need}/claim")
    assert get_need(app, need).claimed_unit_id == world.unit_c


def test_withdraw(app, client, world, login_as, need):
    login_as(world.secretary2)
    assert client.post(f"/needs/{need}/withdraw", data={"withdraw-reason": "x"}).status_code == 403
    login_as(world.secretary1)
    assert client.post(f"/needs/{need}/withdraw", data={}).status_code == 400
    assert (
        client.post(f"/needs/{need}/withdraw", data={"withdraw-reason": "老人已搬去子女家"}).status_code
        == 302
    )
    n = get_need(app, need)
    assert n.status == NeedStatus.WITHDRAWN and n.withdrawn_reason == "老人已搬去子女家"
    login_as(world.liaison_a)
    resp = client.post(f"/needs/{need}/claim", follow_redirects=True)
    assert "该需求已被认领或已关闭" in resp.get_data(as_text=True)
    assert get_need(app, need).claimed_unit_id is None


def test_withdrawn_unit_cannot_claim(app, client, world, login_as, need):
    with app.app_context():
        db.session.get(Unit, world.unit_a).status = UnitStatus.WITHDRAWN
        db.session.commit()
    login_as(world.liaison_a)
    assert "为本单位认领" not in client.get(f"/needs/{need}").get_data(as_text=True)
    resp = client.post(f"/needs/{need}/claim", follow_redirects=True)
    assert "已退出的单位不能认领需求" in resp.get_data(as_text=True)
    assert get_need(app, need).status == NeedStatus.OPEN


@pytest.mark.parametrize("who", ["secretary1", "admin", "archivist"])
def test_only_liaisons_claim(app, client, world, login_as, need, who):
    login_as(getattr(world, who))
    assert client.post(f"/needs/{need}/claim").status_code == 403
    assert get_need(app, need).status == NeedStatus.OPEN


def test_unknown_ids_are_404(client, world, login_as, need):
    login_as(world.secretary1)
    huge = "99999999999999999999"
    for url in (f"/needs/{huge}", f"/needs/photos/{huge}"):
        assert client.get(url).status_code == 404
    assert client.post(f"/needs/matches/{huge}/accept").status_code == 404
    assert client.post(f"/needs/{need}/matches", data={"resource_id": huge}).status_code == 302
    assert client.get(f"/needs?community={huge}&page={huge}").status_code == 200
    for url in ("/needs/99999", "/needs/99999/edit", "/needs/photos/99999"):
        assert client.get(url).status_code == 404
    for url in (
        "/needs/99999/claim",
        "/needs/99999/confirm",
        "/needs/99999/release",
        "/needs/matches/9999/accept",
    ):
        assert client.post(url).status_code == 404


# --- stale claims -------------------------------------------------------------------------


def test_stale_claims_are_flagged_to_the_secretary(app, client, world, login_as, need):
    claim_and_confirm(client, login_as, world, need)
    fresh = new_need(app, world, title="楼道灯坏了", is_wish=False, resident_name="", resident_phone="")
    login_as(world.liaison_b)
    client.post(f"/needs/{fresh}/claim")
    with app.app_context():
        n = db.session.get(Need, need)
        n.last_activity_at = datetime.now(UTC) - timedelta(days=15)
        db.session.commit()
    login_as(world.secretary1)
    board = client.get("/needs").get_data(as_text=True)
    assert board.count("stale-flag") == 1
    assert "已 14 天以上无进展" in board
    assert "独居老人家里换一个水龙头" in client.get("/needs?stale=1").get_data(as_text=True)
    assert "楼道灯坏了" not in client.get("/needs?stale=1").get_data(as_text=True)
    detail = client.get(f"/needs/{need}").get_data(as_text=True)
    assert "stale-alert" in detail and "15 天没有报送进展" in detail
    dashboard = client.get("/").get_data(as_text=True)
    assert "1 项认领超过 14 天无进展" in dashboard
    # Not flagged to other communities' secretaries nor to liaisons.
    login_as(world.secretary2)
    assert "stale-flag" not in client.get("/needs").get_data(as_text=True)
    assert "无进展" not in client.get("/").get_data(as_text=True)
    login_as(world.liaison_a)
    assert "stale-flag" not in client.get("/needs").get_data(as_text=True)
    # Progress clears the flag.
    client.post(
        f"/needs/{need}/progress", data={"progress-on": today().isoformat(), "progress-text": "周末上门"}
    )
    login_as(world.secretary1)
    assert "stale-flag" not in client.get("/needs").get_data(as_text=True)
    # The number of days is a setting.
    app.config["NEED_STALE_DAYS"] = 0
    with app.app_context():
        n = db.session.get(Need, fresh)
        n.last_activity_at = datetime.now(UTC) - timedelta(hours=1)
        db.session.commit()
    assert "已 0 天以上无进展" in client.get("/needs").get_data(as_text=True)


# --- the board: filters and pagination, the unit page --------------------------------------


def test_board_filters_and_pagination(app, client, world, login_as):
    new_need(app, world, title="英语志愿者辅导", kind=ResourceKind.TRAINING)
    new_need(
        app,
        world,
        title="社区活动室借用",
        kind=ResourceKind.VENUE,
        is_wish=False,
        community_id=world.community2,
    )
    fulfilled = new_need(app, world, title="轮椅一台", kind=ResourceKind.FUNDS, status=NeedStatus.FULFILLED)
    for i in range(23):
        new_need(app, world, title=f"批量需求{i:02d}", kind=ResourceKind.OTHER, is_wish=False)
    login_as(world.liaison_c)

    def titles(query):
        resp = client.get("/needs" + query)
        assert resp.status_code == 200
        return re.findall(r'class="fw-semibold" href="/needs/\d+">([^<]+)<', resp.get_data(as_text=True))

    assert titles(f"?community={world.community2}") == ["社区活动室借用"]
    assert titles("?kind=training") == ["英语志愿者辅导"]
    assert titles("?status=fulfilled") == ["轮椅一台"]
    assert set(titles("?type=wish")) == {"英语志愿者辅导", "轮椅一台"}
    assert "英语志愿者辅导" not in titles("?type=need")
    assert titles("?q=轮椅") == ["轮椅一台"]
    assert titles("?q=100%25") == []
    first, second = titles(""), titles("?page=2")
    assert len(first) == 20 and len(second) == 6 and not set(first) & set(second)
    assert first[-1] != "轮椅一台" and second[-1] == "轮椅一台"  # open needs first
    # Nonsense never breaks the page.
    for query in (
        "?community=abc",
        "?kind=x&status=y&type=z",
        "?page=-1",
        "?page=99999",
        "?q=" + "长" * 500,
        "?mine=1",
    ):
        assert client.get("/needs" + query).status_code == 200
    assert fulfilled


def test_liaison_filters_own_claims_and_unit_page_shows_them(app, client, world, login_as, need):
    other = new_need(app, world, title="帮忙修自行车", resident_name="", is_wish=False)
    login_as(world.liaison_a)
    client.post(f"/needs/{need}/claim")
    body = client.get("/needs?mine=1").get_data(as_text=True)
    assert "独居老人家里换一个水龙头" in body and "帮忙修自行车" not in body
    login_as(world.liaison_c)
    page = client.get(f"/units/{world.unit_a}").get_data(as_text=True)
    assert 'id="unit-needs"' in page and "独居老人家里换一个水龙头" in page and "帮忙修自行车" not in page
    assert other


def test_board_and_detail_queries_do_not_grow(app, client, world, login_as):
    def statements(url):
        seen = []
        with app.app_context():
            engine = db.engine

        def on_execute(conn, cursor, statement, *args):
            if (
                not statement.lstrip()
                .upper()
                .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
            ):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
        return len(seen)

    first = new_need(app, world)
    claim_and_confirm(client, login_as, world, first)
    login_as(world.secretary1)
    small = (statements("/needs"), statements(f"/needs/{first}"), statements("/"))
    for i in range(30):
        new_need(app, world, title=f"需求{i}", claimed_unit_id=world.unit_b, status=NeedStatus.IN_PROGRESS)
    login_as(world.liaison_a)
    for i in range(8):
        client.post(
            f"/needs/{first}/progress", data={"progress-on": today().isoformat(), "progress-text": f"进展{i}"}
        )
    login_as(world.secretary1)
    large = (statements("/needs"), statements(f"/needs/{first}"), statements("/"))
    assert small == large


def test_invalid_community_id_for_admin_is_refused(app, client, world, login_as):
    login_as(world.admin)
    resp = client.post(
        "/needs/new", data={"community_id": "99999", "is_wish": "0", "kind": "venue", "title": "x"}
    )
    assert resp.status_code == 400
    with app.app_context():
        assert count(Need) == 0 and count(Community) == 2


# --- demo ---------------------------------------------------------------------------------


def test_demo_has_needs_and_wishes_in_every_state(app, client, login_as, seeded_demo):
    from demo import needs as demo
    from models import Match, Resource, Street

    with app.app_context():
        street = db.session.scalar(select(Street))
        communities = list(street.communities)
        units = list(db.session.scalars(select(Unit).order_by(Unit.id)))
        # A few resources, as the resources feature seeds them (looked up by query).
        for unit, kind, title in (
            (units[0], ResourceKind.TRAINING, "一小英语教师志愿辅导"),
            (units[1], ResourceKind.VOLUNTEER, "市三院党员志愿服务队"),
            (units[6], ResourceKind.VOLUNTEER, "供电所共产党员服务队"),
            (units[9], ResourceKind.TRAINING, "建行金融知识讲师团"),
            (units[13], ResourceKind.EXPERTISE, "全科医生义诊团队"),
        ):
            db.session.add(
                Resource(
                    street_id=street.id,
                    owner_unit_id=unit.id,
                    community_id=unit.community_id,
                    kind=kind,
                    title=title,
                )
            )
        db.session.flush()
        demo.seed(street, communities, units)
        db.session.commit()
        needs = db.session.scalars(select(Need)).all()
        states = {(n.is_wish, n.status) for n in needs}
        assert states == {(w, s) for w in (True, False) for s in NeedStatus}
        assert all(n.updates for n in needs if n.status != NeedStatus.OPEN)
        assert any(u.photos for n in needs for u in n.updates)
        assert any(u.is_fulfilment for n in needs for u in n.updates)
        assert {m.status for m in db.session.scalars(select(Match))} >= {
            MatchStatus.PROPOSED,
            MatchStatus.ACCEPTED,
        }
        assert sum(1 for n in needs if svc.is_stale(n)) >= 2
        before = count(Need)
        demo.seed(street, communities, units)  # idempotent
        db.session.commit()
        assert count(Need) == before
        ids = [n.id for n in needs]
    for username in ("admin", "secretary1", "liaison2", "archivist"):
        login_as(username, password=seeded_demo.password)
        assert client.get("/needs").status_code == 200
        assert client.get("/").status_code == 200
        for need_id in ids:
            assert client.get(f"/needs/{need_id}").status_code == 200
