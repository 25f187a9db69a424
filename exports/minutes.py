"""Minutes as PDF: a draft with a watermark, or the archival PDF/A-3a (tagged) stored at approval."""

from __future__ import annotations

import io
import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import render_template

from exports import ics
from exports.pdf import render_pdf
from models import Attendance, ConfirmationStatus, MinutesRevision, MinutesStatus

ATTENDANCE_LABELS = {a.value: a.label for a in Attendance}


CONFIRMATION_LABELS = {"pending": "未回复", "confirmed": "已确认", "commented": "有修改意见"}


def confirmation_rows(revision: MinutesRevision) -> list[dict]:
    """Who was asked to confirm (会签), who did, when and with what comment, who did not answer."""
    return [
        {
            "unit": c.unit.name,
            "status": c.status.value,
            "label": CONFIRMATION_LABELS[c.status.value],
            "by": c.responded_by.display_name if c.responded_by else "",
            "at": c.responded_at,
            "comment": c.comment,
        }
        for c in revision.confirmations
    ]


def archival_stamp(minutes) -> dict | None:
    """The 归档章 (DA/T 22-2015) of filed minutes: 全宗号, 年度, 件号 over 机构（问题）, 保管期限,
    页数 (the page count is the document's own, filled in by the renderer)."""
    if not minutes.filed:
        return None
    return {
        "fonds": minutes.fonds_code,
        "year": minutes.filing_year,
        "item": f"{minutes.item_no:04d}",
        "organ": minutes.organ,
        "retention": minutes.retention.label,
        "file_no": minutes.file_no,
    }


def minutes_context(
    revision: MinutesRevision,
    attendance: list[dict] | None = None,
    actions: list[dict] | None = None,
    followup: list[dict] | None = None,
) -> dict:
    """Everything the minutes document shows: the snapshots once approved, else the given records.

    A draft shows the meeting as it stands: the caller passes its attendance and actions
    (services.minutes.live_record), so this module reads nothing itself.
    """
    minutes = revision.minutes
    meeting = minutes.meeting
    approved = revision.status == MinutesStatus.APPROVED
    if approved:
        attendance, actions = revision.attendance_snapshot, revision.actions_snapshot
        followup = revision.followup_snapshot
    elif attendance is None or actions is None:
        raise ValueError("a draft's attendance and actions must be given")
    groups = {a.value: [] for a in Attendance}
    for row in attendance:
        groups.setdefault(row["attendance"], []).append(row)
    confirmations = confirmation_rows(revision)
    answers = {c.value: [] for c in ConfirmationStatus}
    for row in confirmations:
        answers[row["status"]].append(row)
    return {
        "revision": revision,
        "minutes": minutes,
        "meeting": meeting,
        "approved": approved,
        "stamp": archival_stamp(minutes) if approved else None,
        "attendance": attendance,
        "present": groups[Attendance.PRESENT.value],
        "absent_leave": groups[Attendance.ABSENT_LEAVE.value],
        "absent_no_leave": groups[Attendance.ABSENT_NO_LEAVE.value],
        "not_signed": groups[Attendance.UNKNOWN.value],
        "delegates": [row for row in attendance if row.get("delegate")],
        "actions": actions,
        "followup": followup or [],
        "confirmations": confirmations,
        "confirmed": answers[ConfirmationStatus.CONFIRMED.value],
        "commented": answers[ConfirmationStatus.COMMENTED.value],
        "unanswered": answers[ConfirmationStatus.PENDING.value],
        "history": [r for r in minutes.revisions if r.number <= revision.number],
        "watermark": None if approved else "草稿",
        "attendance_labels": ATTENDANCE_LABELS,
    }


def minutes_json(revision: MinutesRevision) -> bytes:
    """The approved minutes as structured data, attached to the archival PDF."""
    ctx = minutes_context(revision)
    meeting = ctx["meeting"]
    data = {
        "archive_no": ctx["minutes"].archive_no,
        "revision": revision.number,
        "status": revision.status.value,
        "meeting": {
            "uid": meeting.uid,
            "title": meeting.title,
            "kind": meeting.kind.label,
            "host": meeting.host_name,
            "start": meeting.start_at.isoformat(),
            "end": meeting.end_at.isoformat(),
            "room": meeting.room.name,
        },
        "recorder": revision.recorder,
        "approved_by": revision.approved_by_name,
        "approved_at": revision.approved_at.isoformat() if revision.approved_at else None,
        "correction_reason": revision.correction_reason,
        "summary_html": revision.summary,
        "discussion": revision.discussion,
        "attendance": ctx["attendance"],
        "actions": ctx["actions"],
        "confirm_due": revision.confirm_due.isoformat() if revision.confirm_due else None,
        "confirmations": [
            {**row, "at": row["at"].isoformat() if row["at"] else None} for row in ctx["confirmations"]
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def render_minutes_pdf(
    revision: MinutesRevision,
    attendance: list[dict] | None = None,
    actions: list[dict] | None = None,
    vevent: str | None = None,
    followup: list[dict] | None = None,
) -> bytes:
    """Render the minutes: a watermarked draft, or with `vevent` (the meeting's event text) the
    approved minutes as PDF/A-3a with the meeting's .ics and the minutes as JSON attached."""
    ctx = minutes_context(revision, attendance, actions, followup)
    html = render_template("pdf/minutes.html", **ctx)
    meeting = ctx["meeting"]
    title = f"{meeting.title} 会议纪要"
    if ctx["minutes"].archive_no:
        title = f"{ctx['minutes'].archive_no} {title}"
    when = revision.approved_at or datetime.now().astimezone()
    metadata = {
        "title": title,
        "authors": [meeting.host_name],
        "lang": "zh-CN",
        "created": when,
        "modified": when,
    }
    if vevent is None:
        return render_pdf(html, metadata=metadata)
    attachments = [
        ("meeting.ics", ics.invite_ics(meeting, vevent), "会议日历（iCalendar）"),
        ("minutes.json", minutes_json(revision), "会议纪要结构化数据（JSON）"),
    ]
    return render_pdf(html, variant="pdf/a-3a", attachments=attachments, metadata=metadata)


ORIGINAL_ATTACHMENTS = ("meeting.ics", "minutes.json")


class StoredContentError(ValueError):
    """An archived PDF lacks what a new rendition is made from."""


def stored_attachments(pdf: bytes) -> dict[str, bytes]:
    """The files embedded in an archived minutes PDF, by name (the .ics and the JSON)."""
    import pikepdf  # only the archive migration reads PDFs back: keep it out of start-up

    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            return {name: spec.get_file().read_bytes() for name, spec in doc.attachments.items()}
    except pikepdf.PdfError as exc:
        raise StoredContentError(f"存档文件无法打开：{exc}") from exc


def stored_meeting(minutes_json: bytes) -> SimpleNamespace:
    """The meeting as the archived minutes.json recorded it at approval (not as it is today)."""
    try:
        data = json.loads(minutes_json)["meeting"]
        return SimpleNamespace(
            title=data["title"],
            kind=SimpleNamespace(label=data["kind"]),
            host_name=data["host"],
            start_at=datetime.fromisoformat(data["start"]),
            end_at=datetime.fromisoformat(data["end"]),
            room=SimpleNamespace(name=data["room"]),
            uid=data.get("uid", ""),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise StoredContentError(f"存档文件中的 minutes.json 缺少会议信息（{exc}）") from exc


def render_minutes_rendition(
    revision: MinutesRevision, source_pdf: bytes, rendition: dict[str, Any], made_at: datetime
) -> bytes:
    """Render approved minutes again as PDF/A-3a from what was stored at approval.

    The text comes from the revision's own columns (guarded by the database) and the
    meeting from the minutes.json inside `source_pdf`; the .ics and the JSON are embedded
    again byte for byte, with provenance.json (the `rendition` record) beside them. A note
    at the end says what this file is. Nothing is read from today's meeting.
    """
    if revision.status != MinutesStatus.APPROVED:
        raise ValueError("only approved revisions have archival renditions")
    files = stored_attachments(source_pdf)
    missing = [name for name in ORIGINAL_ATTACHMENTS if name not in files]
    if missing:
        raise StoredContentError(f"存档文件中没有 {'、'.join(missing)} 附件，无法据以重新生成")
    ctx = minutes_context(revision)
    ctx["meeting"] = meeting = stored_meeting(files["minutes.json"])
    ctx["rendition"], ctx["rendition_made_at"] = rendition, made_at
    html = render_template("pdf/minutes.html", **ctx)
    title = f"{meeting.title} 会议纪要"
    if ctx["minutes"].archive_no:
        title = f"{ctx['minutes'].archive_no} {title}"
    provenance = json.dumps(rendition, ensure_ascii=False, indent=2).encode()
    attachments = [
        ("meeting.ics", files["meeting.ics"], "会议日历（iCalendar）"),
        ("minutes.json", files["minutes.json"], "会议纪要结构化数据（JSON）"),
        ("provenance.json", provenance, "本存档文件的来源说明（JSON）"),
    ]
    metadata = {
        "title": title,
        "authors": [meeting.host_name],
        "lang": "zh-CN",
        "created": revision.approved_at,
        "modified": made_at,
    }
    return render_pdf(html, variant="pdf/a-3a", attachments=attachments, metadata=metadata)
