"""The demo's archive: 全宗号 for both streets; the minutes of last December's 年度工作总结会,
approved then (so there is a 2025 package to hand over); and most approved minutes filed by the
archivist (件号, 档号, the stamped rendition and its OFD), the newest left 待归档 so the register
shows both; one item's 保管期限 raised to 永久 with a reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Meeting, MeetingStatus, Minutes, Retention, Role, Street, User, db
from services import filing
from services import minutes as minutes_svc

SUMMING_UP = "年度共驻共建工作总结会"

FONDS = {"东大街街道": "J001", "八一路街道": "J002"}
LEFT_UNFILED = 2


def seed() -> None:
    """Once: fonds codes, then file all but the newest approved minutes of each street."""
    streets = db.session.scalars(select(Street).where(Street.name.in_(list(FONDS)))).all()
    if not streets or any(s.fonds_code for s in streets):
        return
    for street in streets:
        filing.set_fonds_code(street, FONDS[street.name])
    db.session.flush()
    last_years_minutes()
    for street in streets:
        archivist = db.session.scalar(
            select(User)
            .where(User.role.in_([Role.ARCHIVIST, Role.ADMIN]), User.street_id == street.id)
            .order_by(User.role.desc())
        )
        if archivist is None:
            continue
        items = db.session.scalars(
            select(Minutes)
            .join(Meeting, Meeting.id == Minutes.meeting_id)
            .where(Meeting.street_id == street.id, Minutes.archive_no.is_not(None))
            .order_by(Meeting.start_at)
        ).all()
        for k, minutes in enumerate(items[: max(0, len(items) - LEFT_UNFILED)]):
            if k == 0:
                filing.change_description(
                    minutes,
                    Retention.PERMANENT,
                    "党建办",
                    "首次共驻共建联席会议，确立联席会议制度，永久保存。",
                    archivist,
                )
            filing.file_item(minutes, archivist)
            db.session.flush()


def last_years_minutes() -> None:
    """Minutes of last year's 总结会 (held, never minuted), approved five days after each."""
    held = db.session.scalars(
        select(Meeting)
        .where(
            Meeting.title.endswith(SUMMING_UP),
            Meeting.status == MeetingStatus.HELD,
            ~Meeting.id.in_(select(Minutes.meeting_id)),
        )
        .order_by(Meeting.start_at)
    ).all()
    for meeting in held:
        secretary = db.session.scalar(
            select(User).where(User.role == Role.SECRETARY, User.community_id == meeting.community_id)
        )
        if secretary is None:
            continue
        minutes = minutes_svc.start_minutes(meeting, secretary)
        revision = minutes.current
        revision.recorder = secretary.display_name
        revision.summary = (
            "<p>会议总结了本年度共驻共建工作：联席会议按季召开，议定事项大多按期完成，"
            "驻区单位资源清单和社区需求清单持续更新。</p><p>会议研究了下一年度共建重点。</p>"
        )
        minutes_svc.submit(revision, secretary, None)
        minutes_svc.approve(revision, secretary, unconfirmed_ok=True, at=meeting.end_at + timedelta(days=5))
        db.session.flush()
