"""会签: the attending units' liaisons see what they owe on their dashboard, 签发 names the
units that have not confirmed, and the approved PDF and the revision page record it all."""

import json
from datetime import timedelta

import pikepdf
from sqlalchemy import select

from common.dates import format_date
from models import Attendance, ConfirmationStatus, Meeting, Minutes, MinutesRevision, MinutesStatus, db
from models.base import today
from tests.test_minutes import _draft, _revision, _start
from tests.test_pdf import pdftotext, squeezed


def _submitted(app, client, world, login_as, held_meeting, days=5):
    """Minutes of a meeting both units attended, submitted with 会签 asked of both."""
    mid = held_meeting(title="十一月共驻共建联席会议")
    with app.app_context():
        for inv in db.session.get(Meeting, mid).invitations:
            inv.attendance = Attendance.PRESENT
        db.session.commit()
    login_as("secretary1")
    _start(client, mid)
    _draft(app, client, world, mid)
    client.post(f"/meetings/{mid}/minutes/submit", data={"ask_confirmation": "y", "confirm_days": str(days)})
    assert [c.unit_id for c in _revision(app, mid).confirmations] == [world.unit_a, world.unit_b]
    return mid


def test_liaisons_see_pending_confirmations_with_due_date(app, client, world, login_as, held_meeting):
    mid = _submitted(app, client, world, login_as, held_meeting)
    due = today() + timedelta(days=5)  # Beijing time, as the app counts
    login_as("liaison_a")
    page = client.get("/").get_data(as_text=True)
    panel = page.split('id="pending-confirmations"')[1].split("</ul>")[0]
    assert "十一月共驻共建联席会议" in panel
    assert f"{format_date(due)} 前会签" in panel
    assert f'href="/meetings/{mid}/minutes#my-confirmation"' in panel
    assert 'id="my-confirmation"' in client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    client.post(f"/meetings/{mid}/minutes/confirm", data={"decision": "confirm", "comment": ""})
    assert 'id="pending-confirmations"' not in client.get("/").get_data(as_text=True)
    login_as("liaison_b")  # still owes it
    assert (
        "十一月共驻共建联席会议"
        in client.get("/").get_data(as_text=True).split('id="pending-confirmations"')[1]
    )
    login_as("liaison_c")  # not invited: nothing
    assert 'id="pending-confirmations"' not in client.get("/").get_data(as_text=True)
    login_as("secretary1")
    assert 'id="pending-confirmations"' not in client.get("/").get_data(as_text=True)


def test_approval_names_the_units_that_have_not_confirmed(app, client, world, login_as, held_meeting):
    mid = _submitted(app, client, world, login_as, held_meeting)
    login_as("liaison_b")
    client.post(
        f"/meetings/{mid}/minutes/confirm", data={"decision": "comment", "comment": "第二项请写明时间"}
    )
    login_as("secretary1")
    page = client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    warning = page.split('id="unconfirmed-warning"')[1].split("</div>\n      <div")[0]
    assert "尚未会签的单位：<strong>东大街第一小学</strong>" in warning
    assert "提出修改意见的单位：<strong>市第三人民医院</strong>" in warning
    assert "仍然签发" in page
    # Without saying "approve all the same": refused, the units named, nothing approved.
    resp = client.post(f"/meetings/{mid}/minutes/approve", data={})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "尚未会签的单位：东大街第一小学；提出修改意见的单位：市第三人民医院" in text
    rev = _revision(app, mid)
    assert rev.status == MinutesStatus.SUBMITTED and rev.minutes.archive_no is None
    # Having seen them, the secretary approves.
    resp = client.post(f"/meetings/{mid}/minutes/approve", data={"unconfirmed_ok": "y"})
    assert resp.status_code == 302
    assert _revision(app, mid).status == MinutesStatus.APPROVED


def test_approval_without_missing_confirmations_needs_no_override(app, client, world, login_as, held_meeting):
    mid = _submitted(app, client, world, login_as, held_meeting)
    for liaison in ("liaison_a", "liaison_b"):
        login_as(liaison)
        client.post(f"/meetings/{mid}/minutes/confirm", data={"decision": "confirm", "comment": ""})
    login_as("secretary1")
    assert 'id="unconfirmed-warning"' not in client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    assert client.post(f"/meetings/{mid}/minutes/approve", data={}).status_code == 302
    assert _revision(app, mid).status == MinutesStatus.APPROVED


def test_pdf_and_revision_page_record_who_confirmed_and_who_did_not(
    app,
    client,
    world,
    login_as,
    held_meeting,
    tmp_path,
):
    mid = _submitted(app, client, world, login_as, held_meeting)
    login_as("liaison_a")
    client.post(f"/meetings/{mid}/minutes/confirm", data={"decision": "confirm", "comment": "同意，无补充"})
    login_as("secretary1")
    client.post(f"/meetings/{mid}/minutes/approve", data={"unconfirmed_ok": "y"})
    rev = _revision(app, mid)
    assert rev.status == MinutesStatus.APPROVED
    confirmed = next(c for c in rev.confirmations if c.unit_id == world.unit_a)
    assert confirmed.status == ConfirmationStatus.CONFIRMED

    # The revision page: who, when, the comment; the unit that never answered.
    for url in (f"/meetings/{mid}/minutes", f"/meetings/{mid}/minutes/revisions/1"):
        page = client.get(url).get_data(as_text=True)
        card = page.split('id="confirmations"')[1].split("</div></div>")[0]
        first, second = card.split('<li class="mb-2 confirmation">')[1:3]
        assert "东大街第一小学" in first and "已确认" in first and "liaison_a" in first
        assert "意见：同意，无补充" in first
        assert "年" in first.split("liaison_a")[1]  # the time of the answer
        assert "市第三人民医院" in second and "未回复" in second
        assert "签发时 1 个单位未回复" in card

    # The archival PDF says the same.
    with app.app_context():
        pdf = db.session.scalar(select(MinutesRevision.pdf).where(MinutesRevision.id == rev.id))
    text = squeezed(pdftotext(tmp_path, pdf))
    assert "四、会签情况" in text
    assert "东大街第一小学已确认liaison_a" in text and "同意，无补充" in text
    assert "市第三人民医院未回复" in text
    assert "未回复1个（市第三人民医院）" in text
    with pikepdf.Pdf.open(__import__("io").BytesIO(pdf)) as doc:
        data = json.loads(doc.attachments["minutes.json"].get_file().read_bytes())
    assert [(c["unit"], c["status"], c["by"]) for c in data["confirmations"]] == [
        ("东大街第一小学", "confirmed", "liaison_a"),
        ("市第三人民医院", "pending", ""),
    ]


def test_minutes_without_confirmation_say_so_in_the_pdf(app, client, world, login_as, held_meeting, tmp_path):
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    _draft(app, client, world, mid)
    client.post(f"/meetings/{mid}/minutes/submit", data={"confirm_days": "3"})  # box unticked
    client.post(f"/meetings/{mid}/minutes/approve", data={})
    with app.app_context():
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
        assert minutes.current.status == MinutesStatus.APPROVED
        pdf = minutes.current.pdf
    assert "本纪要未请出席单位会签" in squeezed(pdftotext(tmp_path, pdf))
