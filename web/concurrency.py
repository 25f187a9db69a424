"""Optimistic locking for edit forms: detect a lost update and say what changed.

An edit form carries the object's version and a snapshot of the values it was rendered
with (hidden fields `version` and `original`). If someone else saved in between, the save
is refused, the user's input stays in the form, and the values the other person changed
are listed. Every edit form (units, resources, needs, meetings, minutes) goes through
`lost_update`, whether its values are model fields or labelled text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from enum import Enum
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return getattr(value, "label", value.value)
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    return value


def field_values(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """Read the current values of an object's `fields`, keyed by field name."""
    return {f: getattr(obj, f) for f in fields}


def snapshot(values: Mapping[str, Any]) -> str:
    """Serialise the values an edit form is rendered with, for its hidden `original` field."""
    return json.dumps({k: _plain(v) for k, v in values.items()}, ensure_ascii=False)


def stamp(form: Any, version: int, values: Mapping[str, Any]) -> None:
    """Give an edit form the version and the snapshot of the values it is rendered with."""
    form.version.data = version
    form.original.data = snapshot(values)


def _changed_since(raw_snapshot: str | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the values that differ from the snapshot (or are missing from it), as they are now."""
    try:
        before = json.loads(raw_snapshot or "{}")
    except ValueError:
        before = {}
    if not isinstance(before, dict):
        before = {}
    now = {k: _plain(v) for k, v in values.items()}
    return {k: v for k, v in now.items() if k not in before or before[k] != v}


def lost_update(
    form: Any, version: int, values: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> list[tuple[str, Any]] | None:
    """Refuse a stale form: list (label, current value) of what changed since it was rendered.

    None when the form carries the current version. Otherwise the form is given the current
    version and snapshot, so that submitting it again overwrites knowingly.
    """
    if str(version) == str(form.version.data or ""):
        return None
    changed = _changed_since(form.original.data, values)
    stamp(form, version, values)
    return [(labels[k] if labels else k, v) for k, v in changed.items()]
