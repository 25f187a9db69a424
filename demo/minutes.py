"""Demo minutes: approved, awaiting 会签 and in draft, with actions in every state.

The oldest approved minutes were archived with the faulty first font build and migrated.

So an archivist sees what `flask migrate-archive` leaves behind: on that revision's page the
original (whose Chinese MuPDF and Ghostscript draw blank or boxed) and the second
rendition with its digests and provenance, the downloads giving the second.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from flask import render_template
from sqlalchemy import select

from demo.meetings import DEMO_AWAITING_CONFIRMATION, DEMO_DRAFTING
from exports import fonts, pdf
from exports.minutes import minutes_context
from models import (
    Action,
    ActionProgress,
    ActionStatus,
    Meeting,
    MeetingStatus,
    Minutes,
    MinutesRevision,
    Principle,
    Role,
    Street,
    User,
    db,
)
from models.base import today
from services import archive
from services import minutes as svc


@contextlib.contextmanager
def first_font_build(revision: MinutesRevision) -> Iterator[None]:
    """Render PDFs inside the block with faces built the faulty first way.

    The faces cover the characters of this revision's document only (a few seconds to
    build, rather than the full GBK); anything else falls back to the installed Noto.
    """
    text = render_template("pdf/minutes.html", **minutes_context(revision, **svc.live_record(revision)))
    characters = sorted({ord(c) for c in text + "联席〔〕号第页共签发人0123456789"} | set(range(0x20, 0x7F)))
    font_dir = fonts.FONT_DIR
    with tempfile.TemporaryDirectory(prefix="gongjian-first-build-") as folder:
        for face in fonts.FACES:
            fonts.build_face(face, characters, folder=Path(folder), renumber=False)
        fonts.FONT_DIR = Path(folder)
        pdf.reset_shared_state()
        try:
            yield
        finally:
            fonts.FONT_DIR = font_dir
            pdf.reset_shared_state()


def approve_with_first_font_build(revision: MinutesRevision, by: User, unconfirmed_ok: bool = False) -> None:
    """签发 as a machine with the first font build did, then migrate as an admin would later."""
    with first_font_build(revision):
        svc.approve(revision, by, unconfirmed_ok=unconfirmed_ok)
    archive.migrate_revision(revision, made_by="flask migrate-archive（演示数据）")


ACTION_IDEAS = [
    ("开放学校操场供居民周末健身", "资源共享", ["share", "cobuild"]),
    ("联合开展冬季消防安全检查", "共建共驻", ["cobuild"]),
    ("为辖区老年人开展义诊", "优势互补", ["complement", "develop"]),
    ("共建单位停车位夜间错时共享", "资源共享", ["share"]),
    ("暑期青少年托管志愿服务", "共同发展", ["develop", "complement"]),
    ("金融防诈骗知识进社区", "优势互补", ["complement"]),
]


CONFIRMATION_REMARKS = ["", "同意。", "", "无修改意见，本单位将按时落实。", ""]


def seed(street: Street) -> None:
    """Approved minutes for past meetings, with actions open, in progress, done and overdue."""
    if db.session.scalar(select(Minutes.id).limit(1)):
        return
    held = db.session.scalars(
        select(Meeting)
        .where(Meeting.street_id == street.id, Meeting.status == MeetingStatus.HELD)
        .order_by(Meeting.community_id, Meeting.start_at)
    ).all()
    for n, meeting in enumerate(held):
        secretary = db.session.scalar(
            select(User).where(User.role == Role.SECRETARY, User.community_id == meeting.community_id)
        )
        minutes = svc.start_minutes(meeting, secretary)
        revision = minutes.current
        present = [inv.unit for inv in meeting.invitations if inv.attendance.value == "present"]
        discussion = {}
        for k, entry in enumerate(revision.discussion):
            who = entry.get("presenter") or (present[k % len(present)].name if present else "社区")
            discussion[entry["item_id"]] = (
                f"<p>{who}汇报了{entry['title']}的有关情况。</p>"
                "<p>与会单位围绕<strong>资源共享、优势互补</strong>进行了讨论，形成以下意见：</p>"
                "<ul><li>明确责任单位和完成时限；</li><li>下次会议通报落实情况。</li></ul>"
            )
        rows = []
        for k in range(2):
            title, _, tags = ACTION_IDEAS[(n + k) % len(ACTION_IDEAS)]
            lead = present[(n + k) % len(present)] if present else meeting.invitations[0].unit
            co = [u.id for u in present if u.id != lead.id][:2]
            due = meeting.start_at.date() + timedelta(days=30 + 45 * k)
            rows.append(
                svc.ActionRow(
                    None, title, f"由{lead.name}牵头落实。", lead.id, co, due, [Principle(t) for t in tags]
                )
            )
        svc.save_draft(
            revision,
            secretary.display_name,
            "<p>会议由社区党委书记主持，驻区单位代表参加。</p>",
            discussion,
            rows,
            secretary,
        )
        if meeting.title == DEMO_DRAFTING:
            continue  # minutes still a draft: the editor lists the actions carried over
        svc.submit(revision, secretary, 3)
        recent = meeting.title == DEMO_AWAITING_CONFIRMATION
        for k, confirmation in enumerate(revision.confirmations):
            liaison = db.session.scalar(
                select(User).where(User.role == Role.LIAISON, User.unit_id == confirmation.unit_id)
            )
            # Most units confirm (a few with a remark); one in five never answers. The recent
            # special meeting's minutes wait for most of their confirmations.
            if liaison is None or (k + n) % 5 == 4 or (recent and k > 0):
                continue
            remark = CONFIRMATION_REMARKS[(k + n) % len(CONFIRMATION_REMARKS)]
            svc.respond(revision, confirmation.unit_id, liaison, True, remark)
        if recent:
            continue  # awaiting 会签: the liaisons see it on their dashboard
        if n == 0:  # archived with the faulty first font build, then migrated (flask migrate-archive)
            approve_with_first_font_build(revision, secretary, unconfirmed_ok=True)
        else:
            svc.approve(revision, secretary, unconfirmed_ok=True)
        db.session.flush()
        actions = db.session.scalars(
            select(Action).where(Action.meeting_id == meeting.id).order_by(Action.position)
        ).all()
        age = (today() - meeting.start_at.date()).days
        for k, action in enumerate(actions):
            # Oldest meetings: done; middle: in progress; recent: open (some overdue by date).
            if age > 200 or (age > 120 and k == 0):
                action.progress.append(
                    ActionProgress(
                        on=action.due_on - timedelta(days=10), text="已完成前期对接，方案报社区备案。"
                    )
                )
                action.status = ActionStatus.DONE
                action.result = "已按期完成，居民反映良好。"
                action.done_on = action.due_on - timedelta(days=2)
                action.done_at = meeting.start_at + timedelta(days=40)
            elif age > 120 or k == 0:
                action.progress.append(
                    ActionProgress(
                        on=min(today(), action.due_on) - timedelta(days=5),
                        text="正在推进，已完成约一半工作量。",
                    )
                )
                action.status = ActionStatus.IN_PROGRESS
