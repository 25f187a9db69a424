"""Grids (网格) and their rosters: the people of a grid, each holding some of the ten duties
(网格“十员”), possibly sent by a resident unit; the units, needs and 微心愿 placed on a grid;
and which duties a community's grids still lack."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import Community, Grid, GridDuty, GridStaff, Need, NeedStatus, Unit, UnitStatus, db
from models.base import RuleError, utcnow

PHONE = re.compile(r"^[0-9+\-() ]{7,20}$")


@dataclass
class StaffFacts:
    name: str
    phone: str
    unit_id: int | None
    duties: list[str]


def save_staff(grid: Grid, staff: GridStaff | None, facts: StaffFacts) -> GridStaff:
    """Add a person to a grid's roster (staff None) or change one."""
    name = (facts.name or "").strip()
    if not name:
        raise RuleError("请填写姓名。")
    if len(name) > 50:
        raise RuleError("姓名不能超过 50 个字。")
    phone = (facts.phone or "").strip()
    if phone and not PHONE.match(phone):
        raise RuleError("请输入有效的电话号码（7 到 20 位数字，可含 - 和空格）。")
    duties = [d for d in GridDuty if d.value in set(facts.duties)]
    if not duties or len(duties) != len(set(facts.duties)):
        raise RuleError("请至少选择一项职责（网格“十员”）。")
    if facts.unit_id:
        unit = db.session.get(Unit, facts.unit_id)
        if unit is None or unit.community_id != grid.community_id:
            raise RuleError("派出单位应是本社区的驻区单位。")
    if grid.retired:
        raise RuleError(f"“{grid.name}”已撤销，不能再调整网格员。")
    if staff is None:
        staff = GridStaff(grid_id=grid.id)
        db.session.add(staff)
    staff.name, staff.phone, staff.unit_id = name, phone, facts.unit_id or None
    staff.duties = [d.value for d in duties]
    db.session.flush()
    return staff


def staff_leaves(staff: GridStaff) -> GridStaff:
    """Take someone off the roster; their row stays, with the day they left."""
    if staff.left_at is None:
        staff.left_at = utcnow()
        db.session.flush()
    return staff


def staff_returns(staff: GridStaff) -> GridStaff:
    if staff.left_at is not None:
        staff.left_at = None
        db.session.flush()
    return staff


def roster(grid: Grid, include_former: bool = False) -> list[GridStaff]:
    """The grid's people (those on the roster first), with the units that sent them."""
    stmt = select(GridStaff).where(GridStaff.grid_id == grid.id).options(joinedload(GridStaff.unit))
    if not include_former:
        stmt = stmt.where(GridStaff.left_at.is_(None))
    return list(db.session.scalars(stmt.order_by(GridStaff.left_at.is_not(None), GridStaff.id)))


@dataclass
class GridCoverage:
    """Who holds each of the ten duties on a grid, and which nobody holds."""

    grid: Grid
    holders: dict[GridDuty, list[str]]

    @property
    def unfilled(self) -> list[GridDuty]:
        return [d for d in GridDuty if not self.holders[d]]


def coverage(community: Community) -> list[GridCoverage]:
    """Each grid in use of a community with the holders of its ten duties (two statements)."""
    grids = list(
        db.session.scalars(
            select(Grid)
            .where(Grid.community_id == community.id, Grid.retired_at.is_(None))
            .order_by(Grid.position, Grid.id)
        )
    )
    out = {g.id: GridCoverage(g, {d: [] for d in GridDuty}) for g in grids}
    rows = db.session.execute(
        select(GridStaff.grid_id, GridStaff.name, GridStaff.duties).where(
            GridStaff.grid_id.in_(list(out)), GridStaff.left_at.is_(None)
        )
    )
    for grid_id, name, duties in rows:
        for d in duties or ():
            if d in GridDuty._value2member_map_:
                out[grid_id].holders[GridDuty(d)].append(name)
    return list(out.values())


def grid_units(grid: Grid) -> list[Unit]:
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.grid_id == grid.id)
            .order_by(Unit.status == UnitStatus.WITHDRAWN, Unit.name)
        )
    )


def grid_needs(grid: Grid, limit: int = 50) -> list[Need]:
    """The grid's needs and 微心愿, open ones first."""
    return list(
        db.session.scalars(
            select(Need)
            .where(Need.grid_id == grid.id)
            .order_by((Need.status == NeedStatus.OPEN).desc(), Need.created_at.desc())
            .limit(limit)
        )
    )


def grid_options(communities: list[Community]) -> list[tuple[int, str]]:
    """Grids in use of these communities, as select options labelled 社区 · 网格."""
    by_id = {c.id: c for c in communities}
    if not by_id:
        return []
    grids = db.session.scalars(
        select(Grid)
        .where(Grid.community_id.in_(list(by_id)), Grid.retired_at.is_(None))
        .order_by(Grid.community_id, Grid.position, Grid.id)
    )
    several = len(by_id) > 1
    return [(g.id, f"{by_id[g.community_id].name} · {g.name}" if several else g.name) for g in grids]


def check_grid(grid_id: int | None, community_id: int) -> int | None:
    """The grid a unit or need is placed on, if it lies in its community (else a RuleError)."""
    if not grid_id:
        return None
    grid = db.session.get(Grid, grid_id)
    if grid is None or grid.community_id != community_id:
        raise RuleError("所选网格不属于所选社区。")
    return grid.id
