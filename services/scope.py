"""Where a user may look: the streets below the place their role is tied to.

The system administrator sees every street (None: no restriction); a street admin, an
archivist, a secretary and a liaison their own street; an observer every street of their
district or city. Lists filter with `scoped(column, user)`, object checks ask
`in_scope(user, street_id)`; both come from one answer, computed once per user and request.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true

from models import District, Role, Street, User, db


def street_ids(user: User) -> tuple[int, ...] | None:
    """The ids of the streets a user sees; None for every street."""
    if not user.is_authenticated or user.role == Role.SYSADMIN:
        return None
    cached = user.__dict__.get("_street_ids")
    if cached is not None and cached[0] == (user.street_id, user.district_id, user.city_id):
        return cached[1]
    if user.role == Role.OBSERVER:
        stmt = select(Street.id)
        if user.district_id is not None:
            stmt = stmt.where(Street.district_id == user.district_id)
        else:
            districts = select(District.id).where(District.city_id == (user.city_id or 0))
            stmt = stmt.where(Street.district_id.in_(districts))
        ids = tuple(db.session.scalars(stmt.order_by(Street.id)))
    else:
        ids = (user.street_id,) if user.street_id is not None else ()
    user.__dict__["_street_ids"] = ((user.street_id, user.district_id, user.city_id), ids)
    return ids


def scoped(column, user: User) -> ColumnElement[bool]:
    """An SQL condition: the row's street (`column`) is one the user sees."""
    ids = street_ids(user)
    return true() if ids is None else column.in_(ids)


def in_scope(user: User, street_id: int | None) -> bool:
    """Whether a street is one the user sees."""
    ids = street_ids(user)
    return ids is None or (street_id is not None and street_id in ids)


def visible_streets(user: User) -> list[Street]:
    """The streets a user sees, in order (the street choices of filters and forms)."""
    stmt = select(Street).where(scoped(Street.id, user)).order_by(Street.position, Street.id)
    return list(db.session.scalars(stmt))


def level_ids(user: User) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """The districts and cities whose joint meetings (四级联动) a user reads: those their
    streets lie in, and an observer's own; None for all of them (the system administrator)."""
    if not user.is_authenticated or user.role == Role.SYSADMIN:
        return None
    key = (user.street_id, user.district_id, user.city_id)
    cached = user.__dict__.get("_level_ids")
    if cached is not None and cached[0] == key:
        return cached[1]
    streets = street_ids(user) or ()
    districts = set(db.session.scalars(select(Street.district_id).where(Street.id.in_(streets))))
    if user.role == Role.OBSERVER:
        districts.add(user.district_id)
        if user.city_id is not None:
            districts.update(db.session.scalars(select(District.id).where(District.city_id == user.city_id)))
    districts.discard(None)
    cities = set(db.session.scalars(select(District.city_id).where(District.id.in_(districts))))
    if user.role == Role.OBSERVER and user.city_id is not None:
        cities.add(user.city_id)
    ids = (tuple(sorted(districts)), tuple(sorted(cities)))
    user.__dict__["_level_ids"] = (key, ids)
    return ids


def convenes(user: User) -> tuple[str, int] | None:
    """The level at which an observer convenes joint meetings: ("district", id) or ("city", id)."""
    if not user.is_authenticated or user.role != Role.OBSERVER:
        return None
    if user.district_id is not None:
        return ("district", user.district_id)
    return ("city", user.city_id) if user.city_id is not None else None
