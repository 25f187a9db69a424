"""Minutes as PDF: a draft with a watermark, or the archival PDF/A-3b stored at approval."""

from __future__ import annotations

import json
from datetime import datetime

from flask import render_template

from models import Attendance, MinutesRevision, MinutesStatus

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


def minutes_context(revision: MinutesRevision) -> dict:
    """Everything the minutes document shows, from snapshots once approved."""
    from blueprints.minutes.services import snapshot_actions, snapshot_attendance

    minutes = revision.minutes
    meeting = minutes.meeting
    approved = revision.status == MinutesStatus.APPROVED
    attendance = revision.attendance_snapshot if approved else snapshot_attendance(meeting)
    actions = revision.actions_snapshot if approved else snapshot_actions(meeting)
    groups = {a.value: [] for a in Attendance}
    for row in attendance:
        groups.setdefault(row["attendance"], []).append(row)
    return {
        "revision": revision,
        "minutes": minutes,
        "meeting": meeting,
        "approved": approved,
        "attendance": attendance,
        "present": groups[Attendance.PRESENT.value],
        "absent_leave": groups[Attendance.ABSENT_LEAVE.value],
        "absent_no_leave": groups[Attendance.ABSENT_NO_LEAVE.value],
        "not_signed": groups[Attendance.UNKNOWN.value],
        "delegates": [row for row in attendance if row.get("delegate")],
        "actions": actions,
        "confirmations": confirmation_rows(revision),
        "history": [r for r in minutes.revisions if r.number <= revision.number],
        "watermark": None if approved else "草稿",
        "attendance_labels": ATTENDANCE_LABELS,
    }


def minutes_json(revision: MinutesRevision) -> bytes:
    """The minutes as structured data, attached to the archival PDF."""
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


def render_minutes_pdf(revision: MinutesRevision, archival: bool = False) -> bytes:
    """Render the minutes; archival=True gives PDF/A-3b with the .ics and JSON attached."""
    from blueprints.meetings.services import cached_vevent
    from exports import ics
    from exports.pdf import render_pdf

    ctx = minutes_context(revision)
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
    if not archival:
        return render_pdf(html, metadata=metadata)
    attachments = [
        ("meeting.ics", ics.invite_ics(meeting, cached_vevent(meeting)), "会议日历（iCalendar）"),
        ("minutes.json", minutes_json(revision), "会议纪要结构化数据（JSON）"),
    ]
    return render_pdf(html, variant="pdf/a-3b", attachments=attachments, metadata=metadata)
