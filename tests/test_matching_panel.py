"""The 资源对接 panels stay coherent: a proposed resource is never listed beside a message that
nothing matches, on the need's page or on the resource's (issue 8, point 14)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from models import Match, db
from models.base import today
from tests.test_needs import new_need

PANEL_ENDS = {"matches": '<div class="col-lg-5">', "resource-needs": "</ul>"}


def _panel(html: str, panel_id: str) -> str:
    start = html.index(f'id="{panel_id}"')
    return html[start : html.index(PANEL_ENDS[panel_id], start)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_need_page_does_not_say_none_match_beside_a_proposed_resource(
    app,
    client,
    world,
    login_as,
    make_service,
):
    need = new_need(app, world, wanted_by=today() + timedelta(days=12))
    resource = make_service("和平里派出所志愿队", unit=world.unit_c)
    login_as(world.secretary1)
    panel = _text(_panel(client.get(f"/needs/{need}").get_data(as_text=True), "matches"))
    assert "和平里派出所志愿队" in panel and "尚未推荐资源" in panel
    assert "暂无符合条件的资源" not in panel

    assert client.post(f"/needs/{need}/matches", data={"resource_id": resource}).status_code == 302
    for who in ("secretary1", "liaison_c", "liaison_a", "admin"):
        login_as(getattr(world, who))
        panel = _text(_panel(client.get(f"/needs/{need}").get_data(as_text=True), "matches"))
        assert "已推荐的资源" in panel and "和平里派出所志愿队" in panel and "待回应" in panel, who
        assert "暂无符合条件的资源。" not in panel, who
        assert "尚未推荐资源" not in panel, who
        assert "除上面已推荐的资源外，暂无其他符合条件的资源。" in panel, who

    # With another resource still to suggest, it is listed as another one.
    make_service("东大街一小青年志愿者", unit=world.unit_a)
    login_as(world.secretary1)
    panel = _text(_panel(client.get(f"/needs/{need}").get_data(as_text=True), "matches"))
    assert "其他符合条件的资源" in panel and "东大街一小青年志愿者" in panel
    assert "暂无" not in panel


def test_need_page_without_any_resource_says_so_once(app, client, world, login_as):
    need = new_need(app, world)
    login_as(world.secretary1)
    panel = _text(_panel(client.get(f"/needs/{need}").get_data(as_text=True), "matches"))
    assert "暂无符合条件的资源。" in panel and "尚未推荐资源" not in panel


def test_resource_page_lists_the_needs_it_is_matched_with(
    app,
    client,
    world,
    login_as,
    make_service,
):
    need = new_need(app, world, title="周末陪老人散步", wanted_by=today() + timedelta(days=12))
    resource = make_service("和平里派出所志愿队", unit=world.unit_c)
    login_as(world.secretary1)
    assert client.post(f"/needs/{need}/matches", data={"resource_id": resource}).status_code == 302
    with app.app_context():
        match_id = db.session.scalar(select(Match.id))
    login_as(world.liaison_c)
    panel = _text(_panel(client.get(f"/resources/{resource}").get_data(as_text=True), "resource-needs"))
    assert "周末陪老人散步" in panel and "待回应" in panel and "暂无" not in panel

    # Accepted: the need is now under way (no longer open), and the panel still shows it.
    assert (
        client.post(f"/needs/matches/{match_id}/accept", data={"reason": "周六派两名民警"}).status_code == 302
    )
    for who in ("liaison_c", "secretary1"):
        login_as(getattr(world, who))
        panel = _text(_panel(client.get(f"/resources/{resource}").get_data(as_text=True), "resource-needs"))
        assert "周末陪老人散步" in panel and "已接受" in panel, who
        assert "暂无可对接的需求" not in panel, who
