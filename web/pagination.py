"""Pages of a list in one statement: the rows of the page and the number of all rows together.

Flask-SQLAlchemy's `db.paginate` asks twice, once for the page and once more with
`SELECT count(*) FROM (the same query)`; every list page paid for a second statement and its
compilation. Here the count comes with the rows, as a scalar subquery the database runs once
before the page (common.paging). Only a page past the end (no rows, so no count) asks again.

The statement must give one row per item: many-to-one joinedloads are fine, a joined
collection or DISTINCT would be counted wrongly, so those take Flask-SQLAlchemy's way.
"""

from __future__ import annotations

from typing import Any

from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Select, func, select
from sqlalchemy.orm import lazyload

from common.paging import paged
from models import db


class CountedPagination(SelectPagination):
    """A SelectPagination whose items statement also carries the total."""

    def _query_items(self) -> list[Any]:
        stmt = self._query_args["select"]
        session = self._query_args["session"]
        params = self._query_args.get("params") or {}
        self._total: int | None = None
        page_params = {**params, "page_limit": self.per_page, "page_offset": self._query_offset}
        rows = session.execute(paged(stmt), page_params).all()
        if not stmt._distinct and rows:
            self._total = rows[0][-1]
        if self._query_args.get("rows"):
            return rows  # whole rows (without DISTINCT, the total as their last value)
        return [row[0] for row in rows]

    def _query_count(self) -> int:
        if self._total is not None:
            return self._total
        stmt = self._query_args["select"]
        if self._query_offset == 0 and not stmt._distinct:
            return 0
        sub = stmt.options(lazyload("*")).order_by(None).subquery()
        count = select(func.count()).select_from(sub)
        return self._query_args["session"].execute(count, self._query_args.get("params") or {}).scalar()


def paginate(
    stmt: Select, per_page: int, rows: bool = False, params: dict[str, Any] | None = None
) -> CountedPagination:
    """The page the request asks for (`?page=`), out-of-range pages empty instead of 404.

    The items are the first value of each row (the entity), or with `rows` the whole rows
    of a statement that selects plain columns. `params` are the values of the statement's
    bound parameters (for a statement built once).
    """
    return CountedPagination(
        select=stmt,
        session=db.session(),
        per_page=per_page,
        max_per_page=None,
        error_out=False,
        rows=rows,
        params=params,
    )
