"""Demo places: 西宁市 → 城东区 → 东大街街道, its five communities, each with its 共驻共建会议室,
two or three grids per community with their buildings, and the street's own meeting room."""

from __future__ import annotations

from sqlalchemy import select

from models import Building, City, Community, District, Grid, Room, Street, db

STREET = ("东大街街道", "东大街")
COMMUNITIES = [
    ("青年路社区", "青年路", "青年路 18 号"),
    ("和平里社区", "和平里", "和平里三巷 6 号"),
    ("书院街社区", "书院街", "书院街 42 号"),
    ("丰收园社区", "丰收园", "丰收园小区 9 号楼"),
    ("新华里社区", "新华里", "新华里 2 号"),
]
CITY, DISTRICT = ("西宁市", "西宁"), ("城东区", "城东")
# Grids per community (名称, 楼栋); the community's index in COMMUNITIES.
GRIDS = {
    0: [
        ("青年路第一网格", ["青年路 16 号院 1 号楼", "青年路 16 号院 2 号楼", "青年路 18 号综合楼"]),
        ("青年路第二网格", ["青年巷 3 号楼", "青年巷 5 号楼"]),
    ],
    1: [
        ("和平里第一网格", ["和平里一巷 1 号楼", "和平里一巷 2 号楼"]),
        ("和平里第二网格", ["和平里三巷 6 号楼", "和平里三巷 8 号楼", "和平里商业楼"]),
    ],
    2: [
        ("书院街第一网格", ["书院街 40 号楼", "书院街 42 号楼"]),
        ("书院街第二网格", ["文庙巷 1 号楼", "文庙巷 3 号楼"]),
        ("书院街第三网格", ["书院新村 1 号楼"]),
    ],
    3: [
        ("丰收园第一网格", ["丰收园小区 1 号楼", "丰收园小区 2 号楼", "丰收园小区 9 号楼"]),
        ("丰收园第二网格", ["丰收园小区 11 号楼", "丰收园小区 12 号楼"]),
    ],
    4: [
        ("新华里第一网格", ["新华里 2 号楼", "新华里 4 号楼"]),
        ("新华里第二网格", ["新华里 6 号楼", "新华商厦"]),
    ],
}
EQUIPMENT = "投影仪、无线话筒、会议桌椅"
STREET_ROOM = (
    "东大街街道党群服务中心大会议室",
    80,
    "东大街 1 号党群服务中心三楼",
    "投影仪、LED 屏、扩音系统、视频会议终端",
)


def seed() -> tuple[Street, list[Community]]:
    """The demo street and its communities with their rooms (created once)."""
    city = db.session.scalar(select(City).where(City.name == CITY[0]))
    if city is None:
        city = City(name=CITY[0], short_name=CITY[1], position=1)
        db.session.add(city)
        db.session.flush()
    district = db.session.scalar(
        select(District).where(District.city_id == city.id, District.name == DISTRICT[0])
    )
    if district is None:
        district = District(city_id=city.id, name=DISTRICT[0], short_name=DISTRICT[1], position=1)
        db.session.add(district)
        db.session.flush()
    street = db.session.scalar(select(Street).where(Street.name == STREET[0]))
    if street is None:
        street = Street(
            name=STREET[0], short_name=STREET[1], district_id=district.id, position=1, address="东大街 1 号"
        )
        db.session.add(street)
        db.session.flush()
        name, capacity, address, equipment = STREET_ROOM
        db.session.add(
            Room(street_id=street.id, name=name, capacity=capacity, address=address, equipment=equipment)
        )
    communities = []
    for position, (name, short, address) in enumerate(COMMUNITIES, start=1):
        community = db.session.scalar(
            select(Community).where(Community.street_id == street.id, Community.name == name)
        )
        if community is None:
            community = Community(
                street=street, name=name, short_name=short, position=position, address=address
            )
            db.session.add(community)
            db.session.flush()
            db.session.add(
                Room(
                    community=community,
                    name=f"{short}社区共驻共建会议室",
                    capacity=30 + 5 * position,
                    address=address,
                    equipment=EQUIPMENT,
                    bookable=True,
                )
            )
            for g, (grid_name, buildings) in enumerate(GRIDS[position - 1], start=1):
                grid = Grid(community=community, name=grid_name, short_name=grid_name[-4:], position=g)
                db.session.add(grid)
                db.session.flush()
                db.session.add_all(
                    Building(grid_id=grid.id, name=b, position=i) for i, b in enumerate(buildings, start=1)
                )
        communities.append(community)
    return street, communities
