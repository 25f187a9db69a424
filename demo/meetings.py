"""Demo meetings: past ones with replies and attendance, upcoming ones, a draft, a cancellation, a series."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from common.dates import SHANGHAI
from models import (
    AgendaItem,
    Attendance,
    Community,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Reply,
    Role,
    Room,
    Street,
    Topic,
    TopicStatus,
    Unit,
    UnitStatus,
    User,
    db,
)
from services import mail as mailer
from services.series import SeriesRule, create_series, plan_series

# Recent special meetings: minutes awaiting the units' 会签, and minutes still being drafted.
DEMO_AWAITING_CONFIRMATION = "老旧小区加装电梯协调专题会"
DEMO_DRAFTING = "垃圾分类宣传进校园专题会"

QUARTERS = {1: "一", 2: "二", 3: "三", 4: "四"}
AGENDA_TOPICS = [
    ("上季度共建项目落实情况通报", 20),
    ("驻区单位资源清单更新", 15),
    ("老旧小区加装电梯协调", 25),
    ("暑期青少年托管服务共建", 20),
    ("“微心愿”认领情况", 15),
    ("辖区消防安全联合检查", 20),
    ("为老助餐点共建", 20),
    ("垃圾分类宣传进校园", 15),
]


def seed(street: Street, communities: list[Community], units: list[Unit]) -> None:
    """Past meetings with replies and attendance, upcoming ones, a draft, a cancellation, a series."""
    if db.session.scalar(select(Meeting.id).where(Meeting.street_id == street.id).limit(1)):
        return
    now_local = datetime.now(SHANGHAI)
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    rooms = {r.community_id: r for r in db.session.scalars(select(Room))}

    def at(days: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(now_local.date() + timedelta(days=days), time(hour, minute), SHANGHAI)

    def meeting(community, title, start, hours, status, kind=MeetingKind.REGULAR, invited=(), agenda=()):
        secretary = db.session.scalar(
            select(User).where(User.role == Role.SECRETARY, User.community_id == community.id)
        )
        m = Meeting(
            street_id=street.id,
            community_id=community.id,
            kind=kind,
            title=title,
            description=f"{community.name}党委召集，驻区单位共同研究共建事项。",
            start_at=start,
            end_at=start + timedelta(hours=hours),
            room_id=rooms[community.id].id,
            status=status,
            topic_deadline=start - timedelta(days=3),
            created_by=secretary,
        )
        for pos, (topic_title, minutes) in enumerate(agenda, start=1):
            presenter = invited[(pos - 1) % len(invited)] if invited else None
            m.agenda_items.append(
                AgendaItem(
                    position=pos,
                    title=topic_title,
                    minutes=minutes,
                    presenter_unit_id=presenter.id if presenter else None,
                )
            )
        for unit in invited:
            m.invitations.append(Invitation(unit_id=unit.id))
        db.session.add(m)
        return m

    for ci, community in enumerate(communities):
        members = [u for u in units if u.community_id == community.id and u.status != UnitStatus.WITHDRAWN]
        for q, days_ago in enumerate((270, 180, 90)):
            start = at(-days_ago + ci, 15)
            quarter = (start.month - 1) // 3 + 1
            m = meeting(
                community,
                f"{start.year}年第{QUARTERS[quarter]}季度共驻共建联席会议",
                start,
                2,
                MeetingStatus.HELD,
                invited=members,
                agenda=AGENDA_TOPICS[(q + ci) % 5 : (q + ci) % 5 + 3],
            )
            m.published_at = start - timedelta(days=10)
            m.held_at = start + timedelta(hours=2)
            for k, inv in enumerate(m.invitations):
                if (k + q + ci) % 7 == 3:
                    inv.reply, inv.reply_reason, inv.attendance = (
                        Reply.DECLINE,
                        "单位有重要接待任务",
                        Attendance.ABSENT_LEAVE,
                    )
                elif (k + q + ci) % 11 == 5:
                    inv.reply, inv.attendance = Reply.PENDING, Attendance.ABSENT_NO_LEAVE
                elif (k + q) % 5 == 4:
                    inv.reply, inv.delegate_name, inv.delegate_post = Reply.DELEGATE, "王晓明", "办公室主任"
                    inv.attendance, inv.by_delegate = Attendance.PRESENT, True
                else:
                    inv.reply, inv.attendance = Reply.ACCEPT, Attendance.PRESENT
                inv.replied_at = start - timedelta(days=5)
                inv.attendance_at = start
        start = at(9 + ci, 14, 30)
        quarter = (start.month - 1) // 3 + 1
        upcoming = meeting(
            community,
            f"{start.year}年第{QUARTERS[quarter]}季度共驻共建联席会议",
            start,
            2,
            MeetingStatus.SCHEDULED,
            invited=members,
            agenda=AGENDA_TOPICS[ci % 4 : ci % 4 + 3],
        )
        upcoming.published_at = now_local - timedelta(days=2)
        for k, inv in enumerate(upcoming.invitations):
            if k % 3 == 0:
                inv.reply, inv.replied_at = Reply.ACCEPT, now_local - timedelta(days=1)
            elif k % 5 == 1:
                inv.reply, inv.reply_reason = Reply.DECLINE, "当天有上级检查"
                inv.replied_at = now_local - timedelta(days=1)
        if len(members) >= 2:
            upcoming.topics.append(
                Topic(
                    unit_id=members[1].id,
                    title="共建单位停车位错时共享",
                    detail="单位停车场夜间空置，可向居民开放。",
                    cooperation="请社区协助制定管理办法",
                    status=TopicStatus.SUBMITTED,
                )
            )
            upcoming.topics.append(
                Topic(
                    unit_id=members[0].id,
                    title="志愿服务积分互认",
                    detail="建议各单位志愿服务时长互认。",
                    cooperation="",
                    status=TopicStatus.DECLINED,
                    decline_reason="已列入下次专题会讨论",
                )
            )
    # Two recent special meetings: one whose minutes await the units' 会签, one whose minutes
    # are still being drafted (its editor lists the actions carried over).
    for ci, title, days_ago, topics in (
        (0, DEMO_AWAITING_CONFIRMATION, 3, AGENDA_TOPICS[2:3] + AGENDA_TOPICS[0:1]),
        (1, DEMO_DRAFTING, 1, AGENDA_TOPICS[7:8]),
    ):
        community = communities[ci]
        members = [u for u in units if u.community_id == community.id and u.status != UnitStatus.WITHDRAWN]
        start = at(-days_ago, 9, 30)
        special = meeting(
            community, title, start, 1.5, MeetingStatus.HELD, MeetingKind.SPECIAL, members[:4], topics
        )
        special.published_at = start - timedelta(days=7)
        special.held_at = start + timedelta(hours=1, minutes=30)
        for inv in special.invitations:
            inv.reply, inv.attendance = Reply.ACCEPT, Attendance.PRESENT
            inv.replied_at, inv.attendance_at = start - timedelta(days=2), start
    first = communities[0]
    members = [u for u in units if u.community_id == first.id and u.status != UnitStatus.WITHDRAWN]
    meeting(
        first,
        "暑期青少年托管专题会（筹备）",
        at(20, 9, 30),
        1.5,
        MeetingStatus.DRAFT,
        kind=MeetingKind.SPECIAL,
        invited=members[:3],
        agenda=AGENDA_TOPICS[3:4],
    )
    cancelled = meeting(
        first,
        "消防安全联合检查部署会",
        at(5, 10),
        1,
        MeetingStatus.SCHEDULED,
        kind=MeetingKind.SPECIAL,
        invited=members[:4],
        agenda=AGENDA_TOPICS[5:6],
    )
    db.session.flush()
    cancelled.cancel("与区应急管理局专项检查时间冲突，另行通知", now_local)
    zone = Meeting(
        street_id=street.id,
        community_id=None,
        kind=MeetingKind.ZONE,
        title="东大街街道片区联席会（党建引领基层治理）",
        description="街道党工委召集，五个社区及代表单位参加。",
        start_at=at(14, 9),
        end_at=at(14, 11, 30),
        room_id=rooms[first.id].id,
        status=MeetingStatus.SCHEDULED,
        topic_deadline=at(11, 9),
        created_by=admin,
        published_at=now_local,
    )
    for community in communities:
        rep = next(u for u in units if u.community_id == community.id and u.status == UnitStatus.ACTIVE)
        zone.invitations.append(Invitation(unit_id=rep.id))
    db.session.add(zone)
    db.session.flush()
    # A quarterly series for the second community next year, through the same planner the UI uses.
    second = communities[1]
    secretary2 = db.session.scalar(
        select(User).where(User.role == Role.SECRETARY, User.community_id == second.id)
    )
    next_year = now_local.year + 1
    rule = SeriesRule("monthly_nth", 3, 1, 1, time(15, 0), 90, date(next_year, 1, 1), date(next_year, 12, 31))
    starts = [o.start_at for o in plan_series(rule, rooms[second.id].id) if not o.clash and not o.past]
    members2 = {u.id for u in units if u.community_id == second.id and u.status == UnitStatus.ACTIVE}
    create_series(
        rule,
        f"{next_year}年度季度例会",
        MeetingKind.REGULAR,
        second.id,
        rooms[second.id].id,
        members2,
        starts,
        secretary2,
    )
    # The invitations of the street-level meeting wait in the outbox (the demo has no
    # mail server), as they would on an intranet before SMTP is configured.

    db.session.flush()
    mailer.queue_meeting_mail(zone, zone.invitations, "publish")
