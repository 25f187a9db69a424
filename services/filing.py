"""Filing approved minutes (归档, DA/T 22-2015): their description, 件号 and 档号, the 归档章.

At the first approval the minutes get a 年度 (the approval's, Beijing time) and a 保管期限 by
meeting kind. Until they are filed the archivist may change the 保管期限 (with a reason,
audited) and the 机构（问题）. Filing takes the street's 全宗号 and the next 件号 of that
全宗, 年度 and 保管期限 — gap-free under concurrent filing, through the same locked counter as
the archive numbers — composes the 档号 by ARCHIVE_FILE_NO_PATTERN, and stamps the archival
PDF: a new rendition of the approved revision with the 归档章 on page 1 (the approved original
stays as it was signed). The database refuses to change a filed description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import joinedload

from common.search import escape_like
from models import (
    Meeting,
    Minutes,
    MinutesRendition,
    MinutesRevision,
    MinutesStatus,
    Retention,
    Street,
    User,
    db,
)
from models.base import RuleError, utcnow
from services import archive, audit
from services.minutes import next_archive_number
from services.scope import scoped

DEFAULT_PATTERN = "{fonds}-{year}-{retention}-{item:04d}"
FONDS_PATTERN = re.compile(r"^[A-Z0-9]{1,10}$")
ORGAN_MAX = 40


class FilingError(RuleError):
    """Filing refused; the message says why."""


def check_fonds_code(code: str) -> str:
    code = (code or "").strip().upper()
    if code and not FONDS_PATTERN.match(code):
        raise FilingError("全宗号只能由字母和数字组成，最多 10 位，例如 J001。")
    return code


def set_fonds_code(street: Street, code: str) -> None:
    street.fonds_code = check_fonds_code(code)


def change_description(minutes: Minutes, retention: Retention, organ: str, reason: str, by: User) -> None:
    """The archivist's change of 保管期限 (with a reason) and 机构（问题）, before filing."""
    if minutes.filed:
        raise FilingError("已归档的件不能再改保管期限和机构（问题）：件号按全宗、年度和保管期限连续编排。")
    if minutes.filing_year is None:
        raise FilingError("纪要签发后才能著录。")
    organ = (organ or "").strip()
    if len(organ) > ORGAN_MAX:
        raise FilingError(f"机构（问题）不能超过 {ORGAN_MAX} 个字。")
    reason = (reason or "").strip()
    old = minutes.retention
    if retention != old:
        if not reason:
            raise FilingError("改变保管期限须写明理由。")
        audit.record(
            "retention_changed",
            minutes,
            summary=f"{minutes.archive_no} 保管期限由{old.label if old else '未定'}改为{retention.label}：{reason}",
            actor=by,
        )
    minutes.retention = retention
    minutes.organ = organ


def format_file_no(minutes: Minutes, fonds: str, item: int) -> str:
    pattern = current_app.config.get("ARCHIVE_FILE_NO_PATTERN") or DEFAULT_PATTERN
    return pattern.format(
        fonds=fonds,
        category="WS",
        year=minutes.filing_year,
        retention=minutes.retention.value,
        organ=minutes.organ,
        item=item,
    )


def file_item(minutes: Minutes, by: User) -> MinutesRendition:
    """归档: 全宗号, the next 件号, the 档号, and the stamped archival PDF. Never commits."""
    revision = minutes.approved
    if revision is None:
        raise FilingError("只有已签发的纪要可以归档。")
    if minutes.filed:
        raise FilingError(f"该纪要已归档，档号 {minutes.file_no}。")
    street = minutes.meeting.street
    if not street.fonds_code:
        raise FilingError(f"{street.name}尚未设置全宗号，请系统管理员在“地点管理”中设置后再归档。")
    if minutes.retention is None or minutes.filing_year is None:
        raise FilingError("请先著录年度和保管期限。")
    files = archive.renditions(revision)
    newest = files[-1]
    data = archive.rendition_bytes(revision, newest.number)
    if not archive.intact(data, newest):
        raise FilingError(f"第 {newest.number} 份存档文件缺失或校验不符，不能归档；请先运行 verify-archive。")
    fonds = street.fonds_code
    item = next_archive_number(f"item:{fonds}:{minutes.retention.value}", minutes.filing_year)
    minutes.fonds_code = fonds
    minutes.item_no = item
    minutes.file_no = format_file_no(minutes, fonds, item)
    minutes.filed_at = utcnow()
    minutes.filed_by_id = by.id
    return archive.add_rendition(
        revision, newest, data, f"归档：加盖归档章（档号 {minutes.file_no}）", by.username
    )


# --- the register -----------------------------------------------------------------------------


@dataclass
class RegisterFilters:
    q: str = ""
    year: int | None = None
    street_id: int | None = None
    community_id: int | None = None
    retention: Retention | None = None
    state: str = ""  # "filed", "unfiled" or "" (both)


def register_query(user: User, f: RegisterFilters) -> Select[tuple[Minutes]]:
    """Approved minutes of the streets the user sees, newest year and item first."""
    stmt = (
        select(Minutes)
        .join(Meeting, Meeting.id == Minutes.meeting_id)
        .where(Minutes.archive_no.is_not(None), scoped(Meeting.street_id, user))
        .options(
            joinedload(Minutes.meeting).options(
                joinedload(Meeting.community),
                joinedload(Meeting.street),
                joinedload(Meeting.district),
                joinedload(Meeting.city),
                joinedload(Meeting.area),
            )
        )
        .order_by(
            Minutes.filing_year.desc(),
            Minutes.file_no.is_(None).desc(),
            Minutes.retention,
            Minutes.item_no.desc(),
            Minutes.archive_year.desc(),
            Minutes.archive_seq.desc(),
            Minutes.id.desc(),
        )
    )
    q = f.q.strip()
    if q:
        pattern = f"%{escape_like(q)}%"
        stmt = stmt.where(
            or_(
                Meeting.title.ilike(pattern, escape="\\"),
                Minutes.archive_no.ilike(pattern, escape="\\"),
                Minutes.file_no.ilike(pattern, escape="\\"),
                Minutes.organ.ilike(pattern, escape="\\"),
            )
        )
    if f.year:
        stmt = stmt.where(Minutes.filing_year == f.year)
    if f.street_id:
        stmt = stmt.where(Meeting.street_id == f.street_id)
    if f.community_id:
        stmt = stmt.where(Meeting.community_id == f.community_id)
    if f.retention:
        stmt = stmt.where(Minutes.retention == f.retention)
    if f.state == "filed":
        stmt = stmt.where(Minutes.file_no.is_not(None))
    elif f.state == "unfiled":
        stmt = stmt.where(Minutes.file_no.is_(None))
    return stmt


@dataclass
class ItemFiles:
    """What the register shows of an item's revisions and files."""

    revisions: int = 0
    renditions: int = 0
    sha256: str = ""
    sm3: str = ""


def item_files(minutes_ids: list[int]) -> dict[int, ItemFiles]:
    """Revisions, archival files and the approved revision's digests per item (two statements)."""
    out = {mid: ItemFiles() for mid in minutes_ids}
    if not minutes_ids:
        return out
    rows = db.session.execute(
        select(
            MinutesRevision.minutes_id,
            MinutesRevision.id,
            MinutesRevision.status,
            MinutesRevision.pdf_sha256,
            MinutesRevision.pdf_sm3,
        )
        .where(MinutesRevision.minutes_id.in_(minutes_ids))
        .order_by(MinutesRevision.minutes_id, MinutesRevision.number)
    ).all()
    approved_ids = []
    for mid, rid, status, sha256, sm3 in rows:
        files = out[mid]
        files.revisions += 1
        if status == MinutesStatus.APPROVED:
            files.renditions += 1
            files.sha256, files.sm3 = sha256, sm3
            approved_ids.append(rid)
    by_revision = dict(
        db.session.execute(
            select(MinutesRevision.minutes_id, func.count(MinutesRendition.id))
            .join(MinutesRendition, MinutesRendition.revision_id == MinutesRevision.id)
            .where(MinutesRevision.id.in_(approved_ids or [0]))
            .group_by(MinutesRevision.minutes_id)
        ).all()
    )
    for mid, extra in by_revision.items():
        out[mid].renditions += extra
    return out


def appraisal_query(user: User, year: int) -> Select[tuple[Minutes]]:
    """Filed items whose 保管期限 has run out by the end of `year` (年度 + 10 or 30), for 鉴定."""
    ends = case(
        (Minutes.retention == Retention.D10, Minutes.filing_year + 10),
        (Minutes.retention == Retention.D30, Minutes.filing_year + 30),
        else_=None,
    )
    return (
        register_query(user, RegisterFilters())
        .where(Minutes.retention != Retention.PERMANENT, ends <= year)
        .order_by(None)
        .order_by(ends, Minutes.file_no)
    )
