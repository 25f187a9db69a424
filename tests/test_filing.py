"""Filing minutes (DA/T 22-2015): description at approval, the archivist's changes, gap-free
件号 under concurrent filing, the 档号, the 归档章 on the stored PDF, the register and appraisal."""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time as time_module
import zipfile
from collections import Counter
from datetime import time

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models import (
    AuditEvent,
    Meeting,
    MeetingKind,
    Minutes,
    MinutesRendition,
    Retention,
    Street,
    User,
    db,
)
from services import archive, filing
from services import minutes as minutes_svc
from tests.conftest import count


def _approved(app, world, held_meeting, n=1, **fields) -> list[int]:
    """Minutes ids of n held meetings of community 1, approved through the service."""
    ids = [held_meeting(title=f"归档测试会议{i}", at=time(8 + i, 0), hours=0.5, **fields) for i in range(n)]
    out = []
    with app.app_context():
        admin = db.session.get(User, world.admin)
        for mid in ids:
            minutes = minutes_svc.start_minutes(db.session.get(Meeting, mid), admin)
            minutes.current.summary = "<p>纪要</p>"
            minutes_svc.submit(minutes.current, admin, None)
            minutes_svc.approve(minutes.current, admin)
            db.session.commit()
            out.append(minutes.id)
    return out


def _fonds(app, world, code="J001"):
    with app.app_context():
        db.session.get(Street, world.street).fonds_code = code
        db.session.commit()


def test_approval_describes_the_item_by_meeting_kind(app, world, held_meeting):
    regular = _approved(app, world, held_meeting, 1)[0]
    with app.app_context():
        m = db.session.get(Minutes, regular)
        assert m.filing_year == m.archive_year and m.retention == Retention.D30 and not m.filed
        meeting = db.session.get(Meeting, m.meeting_id)
        assert minutes_svc.default_retention(meeting) == Retention.D30
        meeting.kind = MeetingKind.SPECIAL
        assert minutes_svc.default_retention(meeting) == Retention.D10
        meeting.community_id = None  # a street's own joint meeting
        assert minutes_svc.default_retention(meeting) == Retention.PERMANENT
        db.session.rollback()


def test_the_archivist_changes_the_retention_with_a_reason(app, client, world, login_as, held_meeting):
    (mid,) = _approved(app, world, held_meeting)
    login_as("archivist")
    resp = client.post(f"/archive/{mid}", data={"retention": "Y", "organ": "党建办", "reason": ""})
    assert resp.status_code == 400 and "改变保管期限须写明理由" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Minutes, mid).retention == Retention.D30
    resp = client.post(
        f"/archive/{mid}", data={"retention": "Y", "organ": "党建办", "reason": "涉及辖区重大共建项目"}
    )
    assert resp.status_code == 302
    with app.app_context():
        m = db.session.get(Minutes, mid)
        assert m.retention == Retention.PERMANENT and m.organ == "党建办"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention_changed"))
        assert "30年改为永久" in event.summary and "涉及辖区重大共建项目" in event.summary
        assert event.actor_id == world.archivist
    page = client.get(f"/archive/{mid}").get_data(as_text=True)
    assert "永久" in page and "默认：30年" in page


def test_filing_needs_the_streets_fonds_code(app, client, world, login_as, held_meeting):
    (mid,) = _approved(app, world, held_meeting)
    login_as("archivist")
    resp = client.post(f"/archive/{mid}/file", follow_redirects=True)
    assert "尚未设置全宗号" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Minutes, mid).file_no is None
        assert count(MinutesRendition) == 0


def test_filing_numbers_stamps_and_freezes(app, client, world, login_as, held_meeting):
    ids = _approved(app, world, held_meeting, 3)
    _fonds(app, world)
    with app.app_context():
        db.session.get(Minutes, ids[2]).retention = Retention.PERMANENT
        db.session.commit()
    login_as("archivist")
    for mid in ids:
        assert client.post(f"/archive/{mid}/file").status_code == 302
    with app.app_context():
        rows = [db.session.get(Minutes, mid) for mid in ids]
        year = rows[0].filing_year
        # Gap-free per 全宗, 年度 and 保管期限: two in 30 年, one in 永久.
        assert [m.file_no for m in rows] == [
            f"J001-{year}-D30-0001",
            f"J001-{year}-D30-0002",
            f"J001-{year}-Y-0001",
        ]
        assert all(m.filed_by_id == world.archivist for m in rows)
        revision = rows[0].approved
        files = archive.renditions(revision)
        assert [f.number for f in files] == [1, 2] and "归档章" in files[1].reason
        number, pdf = archive.download(revision)
        assert number == 2
        # The database refuses to change a filed description.
        with pytest.raises(DBAPIError):
            db.session.execute(text("UPDATE minutes SET item_no = 9 WHERE id = :id"), {"id": ids[0]})
            db.session.flush()
        db.session.rollback()
    path = app.instance_path + "/filed.pdf"
    with open(path, "wb") as fh:
        fh.write(pdf)
    first_page = subprocess.run(
        ["pdftotext", "-layout", "-l", "1", path, "-"], capture_output=True, text=True
    ).stdout
    assert "J001" in first_page and str(year) in first_page and "0001" in first_page and "30年" in first_page
    # MuPDF draws the stamped page too.
    drawn = subprocess.run(["mutool", "draw", "-F", "txt", path, "1"], capture_output=True, text=True)
    assert "J001" in drawn.stdout
    # Filed items cannot be described again or filed twice.
    resp = client.post(
        f"/archive/{ids[0]}", data={"retention": "D10", "organ": "", "reason": "x"}, follow_redirects=True
    )
    assert "已归档的件不能再改" in resp.get_data(as_text=True)
    resp = client.post(f"/archive/{ids[0]}/file", follow_redirects=True)
    assert "该纪要已归档" in resp.get_data(as_text=True)


def test_filing_after_a_rerender_in_the_same_session_takes_the_next_number(app, world, held_meeting):
    """A rendition made earlier in the same session (its revision's list already loaded) is
    counted: filing makes rendition 3, not a second rendition 2."""
    (mid,) = _approved(app, world, held_meeting)
    _fonds(app, world)
    with app.app_context():
        minutes = db.session.get(Minutes, mid)
        revision = minutes.approved
        assert revision.renditions == []  # loaded, and kept by this reference
        newest = archive.renditions(revision)[-1]
        data = archive.rendition_bytes(revision, newest.number)
        archive.add_rendition(revision, newest, data, "字体检查后重新生成", "admin")
        filing.file_item(minutes, db.session.get(User, world.archivist))
        db.session.commit()
        assert [r.number for r in archive.renditions(revision)] == [1, 2, 3]


def test_concurrent_filing_gets_gap_free_item_numbers(app, world, held_meeting):
    ids = _approved(app, world, held_meeting, 4)
    _fonds(app, world)
    errors = []
    barrier = threading.Barrier(len(ids))

    def file_one(mid):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                user = db.session.get(User, world.archivist)
                minutes = db.session.scalar(select(Minutes).where(Minutes.id == mid).with_for_update())
                filing.file_item(minutes, user)
                db.session.commit()
            except Exception as exc:  # collected and asserted below
                errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=file_one, args=(mid,)) for mid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Minutes.item_no).where(Minutes.id.in_(ids))).all())
    assert numbers == [1, 2, 3, 4]


def test_register_filters_exports_and_appraisal(app, client, world, login_as, held_meeting):
    ids = _approved(app, world, held_meeting, 2)
    _fonds(app, world)
    with app.app_context():
        db.session.get(Minutes, ids[1]).retention = Retention.D10
        year = db.session.get(Minutes, ids[0]).filing_year
        db.session.commit()
    login_as("archivist")
    client.post(f"/archive/{ids[1]}/file")
    page = client.get("/archive").get_data(as_text=True)
    assert "归档测试会议0" in page and "归档测试会议1" in page and f"J001-{year}-D10-0001" in page
    unfiled = client.get("/archive?state=unfiled").get_data(as_text=True)
    assert "归档测试会议0" in unfiled and "归档测试会议1" not in unfiled
    by_retention = client.get("/archive?retention=D10").get_data(as_text=True)
    assert "归档测试会议1" in by_retention and "归档测试会议0" not in by_retention
    assert "归档测试会议1" in client.get("/archive?q=D10-0001").get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(client.get("/archive/export.xlsx").data)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["档号", "全宗号", "年度"] and sheet.max_row == 3
    values = {row[7]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert values["归档测试会议1会议纪要"][0] == f"J001-{year}-D10-0001"
    # Appraisal: 10 年 runs out in year + 10; 30 年 items and unfiled ones are not listed.
    assert "归档测试会议1" not in client.get(f"/archive/appraisal?year={year + 9}").get_data(as_text=True)
    due = client.get(f"/archive/appraisal?year={year + 10}").get_data(as_text=True)
    assert "归档测试会议1" in due and "归档测试会议0" not in due
    sheet = load_workbook(io.BytesIO(client.get(f"/archive/appraisal.xlsx?year={year + 10}").data)).active
    assert [c.value for c in sheet[2]][0] == f"J001-{year}-D10-0001"
    # Others may not.
    login_as("secretary1")
    assert client.get("/archive").status_code == 403


def test_verify_archive_records_the_check_on_the_register(app, client, world, login_as, held_meeting, runner):
    (mid,) = _approved(app, world, held_meeting)
    result = runner.invoke(args=["verify-archive"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        m = db.session.get(Minutes, mid)
        assert m.verified_at is not None and m.verified_ok is True
    login_as("archivist")
    assert "完好" in client.get("/archive").get_data(as_text=True)


def test_fonds_code_on_the_street_form(app, client, world, login_as):
    """The system administrator (conftest's admin) sets the street's 全宗号; a malformed one is refused."""
    with app.app_context():
        street = db.session.get(Street, world.street)
        name, short = street.name, street.short_name
    login_as("admin")
    form = {"name": name, "short_name": short, "address": "", "district_id": "0", "fonds_code": "J-01"}
    resp = client.post(f"/places/street/{world.street}/edit", data=form)
    assert resp.status_code == 400 and "全宗号只能由字母和数字组成" in resp.get_data(as_text=True)
    resp = client.post(f"/places/street/{world.street}/edit", data={**form, "fonds_code": "j001"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Street, world.street).fonds_code == "J001"


def _tamper(data: bytes, path: str, new: bytes | None) -> bytes:
    """The package with one entry replaced (or removed, with None), the manifest left as it was."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename == path:
                if new is not None:
                    target.writestr(info, new)
                continue
            target.writestr(info, source.read(info.filename))
    return out.getvalue()


def test_transfer_packages_are_deterministic_complete_and_checked(
    app, client, world, login_as, held_meeting, runner, tmp_path
):
    ids = _approved(app, world, held_meeting, 2)
    _fonds(app, world)
    login_as("archivist")
    for mid in ids:
        client.post(f"/archive/{mid}/file")
    with app.app_context():
        year = db.session.get(Minutes, ids[0]).filing_year
        file_nos = [db.session.get(Minutes, mid).file_no for mid in ids]
    first = runner.invoke(args=["export-archive", "--year", str(year), "--out", str(tmp_path / "a")])
    second = runner.invoke(args=["export-archive", "--year", str(year), "--out", str(tmp_path / "b")])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    name = f"J001-{year}-移交包.zip"
    data = (tmp_path / "a" / name).read_bytes()
    assert data == (tmp_path / "b" / name).read_bytes()  # the same input, the same bytes
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    for file_no in file_nos:
        assert f"{file_no}/{file_no}.pdf" in names and f"{file_no}/{file_no}.xml" in names
        assert f"{file_no}/附件/minutes.json" in names
    assert {"归档文件目录.xlsx", "归档文件目录.pdf", "manifest.json"} <= set(names)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    assert manifest["items"] == 2 and len(manifest["files"]) == len(names) - 1
    xml = zipfile.ZipFile(io.BytesIO(data)).read(f"{file_nos[0]}/{file_nos[0]}.xml").decode()
    assert "<档号>" in xml and "<全宗号>J001</全宗号>" in xml and "<保管期限>30年</保管期限>" in xml
    sheet = load_workbook(io.BytesIO(zipfile.ZipFile(io.BytesIO(data)).read("归档文件目录.xlsx"))).active
    assert [c.value for c in sheet[1]] == [
        "序号",
        "档号",
        "文号",
        "责任者",
        "题名",
        "日期",
        "密级",
        "页数",
        "备注",
    ]
    assert sheet.cell(row=2, column=2).value == file_nos[0]
    # verify-package: intact, then a damaged file, a missing one and an extra one are named.
    ok = runner.invoke(args=["verify-package", str(tmp_path / "a" / name)])
    assert ok.exit_code == 0 and "0 个有问题" in ok.output
    pdf_path = f"{file_nos[0]}/{file_nos[0]}.pdf"
    for damaged, expected in (
        (_tamper(data, pdf_path, b"%PDF-1.7 tampered"), f"{pdf_path}：已损坏"),
        (_tamper(data, f"{file_nos[1]}/{file_nos[1]}.xml", None), f"{file_nos[1]}/{file_nos[1]}.xml：缺失"),
    ):
        bad = tmp_path / "bad.zip"
        bad.write_bytes(damaged)
        result = runner.invoke(args=["verify-package", str(bad)])
        assert result.exit_code == 1 and expected in result.output, result.output
    # The button on the register gives the same package.
    resp = client.get(f"/archive/package.zip?year={year}")
    assert resp.status_code == 200 and resp.data == data


def _ofd_text(data: bytes) -> tuple[int, str, dict]:
    """Pages, text and document info of an OFD as an independent reader (easyofd) sees them."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from easyofd.ofd import OFD

    reader = OFD()
    reader.read(data, fmt="binary")
    pages = reader.data[0]["page_info"]
    text = "".join(t["text"] for n in sorted(pages) for t in pages[n]["text_list"])
    info = zipfile.ZipFile(io.BytesIO(data)).read("OFD.xml").decode()
    return len(pages), text, {"raw": info}


def test_filing_makes_an_ofd_that_reads_like_the_pdf(
    app, client, world, login_as, held_meeting, runner, tmp_path
):
    (mid,) = _approved(app, world, held_meeting)
    _fonds(app, world)
    with app.app_context():
        meeting_id = db.session.get(Minutes, mid).meeting_id
    login_as("archivist")
    # Approval made one beside the PDF/A; it does not carry a 档号 yet.
    before = client.get(f"/meetings/{meeting_id}/minutes.ofd")
    assert before.status_code == 200 and '档号">J001' not in _ofd_text(before.data)[2]["raw"]
    client.post(f"/archive/{mid}/file")
    resp = client.get(f"/meetings/{meeting_id}/minutes.ofd")
    assert resp.status_code == 200 and resp.mimetype == "application/ofd"
    pdf = client.get(f"/meetings/{meeting_id}/minutes.pdf").data
    path = tmp_path / "m.pdf"
    path.write_bytes(pdf)
    pdf_text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    pdf_pages = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(path)], capture_output=True, text=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    pages, text, info = _ofd_text(resp.data)
    assert pages == pdf_pages
    assert Counter(c for c in text if not c.isspace()) == Counter(c for c in pdf_text if not c.isspace())
    with app.app_context():
        file_no = db.session.get(Minutes, mid).file_no
    assert f'<ofd:CustomData Name="档号">{file_no}</ofd:CustomData>' in info["raw"]
    # The Chinese font is embedded (an OpenType subset), not named only.
    names = zipfile.ZipFile(io.BytesIO(resp.data)).namelist()
    assert any(n.startswith("Doc_0/Res/font_") and n.endswith(".otf") for n in names)
    # Listed with its digests, and checked by verify-archive.
    assert "OFD 版式文件" in client.get(f"/archive/{mid}").get_data(as_text=True)
    result = runner.invoke(args=["verify-archive"])
    # Two PDFs (the signed original, the stamped one) and their two OFDs.
    assert result.exit_code == 0 and "4 份存档文件" in result.output, result.output


def test_the_demo_has_a_filed_archive_and_last_years_package(app, seeded_demo, runner, tmp_path):
    with app.app_context():
        items = db.session.scalars(select(Minutes).where(Minutes.archive_no.is_not(None))).all()
        filed = [m for m in items if m.filed]
        assert filed and len(filed) < len(items)  # some are left 待归档
        assert all(m.retention is not None and m.filing_year for m in items)
        last_year = min(m.filing_year for m in filed)
        assert {s.fonds_code for s in db.session.scalars(select(Street))} == {"J001", "J002"}
        for m in filed[:3]:
            files = archive.renditions(m.approved)
            assert files[-1].reason.startswith("归档") and archive.download_ofd(m.approved)
    result = runner.invoke(args=["export-archive", "--year", str(last_year), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = tmp_path / f"J001-{last_year}-移交包.zip"
    checked = runner.invoke(args=["verify-package", str(package)])
    assert checked.exit_code == 0 and "0 个有问题" in checked.output, checked.output


def test_the_same_pdf_gives_the_same_ofd(app, world, held_meeting):
    from exports.ofd import pdf_to_ofd

    (mid,) = _approved(app, world, held_meeting)
    with app.app_context():
        revision = db.session.get(Minutes, mid).approved
        _, pdf = archive.download(revision)
        info, custom = archive.ofd_info(revision.minutes, revision)
        first = pdf_to_ofd(pdf, info, custom)
        time_module.sleep(1.1)  # a timestamp of "now" anywhere would show
        assert pdf_to_ofd(pdf, info, custom) == first
