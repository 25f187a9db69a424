"""A refused upload leaves no file on disk; a kept one is readable by the app's user only."""

from __future__ import annotations

import io
import stat
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import (
    Action,
    ActionProgress,
    ActionStatus,
    Attachment,
    Meeting,
    MeetingStatus,
    NeedUpdate,
    UnitImport,
    User,
    db,
)
from services import actions as action_svc
from tests.conftest import count
from tests.test_needs import PNG, claim_and_confirm, new_need

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _files(app) -> list[str]:
    """Every file under the instance folder (uploads included), relative to it."""
    root = Path(app.instance_path)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _uploads(app) -> list[Path]:
    folder = Path(app.instance_path) / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def action_id(app, world, make_meeting) -> int:
    meeting_id = make_meeting(days=-3, status=MeetingStatus.HELD)
    with app.app_context():
        m = db.session.get(Meeting, meeting_id)
        action = Action(
            meeting_id=m.id,
            street_id=m.street_id,
            community_id=m.community_id,
            title="开放学校操场",
            lead_unit_id=world.unit_a,
            due_on=date.today() + timedelta(days=10),
            status=ActionStatus.OPEN,
        )
        db.session.add(action)
        db.session.commit()
        return action.id


def _progress(client, action_id, **data):
    form = {"on": date.today().isoformat(), "text": "已与学校对接开放时间。"}
    form.update(data)
    return client.post(f"/actions/{action_id}/progress", data=form, content_type="multipart/form-data")


# --- action progress ----------------------------------------------------------------------


def test_progress_refused_after_the_upload_was_checked_leaves_no_file(
    app, client, world, login_as, action_id
):
    login_as("liaison_a")
    before = _files(app)
    # The attachment is fine; the date is not (checked by the service after the file).
    future = (date.today() + timedelta(days=2)).isoformat()
    resp = _progress(client, action_id, on=future, attachment=(io.BytesIO(PDF), "进展.pdf"))
    assert resp.status_code == 400 and "进展日期不能晚于今天" in resp.get_data(as_text=True)
    assert _files(app) == before
    with app.app_context():
        assert count(Attachment) == 0 and count(ActionProgress) == 0


def test_progress_on_a_done_action_leaves_no_file(app, client, world, login_as, action_id):
    with app.app_context():
        db.session.get(Action, action_id).status = ActionStatus.DONE
        db.session.commit()
    login_as("liaison_a")
    before = _files(app)
    resp = _progress(client, action_id, attachment=(io.BytesIO(PNG), "照片.png"))
    assert resp.status_code == 400 and "事项已完成" in resp.get_data(as_text=True)
    assert _files(app) == before


def test_progress_with_a_refused_file_leaves_no_file(app, client, world, login_as, action_id):
    login_as("liaison_a")
    before = _files(app)
    resp = _progress(client, action_id, attachment=(io.BytesIO(b"MZ\x90\x00 not a pdf"), "进展.pdf"))
    assert resp.status_code == 400 and "文件内容与扩展名不符" in resp.get_data(as_text=True)
    assert _files(app) == before


def test_a_failing_commit_takes_its_file_with_it(app, client, world, login_as, action_id, monkeypatch):
    """An unexpected error after the upload was accepted: 500 page, rollback, no file."""

    def broken(*args, **kwargs):
        raise RuntimeError("disk or database trouble")

    monkeypatch.setattr(action_svc, "post_progress", broken)
    login_as("liaison_a")
    before = _files(app)
    resp = _progress(client, action_id, attachment=(io.BytesIO(PDF), "进展.pdf"))
    assert resp.status_code == 500
    assert _files(app) == before


def test_kept_upload_is_written_on_commit_owner_only(app, client, world, login_as, action_id):
    login_as("liaison_a")
    assert _progress(client, action_id, attachment=(io.BytesIO(PDF), "进展.pdf")).status_code == 302
    [path] = _uploads(app)
    assert path.read_bytes() == PDF
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_rollback_in_a_service_caller_discards_staged_files(app, world):
    with app.app_context():
        user = db.session.get(User, world.liaison_a)
        action_svc.store_attachment("a.pdf", PDF, user)
        db.session.flush()
        db.session.rollback()
        db.session.commit()  # a later commit must not write what was rolled back
        assert _uploads(app) == []
        kept = action_svc.store_attachment("b.pdf", PDF, user)
        assert _uploads(app) == []  # nothing on disk before the commit
        db.session.commit()
        assert [p.name for p in _uploads(app)] == [kept.storage_name]
        # The commit writes the file, then fails in the database: the file goes again.
        action_svc.store_attachment("c.pdf", PDF, user)
        db.session.add(User(username="x", display_name=None, role=user.role, password_hash="x"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert [p.name for p in _uploads(app)] == [kept.storage_name]


# --- need photos ----------------------------------------------------------------------------


@pytest.fixture
def confirmed_need(app, client, world, login_as) -> int:
    need_id = new_need(app, world)
    claim_and_confirm(client, login_as, world, need_id)
    login_as(world.liaison_a)
    return need_id


@pytest.mark.parametrize(
    ("photos", "text", "message"),
    [
        # The first photo is fine, the second is not an image.
        ([(PNG, "配件.png"), (PDF, "发票.png")], "已购买配件", "文件内容与扩展名不符"),
        # The photo is fine, the report has no text (checked by the service after the photos).
        ([(PNG, "配件.png")], " ", "请填写进展情况"),
    ],
)
def test_refused_progress_with_photos_leaves_no_file(app, client, confirmed_need, photos, text, message):
    before = _files(app)
    resp = client.post(
        f"/needs/{confirmed_need}/progress",
        data={
            "progress-on": date.today().isoformat(),
            "progress-text": text,
            "progress-photos": [(io.BytesIO(data), name) for data, name in photos],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert _files(app) == before
    with app.app_context():
        assert count(Attachment) == 0 and count(NeedUpdate, NeedUpdate.text == text.strip()) == 0


def test_refused_fulfilment_with_photos_leaves_no_file(app, client, confirmed_need):
    before = _files(app)
    resp = client.post(
        f"/needs/{confirmed_need}/fulfil",
        data={
            "fulfil-on": (date.today() + timedelta(days=3)).isoformat(),
            "fulfil-note": "完成",
            "fulfil-photos": [(io.BytesIO(PNG), "完成.png")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400 and "日期不能晚于今天" in resp.get_data(as_text=True)
    assert _files(app) == before


# --- register import ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"PK\x03\x04 not really a workbook", "名册.xlsx", "无法读取这个 Excel 文件"),
        ("名称,地址\r\n一小,东大街\r\n".encode(), "名册.csv", "表头缺少"),
        (b"\xff\xfe\x00\xd8 not text", "名册.csv", "无法识别文件编码"),
    ],
)
def test_refused_import_leaves_no_file_and_stages_nothing(
    app, client, world, login_as, content, filename, message
):
    login_as("secretary1")
    before = _files(app)
    resp = client.post(
        "/units/import",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200 and message in resp.get_data(as_text=True)
    assert _files(app) == before
    with app.app_context():
        assert db.session.scalars(select(UnitImport)).first() is None
