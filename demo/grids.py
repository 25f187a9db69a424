"""Demo grid rosters: the people of each grid with the ten duties (网格“十员”), some sent by
resident units; units, needs and 微心愿 placed on grids. 新华里社区's second grid still lacks
two duties, so its community page shows what a gap looks like."""

from __future__ import annotations

from itertools import cycle

from sqlalchemy import select

from models import Grid, GridDuty, GridStaff, Need, Street, Unit, db

SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = [
    "秀英",
    "建国",
    "桂兰",
    "志强",
    "玉梅",
    "海燕",
    "红霞",
    "立新",
    "丽娟",
    "卫东",
    "淑珍",
    "国庆",
    "春梅",
    "永刚",
]
# Duties grouped as one person holds them on a typical grid roster.
ROLES = [
    (GridDuty.POLICY, GridDuty.OPINION),
    (GridDuty.PROPERTY, GridDuty.SANITATION),
    (GridDuty.SAFETY,),
    (GridDuty.CULTURE, GridDuty.CIVILITY),
    (GridDuty.HARMONY, GridDuty.DEMOCRACY),
    (GridDuty.PARTY,),
]
GAPS = {"新华里第二网格": {GridDuty.CULTURE, GridDuty.DEMOCRACY}}


def seed(street: Street) -> None:
    """Rosters for the street's grids, and its units and needs placed on grids (once)."""
    grids = list(
        db.session.scalars(
            select(Grid)
            .join(Grid.community)
            .where(Grid.community.has(street_id=street.id))
            .order_by(Grid.community_id, Grid.position)
        )
    )
    if not grids or db.session.scalar(
        select(GridStaff.id).where(GridStaff.grid_id.in_([g.id for g in grids])).limit(1)
    ):
        return
    names = (s + g for g, s in zip(cycle(GIVEN), cycle(SURNAMES)))
    by_community: dict[int, list[Grid]] = {}
    for grid in grids:
        by_community.setdefault(grid.community_id, []).append(grid)
    units = list(db.session.scalars(select(Unit).where(Unit.street_id == street.id).order_by(Unit.id)))
    for k, unit in enumerate(units):
        own = by_community.get(unit.community_id)
        if own:
            unit.grid_id = own[k % len(own)].id
    for i, grid in enumerate(grids):
        sent_by = [u for u in units if u.grid_id == grid.id]
        for j, duties in enumerate(ROLES):
            kept = [d.value for d in duties if d not in GAPS.get(grid.name, set())]
            if not kept:
                continue
            unit = sent_by[0] if (j == 2 and sent_by) else None  # the patrol often comes from a unit
            db.session.add(
                GridStaff(
                    grid_id=grid.id,
                    name=next(names),
                    phone=f"137{i:03d}{j:02d}{(i * 37 + j * 11) % 1000:03d}",
                    unit_id=unit.id if unit else None,
                    duties=kept,
                )
            )
    for k, need in enumerate(
        db.session.scalars(select(Need).where(Need.street_id == street.id).order_by(Need.id))
    ):
        own = by_community.get(need.community_id)
        if own and k % 3 != 2:  # most needs come from a grid; some concern the whole community
            need.grid_id = own[k % len(own)].id
    db.session.flush()
