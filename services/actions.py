"""The action ledger: queries, follow-up, closing, attachments and reminders. Never commits."""

from __future__ import annotations

import hashlib
import os
import secrets
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

import filetype
from flask import current_app
from sqlalchemy import Select, String, and_, bindparam, event, exists, func, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from common.dates import format_date
from common.search import escape_like
from models import (
    Action,
    ActionProgress,
    ActionStatus,
    ActionTag,
    Attachment,
    Community,
    OutboxMessage,
    Principle,
    Role,
    Unit,
    User,
    action_co_unit,
    db,
)
from models.base import RuleError, today, utcnow
from services import notify
from services.scope import scoped

MAX_ATTACHMENT = 10 * 1024 * 1024
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
# Extension -> the family its content must be.
ALLOWED = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "ole",
    "xls": "ole",
    "ppt": "ole",
    "wps": "ole",
    "et": "ole",
    "dps": "ole",
}
OLE_TYPES = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "wps": "application/vnd.ms-works",
    "et": "application/vnd.ms-excel",
    "dps": "application/vnd.ms-powerpoint",
}


class ActionError(RuleError):
    """A rule of the ledger was broken; the message is for the user."""


@dataclass
class LedgerFilters:
    community_id: int | None = None
    unit_id: int | None = None
    status: ActionStatus | None = None
    principle: Principle | None = None
    overdue: bool = False
    due_month: date | None = None  # first day of the month
    q: str = ""


def ledger_query(user: User, f: LedgerFilters) -> Select[tuple[Action]]:
    """Actions matching the ledger filters, soonest due first, with their units, community and tags."""
    return _filtered(select(Action).order_by(*LEDGER_ORDER), user, f).options(
        joinedload(Action.lead_unit),
        joinedload(Action.community),
        selectinload(Action.co_units),
        selectinload(Action.tags),
    )


def ledger_page_query(user: User, f: LedgerFilters, day: date) -> tuple[Select, dict[str, date]]:
    """The ledger page's rows as plain values: id, title, due_on, status, community_name,
    lead_unit_name, the co-units' names and the principles (packed, see ledger_extras) and
    overdue (on `day`), in ledger order; with the values of its bound parameters.

    Fifty Action objects with their lead units and communities took the ORM longer to build
    than the page took to render; the page only prints these values. The co-units and
    principles come in the same statement, as strings aggregated per action.
    """
    return _filtered(_ledger_rows(), user, f), {"day": day}


# Joins the values aggregated into one string; no unit name or principle contains it.
_SEP = "\x1f"


@lru_cache(maxsize=1)
def _ledger_rows() -> Select:
    """The ledger page's columns and joins, built once."""
    lead = aliased(Unit)
    co_units = (
        select(func.aggregate_strings(Unit.name, _SEP))
        .select_from(action_co_unit)
        .join(Unit, Unit.id == action_co_unit.c.unit_id)
        .where(action_co_unit.c.action_id == Action.id)
        .scalar_subquery()
    )
    principles = (
        select(func.aggregate_strings(type_coerce(ActionTag.principle, String), _SEP))
        .where(ActionTag.action_id == Action.id)
        .scalar_subquery()
    )
    return (
        select(
            Action.id,
            Action.title,
            Action.due_on,
            Action.status,
            Community.name.label("community_name"),
            Action.community_id,
            lead.name.label("lead_unit_name"),
            co_units.label("co_unit_names"),
            principles.label("principle_values"),
            and_(Action.status != ActionStatus.DONE, Action.due_on < bindparam("day")).label("overdue"),
        )
        .outerjoin(lead, lead.id == Action.lead_unit_id)
        .outerjoin(Community, Community.id == Action.community_id)
        .order_by(*LEDGER_ORDER)
    )


@dataclass(frozen=True)
class LedgerExtras:
    """What a ledger row shows beyond the action, its lead unit and community, as plain values."""

    co_units: tuple[str, ...] = ()  # the co-units' names, ordered by name
    principles: tuple[Principle, ...] = ()  # in the order 资源共享、优势互补、共建共驻、共同发展


def ledger_extras(rows: Sequence[Any]) -> dict[int, LedgerExtras]:
    """The co-units' names (by name) and the principles (in their order) of the ledger page's
    rows, unpacked from the strings its statement aggregated."""
    order = list(Principle)
    return {
        row.id: LedgerExtras(
            tuple(sorted(row.co_unit_names.split(_SEP))) if row.co_unit_names else (),
            tuple(sorted((Principle(v) for v in row.principle_values.split(_SEP)), key=order.index))
            if row.principle_values
            else (),
        )
        for row in rows
    }


# Open before done, soonest due first. 'done' is written into the SQL rather than bound, so
# that on PostgreSQL the order is that of the index ix_action_ledger in every plan, a prepared
# statement's generic plan included (a bound value is not known when such a plan is made).
LEDGER_ORDER = (
    Action.status
    == bindparam("ledger_done", ActionStatus.DONE, type_=Action.status.type, literal_execute=True),
    Action.due_on,
    Action.id,
)


def _filtered(stmt: Select, user: User, f: LedgerFilters) -> Select:
    """The statement narrowed to what the user sees and the filters ask for."""
    if user.role == Role.LIAISON:
        stmt = stmt.where(involves(user.unit_id or 0))
    else:
        stmt = stmt.where(scoped(Action.street_id, user))
    if f.community_id:
        stmt = stmt.where(Action.community_id == f.community_id)
    if f.unit_id:
        stmt = stmt.where(involves(f.unit_id))
    if f.status:
        stmt = stmt.where(Action.status == f.status)
    if f.principle:
        stmt = stmt.where(
            exists().where(ActionTag.action_id == Action.id, ActionTag.principle == f.principle)
        )
    if f.overdue:
        stmt = stmt.where(Action.status != ActionStatus.DONE, Action.due_on < today())
    if f.due_month:
        nxt = (f.due_month + timedelta(days=32)).replace(day=1)
        stmt = stmt.where(Action.due_on >= f.due_month, Action.due_on < nxt)
    if f.q:
        stmt = stmt.where(Action.title.ilike(f"%{escape_like(f.q)}%", escape="\\"))
    return stmt


def involves(unit_id: int):
    """Actions a unit leads or joins.

    One IN over the ids it leads and the ids it joins, each found by its index. (Written as
    `lead_unit_id = :unit OR id IN (its co-actions)`, PostgreSQL guessed half of all actions
    would match and walked the whole ledger in order for a liaison's few dozen: 100 ms at
    100,000 actions.)
    """
    led = select(Action.id).where(Action.lead_unit_id == unit_id).correlate(None)
    joined = select(action_co_unit.c.action_id).where(action_co_unit.c.unit_id == unit_id).correlate(None)
    return Action.id.in_(led.union_all(joined))


def upload_folder() -> Path:
    """The folder attachments are kept in, created readable by the app's user only."""
    folder = current_app.config.get("UPLOAD_FOLDER") or str(Path(current_app.instance_path) / "uploads")
    path = Path(folder)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


# Uploaded files reach the disk with the commit that records them, and leave it again if
# that transaction is rolled back instead: a refused or failed upload leaves no file behind.
_PENDING = "gongjian.pending_files"  # (path, bytes) waiting for the commit
_WRITTEN = "gongjian.written_files"  # paths written by the commit under way


def _write_on_commit(path: Path, data: bytes) -> None:
    db.session.info.setdefault(_PENDING, []).append((path, data))


@event.listens_for(Session, "before_commit")
def _write_pending_files(session: Session) -> None:
    written = session.info.setdefault(_WRITTEN, [])
    while session.info.get(_PENDING):
        path, data = session.info[_PENDING].pop(0)
        # Owner-only from the start (0600), whatever the process umask; never overwrite.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        written.append(path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)


@event.listens_for(Session, "after_commit")
def _keep_written_files(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def _discard_files(session: Session) -> None:
    session.info.pop(_PENDING, None)
    for path in session.info.pop(_WRITTEN, ()):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_soft_rollback")
def _discard_on_rollback(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        _discard_files(session)


@event.listens_for(Session, "after_transaction_end")
def _discard_unless_committed(session: Session, transaction) -> None:
    if transaction.parent is None:  # the commit kept its files; anything else ends here
        _discard_files(session)


def detect_type(filename: str, data: bytes) -> str:
    """The MIME type of an upload, decided by its content; raises if it is not allowed."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    expected = ALLOWED.get(ext)
    if expected is None:
        raise ActionError(
            "只能上传 PDF、图片（JPG、PNG、GIF、WEBP）或办公文档（Word、Excel、PowerPoint、WPS）。"
        )
    if expected == "ole":
        if data[:8] != OLE_MAGIC:
            raise ActionError("文件内容与扩展名不符，请上传真实的办公文档。")
        return OLE_TYPES[ext]
    kind = filetype.guess(data)
    if kind is None or kind.mime != expected:
        raise ActionError("文件内容与扩展名不符，请上传真实的 PDF、图片或办公文档。")
    if ext in ("docx", "xlsx", "pptx"):
        try:
            with zipfile.ZipFile(BytesIO(data)) as zf:
                if "[Content_Types].xml" not in zf.namelist():
                    raise ActionError("办公文档已损坏。")
        except zipfile.BadZipFile as exc:
            raise ActionError("办公文档已损坏。") from exc
    return expected


def store_attachment(filename: str, data: bytes, by: User) -> Attachment:
    """Keep an upload outside static/ under a random name; the file is written on commit."""
    if not data:
        raise ActionError("上传的文件是空的。")
    if len(data) > MAX_ATTACHMENT:
        raise ActionError("附件不能超过 10 MB。")
    content_type = detect_type(filename, data)
    storage_name = secrets.token_hex(16)
    _write_on_commit(upload_folder() / storage_name, data)
    attachment = Attachment(
        storage_name=storage_name,
        filename=Path(filename).name[:200] or "附件",
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=by.id,
    )
    db.session.add(attachment)
    return attachment


def post_progress(
    action: Action, by: User, on: date, text: str, attachment: Attachment | None
) -> ActionProgress:
    """Record progress on an action; the first report moves it to 推进中."""
    if action.status == ActionStatus.DONE:
        raise ActionError("事项已完成，不能再报送进展。")
    if on > today():
        raise ActionError("进展日期不能晚于今天。")
    entry = ActionProgress(
        on=on,
        text=text.strip(),
        author_id=by.id,
        unit_id=by.unit_id if by.role == Role.LIAISON else None,
        attachment=attachment,
    )
    action.progress.append(entry)
    if action.status == ActionStatus.OPEN:
        action.status = ActionStatus.IN_PROGRESS
    notify.progress_reported(action, entry, by)
    return entry


def close(action: Action, by: User, result: str, on: date) -> None:
    """Close an action as done with its result."""
    if action.status == ActionStatus.DONE:
        raise ActionError("事项已经完成。")
    if not result.strip():
        raise ActionError("请填写完成情况。")
    if on > today():
        raise ActionError("完成日期不能晚于今天。")
    action.status = ActionStatus.DONE
    action.result = result.strip()
    action.done_on = on
    action.done_at = utcnow()
    action.done_by_id = by.id


def due_for_reminder(day: date) -> list[Action]:
    """Open actions due within three days, or overdue, not yet reminded today.

    Locked until the caller commits: `flask remind` run at once on two servers sharing a
    PostgreSQL database waits for the first run, then finds them reminded and mails no one
    twice. (SQLite's write lock already keeps a second run out until the first commits.)
    """
    return list(
        db.session.scalars(
            select(Action)
            .where(
                Action.status != ActionStatus.DONE,
                Action.due_on <= day + timedelta(days=3),
                or_(Action.reminded_on.is_(None), Action.reminded_on < day),
            )
            .options(joinedload(Action.lead_unit), joinedload(Action.meeting))
            .order_by(Action.due_on)
            # NO KEY UPDATE, as the UPDATE of reminded_on takes: progress reports on the
            # actions (rows referring to them) are not held up meanwhile.
            .with_for_update(of=Action, key_share=True)
        )
    )


def queue_reminders(day: date, base_url: str) -> int:
    """Mail each lead unit's liaison about its actions due soon or overdue, through the outbox."""
    by_unit: dict[int, list[Action]] = {}
    for action in due_for_reminder(day):
        by_unit.setdefault(action.lead_unit_id, []).append(action)
    queued = 0
    for actions in by_unit.values():
        unit: Unit = actions[0].lead_unit
        for action in actions:
            action.reminded_on = day
        if not unit.liaison_email.strip():
            continue
        lines = [
            f"{unit.name}：",
            "",
            "贵单位牵头的以下议定事项即将到期或已经逾期，请抓紧落实并在系统中报送进展：",
            "",
        ]
        for a in actions:
            state = "已逾期" if a.due_on < day else f"将于 {format_date(a.due_on)} 到期"
            lines.append(f"· {a.title}（{state}）{base_url.rstrip('/')}/actions/{a.id}")
        lines += ["", "（本邮件由共建联席会议系统发送）"]
        overdue = sum(1 for a in actions if a.due_on < day)
        db.session.add(
            OutboxMessage(
                to_addr=unit.liaison_email.strip(),
                to_name=unit.liaison_name or unit.name,
                subject=f"【议定事项提醒】{len(actions)} 项待落实"
                + (f"，其中 {overdue} 项已逾期" if overdue else ""),
                body_text="\n".join(lines),
            )
        )
        queued += 1
    return queued
