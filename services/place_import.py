"""Import places from a spreadsheet: one row per place, its path from the city down.

Like the unit register's import: every row is checked first, the user sees which rows will
create which places and why the others are refused, and only a confirmation writes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from exports.sheets import SheetError, SheetLimits, cell_text, read_table
from models import PlaceImport, User, db
from models.base import RuleError, utcnow
from services import audit
from services.places import ADDRESS_MAX, KINDS, LEVELS, NAME_MAX, SHORT_MAX, create_place

LEVEL_HEADERS = {
    "city": "市",
    "district": "区",
    "street": "街道",
    "community": "社区",
    "grid": "网格",
    "building": "楼栋",
}
HEADERS = (*LEVEL_HEADERS.values(), "简称", "地址")
IMPORT_LIMITS = SheetLimits(
    rows=20_001, columns=50, file_bytes=5 * 1024 * 1024, unpacked_bytes=50 * 1024 * 1024
)
MAX_ROWS = 20_000


class PlaceImportError(RuleError):
    """The file as a whole cannot be read; the message is for the user."""


class _Resolver:
    """Finds the places a path names, remembering the ones earlier rows of the file create."""

    def __init__(self) -> None:
        self.planned: set[tuple] = set()
        self.found: dict[tuple, Any] = {}  # rows repeat their ancestors: each is looked up once

    def find(self, level: str, parent: Any, name: str) -> Any:
        """The existing place of this level called `name` under `parent` (a place, a planned
        key, or None), a planned key if an earlier row creates it, or None."""
        key = (level, _key(parent), name)
        if key not in self.found:
            self.found[key] = self._existing(level, parent, name)
        existing = self.found[key]
        if existing is not None:
            return existing
        return key if key in self.planned else None

    def _existing(self, level: str, parent: Any, name: str) -> Any:
        kind = KINDS[level]
        if level == "street":
            existing = db.session.scalar(select(kind.model).where(kind.model.name == name))
        elif parent is not None and not isinstance(parent, tuple):
            existing = db.session.scalar(
                select(kind.model).where(kind.parent_column == parent.id, kind.model.name == name)
            )
        elif parent is None and kind.parent is None:
            existing = db.session.scalar(select(kind.model).where(kind.model.name == name))
        else:
            existing = None  # under a place this file creates, nothing exists yet
        return existing


def _key(parent: Any) -> Any:
    if parent is None or isinstance(parent, tuple):
        return parent
    return (type(parent).__name__, parent.id)


def check_import(filename: str, content: bytes, user: User) -> PlaceImport:
    """Read an uploaded list of places, sort its rows into valid and refused, and stage it."""
    try:
        rows = read_table(filename, content, IMPORT_LIMITS)
    except SheetError as exc:
        raise PlaceImportError(str(exc)) from exc
    while rows and not any(cell_text(c) for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise PlaceImportError("文件是空的。")
    headers = [cell_text(h) for h in rows[0]]
    level_columns = [h for h in LEVEL_HEADERS.values() if h in headers]
    if not level_columns:
        raise PlaceImportError(
            "表头缺少地点层级列（市、区、街道、社区、网格、楼栋）。请使用导入模板，第一行为表头。"
        )
    body = rows[1:]
    if len(body) > MAX_ROWS:
        raise PlaceImportError(f"一次最多导入 {MAX_ROWS} 行，请分批导入。")
    index = {h: i for i, h in enumerate(headers) if h in HEADERS}

    resolver = _Resolver()
    seen: dict[tuple, int] = {}
    valid: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    unchanged: list[dict[str, Any]] = []
    for offset, raw in enumerate(body):
        row_no = offset + 2
        cells = {h: cell_text(raw[i]) if i < len(raw) else "" for h, i in index.items()}
        names = [(level, cells.get(header, "")) for level, header in LEVEL_HEADERS.items()]
        filled = [i for i, (_, name) in enumerate(names) if name]
        if not filled and not cells.get("简称") and not cells.get("地址"):
            continue
        problems: list[tuple[str, str]] = []
        label = " / ".join(name for _, name in names if name)
        if not filled:
            rejected.append(
                {"row": row_no, "name": label, "column": "层级", "reason": "没有填写任何地点名称"}
            )
            continue
        first, deepest = filled[0], filled[-1]
        # A path starts at the city, or at a street (which may not be placed in a district yet).
        start = first if LEVELS[first] == "street" else 0
        missing = [LEVEL_HEADERS[LEVELS[i]] for i in range(start, deepest) if not names[i][1]]
        if missing:
            problems.append(("层级", "请填写上级：" + "、".join(missing)))
        for level, name in names[start : deepest + 1]:
            if len(name) > NAME_MAX:
                problems.append((LEVEL_HEADERS[level], f"名称超过 {NAME_MAX} 个字"))
        short_name, address = cells.get("简称", ""), cells.get("地址", "")
        if len(short_name) > SHORT_MAX:
            problems.append(("简称", f"简称超过 {SHORT_MAX} 个字"))
        if len(address) > ADDRESS_MAX:
            problems.append(("地址", f"地址超过 {ADDRESS_MAX} 个字"))
        if address and LEVELS[deepest] in ("city", "district"):
            problems.append(("地址", "市、区不填地址"))

        path: list[list[str]] = []
        new: list[str] = []
        if not problems:
            parent: Any = None
            for level, name in names[start : deepest + 1]:
                found = resolver.find(level, parent, name)
                if found is not None and not isinstance(found, tuple):
                    if found.retired:
                        problems.append(
                            (LEVEL_HEADERS[level], f"{KINDS[level].label}“{name}”已撤销，请先在地点页面恢复")
                        )
                        break
                    if level == "street" and parent is not None and _key(parent) != _key_of_parent(found):
                        where = "已属于其他区" if found.district_id else "尚未归属区，请在街道页面选择所属区"
                        problems.append(
                            (LEVEL_HEADERS[level], f"街道“{name}”{where}；街道名称在系统中不能重复")
                        )
                        break
                elif found is None:
                    new.append(level)
                    found = (level, _key(parent), name)
                path.append([level, name])
                parent = found
            if not problems:
                key = tuple(tuple(p) for p in path)
                if key in seen:
                    problems.append(("层级", f"与第 {seen[key]} 行重复"))
                else:
                    seen[key] = row_no
        if problems:
            for column, reason in problems:
                rejected.append({"row": row_no, "name": label, "column": column, "reason": reason})
        elif not new:
            unchanged.append({"row": row_no, "name": label})
        else:
            for i, (level, name) in enumerate(path):
                if level in new:
                    resolver.planned.add((level, _key_path(path[:i], resolver), name))
            valid.append(
                {"row": row_no, "path": path, "new": new, "short_name": short_name, "address": address}
            )

    batch = PlaceImport(
        created_by_id=user.id,
        filename=filename[:200],
        valid_rows=valid,
        rejected_rows=rejected,
        unchanged_rows=unchanged,
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def _key_of_parent(street: Any) -> Any:
    return ("District", street.district_id) if street.district_id else None


def _key_path(path: list[list[str]], resolver: _Resolver) -> Any:
    """The key of the place at the end of `path` (None for an empty path), as find() gives it."""
    parent: Any = None
    for level, name in path:
        found = resolver.find(level, parent, name)
        parent = found if found is not None else (level, _key(parent), name)
    return _key(parent)


def confirm_import(batch: PlaceImport, user: User) -> int:
    """Create the places the staged rows name; a row whose places changed since is skipped."""
    created = 0
    known: dict[tuple, Any] = {}  # rows repeat their ancestors: each is looked up once
    for record in batch.valid_rows:
        parent = None
        for i, (level, name) in enumerate(record["path"]):
            kind = KINDS[level]
            key = (level, parent.id if parent is not None and level != "street" else None, name)
            if key not in known:
                stmt = select(kind.model).where(kind.model.name == name)
                if level != "street" and parent is not None:
                    stmt = stmt.where(kind.parent_column == parent.id)
                known[key] = db.session.scalar(stmt)
            place = known[key]
            if place is not None and place.retired:
                break  # retired since the check: the rest of the row waits for it
            if place is None:
                last = i == len(record["path"]) - 1
                try:
                    place = create_place(
                        level,
                        parent.id if parent is not None else None,
                        name,
                        record["short_name"] if last else "",
                        record["address"] if last else "",
                    )
                except RuleError:  # checked before anything is written, so nothing half-made
                    break
                known[key] = place
                created += 1
            parent = place
    batch.confirmed_at = utcnow()
    batch.created_count = created
    audit.record("import", batch, summary=f"{batch.filename}：新建 {created} 个地点")
    return created
