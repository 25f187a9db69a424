"""A page of a SQLAlchemy statement: LIMIT and OFFSET as bound parameters, the total with it."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Select, bindparam, func

# Remembered for as long as the statement lives, so a statement built once (a list without
# filters) is paged without building and keying a new statement on every request.
_pages: weakref.WeakKeyDictionary[Select, dict[tuple, Select]] = weakref.WeakKeyDictionary()


def paged(stmt: Select, *only: Any) -> Select:
    """stmt (or only the columns `only` of it) with LIMIT :page_limit OFFSET :page_offset and,
    without DISTINCT, count(*) OVER () as its last column: the number of all its rows."""
    variants = _pages.setdefault(stmt, {})
    page = variants.get(only)
    if page is None:
        page = stmt.with_only_columns(*only) if only else stmt
        page = page.limit(bindparam("page_limit")).offset(bindparam("page_offset"))
        if not stmt._distinct:
            page = page.add_columns(func.count().over())
        variants[only] = page
    return page
