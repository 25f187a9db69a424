"""Demo places: 东大街街道 and its five communities, each with its 共驻共建会议室."""

from __future__ import annotations

from sqlalchemy import select

from models import Community, Room, Street, db

STREET = ("东大街街道", "东大街")
COMMUNITIES = [
    ("青年路社区", "青年路", "青年路 18 号"),
    ("和平里社区", "和平里", "和平里三巷 6 号"),
    ("书院街社区", "书院街", "书院街 42 号"),
    ("丰收园社区", "丰收园", "丰收园小区 9 号楼"),
    ("新华里社区", "新华里", "新华里 2 号"),
]
# name, short name, category, community index (1-based), party members, liaison


def seed() -> tuple[Street, list[Community]]:
    """The demo street and its communities with their rooms (created once)."""
    street = db.session.scalar(select(Street).where(Street.name == STREET[0]))
    if street is None:
        street = Street(name=STREET[0], short_name=STREET[1])
        db.session.add(street)
        db.session.flush()
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
                    bookable=True,
                )
            )
        communities.append(community)
    return street, communities
