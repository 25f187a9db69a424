"""Optimistic locking for edit forms: detect a lost update and say what changed.

An edit form carries the object's version and a snapshot of the values it was
rendered with. If someone else saved in between, the save is refused, the user's
input stays in the form, and the fields the other person changed are listed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time
from enum import Enum
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return getattr(value, "label", value.value)
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> str:
    """Serialise the current values of `fields` for a hidden form field."""
    return json.dumps({f: _plain(getattr(obj, f)) for f in fields}, ensure_ascii=False)


def changed_since(raw_snapshot: str | None, obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """Fields whose stored value differs from the snapshot, with their new values."""
    try:
        before = json.loads(raw_snapshot or "{}")
    except ValueError:
        before = {}
    now = {f: _plain(getattr(obj, f)) for f in fields}
    return {f: v for f, v in now.items() if f not in before or before[f] != v}
