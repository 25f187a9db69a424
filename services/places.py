"""Places: the street's communities as the lists offer them in their filters."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Row, Select, select

from models import Community, db


def community_options() -> list[Row]:
    """Every community as (id, name), in the street's order: the choices of a list's filter.

    Plain values from a statement built once; the lists loaded whole Community objects on
    every request to print two of their values.
    """
    return list(db.session.execute(_options_select()))


@lru_cache(maxsize=1)
def _options_select() -> Select:
    return select(Community.id, Community.name).order_by(Community.street_id, Community.position)
