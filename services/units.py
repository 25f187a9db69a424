"""Unit register operations shared by views, CLI and tests. They never commit."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from common.search import escape_like
from exports.sheets import UNIT_COLUMNS, SheetError, SheetLimits, cell_text, read_table
from models import Community, Unit, UnitCategory, UnitImport, UnitStatus, UnitStatusChange, User, db
from models.base import RuleError, today, utcnow
from services import audit, notify
from services.grids import check_grid
from services.places import active_communities
from services.scope import scoped

MAX_IMPORT_ROWS = 5000
# Read at most this much of an uploaded register (a 5,000-row register is about 0.5 MB as
# xlsx and 3 MB unpacked): reading stays within a few tens of MB whatever the file says.
IMPORT_LIMITS = SheetLimits(
    rows=MAX_IMPORT_ROWS + 100,
    columns=50,
    file_bytes=5 * 1024 * 1024,
    unpacked_bytes=20 * 1024 * 1024,
)
PHONE_PATTERN = re.compile(r"^[0-9+\-() ]{7,20}$")


def units_query(
    viewer: User,
    q: str = "",
    community_id: int | None = None,
    category: UnitCategory | None = None,
    status: UnitStatus | None = None,
    rows: bool = False,
) -> Select:
    """Units matching a search and filters, ordered for the register.

    With `rows`, the register page's plain values instead (id, name, short_name, category,
    community_name, liaison_name, status, registered_on): a page of Unit objects (some forty
    columns each) with their communities cost more to build than the page cost to render.
    """
    if rows:
        stmt = _register_rows()
    else:
        stmt = select(Unit).options(joinedload(Unit.community)).order_by(*_REGISTER_ORDER)
    stmt = stmt.where(scoped(Unit.street_id, viewer))
    q = q.strip()
    if q:
        pattern = f"%{escape_like(q)}%"
        stmt = stmt.where(
            or_(
                Unit.name.ilike(pattern, escape="\\"),
                Unit.short_name.ilike(pattern, escape="\\"),
                Unit.liaison_name.ilike(pattern, escape="\\"),
            )
        )
    if community_id:
        stmt = stmt.where(Unit.community_id == community_id)
    if category:
        stmt = stmt.where(Unit.category == category)
    if status:
        stmt = stmt.where(Unit.status == status)
    return stmt


@lru_cache(maxsize=1)
def _register_rows() -> Select:
    """The register page's columns, join and order, built once (an unfiltered page reuses it)."""
    return (
        select(
            Unit.id,
            Unit.name,
            Unit.short_name,
            Unit.category,
            Community.name.label("community_name"),
            Unit.community_id,
            Unit.liaison_name,
            Unit.status,
            Unit.registered_on,
        )
        .join(Community, Community.id == Unit.community_id)
        .order_by(*_REGISTER_ORDER)
    )


_REGISTER_ORDER = (Unit.community_id, Unit.name, Unit.id)


def communities_for(user: User, keep_id: int | None = None) -> list[Community]:
    """Communities (in use, or the one a unit already has) a user may place a unit in."""
    stmt = active_communities(keep_id)
    if user.is_admin:
        stmt = stmt.where(scoped(Community.street_id, user))
    else:
        stmt = stmt.where(Community.id == user.community_id)
    return list(db.session.scalars(stmt))


def name_taken(street_id: int, name: str, exclude_id: int | None = None) -> Unit | None:
    """The unit of this street already called `name`, if any."""
    stmt = select(Unit).where(Unit.street_id == street_id, Unit.name == name)
    if exclude_id:
        stmt = stmt.where(Unit.id != exclude_id)
    return db.session.scalar(stmt)


def create_unit(data: dict[str, Any], by: User | None, announce: bool = True) -> Unit:
    """Register a new unit (status 报到) with the given fields; its community's secretaries
    hear of it (unless `announce` is false: an import tells them once)."""
    community = db.session.get(Community, data["community_id"])
    data = {**data, "grid_id": check_grid(data.get("grid_id"), community.id)}
    unit = Unit(street_id=community.street_id, status=UnitStatus.REGISTERED)
    for key, value in data.items():
        setattr(unit, key, value)
    unit.community = community
    if not unit.registered_on:
        unit.registered_on = today()
    db.session.add(unit)
    try:
        db.session.flush()
    except IntegrityError as exc:  # registered by someone else since the name was checked
        raise RuleError("本街道已有同名单位，请换一个名称。") from exc
    db.session.add(
        UnitStatusChange(
            unit=unit,
            from_status=None,
            to_status=UnitStatus.REGISTERED,
            effective_on=unit.registered_on,
            reason="报到登记",
            changed_by=by,
        )
    )
    if announce:
        notify.unit_registered(unit, by)
    return unit


def apply_changes(unit: Unit, data: dict[str, Any]) -> None:
    """Copy edited fields onto the unit, moving it to another street if its community moved."""
    if "grid_id" in data:
        data = {**data, "grid_id": check_grid(data["grid_id"], data.get("community_id", unit.community_id))}
    for key, value in data.items():
        setattr(unit, key, value)
    if "community_id" in data:
        community = db.session.get(Community, data["community_id"])
        unit.street_id = community.street_id
    try:
        db.session.flush()
    except (IntegrityError, StaleDataError) as exc:  # saved by someone else since the form was checked
        raise RuleError("保存失败：单位资料刚被他人修改或名称重复，请核对后重新提交。") from exc


# --- import -----------------------------------------------------------------

IMPORT_FIELDS = {h: f for f, h in UNIT_COLUMNS if f not in ("status", "activated_on", "withdrawn_on")}
REQUIRED_HEADERS = ("单位名称", "单位类别", "所属社区")


class ImportFileError(RuleError):
    """The file as a whole cannot be read; the message is for the user."""


def _read_rows(filename: str, content: bytes) -> list[list[Any]]:
    try:
        return read_table(filename, content, IMPORT_LIMITS)
    except SheetError as exc:
        raise ImportFileError(str(exc)) from exc


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_date(value: Any) -> date | None:
    """Read a date cell: an Excel date, 2026-03-01, 2026/3/1 or 2026年3月1日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE_RE.match(cell_text(value))
    if not m:
        raise ValueError
    return date(int(m[1]), int(m[2]), int(m[3]))


def check_import(filename: str, content: bytes, user: User) -> UnitImport:
    """Read an uploaded register, sort its rows into valid and rejected, and stage it."""
    rows = _read_rows(filename, content)
    while rows and not any(cell_text(c) for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise ImportFileError("文件是空的。")
    headers = [cell_text(h) for h in rows[0]]
    missing = [h for h in REQUIRED_HEADERS if h not in headers]
    if missing:
        raise ImportFileError("表头缺少：" + "、".join(missing) + "。请使用导入模板，第一行为表头。")
    body = rows[1:]
    if len(body) > MAX_IMPORT_ROWS:
        raise ImportFileError(f"一次最多导入 {MAX_IMPORT_ROWS} 行，请分批导入。")
    index = {h: i for i, h in enumerate(headers) if h in IMPORT_FIELDS}

    allowed = {c.name: c for c in communities_for(user)}
    all_communities: dict[str, list[Community]] = {}
    for c in db.session.scalars(select(Community)):
        all_communities.setdefault(c.name, []).append(c)
    existing = {
        (unit.street_id, unit.name): unit
        for unit in db.session.scalars(
            select(Unit).where(Unit.street_id.in_({c.street_id for c in allowed.values()}))
        )
    }
    unchanged: list[dict[str, Any]] = []

    valid: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen: dict[tuple[int, str], int] = {}
    for offset, raw in enumerate(body):
        row_no = offset + 2  # the spreadsheet's own row number
        cells = {h: (raw[i] if i < len(raw) else None) for h, i in index.items()}
        if not any(cell_text(v) for v in cells.values()):
            continue
        problems: list[tuple[str, str]] = []
        record: dict[str, Any] = {}
        registered: Unit | None = None  # the unit of this street already called so

        name = cell_text(cells.get("单位名称"))
        if not name:
            problems.append(("单位名称", "单位名称不能为空"))
        elif len(name) > 100:
            problems.append(("单位名称", "单位名称超过 100 个字"))
        record["name"] = name

        category = UnitCategory.from_label(cell_text(cells.get("单位类别")))
        if category is None:
            problems.append(
                (
                    "单位类别",
                    "无效的单位类别“{}”，应为：{}".format(
                        cell_text(cells.get("单位类别")), "、".join(m.label for m in UnitCategory)
                    ),
                )
            )
        else:
            record["category"] = category.value

        community_name = cell_text(cells.get("所属社区"))
        community = None
        if not community_name:
            problems.append(("所属社区", "所属社区不能为空"))
        elif community_name not in all_communities:
            problems.append(("所属社区", f"没有名为“{community_name}”的社区"))
        elif community_name not in allowed:
            problems.append(("所属社区", f"您无权向“{community_name}”导入单位"))
        elif len(all_communities[community_name]) > 1:
            problems.append(("所属社区", f"有多个街道的社区叫“{community_name}”，请单独录入"))
        else:
            community = allowed[community_name]
            record["community_id"] = community.id

        if community is not None and name:
            key = (community.street_id, name)
            if key in existing:
                registered = existing[key]
            elif key in seen:
                problems.append(("单位名称", f"与第 {seen[key]} 行重名"))
            else:
                seen[key] = row_no

        for header, field, limit in (
            ("简称", "short_name", 40),
            ("地址", "address", 200),
            ("党组织名称", "party_org_name", 100),
            ("联络人", "liaison_name", 50),
        ):
            value = cell_text(cells.get(header))
            if len(value) > limit:
                problems.append((header, f"{header}超过 {limit} 个字"))
            record[field] = value

        count_text = cell_text(cells.get("党员人数"))
        record["party_member_count"] = 0
        if count_text:
            if not (count_text.isascii() and count_text.isdigit()) or int(count_text) > 100000:
                problems.append(("党员人数", f"党员人数应为 0 到 100000 的整数，而不是“{count_text}”"))
            else:
                record["party_member_count"] = int(count_text)

        phone = cell_text(cells.get("联系电话"))
        if phone and not PHONE_PATTERN.match(phone):
            problems.append(("联系电话", f"电话号码“{phone}”格式不正确"))
        record["liaison_phone"] = phone

        email = cell_text(cells.get("电子邮箱"))
        if email:
            try:
                validate_email(email, check_deliverability=False)
            except EmailNotValidError:
                problems.append(("电子邮箱", f"电子邮箱“{email}”格式不正确"))
        record["liaison_email"] = email

        for header, field in (("报到日期", "registered_on"), ("共建协议签订日期", "agreement_date")):
            value = cells.get(header)
            if cell_text(value):
                try:
                    parsed = parse_date(value)
                except ValueError:
                    problems.append((header, f"无法识别的日期“{cell_text(value)}”，请写成 2026-03-01"))
                    continue
                if parsed > today():
                    problems.append((header, f"{header}不能晚于今天"))
                    continue
                record[field] = parsed.isoformat()

        if registered is not None:
            differing = differences(registered, record)
            if not differing:
                # The register's own data, even where it predates today's checks.
                unchanged.append({"row": row_no, "name": name})
                continue
            problems.insert(
                0,
                (
                    "单位名称",
                    f"本街道已有同名单位“{name}”"
                    + (f"，且{'、'.join(differing)}与名册不同" if differing else "")
                    + "；导入只新建单位，修改已登记的单位请到单位页面编辑",
                ),
            )
        if problems:
            for column, reason in problems:
                rejected.append({"row": row_no, "name": name, "column": column, "reason": reason})
        else:
            record["row"] = row_no
            valid.append(record)

    batch = UnitImport(
        created_by=user,
        filename=filename[:200],
        valid_rows=valid,
        rejected_rows=rejected,
        unchanged_rows=unchanged,
    )
    db.session.add(batch)
    db.session.flush()
    return batch


_FIELD_HEADERS = {f: h for h, f in IMPORT_FIELDS.items()} | {"community_id": "所属社区"}


def differences(unit: Unit, record: dict[str, Any]) -> list[str]:
    """The headers of the columns where a checked import row differs from a registered unit."""

    def registered(field: str) -> Any:
        value = getattr(unit, field)
        if field == "category":
            return value.value
        if isinstance(value, date):
            return value.isoformat()
        if field == "party_member_count":
            return value or 0
        return "" if value is None else value

    out = []
    for field, header in _FIELD_HEADERS.items():
        if field == "community":
            continue
        theirs = record.get(field, "" if field not in ("registered_on", "agreement_date") else None)
        if theirs != registered(field) and not (theirs in ("", None) and registered(field) in ("", None)):
            out.append(header)
    return out


def confirm_import(batch: UnitImport, user: User) -> list[Unit]:
    """Create the staged valid rows as units; rows that became invalid are skipped."""
    created = []
    allowed = {c.id for c in communities_for(user)}
    for record in batch.valid_rows:
        data = {k: v for k, v in record.items() if k != "row"}
        if data["community_id"] not in allowed:
            continue
        community = db.session.get(Community, data["community_id"])
        if name_taken(community.street_id, data["name"]):
            continue
        data["category"] = UnitCategory(data["category"])
        for field in ("registered_on", "agreement_date"):
            if data.get(field):
                data[field] = date.fromisoformat(data[field])
        created.append(create_unit(data, by=user, announce=False))
    for community_id in sorted({u.community_id for u in created}):
        units = [u for u in created if u.community_id == community_id]
        notify.notify(
            notify.NoticeKind.UNIT_REGISTERED,
            notify.secretaries([community_id]),
            f"{batch.filename}导入了 {len(units)} 个报到单位（{'、'.join(u.name for u in units[:3])}"
            + ("等" if len(units) > 3 else "")
            + "），请审核转为在册。",
            f"/units?community={community_id}&status=registered",
            user,
        )
    batch.confirmed_at = utcnow()
    batch.created_count = len(created)
    audit.record("import", batch, summary=f"{batch.filename}：导入 {len(created)} 个单位")
    return created


def count_by_status(community_id: int | None = None) -> dict[UnitStatus, int]:
    """Units per status, for one community or all."""
    stmt = select(Unit.status, func.count()).group_by(Unit.status)
    if community_id:
        stmt = stmt.where(Unit.community_id == community_id)
    counts = {s: 0 for s in UnitStatus}
    for status, n in db.session.execute(stmt):
        counts[UnitStatus(status)] = n
    return counts
