"""Archival renditions of approved minutes (flask migrate-archive), verify-archive's findings,
and the database guards on renditions and archive numbers."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tomllib
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from exports import fonts
from exports.pdfcheck import font_problems
from models import AuditEvent, Meeting, Minutes, MinutesRendition, MinutesRevision, Room, db
from services import archive
from tests.conftest import count
from tests.pdffixtures import build_faces, use_font_dir
from tests.pdfreaders import read_everywhere, squeeze
from tests.test_minutes import _approve

pytestmark = pytest.mark.usefixtures("current_fonts")


@pytest.fixture(scope="module")
def current_fonts():
    """The app's own faces, of the current build (setup builds them; build if it has not)."""
    fonts.build_fonts()
    assert fonts.fonts_ready()


@pytest.fixture
def approve_with_first_build(app, client, world, login_as, held_meeting, tmp_path, monkeypatch):
    """approve_with_first_build() -> meeting id: minutes approved while the faces were the
    faulty first build (subset keeping Noto's CIDs), as on machines before the fix."""

    def _make() -> int:
        mid = held_meeting()
        login_as("secretary1")
        with use_font_dir(monkeypatch, build_faces(tmp_path / "first-build", faulty=True)):
            _approve(app, client, world, mid)
        return mid

    return _make


def _revision(mid: int) -> MinutesRevision:
    minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
    return minutes.revisions[0]


def _original(mid: int) -> bytes:
    return db.session.scalar(select(MinutesRevision.pdf).where(MinutesRevision.id == _revision(mid).id))


def _renditions(mid: int) -> list[MinutesRendition]:
    return db.session.scalars(
        select(MinutesRendition).where(MinutesRendition.revision_id == _revision(mid).id).order_by("number")
    ).all()


def _tamper(table: str, sql: str, **params) -> None:
    """Change an archived row as someone with database access could: around the guards."""
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        triggers = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table}
        ).all()
        for name, _ in triggers:
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        conn.execute(text(sql), params)
        for _, create in triggers:
            conn.execute(text(create))
    else:
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    db.session.commit()


def test_migrate_archive_renders_minutes_of_the_first_font_build_again(
    app, client, runner, login_as, approve_with_first_build, tmp_path
):
    mid = approve_with_first_build()
    with app.app_context():
        original = _original(mid)
        revision = _revision(mid)
        stored = (revision.pdf_sha256, revision.pdf_sm3, revision.minutes.archive_no)
        assert any("6.2.11.4-2" in p for p in font_problems(original))
        # The live meeting changes after approval: the rendition must not take it up.
        meeting = db.session.get(Meeting, mid)
        meeting.title = "改过的会议名称"
        db.session.add(room := Room(community_id=meeting.community_id, name="后来的会议室", capacity=9))
        meeting.room = room
        db.session.commit()

    result = runner.invoke(args=["migrate-archive"])
    assert result.exit_code == 0, result.output
    assert "已生成" in result.output and "第 2 份存档文件" in result.output
    assert "新生成 1 份存档文件" in result.output

    with app.app_context():
        assert _original(mid) == original  # the original bytes never change
        revision = _revision(mid)
        assert (revision.pdf_sha256, revision.pdf_sm3, revision.minutes.archive_no) == stored
        (rendition,) = _renditions(mid)
        pdf = rendition.pdf
        assert rendition.number == 2 and rendition.source_number == 1
        assert rendition.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
        assert rendition.pdf_sm3 == hashlib.new("sm3", pdf).hexdigest()
        assert "CID" in rendition.reason and rendition.findings
        assert rendition.made_by == "flask migrate-archive" and rendition.created_at is not None
        assert set(rendition.software) == {"gongjian", "weasyprint", "pydyf", "fonttools", "pikepdf", "font"}
        assert rendition.software["weasyprint"] == "70.0"
        assert f"GongjianSans 第 {fonts.FONT_BUILD} 版" in rendition.software["font"]
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.object_type == "minutes_rendition", AuditEvent.action == "create"
            )
        )
        assert event.actor_name == "命令行" and event.changes["number"] == 2

    # The new rendition draws everywhere, says the same as the original, and is PDF/A-3a
    # with the original's .ics and JSON byte for byte plus its provenance.
    assert font_problems(pdf) == []
    readings = read_everywhere(pdf, tmp_path / "rendition")
    assert readings.problems() == []
    text_ = squeeze(readings.gs_text)
    for expected in (
        stored[2],
        "第四季度共驻共建联席会议",
        "青年路社区共驻共建会议室",
        "东大街第一小学",
        "开放学校操场",
    ):
        assert expected in text_, expected
    assert "改过的会议名称" not in text_ and "后来的会议室" not in text_
    assert "第四季度共驻共建联席会议" in squeeze(readings.poppler_text)
    assert "第2份存档文件" in text_ and stored[0] in text_
    with pikepdf.open(io.BytesIO(pdf)) as doc, pikepdf.open(io.BytesIO(original)) as old:
        assert doc.open_metadata().pdfa_status == "3A"
        files = {name: spec.get_file().read_bytes() for name, spec in doc.attachments.items()}
        old_files = {name: spec.get_file().read_bytes() for name, spec in old.attachments.items()}
    assert files["meeting.ics"] == old_files["meeting.ics"]
    assert files["minutes.json"] == old_files["minutes.json"]
    provenance = json.loads(files["provenance.json"])
    assert provenance["source"] == {"number": 1, "sha256": stored[0], "sm3": stored[1]}
    assert provenance["software"]["pikepdf"] == pikepdf.__version__
    (tmp_path / "rendition.pdf").write_bytes(pdf)
    qpdf = subprocess.run(
        ["qpdf", "--check", str(tmp_path / "rendition.pdf")], capture_output=True, text=True
    )
    assert qpdf.returncode == 0, qpdf.stdout + qpdf.stderr

    # Downloads give the new rendition; the original stays downloadable.
    login_as("secretary1")
    assert client.get(f"/meetings/{mid}/minutes.pdf").data == pdf
    assert client.get(f"/meetings/{mid}/minutes/revisions/1.pdf").data == pdf
    assert client.get(f"/meetings/{mid}/minutes/revisions/1/renditions/1.pdf").data == original
    assert client.get(f"/meetings/{mid}/minutes/revisions/1/renditions/2.pdf").data == pdf
    assert client.get(f"/meetings/{mid}/minutes/revisions/1/renditions/3.pdf").status_code == 404
    login_as("liaison_a")  # an invited unit reads the approved minutes and both files
    assert client.get(f"/meetings/{mid}/minutes.pdf").data == pdf
    assert client.get(f"/meetings/{mid}/minutes/revisions/1/renditions/1.pdf").data == original

    # The revision page lists both, with digests and provenance.
    page = client.get(f"/meetings/{mid}/minutes/revisions/1").get_data(as_text=True)
    for expected in (
        "第 1 份（签发原件）",
        "第 2 份（重新生成）",
        stored[0],
        stored[1],
        rendition.pdf_sha256,
        rendition.pdf_sm3,
        "据第 1 份存档文件所存的纪要内容重新生成",
        "WeasyPrint 70.0",
        "flask migrate-archive",
        "下载时提供",
    ):
        assert expected in page, expected
    assert page.index("下载时提供") > page.index("第 2 份（重新生成）")

    # verify-archive checks both PDFs and the OFD made at approval; a second run makes nothing new.
    result = runner.invoke(args=["verify-archive"])
    assert result.exit_code == 0 and "1 份签发纪要的 3 份存档文件，0 份有问题" in result.output
    result = runner.invoke(args=["migrate-archive"])
    assert result.exit_code == 0 and "新生成 0 份存档文件" in result.output, result.output
    with app.app_context():
        assert count(MinutesRendition) == 1


def test_minutes_approved_with_the_current_fonts_need_no_migration(
    app,
    client,
    runner,
    world,
    login_as,
    held_meeting,
):
    mid = held_meeting()
    login_as("secretary1")
    _approve(app, client, world, mid)
    result = runner.invoke(args=["migrate-archive"])
    assert result.exit_code == 0 and "已检查 1 份签发纪要，新生成 0 份存档文件，0 份未能迁移" in result.output
    with app.app_context():
        assert count(MinutesRendition) == 0
        original = _original(mid)
    page = client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    assert "第 1 份（签发原件）" in page and "第 2 份" not in page
    assert client.get(f"/meetings/{mid}/minutes.pdf").data == original


def test_migration_refuses_a_tampered_source_and_a_build_still_faulty(
    app, runner, approve_with_first_build, tmp_path, monkeypatch
):
    approve_with_first_build()
    # With the faulty faces still in place the new file would fail too: nothing is stored.
    with use_font_dir(monkeypatch, build_faces(tmp_path / "still-faulty", faulty=True)):
        result = runner.invoke(args=["migrate-archive"])
    assert (
        result.exit_code == 1 and "仍未通过字体检查" in result.output and "scripts/setup.sh" in result.output
    )
    with app.app_context():
        assert count(MinutesRendition) == 0
        _tamper("minutes_revision", "UPDATE minutes_revision SET pdf_sm3 = :v", v="0" * 64)
    result = runner.invoke(args=["migrate-archive"])
    assert result.exit_code == 1 and "校验不符，不能据以重新生成" in result.output
    with app.app_context():
        assert count(MinutesRendition) == 0


def test_verify_archive_names_the_failing_digest_and_the_file(app, runner, approve_with_first_build):
    mid = approve_with_first_build()
    assert runner.invoke(args=["migrate-archive"]).exit_code == 0
    with app.app_context():
        archive_no = _revision(mid).minutes.archive_no
        _tamper("minutes_revision", "UPDATE minutes_revision SET pdf_sm3 = :v", v="0" * 64)
    result = runner.invoke(args=["verify-archive"])
    where = f"{archive_no}（会议 #{mid}“第四季度共驻共建联席会议”）第 1 版"
    assert result.exit_code == 1
    assert f"校验不符：{where} 第 1 份（签发原件）存档文件，SM3 不符" in result.output, result.output
    assert "SHA-256 记录" not in result.output and "SM3 记录 " + "0" * 64 in result.output
    assert "3 份存档文件，1 份有问题" in result.output  # two PDFs and the OFD made at approval

    with app.app_context():
        _tamper("minutes_rendition", "UPDATE minutes_rendition SET pdf = :b", b=b"%PDF-1.7 altered")
    result = runner.invoke(args=["verify-archive"])
    assert f"校验不符：{where} 第 2 份（重新生成）存档文件，SHA-256 和 SM3 不符" in result.output, (
        result.output
    )
    assert "3 份存档文件，2 份有问题" in result.output

    with app.app_context():
        _tamper(
            "minutes_revision",
            "UPDATE minutes_revision SET pdf_sm3 = pdf_sha256, pdf_sha256 = :v",
            v="1" * 64,
        )
    result = runner.invoke(args=["verify-archive"])
    assert f"{where} 第 1 份（签发原件）存档文件，SHA-256 和 SM3 不符" in result.output, result.output


def test_downloads_skip_a_rendition_whose_digests_fail(
    app, client, runner, login_as, approve_with_first_build
):
    mid = approve_with_first_build()
    assert runner.invoke(args=["migrate-archive"]).exit_code == 0
    with app.app_context():
        original = _original(mid)
        _tamper("minutes_rendition", "UPDATE minutes_rendition SET pdf = :b", b=b"%PDF-1.7 altered")
    login_as("secretary1")
    assert client.get(f"/meetings/{mid}/minutes.pdf").data == original
    page = client.get(f"/meetings/{mid}/minutes").get_data(as_text=True)
    assert page.index("下载时提供") < page.index("第 2 份（重新生成）")


def test_renditions_cannot_be_changed_or_deleted(app, runner, approve_with_first_build):
    mid = approve_with_first_build()
    assert runner.invoke(args=["migrate-archive"]).exit_code == 0
    with app.app_context():
        rendition_id = _renditions(mid)[0].id
        for sql in (
            "UPDATE minutes_rendition SET pdf = :b WHERE id = :id",
            "UPDATE minutes_rendition SET reason = 'x' WHERE id = :id",
            "DELETE FROM minutes_rendition WHERE id = :id",
        ):
            with pytest.raises((IntegrityError, DBAPIError)):
                db.session.execute(text(sql), {"id": rendition_id, "b": b"%PDF-x"})
                db.session.flush()
            db.session.rollback()
        assert _renditions(mid)[0].pdf_sha256 == hashlib.sha256(_renditions(mid)[0].pdf).hexdigest()


def test_the_archive_number_of_approved_minutes_cannot_be_changed(app, client, world, login_as, held_meeting):
    draft_mid, mid = held_meeting(), held_meeting()
    login_as("secretary1")
    client.post(f"/meetings/{draft_mid}/minutes/start")
    _approve(app, client, world, mid)
    with app.app_context():
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
        before = (minutes.archive_no, minutes.archive_scope, minutes.archive_year, minutes.archive_seq)
        for sql in (
            "UPDATE minutes SET archive_no = '伪造联席〔2026〕99号' WHERE id = :id",
            "UPDATE minutes SET archive_seq = archive_seq + 1 WHERE id = :id",
            "UPDATE minutes SET archive_year = 1999 WHERE id = :id",
            "UPDATE minutes SET archive_scope = 'community:999' WHERE id = :id",
            "UPDATE minutes SET archive_no = NULL WHERE id = :id",
            f"UPDATE minutes SET meeting_id = {draft_mid} WHERE id = :id",
            "DELETE FROM minutes WHERE id = :id",
        ):
            with pytest.raises((IntegrityError, DBAPIError)):
                db.session.execute(text(sql), {"id": minutes.id})
                db.session.flush()
            db.session.rollback()
        db.session.expire_all()
        minutes = db.session.scalar(select(Minutes).where(Minutes.meeting_id == mid))
        assert (
            minutes.archive_no,
            minutes.archive_scope,
            minutes.archive_year,
            minutes.archive_seq,
        ) == before
        # Minutes not yet approved have no number to guard; other columns stay writable.
        draft = db.session.scalar(select(Minutes).where(Minutes.meeting_id == draft_mid))
        db.session.execute(text("UPDATE minutes SET archive_scope = 'x' WHERE id = :id"), {"id": draft.id})
        db.session.execute(
            text("UPDATE minutes SET created_at = created_at WHERE id = :id"), {"id": minutes.id}
        )
        db.session.rollback()


def test_provenance_names_the_app_version_from_pyproject():
    """A rendition's provenance gives Gongjian's own version, read from the project's pyproject.toml."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    version = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    assert archive.gongjian_version().startswith(version)
