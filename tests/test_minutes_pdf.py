"""The minutes PDF itself: what an archivist reads in it, its fonts, PDF/A identification."""

import io
import json
import subprocess

import pikepdf
import pytest
from sqlalchemy import select

from models import Minutes, MinutesRevision, db
from tests.test_minutes import _approve, _draft, _items, _start
from tests.test_pdf import PASSWD_MARKERS, all_decoded_bytes, pdffonts, pdftotext, squeezed


@pytest.fixture
def approved(app, client, world, login_as, held_meeting):
    mid = held_meeting()
    login_as("secretary1")
    _approve(app, client, world, mid)
    with app.app_context():
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
        return mid, minutes.archive_no, minutes.current.pdf


def test_approved_pdf_reads_right(app, approved, tmp_path):
    _, archive_no, pdf = approved
    text = squeezed(pdftotext(tmp_path, pdf))
    for expected in (
        archive_no,
        "第四季度共驻共建联席会议",
        "会议纪要",
        "东大街第一小学",  # present
        "市第三人民医院",  # absent with leave
        "请假缺席",
        "通报共建项目",
        "开放学校操场",  # an action
        "资源共享",
        "记录人：刘芳",
        "签发人：secretary1",
        "第1页共",
    ):
        assert expected in text, expected
    assert "草稿" not in text  # no watermark on the approved version


def test_approved_pdf_fonts_and_structure(app, approved, tmp_path):
    _, _, pdf = approved
    fonts = pdffonts(tmp_path, pdf)
    assert {f["name"].split("+")[-1] for f in fonts} <= {"GongjianSans", "GongjianSans-Bold"}
    assert all(f["emb"] == "yes" and f["sub"] == "yes" for f in fonts)
    path = tmp_path / "check.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_approved_pdf_is_pdfa_with_ics_and_json(app, approved, tmp_path):
    mid, archive_no, pdf = approved
    with pikepdf.Pdf.open(io.BytesIO(pdf)) as doc:
        meta = doc.open_metadata()
        assert meta.pdfa_status == "3A"
        assert archive_no in str(meta.get("dc:title"))
        assert str(doc.Root.Lang) == "zh-CN"
        files = {name: spec.get_file().read_bytes() for name, spec in doc.attachments.items()}
    assert set(files) == {"meeting.ics", "minutes.json"}
    assert b"BEGIN:VCALENDAR" in files["meeting.ics"]
    data = json.loads(files["minutes.json"])
    assert data["archive_no"] == archive_no and data["actions"][0]["title"] == "开放学校操场"


def test_draft_pdf_has_watermark_and_no_archive_number(app, client, world, login_as, held_meeting, tmp_path):
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    _draft(app, client, world, mid)
    resp = client.get(f"/meetings/{mid}/minutes.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = squeezed(pdftotext(tmp_path, resp.data))
    assert "草稿" in text and "联席〔" not in text


def test_hostile_minutes_fetch_and_embed_nothing(app, client, world, login_as, held_meeting, tmp_path):
    mid = held_meeting()
    login_as("secretary1")
    _start(client, mid)
    hostile = (
        '<link rel="attachment" href="file:///etc/passwd"><img src="file:///etc/passwd">'
        '<a rel="attachment" href="file:///etc/passwd">附件</a><img src="http://127.0.0.1:9/x.png">'
        "<style>@import url(http://127.0.0.1:9/x.css);</style><p>正文 file:///etc/passwd</p>"
    )
    _draft(app, client, world, mid, summary=hostile, **{f"disc-{_items(app, mid)[0]}": hostile})
    with app.app_context():
        rev = db.session.scalar(select(MinutesRevision))
        assert "<link" not in rev.summary and "<img" not in rev.summary and "<style" not in rev.summary
    client.post(f"/meetings/{mid}/minutes/submit", data={})
    client.post(f"/meetings/{mid}/minutes/approve", data={"unconfirmed_ok": "y"})
    with app.app_context():
        pdf = db.session.scalar(select(MinutesRevision.pdf))
    everything = all_decoded_bytes(pdf)
    assert not any(marker in everything for marker in PASSWD_MARKERS)
    with pikepdf.Pdf.open(io.BytesIO(pdf)) as doc:
        assert set(doc.attachments) == {"meeting.ics", "minutes.json"}
