"""Yearly transfer packages of filed minutes, per 全宗: gather what exports/package.py writes."""

from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from exports.minutes import StoredContentError, stored_attachments
from exports.package import Package, PackageItem, build
from models import Meeting, Minutes, Street, db
from models.base import RuleError
from services import archive


class PackageError(RuleError):
    """No package can be made; the message says why."""


def _pages(pdf: bytes) -> int:
    import pikepdf  # only packages count pages: keep it out of the web workers' start-up

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return len(doc.pages)


def filed_items(street: Street, year: int) -> list[Minutes]:
    return list(
        db.session.scalars(
            select(Minutes)
            .join(Meeting, Meeting.id == Minutes.meeting_id)
            .where(
                Meeting.street_id == street.id,
                Minutes.filing_year == year,
                Minutes.file_no.is_not(None),
            )
            .options(
                joinedload(Minutes.meeting).options(
                    joinedload(Meeting.community),
                    joinedload(Meeting.street),
                    joinedload(Meeting.district),
                    joinedload(Meeting.city),
                    joinedload(Meeting.area),
                ),
                selectinload(Minutes.revisions),
            )
            .order_by(Minutes.retention, Minutes.item_no)
        )
    )


def package_for(street: Street, year: int) -> tuple[Package, bytes]:
    """The street's 全宗 package for a year, and its bytes."""
    if not street.fonds_code:
        raise PackageError(f"{street.name}尚未设置全宗号。")
    minutes_list = filed_items(street, year)
    if not minutes_list:
        raise PackageError(f"{street.name} {year} 年没有已归档的会议纪要。")
    items = []
    for minutes in minutes_list:
        revision = minutes.approved
        _, pdf = archive.download(revision)
        try:
            attachments = stored_attachments(pdf)
        except StoredContentError:
            attachments = {}
        items.append(
            PackageItem(
                file_no=minutes.file_no,
                fonds_code=minutes.fonds_code,
                fonds_name=street.name,
                year=minutes.filing_year,
                retention_label=minutes.retention.label,
                organ=minutes.organ,
                item_no=minutes.item_no,
                archive_no=minutes.archive_no,
                title=minutes.title,
                responsible=minutes.meeting.host_name,
                date=revision.approved_at,
                pages=_pages(pdf),
                pdf=pdf,
                attachments={k: v for k, v in attachments.items() if k != "provenance.json"},
                ofd=archive.download_ofd(revision),
            )
        )
    package = Package(
        fonds_code=street.fonds_code,
        fonds_name=street.name,
        year=year,
        items=items,
        made_by=f"共建联席会议系统 {archive.gongjian_version()}",
        made_at=max(m.filed_at for m in minutes_list),
    )
    return package, build(package)
