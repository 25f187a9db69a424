"""片区 (areas): named groups of communities, across streets if needed, whose secretaries
convene joint meetings inviting units from the whole group, numbered in the area's own
archive series."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from models import Area, Community, Unit, UnitStatus, User, area_community, db
from models.base import RuleError, utcnow
from services.scope import in_scope, street_ids


def save_area(area: Area | None, name: str, note: str, community_ids: list[int], by: User) -> Area:
    """Create a 片区 (area None) or change one: its name, note and member communities."""
    name, note = (name or "").strip(), (note or "").strip()
    if not name:
        raise RuleError("请填写片区名称。")
    if len(name) > 100 or len(note) > 500:
        raise RuleError("片区名称不能超过 100 个字，说明不能超过 500 个字。")
    communities = list(db.session.scalars(select(Community).where(Community.id.in_(set(community_ids)))))
    if len(communities) < 2:
        raise RuleError("片区至少包含两个社区。")
    if any(not in_scope(by, c.street_id) for c in communities):
        raise RuleError("只能把您所辖街道的社区划入片区。")
    clash = select(Area.id).where(func.lower(Area.name) == name.lower(), Area.id != (area.id if area else 0))
    if db.session.scalar(clash) is not None:
        raise RuleError(f"已有名为“{name}”的片区，请换一个名称。")
    if area is None:
        area = Area()
        db.session.add(area)
    area.name, area.note = name, note
    area.communities = sorted(communities, key=lambda c: (c.street_id, c.position, c.id))
    db.session.flush()
    return area


def retire_area(area: Area) -> Area:
    """Stop using a 片区: its meetings stay; no new ones are convened in it."""
    if area.retired_at is None:
        area.retired_at = utcnow()
        db.session.flush()
    return area


def restore_area(area: Area) -> Area:
    if area.retired_at is not None:
        area.retired_at = None
        db.session.flush()
    return area


def visible_areas(user: User) -> list[Area]:
    """The 片区 that have a community in a street the user sees, in use first."""
    stmt = select(Area).order_by(Area.retired_at.is_not(None), Area.name)
    ids = street_ids(user)
    if ids is not None:
        stmt = stmt.where(Area.id.in_(areas_in_streets(ids)))
    return list(db.session.scalars(stmt))


def areas_in_streets(street_ids) -> Select:
    """The ids of the 片区 with a member community in these streets (a subquery)."""
    return (
        select(area_community.c.area_id)
        .join(Community, Community.id == area_community.c.community_id)
        .where(Community.street_id.in_(street_ids))
    )


def areas_of_community(community_id: int | None) -> list[Area]:
    """The 片区 in use that a community belongs to."""
    if not community_id:
        return []
    return list(
        db.session.scalars(
            select(Area)
            .join(area_community, area_community.c.area_id == Area.id)
            .where(area_community.c.community_id == community_id, Area.retired_at.is_(None))
            .order_by(Area.name)
        )
    )


def area_units(area: Area) -> list[Unit]:
    """The units a 片区 meeting may invite: every member community's, not withdrawn."""
    members = select(area_community.c.community_id).where(area_community.c.area_id == area.id)
    return list(
        db.session.scalars(
            select(Unit)
            .where(Unit.community_id.in_(members), Unit.status != UnitStatus.WITHDRAWN)
            .options(joinedload(Unit.community).joinedload(Community.street))
            .order_by(Unit.street_id, Unit.community_id, Unit.name)
        )
    )
