"""A resident's name, phone and photos reach a claiming unit only once the community confirms
the claim, and leave it when the claim is released (issue 8, point 13)."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from models import NeedUpdate, db
from models.base import today
from tests.test_needs import PHONE, PNG, RESIDENT, new_need


def _page(client, need_id: int) -> str:
    resp = client.get(f"/needs/{need_id}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _sees_resident(client, need_id: int) -> bool:
    body = _page(client, need_id)
    return RESIDENT in body or PHONE in body


def _photo_ids(app, need_id: int) -> list[int]:
    with app.app_context():
        updates = db.session.scalars(select(NeedUpdate).where(NeedUpdate.need_id == need_id)).all()
        return [p.id for u in updates for p in u.photos]


def test_claiming_unit_sees_the_resident_only_after_confirmation(app, client, world, login_as):
    need = new_need(app, world)
    login_as(world.liaison_a)
    assert client.post(f"/needs/{need}/claim").status_code == 302
    # Claimed, not yet confirmed: no name, no phone, and a word on when they will appear.
    body = _page(client, need)
    assert RESIDENT not in body and PHONE not in body
    assert "社区确认认领后，这里会显示许愿居民的姓名和电话" in body
    for url in ("/needs", "/", f"/units/{world.unit_a}", "/needs?mine=1"):
        resp = client.get(url)
        assert resp.status_code == 200
        assert RESIDENT not in resp.get_data(as_text=True), url

    login_as(world.secretary1)
    assert RESIDENT in _page(client, need)  # the community always sees them
    assert client.post(f"/needs/{need}/confirm").status_code == 302

    login_as(world.liaison_a)
    body = _page(client, need)
    assert RESIDENT in body and PHONE in body
    assert "社区确认认领后" not in body
    # Another unit still does not.
    login_as(world.liaison_b)
    assert not _sees_resident(client, need)

    # Released: the unit loses sight of them again.
    login_as(world.secretary1)
    assert client.post(f"/needs/{need}/release", data={"release-reason": "单位人手不足"}).status_code == 302
    login_as(world.liaison_a)
    assert not _sees_resident(client, need)


def test_wish_photos_follow_the_confirmed_claim(app, client, world, login_as):
    need = new_need(app, world)
    # Unit B's confirmed claim: it reports progress with a photo of the resident's kitchen.
    login_as(world.liaison_b)
    assert client.post(f"/needs/{need}/claim").status_code == 302
    login_as(world.secretary1)
    assert client.post(f"/needs/{need}/confirm").status_code == 302
    login_as(world.liaison_b)
    resp = client.post(
        f"/needs/{need}/progress",
        data={
            "progress-on": today().isoformat(),
            "progress-text": "已上门查看，拍照记录漏水位置。",
            "progress-photos": [(io.BytesIO(PNG), "厨房.png")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1500]
    [photo] = _photo_ids(app, need)
    assert client.get(f"/needs/photos/{photo}").status_code == 200

    # The community releases B's claim; unit A claims it.
    login_as(world.secretary1)
    assert client.post(f"/needs/{need}/release", data={"release-reason": "单位人手不足"}).status_code == 302
    login_as(world.liaison_b)
    assert client.get(f"/needs/photos/{photo}").status_code == 403
    login_as(world.liaison_a)
    assert client.post(f"/needs/{need}/claim").status_code == 302
    # Before confirmation: neither the photo nor a link to it.
    assert client.get(f"/needs/photos/{photo}").status_code == 403
    body = _page(client, need)
    assert f"/needs/photos/{photo}" not in body
    assert re.search(r"附照片 1 张", body)
    # After confirmation: the photo is there.
    login_as(world.secretary1)
    assert client.post(f"/needs/{need}/confirm").status_code == 302
    login_as(world.liaison_a)
    assert f"/needs/photos/{photo}" in _page(client, need)
    assert client.get(f"/needs/photos/{photo}").status_code == 200


def test_a_community_need_has_no_resident_to_hide(app, client, world, login_as):
    """Photos of a community need (not a resident's wish) stay visible to every user."""
    need = new_need(app, world, is_wish=False, resident_name="", resident_phone="", title="小区健身器材维修")
    login_as(world.liaison_a)
    assert client.post(f"/needs/{need}/claim").status_code == 302
    assert "社区确认认领后" not in _page(client, need)
