"""Links in invites, feeds, mails and archives come from BASE_URL, never from a request's Host.

A client can send any Host header. Before, a liaison's GET of /meetings/<id>/invite.ics with
a forged Host put that host into the cached event text that every later invite, feed, mail
and the .ics inside the approved PDF/A carried.
"""

from __future__ import annotations

import io
import logging
import re

import pikepdf
import pytest
from sqlalchemy import select

from app import create_app
from common.links import DEV_BASE_URL
from config import ConfigurationError
from models import Meeting, MinutesRevision, OutboxMessage, Unit, User, db
from models.enums import MeetingStatus
from tests.test_minutes import _approve

BASE = "https://gongjian.dongdajie.example.gov.cn"
FORGED = "evil.example.net"
FORGED_HEADERS = {"Host": FORGED}


@pytest.fixture
def linked(app, world):
    """BASE_URL configured; the secretary and the units have addresses (mail is queued)."""
    app.config["BASE_URL"] = BASE
    with app.app_context():
        db.session.get(User, world.secretary1).email = "shuji@qingnianlu.example.gov.cn"
        for n, attr in enumerate(("unit_a", "unit_b", "unit_c"), start=1):
            db.session.get(Unit, getattr(world, attr)).liaison_email = f"liaison{n}@danwei.example.gov.cn"
        db.session.commit()
    return world


def _urls(text: str) -> set[str]:
    """Every absolute http(s) link in a text (iCalendar folding undone first)."""
    return set(re.findall(r"https?://[^\s\\<>\"]+", text.replace("\r\n ", "")))


def _only_base(text: str) -> None:
    assert FORGED not in text.replace("\r\n ", "")
    urls = _urls(text)
    assert urls, text[:500]
    assert all(url.startswith(BASE + "/") for url in urls), urls


class _Forged:
    """A test client whose every request names the forged host."""

    def __init__(self, client):
        self.client = client

    def get(self, *args, **kwargs):
        return self.client.get(*args, headers=FORGED_HEADERS, **kwargs)

    def post(self, *args, **kwargs):
        return self.client.post(*args, headers=FORGED_HEADERS, **kwargs)


def _login(client, username: str, headers=None) -> None:
    from tests.conftest import PASSWORD

    client.post("/logout", headers=headers)
    resp = client.post("/login", data={"username": username, "password": PASSWORD}, headers=headers)
    assert resp.status_code == 302


def test_forged_host_reaches_no_cached_text_invite_feed_mail_or_archive(
    app,
    client,
    linked,
    make_meeting,
    held_meeting,
):
    w = linked
    held = held_meeting()
    upcoming = make_meeting(days=5, title="第一季度共驻共建联席会议")
    _login(client, "secretary1", FORGED_HEADERS)

    # The forged invite download and feed fetch carry the configured address only...
    resp = client.get(f"/meetings/{held}/invite.ics", headers=FORGED_HEADERS)
    assert resp.status_code == 200
    _only_base(resp.data.decode())
    assert f"{BASE}/meetings/{held}" in resp.data.decode().replace("\r\n ", "")
    client.post(f"/account/feeds/user/{w.secretary1}", headers=FORGED_HEADERS)
    account = client.get("/account", headers=FORGED_HEADERS).get_data(as_text=True)
    (feed_url,) = re.findall(rf'id="feed-user-{w.secretary1}" value="([^"]+)"', account)
    assert feed_url.startswith(f"{BASE}/calendar/") and feed_url.endswith(".ics")
    feed_path = feed_url.removeprefix(BASE)
    resp = app.test_client().get(feed_path, headers=FORGED_HEADERS)
    assert resp.status_code == 200
    _only_base(resp.data.decode())

    # ... and so does the text cached on the meeting (the feed stored it).
    with app.app_context():
        cached = db.session.get(Meeting, held).ics_cache
    assert cached is not None
    _only_base(cached)

    # Later invites and feeds for anyone else, through the real host.
    _login(client, "liaison_a")
    resp = client.get(f"/meetings/{held}/invite.ics")
    assert resp.status_code == 200
    _only_base(resp.data.decode())
    _only_base(app.test_client().get(feed_path).data.decode())

    # Mail queued by a request with a forged host.
    _login(client, "secretary1", FORGED_HEADERS)
    assert client.post(f"/meetings/{upcoming}/publish", headers=FORGED_HEADERS).status_code == 302
    with app.app_context():
        mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.meeting_id == upcoming)).all()
        assert len(mails) == 2
        for mail in mails:
            _only_base(mail.body_text)
            _only_base(mail.ics_body)

    # The .ics inside the approved PDF/A, drafted and approved through the forged host.
    forged = _Forged(client)
    forged.get(f"/meetings/{held}/invite.ics")
    _approve(app, forged, w, held)
    with app.app_context():
        pdf = db.session.scalar(select(MinutesRevision.pdf).where(MinutesRevision.pdf.is_not(None)))
    with pikepdf.Pdf.open(io.BytesIO(pdf)) as doc:
        attached = doc.attachments["meeting.ics"].get_file().read_bytes().decode()
    _only_base(attached)
    assert f"URL:{BASE}/meetings/{held}" in attached.replace("\r\n ", "")


def test_a_new_base_url_reaches_cached_events(app, client, linked, make_meeting):
    w = linked
    mid = make_meeting(status=MeetingStatus.SCHEDULED)
    _login(client, "secretary1")
    client.post(f"/account/feeds/user/{w.secretary1}")
    account = client.get("/account").get_data(as_text=True)
    (feed_url,) = re.findall(rf'id="feed-user-{w.secretary1}" value="([^"]+)"', account)
    path = feed_url.removeprefix(BASE)
    first = app.test_client().get(path)
    assert f"{BASE}/meetings/{mid}" in first.data.decode().replace("\r\n ", "")

    app.config["BASE_URL"] = "https://gongjian.example.gov.cn/dongdajie"
    resp = app.test_client().get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert resp.status_code == 200  # the text changed, so the ETag did
    text = resp.data.decode().replace("\r\n ", "")
    assert f"https://gongjian.example.gov.cn/dongdajie/meetings/{mid}" in text and BASE not in text
    invite = client.get(f"/meetings/{mid}/invite.ics").data.decode().replace("\r\n ", "")
    assert f"URL:https://gongjian.example.gov.cn/dongdajie/meetings/{mid}" in invite
    account = client.get("/account").get_data(as_text=True)
    assert f'value="https://gongjian.example.gov.cn/dongdajie{path}"' in account


def test_trusted_hosts_refuse_a_forged_host(app, client, linked, make_meeting):
    mid = make_meeting(status=MeetingStatus.SCHEDULED)
    app.config["TRUSTED_HOSTS"] = ["gongjian.dongdajie.example.gov.cn", "localhost"]
    _login(client, "secretary1")
    assert client.get(f"/meetings/{mid}/invite.ics", headers=FORGED_HEADERS).status_code == 400
    assert client.get("/login", headers=FORGED_HEADERS).status_code == 400
    assert "访问地址有误" in client.get("/login", headers=FORGED_HEADERS).get_data(as_text=True)
    assert client.get(f"/meetings/{mid}/invite.ics").status_code == 200
    trusted = {"Host": "gongjian.dongdajie.example.gov.cn"}
    _login(client, "secretary1", trusted)
    assert client.get(f"/meetings/{mid}/invite.ics", headers=trusted).status_code == 200


def _bare_app(tmp_path, **config):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'links.db'}",
            "SECRET_KEY": "links-test",
            "PDF_CHECK_FONTS": False,
            **config,
        }
    )


def test_trusted_hosts_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTED_HOSTS", "gongjian.dongdajie.example.gov.cn, 127.0.0.1 ,")
    app = _bare_app(tmp_path, TESTING=True)
    assert app.config["TRUSTED_HOSTS"] == ["gongjian.dongdajie.example.gov.cn", "127.0.0.1"]


def test_unset_base_url_defaults_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("BASE_URL", raising=False)
    with caplog.at_level(logging.WARNING):
        app = _bare_app(tmp_path)
    assert app.config["BASE_URL"] == DEV_BASE_URL
    assert any("BASE_URL is not set" in r.getMessage() for r in caplog.records)
    # The default sender passes the app's own validation: no warning about it.
    assert not any("MAIL_DEFAULT_SENDER" in r.getMessage() for r in caplog.records)


def test_https_without_base_url_refuses_to_start(tmp_path, monkeypatch):
    monkeypatch.delenv("BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        _bare_app(tmp_path, HTTPS=True)


@pytest.mark.parametrize(
    "bad",
    [
        "gongjian.dongdajie.example.gov.cn",
        "ftp://gongjian.example.gov.cn",
        "https://",
        "https://x.cn/?a=1",
        "https://user:pw@x.cn",
        "https://x.cn:99999",
        "https://x.cn/#top",
    ],
)
def test_malformed_base_url_refuses_to_start(tmp_path, bad):
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        _bare_app(tmp_path, BASE_URL=bad)


def test_base_url_is_normalised(tmp_path):
    app = _bare_app(tmp_path, BASE_URL=" https://gongjian.example.gov.cn/dongdajie/ ", TESTING=True)
    assert app.config["BASE_URL"] == "https://gongjian.example.gov.cn/dongdajie"
