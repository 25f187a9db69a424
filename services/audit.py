"""Record every change to audited models, and explicit events such as logins.

Changes are captured once, in an ``after_flush`` hook, so no view or service can
forget to audit; events that are not row changes (login, refused access, export)
are added with :func:`record`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from models import AuditEvent, User, db

# Tables that are themselves logs or scratch data.
UNAUDITED_TABLES = {
    "audit_event",
    # What each user was told and read: their own inbox, not a record of the co-building.
    "notification",
    "login_attempt",
    "unit_import",
    "place_import",
    "outbox_message",
    "archive_counter",
}
# Columns whose change alone is bookkeeping, not a user's change.
QUIET_COLUMNS = {"version", "updated_at", "created_at"}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return str(value)


def _actor() -> tuple[int | None, str]:
    """Return the acting user's id and name: the logged-in user, or the CLI."""
    actor = _acting_user()
    if actor is not None:
        identity = inspect(actor).identity
        return (identity[0] if identity else None), actor.username
    return None, ("" if _where() != NOWHERE else "命令行")


def _acting_user() -> User | None:
    actor = None
    if has_app_context():
        actor = g.get("audit_actor") or g.get("_login_user")
    return actor if isinstance(actor, User) and actor.is_authenticated else None


def _street_of(obj: Any, actor: User | None) -> int | None:
    """The street an event belongs to: its object's (a street itself, or anything with a
    street), else the acting user's. Read from loaded state only: never a query mid-flush."""
    if obj is not None:
        if getattr(obj, "__tablename__", None) == "street":
            return inspect(obj).dict.get("id")
        street_id = inspect(obj).dict.get("street_id") if hasattr(obj, "__mapper__") else None
        if street_id is not None:
            return street_id
    return inspect(actor).dict.get("street_id") if actor is not None else None


NOWHERE = ("", "")


def _where() -> tuple[str, str]:
    """The client address and path of the request being served (set by web.audit), or none."""
    return g.get("audit_where", NOWHERE) if has_app_context() else NOWHERE


def _describe(obj: Any) -> str:
    for attr in ("name", "title", "username", "display_name"):
        value = getattr(obj, attr, None)
        if value:
            return str(value)
    return f"#{getattr(obj, 'id', '')}"


def _audited_columns(mapper):
    for attr in mapper.column_attrs:
        col = attr.columns[0]
        if attr.key in QUIET_COLUMNS or col.info.get("audit") is False:
            continue
        yield attr


def _row_changes(obj: Any, created: bool) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for attr in _audited_columns(state.mapper):
        if created:
            value = getattr(obj, attr.key)
            if value not in (None, ""):
                changes[attr.key] = _jsonable(value)
            continue
        hist = state.attrs[attr.key].history
        if hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                changes[attr.key] = [_jsonable(old), _jsonable(new)]
    return changes


@event.listens_for(Session, "after_flush")
def _audit_flush(session: Session, flush_context) -> None:
    rows = []
    actor_id, actor_name = _actor()
    acting = _acting_user()
    ip, path = _where()
    for kind, objs in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objs:
            table = getattr(obj, "__tablename__", None)
            if table is None or table in UNAUDITED_TABLES:
                continue
            if kind == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _row_changes(obj, created=(kind == "create"))
            if kind == "update" and not changes:
                continue
            action = "status" if kind == "update" and "status" in changes else kind
            rows.append(
                {
                    "at": datetime.now().astimezone(),
                    "actor_id": actor_id,
                    "actor_name": actor_name,
                    "street_id": _street_of(obj, acting),
                    "action": action,
                    "object_type": table,
                    "object_id": getattr(obj, "id", None),
                    "summary": _describe(obj),
                    "changes": changes,
                    "ip": ip,
                    "path": path,
                }
            )
    if rows:
        session.connection().execute(AuditEvent.__table__.insert(), rows)


def record(
    action: str,
    obj: Any = None,
    *,
    summary: str = "",
    changes: dict[str, Any] | None = None,
    actor: User | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Add an audit event that is not a row change (login, refusal, export)."""
    actor_id, name = _actor()
    if actor is not None:
        actor_id, name = actor.id, actor.username
    ip, path = _where()
    ev = AuditEvent(
        actor_id=actor_id,
        actor_name=actor_name if actor_name is not None else name,
        street_id=_street_of(obj, actor if actor is not None else _acting_user()),
        action=action,
        object_type=getattr(obj, "__tablename__", "") if obj is not None else "",
        object_id=getattr(obj, "id", None) if obj is not None else None,
        summary=summary or (_describe(obj) if obj is not None else ""),
        changes=_jsonable(changes or {}),
        ip=ip,
        path=path,
    )
    db.session.add(ev)
    return ev
