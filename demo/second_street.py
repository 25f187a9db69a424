"""The demo's second street (八一路街道) in the same district, with its own admin, secretaries,
units and meetings, and the district's and the city's read-only observers.

It shows what one deployment for several streets looks like: the street admins see only
their own street (八一路街道 also has a 青年路社区, told apart by its street), while
`district` (城东区委组织部) and `city` (西宁市委组织部) read both.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from common.dates import SHANGHAI
from demo.people import ensure_user
from demo.places import DISTRICT
from models import (
    AgendaItem,
    Area,
    Attendance,
    City,
    Community,
    District,
    Grid,
    Invitation,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Reply,
    Role,
    Room,
    Street,
    Unit,
    UnitCategory,
    UnitStatus,
    User,
    db,
)
from models.base import today
from services.units import create_unit

STREET = ("八一路街道", "八一路", "八一东路 6 号")
DOMAIN = "bayilu.example.gov.cn"
COMMUNITIES = [
    ("青年路社区", "青年路", "八一路青年巷 2 号", ["八一青年路第一网格", "八一青年路第二网格"]),
    ("团结社区", "团结", "团结路 15 号", ["团结第一网格", "团结第二网格"]),
    ("火车站社区", "火车站", "站前路 9 号", ["火车站第一网格", "火车站第二网格"]),
]
SECRETARIES = ["马晓燕", "韩国庆", "祁玉梅"]
# name, short name, category, community (1-based), party members, liaison
UNITS = [
    ("八一路派出所", "八一路所", UnitCategory.AGENCY, 1, 28, "王警官"),
    ("市第二人民医院", "市二院", UnitCategory.HOSPITAL, 1, 160, "李红梅"),
    ("八一路小学", "八一路小学", UnitCategory.SCHOOL, 2, 30, "张秀兰"),
    ("中国农业银行八一路支行", "农行八一路", UnitCategory.FINANCE, 2, 12, "赵明"),
    ("西宁火车站", "火车站", UnitCategory.STATE_FIRM, 3, 95, "刘建华"),
    ("站前物业服务有限公司", "站前物业", UnitCategory.PRIVATE_FIRM, 3, 4, "孙立"),
]
OBSERVERS = [
    ("district", "城东区委组织部", "district"),
    ("city", "西宁市委组织部", "city"),
]


def seed(password: str) -> list[tuple[str, str, str]]:
    """The second street, its people and meetings, and the observers (created once)."""
    district = db.session.scalar(select(District).where(District.name == DISTRICT[0]))
    logins: list[tuple[str, str, str]] = []
    street = db.session.scalar(select(Street).where(Street.name == STREET[0]))
    created = street is None
    if created:
        street = Street(
            name=STREET[0], short_name=STREET[1], address=STREET[2], district_id=district.id, position=2
        )
        db.session.add(street)
        db.session.flush()
    communities = []
    for position, (name, short, address, grids) in enumerate(COMMUNITIES, start=1):
        community = db.session.scalar(
            select(Community).where(Community.street_id == street.id, Community.name == name)
        )
        if community is None:
            community = Community(
                street_id=street.id, name=name, short_name=short, position=position, address=address
            )
            db.session.add(community)
            db.session.flush()
            db.session.add(
                Room(
                    community_id=community.id,
                    name=f"{short}社区共驻共建会议室",
                    capacity=30,
                    address=address,
                    equipment="投影仪、话筒",
                )
            )
            for g, grid in enumerate(grids, start=1):
                db.session.add(Grid(community_id=community.id, name=grid, short_name=grid[-4:], position=g))
        communities.append(community)
    db.session.flush()
    units = []
    for k, (name, short, category, c_index, members, liaison) in enumerate(UNITS, start=1):
        unit = db.session.scalar(select(Unit).where(Unit.street_id == street.id, Unit.name == name))
        if unit is None:
            registered = today() - timedelta(days=400 - 20 * k)
            unit = create_unit(
                {
                    "name": name,
                    "short_name": short,
                    "category": category,
                    "community_id": communities[c_index - 1].id,
                    "address": f"八一路 {20 + k} 号",
                    "party_org_name": f"{short}党支部",
                    "party_member_count": members,
                    "liaison_name": liaison,
                    "liaison_phone": f"139{k:04d}{(k * 6133) % 10000:04d}",
                    "liaison_email": f"liaison2-{k}@{DOMAIN}",
                    "registered_on": registered,
                    "agreement_date": registered + timedelta(days=10),
                },
                by=None,
            )
            unit.change_status(
                UnitStatus.ACTIVE, registered + timedelta(days=10), "签订共建协议，转为在册", None
            )
        units.append(unit)
    db.session.flush()

    ensure_user(
        "admin2",
        password,
        display_name="八一路街道党工委管理员",
        role=Role.ADMIN,
        street_id=street.id,
        email=f"admin@{DOMAIN}",
    )
    logins.append(("admin2", Role.ADMIN.label, STREET[0]))
    for n, community in enumerate(communities, start=1):
        ensure_user(
            f"secretary2-{n}",
            password,
            display_name=SECRETARIES[n - 1],
            role=Role.SECRETARY,
            community_id=community.id,
            email=f"secretary{n}@{DOMAIN}",
        )
        logins.append((f"secretary2-{n}", Role.SECRETARY.label, f"{community.name}（{STREET[0]}）"))
    for k, unit in enumerate(units, start=1):
        ensure_user(
            f"liaison2-{k}",
            password,
            display_name=unit.liaison_name,
            role=Role.LIAISON,
            unit_id=unit.id,
            email=unit.liaison_email,
        )
        logins.append((f"liaison2-{k}", Role.LIAISON.label, unit.name))
    city = db.session.scalar(select(City).where(City.id == district.city_id))
    for username, display, level in OBSERVERS:
        place = {"district_id": district.id} if level == "district" else {"city_id": city.id}
        ensure_user(username, password, display_name=display, role=Role.OBSERVER, **place)
        logins.append((username, Role.OBSERVER.label, district.name if level == "district" else city.name))
    if created:
        _meetings(street, communities, units)
        _area(street, communities[0], units)
    return logins


def _area(street: Street, bayi_qingnian: Community, units: list[Unit]) -> None:
    """青年路片区: the two streets' 青年路社区 and 和平里社区, with an upcoming 片区 meeting."""
    first = db.session.scalar(select(Street).where(Street.id != street.id).order_by(Street.id))
    hosts = list(
        db.session.scalars(
            select(Community)
            .where(Community.street_id == first.id, Community.name.in_(("青年路社区", "和平里社区")))
            .order_by(Community.position)
        )
    )
    area = Area(
        name="青年路片区", note="东大街、八一路两个街道的青年路沿线社区联动，共商交通、治安和便民服务。"
    )
    area.communities = [*hosts, bayi_qingnian]
    db.session.add(area)
    db.session.flush()
    host = hosts[0]
    room = db.session.scalar(select(Room).where(Room.community_id == host.id).order_by(Room.id))
    secretary = db.session.scalar(
        select(User).where(User.role == Role.SECRETARY, User.community_id == host.id)
    )
    invited = list(
        db.session.scalars(
            select(Unit)
            .where(
                Unit.community_id.in_([c.id for c in area.communities]), Unit.status != UnitStatus.WITHDRAWN
            )
            .order_by(Unit.street_id, Unit.name)
        )
    )[:8]
    start = datetime.combine(datetime.now(SHANGHAI).date() + timedelta(days=16), time(14, 30), SHANGHAI)
    m = Meeting(
        street_id=host.street_id,
        community_id=host.id,
        area_id=area.id,
        kind=MeetingKind.REGULAR,
        title="青年路片区共驻共建联席会议",
        description="青年路片区三个社区联合召集，研究青年路沿线交通疏导、夜间治安和便民服务。",
        start_at=start,
        end_at=start + timedelta(hours=2),
        room_id=room.id,
        status=MeetingStatus.SCHEDULED,
        topic_deadline=start - timedelta(days=3),
        published_at=start - timedelta(days=12),
        created_by=secretary,
    )
    m.agenda_items.append(AgendaItem(position=1, title="青年路沿线上下学时段交通疏导", minutes=40))
    m.agenda_items.append(AgendaItem(position=2, title="片区夜间治安联防", minutes=40))
    for unit in invited:
        m.invitations.append(Invitation(unit_id=unit.id))
    db.session.add(m)
    db.session.flush()


def _meetings(street: Street, communities: list[Community], units: list[Unit]) -> None:
    """A held meeting and an upcoming one in each community of the street."""
    rooms = {r.community_id: r for r in db.session.scalars(select(Room).where(Room.street_id == street.id))}
    now = datetime.now(SHANGHAI)

    def at(days: int, hour: int) -> datetime:
        return datetime.combine(now.date() + timedelta(days=days), time(hour, 0), SHANGHAI)

    for ci, community in enumerate(communities):
        members = [u for u in units if u.community_id == community.id]
        for days, status, title in (
            (-40 + ci, MeetingStatus.HELD, f"{community.name}共驻共建联席会议（{STREET[1]}）"),
            (12 + ci, MeetingStatus.SCHEDULED, f"{community.name}冬季安全共建联席会议（{STREET[1]}）"),
        ):
            start = at(days, 9)
            m = Meeting(
                street_id=street.id,
                community_id=community.id,
                kind=MeetingKind.REGULAR,
                title=title,
                description=f"{STREET[0]}{community.name}党委召集，驻区单位共同研究共建事项。",
                start_at=start,
                end_at=start + timedelta(hours=2),
                room_id=rooms[community.id].id,
                status=status,
                topic_deadline=start - timedelta(days=3),
                published_at=start - timedelta(days=10),
            )
            m.agenda_items.append(AgendaItem(position=1, title="通报本季度共建项目进展", minutes=40))
            m.agenda_items.append(AgendaItem(position=2, title="研究辖区冬季安全与便民服务", minutes=40))
            for unit in members:
                inv = Invitation(unit_id=unit.id)
                if status == MeetingStatus.HELD:
                    inv.reply, inv.attendance = Reply.ACCEPT, Attendance.PRESENT
                m.invitations.append(inv)
            if status == MeetingStatus.HELD:
                m.held_at = start + timedelta(hours=2)
            db.session.add(m)
    db.session.flush()
