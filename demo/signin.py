"""The demo's 扫码签到: the people who scanned in at the meeting whose minutes are being written,
so its draft's 签到表 lists them (a delegate and a late arrival among them)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from demo.meetings import DEMO_DRAFTING
from models import Attendance, Meeting, PersonSignIn, db

COLLEAGUES = ["刘志刚", "陈静怡", "杨帆", "黄晓东", "周敏"]


def seed() -> None:
    """Once: each present unit's liaison, and for some a colleague or a delegate."""
    meeting = db.session.scalar(select(Meeting).where(Meeting.title == DEMO_DRAFTING))
    if meeting is None or db.session.scalar(
        select(PersonSignIn.id).where(PersonSignIn.meeting_id == meeting.id)
    ):
        return
    present = [inv for inv in meeting.invitations if inv.attendance == Attendance.PRESENT]
    for k, inv in enumerate(present):
        unit = inv.unit
        at = meeting.start_at - timedelta(minutes=12 - 3 * k)
        if inv.by_delegate and inv.delegate_name:
            name, post, delegate = inv.delegate_name, inv.delegate_post, True
        else:
            name, post, delegate = unit.liaison_name or COLLEAGUES[k % 5], "党建联络员", False
        db.session.add(
            PersonSignIn(
                meeting_id=meeting.id,
                unit_id=unit.id,
                name=name,
                post=post,
                is_delegate=delegate,
                signed_at=at,
                late=at > meeting.start_at,
            )
        )
        if k % 2 == 0:
            late = meeting.start_at + timedelta(minutes=8 + k)
            db.session.add(
                PersonSignIn(
                    meeting_id=meeting.id,
                    unit_id=unit.id,
                    name=COLLEAGUES[k % 5],
                    post="办公室主任",
                    signed_at=late,
                    late=True,
                )
            )
    db.session.flush()
