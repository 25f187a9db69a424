"""扫码签到 (issue 12, point 4, part): the host's screen shows a rotating QR code, decoded here by
an independent reader (zbarimg); the phone page needs no account; a second sign-in of the same
person merges; late arrivals carry the time; the unit is marked present; forged, expired and
closed links get a clear page and change nothing; the minutes PDF lists everyone (签到表)."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta

import segno
from sqlalchemy import select

from common.dates import format_month_day_time
from models import Attendance, Invitation, Meeting, MeetingStatus, PersonSignIn, db
from models.base import utcnow
from services import signin as svc
from tests.test_minutes import _approve


def _started(make_meeting, minutes_ago: int = 10, **fields) -> int:
    """A published meeting that began `minutes_ago` minutes ago (negative: begins later)."""
    now = utcnow()
    start = now - timedelta(minutes=minutes_ago)
    return make_meeting(
        days=0, status=MeetingStatus.SCHEDULED, start_at=start, end_at=start + timedelta(hours=2), **fields
    )


def _token(app, mid, poster=False, at=None):
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        return svc.poster_token(meeting) if poster else svc.screen_token(meeting, at)


def test_the_screens_code_decodes_to_the_sign_in_link(app, client, world, make_meeting, login_as, tmp_path):
    mid = _started(make_meeting)
    login_as("secretary1")
    page = client.get(f"/meetings/{mid}/signin").get_data(as_text=True)
    assert 'id="signin-qr"' in page and "<svg" in page and 'data-field="people">0<' in page
    link = re.search(r"(http://[^<\s]+/s/[A-Za-z0-9_.\-]+)", page).group(1)
    # The same link drawn as an image and read back by zbar, an independent decoder.
    png = tmp_path / "qr.png"
    segno.make(link, error="m").save(str(png), scale=6)
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, check=True
    )
    assert decoded.stdout.strip() == link
    assert client.get(f"/meetings/{mid}/signin/count").get_json() == {"people": 0, "units": 0, "invited": 2}
    # The meeting page leads the host there.
    assert 'id="signin-screen"' in client.get(f"/meetings/{mid}").get_data(as_text=True)
    # The code scales whole with the screen: a viewBox, no fixed size of its own.
    svg = re.search(r"<svg[^>]*class=\"segno\"[^>]*>", page).group(0)
    assert "viewBox=" in svg and "width=" not in svg


def test_a_closed_sign_in_shows_no_code(app, client, world, make_meeting, login_as):
    ended = _started(make_meeting, minutes_ago=180, title="已结束的会议")
    login_as("secretary1")
    page = client.get(f"/meetings/{ended}/signin").get_data(as_text=True)
    assert "已经结束，签到已关闭" in page
    assert 'id="signin-qr"' not in page and "请用手机扫码签到" not in page and "/s/" not in page
    assert 'id="signed-people"' in page  # the list of who came stays
    # The poster's link, scanned after the end, says so in its heading too.
    phone = client.get(f"/s/{_token(app, ended, poster=True)}")
    assert phone.status_code == 410 and '<h1 class="h5">签到已关闭</h1>' in phone.get_data(as_text=True)


def test_a_person_signs_in_without_an_account_and_again_merges(app, client, world, make_meeting):
    mid = _started(make_meeting)
    token = _token(app, mid)
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert (
        "东大街第一小学" in page and "市第三人民医院" in page and "和平里派出所" not in page
    )  # invited only
    resp = client.post(f"/s/{token}", data={"unit_id": world.unit_a, "name": "王丽华", "post": "副校长"})
    assert resp.status_code == 200 and "签到成功" in resp.get_data(as_text=True)
    assert "记为迟到" in resp.get_data(as_text=True)  # it began ten minutes ago
    client.post(f"/s/{token}", data={"unit_id": world.unit_a, "name": "王丽华", "post": "校长"})
    client.post(
        f"/s/{token}", data={"unit_id": world.unit_b, "name": "赵医生", "post": "科主任", "is_delegate": "y"}
    )
    with app.app_context():
        people = db.session.scalars(select(PersonSignIn).where(PersonSignIn.meeting_id == mid)).all()
        assert sorted((p.name, p.post, p.is_delegate, p.late) for p in people) == [
            ("王丽华", "校长", False, True),
            ("赵医生", "科主任", True, True),
        ]
        invitations = {
            i.unit_id: i for i in db.session.scalars(select(Invitation).where(Invitation.meeting_id == mid))
        }
        assert invitations[world.unit_a].attendance == Attendance.PRESENT
        assert (
            invitations[world.unit_b].attendance == Attendance.PRESENT
            and invitations[world.unit_b].by_delegate
        )
    # Bad input stays on the page and records nothing.
    resp = client.post(f"/s/{token}", data={"unit_id": world.unit_c, "name": "外单位"})
    assert resp.status_code == 400 and "请选择您所在的受邀单位" in resp.get_data(as_text=True)
    resp = client.post(f"/s/{token}", data={"unit_id": world.unit_a, "name": ""})
    assert resp.status_code == 400 and "请填写您的姓名" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(PersonSignIn.id).where(PersonSignIn.name == "外单位")) is None


def test_forged_expired_and_closed_links_change_nothing(app, client, world, make_meeting):
    mid = _started(make_meeting)
    old = _token(app, mid, at=utcnow() - timedelta(minutes=25))  # two windows ago
    for token, message in (("forged-token", "二维码无效"), (old, "已过期")):
        resp = client.get(f"/s/{token}")
        assert resp.status_code == 410 and message in resp.get_data(as_text=True)
        assert '<h1 class="h5">无法签到</h1>' in resp.get_data(as_text=True)
        resp = client.post(f"/s/{token}", data={"unit_id": world.unit_a, "name": "王丽华"})
        assert resp.status_code == 410
    later = _started(make_meeting, minutes_ago=-120, title="两小时后的会议")
    resp = client.get(f"/s/{_token(app, later, poster=True)}")
    assert resp.status_code == 410 and "开始前 30 分钟）开放" in resp.get_data(as_text=True)
    with app.app_context():
        opens = db.session.get(Meeting, later).start_at - timedelta(minutes=30)
    # When it opens, in Beijing time with the day (the server's clock may be UTC).
    assert f"签到将于 {format_month_day_time(opens)}（" in resp.get_data(as_text=True)
    assert '<h1 class="h5">签到尚未开放</h1>' in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(PersonSignIn.id)) is None
    # The printed poster's link works for the whole sign-in period.
    resp = client.post(
        f"/s/{_token(app, mid, poster=True)}", data={"unit_id": world.unit_a, "name": "王丽华"}
    )
    assert resp.status_code == 200


def test_a_logged_in_liaison_signs_in_with_one_tap(app, client, world, make_meeting, login_as):
    mid = _started(make_meeting, minutes_ago=-10)  # begins in ten minutes: not late
    token = _token(app, mid)
    login_as("liaison_a")
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert 'id="tap-form"' in page
    resp = client.post(f"/s/{token}", data={"tap": "1"})
    assert resp.status_code == 200 and "签到成功" in resp.get_data(as_text=True)
    with app.app_context():
        record = db.session.scalar(select(PersonSignIn).where(PersonSignIn.meeting_id == mid))
        assert (record.name, record.user_id, record.late) == ("liaison_a", world.liaison_a, False)


def test_sign_ins_are_limited_per_meeting_and_address(app, world, make_meeting, monkeypatch):
    mid = _started(make_meeting)
    monkeypatch.setattr(svc, "MAX_PER_ADDRESS", 2)
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        svc.sign_in(meeting, world.unit_a, "甲", "", False, "10.0.0.9")
        svc.sign_in(meeting, world.unit_a, "乙", "", False, "10.0.0.9")
        try:
            svc.sign_in(meeting, world.unit_a, "丙", "", False, "10.0.0.9")
        except svc.SignInError as exc:
            assert "签到过于频繁" in str(exc)
        else:
            raise AssertionError("the third sign-in from one address was not limited")
        svc.sign_in(meeting, world.unit_a, "丁", "", False, "10.0.0.10")  # another address
        db.session.rollback()


def test_the_minutes_pdf_lists_everyone_signed_in(app, client, world, held_meeting, login_as, tmp_path):
    mid = held_meeting()
    with app.app_context():
        meeting = db.session.get(Meeting, mid)
        for name, post in (("王丽华", "副校长"), ("李建国", "院办主任")):
            db.session.add(
                PersonSignIn(
                    meeting_id=mid, unit_id=world.unit_a, name=name, post=post, signed_at=meeting.start_at
                )
            )
        db.session.commit()
    login_as("secretary1")
    _approve(app, client, world, mid)
    pdf = client.get(f"/meetings/{mid}/minutes.pdf").data
    (tmp_path / "m.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "m.pdf"), "-"], capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "签到表" in flat and "王丽华" in flat and "院办主任" in flat


def test_the_printed_poster_carries_a_code_valid_for_the_whole_meeting(
    app, client, world, make_meeting, login_as, tmp_path
):
    mid = _started(make_meeting, minutes_ago=-20)
    login_as("secretary1")
    assert 'id="signin-poster"' in client.get(f"/meetings/{mid}/signin").get_data(as_text=True)
    resp = client.get(f"/meetings/{mid}/signin/poster.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    pdf = tmp_path / "poster.pdf"
    pdf.write_bytes(resp.data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "请用手机扫码签到" in re.sub(r"\s+", "", text) and "第1页" not in re.sub(r"\s+", "", text)
    # Drawn by Poppler and by MuPDF, the code reads back (zbar) as the poster's own link.
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "pp")], check=True
    )
    subprocess.run(
        ["mutool", "draw", "-q", "-r", "150", "-o", str(tmp_path / "mu.png"), str(pdf), "1"], check=True
    )
    expected = f"/s/{_token(app, mid, poster=True)}"
    for png in ("pp.png", "mu.png"):
        decoded = subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(tmp_path / png)], capture_output=True, text=True, check=True
        )
        assert decoded.stdout.strip().endswith(expected), png
    login_as("liaison_a")
    assert client.get(f"/meetings/{mid}/signin/poster.pdf").status_code == 403
