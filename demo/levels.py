"""Joint meetings above the streets (四级联动): 城东区's joint meeting of both streets, held
last month with approved minutes (城东区联席〔年〕1号) and actions for units of both streets,
its next one, and 西宁市's coming city-level meeting. `district` and `city` convene them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from common.dates import SHANGHAI
from models import (
    AgendaItem,
    Attendance,
    City,
    Community,
    District,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingPlace,
    MeetingStatus,
    Principle,
    Reply,
    Role,
    Room,
    Street,
    Unit,
    User,
    db,
)
from services import minutes as svc

HELD_TITLE = "城东区街道社区党建联席会议（第四季度）"
# The invited units of both streets, by name.
UNITS = ["市第三人民医院", "东大街第一小学", "和平里派出所", "八一路派出所", "市第二人民医院", "西宁火车站"]


def seed() -> None:
    """The district's and the city's meetings (created once)."""
    if db.session.scalar(select(Meeting.id).where(Meeting.title == HELD_TITLE)) is not None:
        return
    district_user = db.session.scalar(select(User).where(User.username == "district"))
    city_user = db.session.scalar(select(User).where(User.username == "city"))
    if district_user is None or district_user.district_id is None:
        return
    district = db.session.get(District, district_user.district_id)
    streets = list(
        db.session.scalars(select(Street).where(Street.district_id == district.id).order_by(Street.position))
    )
    units = [
        u
        for u in db.session.scalars(select(Unit).where(Unit.name.in_(UNITS)))
        if u.street_id in {s.id for s in streets}
    ]
    units.sort(key=lambda u: UNITS.index(u.name))
    communities = list(
        db.session.scalars(
            select(Community)
            .where(Community.street_id.in_([s.id for s in streets]), Community.name == "青年路社区")
            .order_by(Community.street_id)
        )
    )
    rooms = {
        s.id: db.session.scalar(
            select(Room)
            .where(Room.street_id == s.id, Room.retired_at.is_(None))
            .order_by(Room.community_id.is_not(None), Room.position, Room.id)
        )
        for s in streets
    }
    now = datetime.now(SHANGHAI)

    def at(days: int, hour: int) -> datetime:
        return datetime.combine(now.date() + timedelta(days=days), time(hour, 0), SHANGHAI)

    held = _meeting(
        district_user,
        HELD_TITLE,
        "城东区委组织部召集，辖区两个街道党工委、青年路社区和重点驻区单位参加，"
        "通报全区共驻共建进展，研究跨街道共建项目。",
        at(-25, 9),
        rooms[streets[0].id],
        streets,
        communities,
        units,
        ["通报全区共驻共建工作进展", "研究跨街道医疗、教育资源共享", "部署冬季安全共建工作"],
        district_id=district.id,
    )
    held.status, held.held_at = MeetingStatus.HELD, held.end_at
    for k, inv in enumerate(held.invitations):
        inv.reply = Reply.ACCEPT
        inv.attendance = Attendance.ABSENT_LEAVE if k == len(held.invitations) - 1 else Attendance.PRESENT
    db.session.flush()
    _approved_minutes(held, district_user, units)
    _meeting(
        district_user,
        "城东区共驻共建联席会议（年度总结）",
        "总结全年共驻共建工作，交流两个街道的经验做法，研究明年重点共建项目。",
        at(24, 14),
        rooms[streets[-1].id],
        streets,
        communities,
        units,
        ["上次议定事项落实情况", "两个街道交流全年共建工作", "研究明年重点共建项目"],
        district_id=district.id,
    )
    if city_user is not None and city_user.city_id is not None:
        city = db.session.get(City, city_user.city_id)
        _meeting(
            city_user,
            "西宁市城市基层党建联席会议",
            f"{city.name}委组织部召集，各区、街道交流城市基层党建和共驻共建经验。",
            at(33, 9),
            rooms[streets[0].id],
            streets,
            [],
            units[:3],
            ["各区交流共驻共建经验", "部署明年城市基层党建重点任务"],
            city_id=city.id,
        )
    db.session.flush()


def _meeting(by, title, description, start, room, streets, communities, units, agenda, **level) -> Meeting:
    m = Meeting(
        street_id=room.street_id,
        kind=MeetingKind.REGULAR,
        title=title,
        description=description,
        start_at=start,
        end_at=start + timedelta(hours=2),
        room_id=room.id,
        status=MeetingStatus.SCHEDULED,
        topic_deadline=start - timedelta(days=3),
        published_at=start - timedelta(days=14),
        created_by=by,
        **level,
    )
    for k, title_ in enumerate(agenda, start=1):
        m.agenda_items.append(
            AgendaItem(position=k, title=title_, minutes=30, is_followup=title_ == svc.FOLLOWUP_TITLE)
        )
    for street in streets:
        m.invited_places.append(MeetingPlace(street_id=street.id))
    for community in communities:
        m.invited_places.append(MeetingPlace(community_id=community.id))
    for unit in units:
        m.invitations.append(Invitation(unit_id=unit.id))
    db.session.add(m)
    db.session.flush()
    return m


def _approved_minutes(meeting: Meeting, by: User, units: list[Unit]) -> None:
    """The district meeting's minutes, confirmed by most units and approved by the district."""
    minutes = svc.start_minutes(meeting, by)
    revision = minutes.current
    discussion = {
        entry["item_id"]: f"<p>{entry['title']}：两个街道党工委分别汇报，与会单位围绕"
        "<strong>资源共享、优势互补</strong>进行了讨论，形成以下意见。</p>"
        for entry in revision.discussion
    }
    named = {u.name: u.id for u in units}

    def unit(name: str) -> int:
        return named.get(name) or units[0].id

    rows = [
        svc.ActionRow(
            None,
            "市第二人民医院、市第三人民医院每月轮流到两个街道开展义诊",
            "两家医院各牵头一个街道，街道党工委协调场地。",
            unit("市第二人民医院"),
            [unit("市第三人民医院")],
            meeting.start_at.date() + timedelta(days=45),
            [Principle("share"), Principle("complement")],
        ),
        svc.ActionRow(
            None,
            "东大街第一小学与八一路派出所共建“护学岗”",
            "上下学时段派出所民警和学校志愿者联合值守青年路沿线路口。",
            unit("东大街第一小学"),
            [unit("八一路派出所")],
            meeting.start_at.date() + timedelta(days=20),
            [Principle("cobuild")],
        ),
    ]
    svc.save_draft(
        revision,
        by.display_name,
        "<p>会议由城东区委组织部主持，东大街、八一路两个街道党工委和驻区单位代表参加。</p>",
        discussion,
        rows,
        by,
    )
    svc.submit(revision, by, 3)
    for k, confirmation in enumerate(revision.confirmations):
        liaison = db.session.scalar(
            select(User).where(User.role == Role.LIAISON, User.unit_id == confirmation.unit_id)
        )
        if liaison is not None and k != 2:  # one unit never answers
            svc.respond(revision, confirmation.unit_id, liaison, True, "同意。" if k == 0 else "")
    svc.approve(revision, by, unconfirmed_ok=True)
