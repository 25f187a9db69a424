"""The demo's notifications: what the seeded hand-offs told each person, the daily reminders
of today (actions due soon or overdue, calls for topics closing, 会签 due), and each person's
older notifications already read, so every login shows a bell with some unread and a list
with read ones below."""

from __future__ import annotations

from sqlalchemy import func, select, update

from models import Community, Meeting, MeetingStatus, Notification, Role, Unit, UnitCategory, User, db
from models.base import today, utcnow
from services import meetings as meeting_svc
from services import notify
from services.units import create_unit

UNREAD = 3  # the newest this many stay unread (half of them, for who has fewer than six)


def seed() -> None:
    """A few hand-offs still waiting today, today's reminders (told once per occasion), then
    all but each person's newest notifications read."""
    if db.session.scalar(select(Notification.id).limit(1)) is None:
        return  # an older demo without notifications: nothing to show
    if (
        db.session.scalar(
            select(Notification.id).where(Notification.kind == notify.NoticeKind.TOPIC_SUBMITTED)
        )
        is None
    ):
        _waiting()
    notify.daily_reminders(today())
    db.session.flush()
    now = utcnow()
    counts = db.session.execute(
        select(Notification.user_id, func.count()).group_by(Notification.user_id)
    ).all()
    for user_id, count in counts:
        newest = list(
            db.session.scalars(
                select(Notification.id)
                .where(Notification.user_id == user_id)
                .order_by(Notification.id.desc())
                .limit(min(UNREAD, max(1, count // 2)))
            )
        )
        if newest:
            db.session.execute(
                update(Notification)
                .where(
                    Notification.user_id == user_id,
                    Notification.id.not_in(newest),
                    Notification.read_at.is_(None),
                )
                .values(read_at=now)
            )
    db.session.flush()


TOPICS = [
    # (which meeting, the unit, the topic)
    ("city", "市第三人民医院", "跨区医疗资源共享与家庭医生签约"),
    ("city", "东大街第一小学", "中小学课后服务引入驻区单位志愿力量"),
    ("street", 0, "街道层面统筹辖区停车位错时共享"),
    ("street", 1, "驻区单位食堂向辖区老人开放助餐"),
]


def _waiting() -> None:
    """Topics proposed to the city's and the street's coming meetings (their hosts decide), and
    a unit that has just registered in the second street (its secretary admits it)."""
    now = utcnow()
    upcoming = select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED, Meeting.topic_deadline > now)
    city = db.session.scalar(upcoming.where(Meeting.city_id.is_not(None)).order_by(Meeting.start_at))
    street = db.session.scalar(
        upcoming.where(
            Meeting.community_id.is_(None),
            Meeting.area_id.is_(None),
            Meeting.district_id.is_(None),
            Meeting.city_id.is_(None),
        ).order_by(Meeting.start_at)
    )
    for which, unit_name, title in TOPICS:
        meeting = city if which == "city" else street
        if meeting is None:
            continue
        invited = [inv.unit for inv in meeting.invitations]
        if isinstance(unit_name, int):
            unit = invited[unit_name] if unit_name < len(invited) else None
        else:
            unit = next((u for u in invited if u.name == unit_name), None)
        liaison = (
            db.session.scalar(select(User).where(User.role == Role.LIAISON, User.unit_id == unit.id))
            if unit
            else None
        )
        if liaison is not None:
            meeting_svc.submit_topic(
                meeting, unit, liaison, title, "建议列入本次会议议程，统筹研究。", "可提供场地和人员。"
            )
    community = db.session.scalar(select(Community).where(Community.name == "团结社区"))
    if (
        community is not None
        and db.session.scalar(select(Unit.id).where(Unit.name == "八一路便民大药房")) is None
    ):
        create_unit(
            {
                "name": "八一路便民大药房",
                "short_name": "便民药房",
                "category": UnitCategory.PRIVATE_FIRM,
                "community_id": community.id,
                "address": "团结路 21 号",
                "liaison_name": "马丽",
                "registered_on": today(),
            },
            by=None,
        )
