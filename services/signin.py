"""扫码签到: people sign in at a meeting by scanning its QR code on their phone.

The code holds a signed link to /s/<token>. The token names the meeting and a time window:
on the screen a 10-minute window that rotates (a photo of the code passed on later stops
working), on the printed poster the whole meeting; either is accepted only from 30 minutes
before the start to the end. The sign-in page needs no account: the person picks their unit
among the invited ones, gives name and post, and says whether they come as its delegate; the
same person signing in again is merged; after the start they are marked late with the time.
A sign-in marks the unit present (through a delegate when so), as the host's sign-in sheet
would. Sign-ins are limited per meeting and address. Never commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from common.dates import format_month_day_time
from models import Attendance, Invitation, Meeting, MeetingStatus, PersonSignIn, Unit, User, db
from models.base import RuleError, utcnow

OPENS_BEFORE = timedelta(minutes=30)
ROTATION = timedelta(minutes=10)
POSTER = "poster"
# Sign-ins from one address for one meeting within ten minutes: a room's shared Wi-Fi (one
# address for everyone behind it) sends a whole meeting's; a script sends more.
MAX_PER_ADDRESS = 300
RATE_WINDOW = timedelta(minutes=10)


class SignInError(RuleError):
    """A sign-in was refused; the message is for the person at the door, the heading says
    in a few words what happened (not open yet, closed, or simply refused)."""

    def __init__(self, message: str, heading: str = "无法签到") -> None:
        super().__init__(message)
        self.heading = heading


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="gongjian-sign-in")


def opens_at(meeting: Meeting) -> datetime:
    return meeting.start_at - OPENS_BEFORE


def window_of(moment: datetime) -> int:
    return int(moment.timestamp() // ROTATION.total_seconds())


def screen_token(meeting: Meeting, now: datetime | None = None) -> str:
    """The token of the code on the screen now (it rotates every ten minutes)."""
    return _serializer().dumps([meeting.id, window_of(now or utcnow())])


def poster_token(meeting: Meeting) -> str:
    """The token of the printed poster: valid for the whole sign-in period."""
    return _serializer().dumps([meeting.id, POSTER])


def read_token(token: str, now: datetime | None = None) -> Meeting:
    """The meeting a token opens now; SignInError says why not (forged, expired, not yet open)."""
    now = now or utcnow()
    try:
        meeting_id, window = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError) as exc:
        raise SignInError("这个签到二维码无效。请扫描会场屏幕或海报上的二维码。") from exc
    meeting = db.session.get(Meeting, meeting_id) if isinstance(meeting_id, int) else None
    if meeting is None:
        raise SignInError("这个签到二维码无效。请扫描会场屏幕或海报上的二维码。")
    if window != POSTER and (not isinstance(window, int) or not 0 <= window_of(now) - window <= 1):
        raise SignInError(
            "这个签到二维码已过期（屏幕上的二维码每十分钟更新）。请重新扫描会场屏幕上的二维码。"
        )
    check_open(meeting, now)
    return meeting


SIGNABLE = (MeetingStatus.SCHEDULED, MeetingStatus.HELD)  # a draft or cancelled meeting: no sign-in


def is_closed(meeting: Meeting, now: datetime) -> bool:
    """No sign-in any more: the meeting ended, or is cancelled or still a draft."""
    return meeting.status not in SIGNABLE or now > meeting.end_at


def check_open(meeting: Meeting, now: datetime) -> None:
    if meeting.status not in SIGNABLE:
        raise SignInError(f"“{meeting.title}”{meeting.status.label}，不能签到。")
    if now < opens_at(meeting):
        raise SignInError(
            f"“{meeting.title}”的签到将于 {format_month_day_time(opens_at(meeting))}"
            "（会议开始前 30 分钟）开放。",
            heading="签到尚未开放",
        )
    if now > meeting.end_at:
        raise SignInError(f"“{meeting.title}”已经结束，签到已关闭。", heading="签到已关闭")


def invited_units(meeting: Meeting) -> list[Unit]:
    return sorted((inv.unit for inv in meeting.invitations), key=lambda u: u.name)


def sign_in(
    meeting: Meeting,
    unit_id: int | None,
    name: str,
    post: str,
    is_delegate: bool,
    address: str = "",
    user: User | None = None,
    now: datetime | None = None,
) -> PersonSignIn:
    """Record a person's sign-in (merged with an earlier one of the same unit and name) and
    mark the unit present."""
    now = now or utcnow()
    check_open(meeting, now)
    name, post = (name or "").strip(), (post or "").strip()
    invitation = next((inv for inv in meeting.invitations if inv.unit_id == unit_id), None)
    if invitation is None:
        raise SignInError("请选择您所在的受邀单位。")
    if not name:
        raise SignInError("请填写您的姓名。")
    if len(name) > 50 or len(post) > 50:
        raise SignInError("姓名和职务各不超过 50 个字。")
    if address:
        recent = db.session.scalar(
            select(func.count())
            .select_from(PersonSignIn)
            .where(
                PersonSignIn.meeting_id == meeting.id,
                PersonSignIn.address == address,
                PersonSignIn.signed_at > now - RATE_WINDOW,
            )
        )
        if recent >= MAX_PER_ADDRESS:
            raise SignInError("签到过于频繁，请稍后再试，或请会务人员协助签到。")
    existing = db.session.scalar(
        select(PersonSignIn).where(
            PersonSignIn.meeting_id == meeting.id, PersonSignIn.unit_id == unit_id, PersonSignIn.name == name
        )
    )
    if existing is not None:  # the same person again: keep the first time, take the latest post
        existing.post = post or existing.post
        existing.is_delegate = is_delegate
        record = existing
    else:
        record = PersonSignIn(
            meeting_id=meeting.id,
            unit_id=unit_id,
            name=name,
            post=post,
            is_delegate=is_delegate,
            signed_at=now,
            late=now > meeting.start_at,
            user_id=user.id if user is not None else None,
            address=address[:64],
        )
        db.session.add(record)
    _mark_present(invitation, record)
    db.session.flush()
    return record


def _mark_present(invitation: Invitation, record: PersonSignIn) -> None:
    """The unit is present once someone of it signs in (through a delegate if only delegates did)."""
    if invitation.attendance != Attendance.PRESENT:
        invitation.attendance = Attendance.PRESENT
        invitation.by_delegate = record.is_delegate
        if record.is_delegate:
            invitation.delegate_name, invitation.delegate_post = record.name, record.post
    elif invitation.by_delegate and not record.is_delegate:
        invitation.by_delegate = False
    invitation.meeting.invalidate_calendar()


def people(meeting_id: int) -> list[PersonSignIn]:
    """The 签到表: everyone signed in, in the order they came."""
    return list(
        db.session.scalars(
            select(PersonSignIn)
            .where(PersonSignIn.meeting_id == meeting_id)
            .options(joinedload(PersonSignIn.unit))
            .order_by(PersonSignIn.signed_at, PersonSignIn.id)
        )
    )


def count(meeting_id: int) -> tuple[int, int]:
    """People signed in, and units present among them (for the host's live count)."""
    row = db.session.execute(
        select(func.count(), func.count(func.distinct(PersonSignIn.unit_id))).where(
            PersonSignIn.meeting_id == meeting_id
        )
    ).one()
    return row[0], row[1]
