"""Archival renditions of approved minutes: list, migrate, verify, pick the download. Never commits.

An approved revision's own PDF is rendition 1 and never changes (the database refuses).
When the newest rendition fails the font check (exports/pdfcheck.py: the first font build
drew blank or boxed Chinese in MuPDF and Ghostscript), `migrate_revision` renders the
revision again from what was stored at approval and keeps the result beside the original
as the next rendition, with its own SHA-256 and SM3 and a provenance record. Downloads give
the newest rendition whose digests still hold; every rendition stays downloadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Select, select, update
from sqlalchemy.orm import joinedload

from exports import fonts
from exports.minutes import StoredContentError, render_minutes_rendition
from models import Minutes, MinutesError, MinutesOfd, MinutesRendition, MinutesRevision, MinutesStatus, db
from models.base import utcnow
from services.minutes import digests
from services.ofdfiles import gongjian_version, make_ofd, ofd_info  # noqa: F401 (used here and by callers)

MADE_BY = "flask migrate-archive"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Rendition:
    """One archival file of an approved revision, the original (number 1) or a later one."""

    number: int
    sha256: str
    sm3: str
    created_at: datetime | None
    made_by: str
    source_number: int | None = None  # None for the original
    reason: str = ""
    findings: list[str] = field(default_factory=list)
    software: dict[str, str] = field(default_factory=dict)
    kind: str = "pdf"  # or "ofd": the OFD made from PDF rendition `number`

    @property
    def original(self) -> bool:
        return self.number == 1 and self.kind == "pdf"

    @property
    def is_ofd(self) -> bool:
        return self.kind == "ofd"

    @property
    def label(self) -> str:
        if self.kind == "ofd":
            return f"OFD 版式文件（据第 {self.number} 份）"
        return f"第 {self.number} 份" + ("（签发原件）" if self.original else "（重新生成）")


def renditions(revision: MinutesRevision) -> list[Rendition]:
    """The revision's archival files, oldest first (empty unless it is approved)."""
    if revision.status != MinutesStatus.APPROVED:
        return []
    out = [
        Rendition(
            number=1,
            sha256=revision.pdf_sha256,
            sm3=revision.pdf_sm3,
            created_at=revision.approved_at,
            made_by=f"签发：{revision.approved_by_name}",
        )
    ]
    for row in revision.renditions:
        out.append(
            Rendition(
                number=row.number,
                sha256=row.pdf_sha256,
                sm3=row.pdf_sm3,
                created_at=row.created_at,
                made_by=row.made_by,
                source_number=row.source_number,
                reason=row.reason,
                findings=list(row.findings or []),
                software=dict(row.software or {}),
            )
        )
    return out


def rendition_bytes(revision: MinutesRevision, number: int) -> bytes | None:
    """The stored bytes of one rendition (None when there is no such file)."""
    if number == 1:
        return db.session.scalar(select(MinutesRevision.pdf).where(MinutesRevision.id == revision.id))
    return db.session.scalar(
        select(MinutesRendition.pdf).where(
            MinutesRendition.revision_id == revision.id, MinutesRendition.number == number
        )
    )


def intact(data: bytes | None, rendition: Rendition) -> bool:
    return bool(data) and digests(data) == (rendition.sha256, rendition.sm3)


def download(revision: MinutesRevision) -> tuple[int, bytes | None]:
    """The rendition downloads give: the newest whose digests hold (else the original as stored)."""
    files = renditions(revision)
    for rendition in reversed(files):
        data = rendition_bytes(revision, rendition.number)
        if intact(data, rendition):
            return rendition.number, data
    return 1, rendition_bytes(revision, 1)


# --- provenance ---------------------------------------------------------------------------


def software_versions() -> dict[str, str]:
    """What a rendition made now is made with."""
    # Only flask migrate-archive asks: pikepdf (qpdf) stays out of the web workers.
    import fontTools
    import pikepdf
    import pydyf
    import weasyprint

    return {
        "gongjian": gongjian_version(),
        "weasyprint": weasyprint.__version__,
        "pydyf": pydyf.__version__,
        "fonttools": fontTools.version,
        "pikepdf": pikepdf.__version__,
        "font": fonts.font_build(),
    }


SOFTWARE_LABELS = {
    "gongjian": "共建",
    "weasyprint": "WeasyPrint",
    "pydyf": "pydyf",
    "fonttools": "fontTools",
    "pikepdf": "pikepdf",
    "font": "字体",
}


def font_reason(source_number: int) -> str:
    return (
        f"第 {source_number} 份存档文件嵌入的中文字体 CID 与字形编号不对应"
        "（PDF/A 6.2.11.4-2、6.2.11.5），MuPDF、Ghostscript 等阅读器显示为空白或方框。"
    )


# --- migration ----------------------------------------------------------------------------


def approved_revisions() -> Select:
    """Select every approved revision with its minutes and meeting, oldest first."""
    return (
        select(MinutesRevision)
        .join(Minutes, Minutes.id == MinutesRevision.minutes_id)
        .where(MinutesRevision.status == MinutesStatus.APPROVED)
        .options(joinedload(MinutesRevision.minutes).joinedload(Minutes.meeting))
        .order_by(MinutesRevision.id)
    )


def approved_revision_ids() -> Select:
    """Select the ids of the revisions approved_revisions() gives, in the same order."""
    return approved_revisions().with_only_columns(MinutesRevision.id)


def migrate_revision(revision: MinutesRevision, made_by: str = MADE_BY) -> MinutesRendition | None:
    """Add a new rendition if the newest one fails the font check; None when it passes.

    Raises MinutesError when the newest rendition is missing or its digests fail (it is
    not a sound source), or when the new rendition would fail the check too (the fonts
    on this machine are still the faulty build).
    """
    # The font check reads PDFs with pikepdf (qpdf): only this command needs it, not the web workers.
    from exports.pdfcheck import UnreadablePdf, font_problems

    newest = renditions(revision)[-1]
    data = rendition_bytes(revision, newest.number)
    if not intact(data, newest):
        raise MinutesError(
            f"第 {newest.number} 份存档文件缺失或校验不符，不能据以重新生成；请先运行 verify-archive。"
        )
    try:
        findings = font_problems(data)
    except UnreadablePdf as exc:
        findings = [f"存档文件无法解析：{exc}"]
    if not findings:
        return None

    def check(pdf: bytes) -> None:
        still = font_problems(pdf)
        if still:
            raise MinutesError(
                "重新生成的文件仍未通过字体检查（" + still[0] + "）；请先运行 scripts/setup.sh 重建字体。"
            )

    return add_rendition(revision, newest, data, font_reason(newest.number), made_by, findings, check)


def add_rendition(
    revision: MinutesRevision,
    newest: Rendition,
    data: bytes,
    reason: str,
    made_by: str,
    findings: list[str] | None = None,
    check=None,
) -> MinutesRendition:
    """Render the revision again from its newest (intact) archival file and keep the result as
    the next rendition, with its digests and a provenance record (why, from what, with what)."""
    findings = findings or []
    now = utcnow()
    record = {
        "number": newest.number + 1,
        "made_at": now.isoformat(timespec="seconds"),
        "made_by": made_by,
        "reason": reason,
        "findings": findings,
        "source": {"number": newest.number, "sha256": newest.sha256, "sm3": newest.sm3},
        "software": software_versions(),
        "archive_no": revision.minutes.archive_no,
        "revision": revision.number,
    }
    try:
        pdf = render_minutes_rendition(revision, data, record, now)
    except StoredContentError as exc:
        raise MinutesError(str(exc)) from exc
    if check is not None:
        check(pdf)
    sha256, sm3 = digests(pdf)
    rendition = MinutesRendition(
        revision=revision,  # through the relationship, so revision.renditions sees it at once
        number=record["number"],
        source_number=newest.number,
        pdf=pdf,
        pdf_sha256=sha256,
        pdf_sm3=sm3,
        reason=reason,
        findings=findings,
        software=record["software"],
        made_by=made_by,
        created_at=now,
    )
    db.session.add(rendition)
    db.session.flush()
    if revision.minutes.filed:
        make_ofd(revision, rendition.number, pdf, made_by)
    return rendition


# --- OFD ------------------------------------------------------------------------------------


def ofd_files(revision: MinutesRevision) -> list[Rendition]:
    rows = db.session.execute(
        select(
            MinutesOfd.source_number,
            MinutesOfd.sha256,
            MinutesOfd.sm3,
            MinutesOfd.created_at,
            MinutesOfd.made_by,
        )
        .where(MinutesOfd.revision_id == revision.id)
        .order_by(MinutesOfd.source_number)
    ).all()
    return [
        Rendition(number=n, sha256=a, sm3=b, created_at=at, made_by=by, kind="ofd")
        for n, a, b, at, by in rows
    ]


def ofd_bytes(revision: MinutesRevision, source_number: int) -> bytes | None:
    return db.session.scalar(
        select(MinutesOfd.ofd).where(
            MinutesOfd.revision_id == revision.id, MinutesOfd.source_number == source_number
        )
    )


def download_ofd(revision: MinutesRevision) -> bytes | None:
    """The newest OFD whose digests hold (None before the minutes are filed)."""
    for rendition in reversed(ofd_files(revision)):
        data = ofd_bytes(revision, rendition.number)
        if intact(data, rendition):
            return data
    return None


# --- verification -------------------------------------------------------------------------


@dataclass
class RenditionCheck:
    """verify-archive's finding for one archival file."""

    revision: MinutesRevision
    rendition: Rendition
    missing: bool = False
    sha256: str = ""  # as computed now
    sm3: str = ""

    @property
    def failed(self) -> list[str]:
        """Which digests do not match ("SHA-256", "SM3"); empty when the file is intact."""
        if self.missing:
            return []
        return [
            name
            for name, stored, actual in (
                ("SHA-256", self.rendition.sha256, self.sha256),
                ("SM3", self.rendition.sm3, self.sm3),
            )
            if stored != actual
        ]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.failed

    @property
    def where(self) -> str:
        minutes = self.revision.minutes
        meeting = minutes.meeting
        return (
            f"{minutes.archive_no}（会议 #{meeting.id}“{meeting.title}”）"
            f"第 {self.revision.number} 版 {self.rendition.label}存档文件"
        )


def verify_revision(revision: MinutesRevision) -> list[RenditionCheck]:
    """Re-hash every archival file of an approved revision."""
    checks = []
    for rendition in [*renditions(revision), *ofd_files(revision)]:
        if rendition.kind == "ofd":
            data = ofd_bytes(revision, rendition.number)
        else:
            data = rendition_bytes(revision, rendition.number)
        check = RenditionCheck(revision, rendition, missing=not data)
        if data:
            check.sha256, check.sm3 = digests(data)
        checks.append(check)
    return checks


def record_verification(results: dict[int, bool], when: datetime) -> None:
    """Note on each minutes when its files were last verified and whether all held."""
    for ok in (True, False):
        ids = [minutes_id for minutes_id, held in results.items() if held is ok]
        if ids:
            db.session.execute(
                update(Minutes).where(Minutes.id.in_(ids)).values(verified_at=when, verified_ok=ok)
            )
