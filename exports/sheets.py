"""Registers as spreadsheets: pure functions from rows to xlsx or CSV bytes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from models import Unit

_SHANGHAI = ZoneInfo("Asia/Shanghai")

# (field, header) of the unit register; import reads the same headers.
UNIT_COLUMNS: list[tuple[str, str]] = [
    ("name", "单位名称"),
    ("short_name", "简称"),
    ("category", "单位类别"),
    ("community", "所属社区"),
    ("address", "地址"),
    ("party_org_name", "党组织名称"),
    ("party_member_count", "党员人数"),
    ("liaison_name", "联络人"),
    ("liaison_phone", "联系电话"),
    ("liaison_email", "电子邮箱"),
    ("registered_on", "报到日期"),
    ("agreement_date", "共建协议签订日期"),
    ("status", "状态"),
    ("activated_on", "在册日期"),
    ("withdrawn_on", "退出日期"),
]


def unit_row(unit: Unit) -> list[Any]:
    """One unit as a register row, in UNIT_COLUMNS order."""
    values = {
        "category": unit.category.label,
        "community": unit.community.name,
        "status": unit.status.label,
    }
    return [values.get(f, getattr(unit, f, "")) for f, _ in UNIT_COLUMNS]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    # A cell starting with a formula character would run as a formula in Excel/WPS.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so Excel and WPS show the Chinese intact."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_cell_text(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str) -> bytes:
    """An xlsx workbook with one sheet, bold frozen header, sized columns."""
    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(headers))
    widths = [max(8, len(h) * 2 + 2) for h in headers]
    for row in rows:
        out = []
        for i, v in enumerate(row):
            if isinstance(v, str):
                v = _cell_text(v)
            out.append(v)
            widths[i] = min(60, max(widths[i], len(str(v if v is not None else "")) * 2 + 2))
        ws.append(out)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
        for cell in ws[get_column_letter(i)][1:]:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def units_to_csv(units: Iterable[Unit]) -> bytes:
    """The unit register as CSV."""
    return to_csv([h for _, h in UNIT_COLUMNS], (unit_row(u) for u in units))


def units_to_xlsx(units: Iterable[Unit]) -> bytes:
    """The unit register as an xlsx workbook."""
    return to_xlsx([h for _, h in UNIT_COLUMNS], (unit_row(u) for u in units), "驻区单位名册")


def import_template_xlsx() -> bytes:
    """An empty register with the importable headers and one example row."""
    headers = [h for f, h in UNIT_COLUMNS if f not in ("status", "activated_on", "withdrawn_on")]
    example = [
        "示例：东大街第一小学",
        "一小",
        "学校",
        "东大街第一社区",
        "东大街 1 号",
        "东大街第一小学党支部",
        25,
        "王老师",
        "010-88886666",
        "wang@example.cn",
        "2026-03-01",
        "2026-03-15",
    ]
    return to_xlsx(headers, [example], "导入模板")


ACTION_HEADERS = [
    "编号",
    "议定事项",
    "具体内容",
    "召集单位",
    "会议",
    "会议日期",
    "牵头单位",
    "协同单位",
    "共建方向",
    "完成时限",
    "状态",
    "是否逾期",
    "完成日期",
    "完成情况",
]


def action_row(action, today: date) -> list[Any]:
    """One action as a ledger row, in ACTION_HEADERS order."""
    overdue = action.is_overdue(today)
    return [
        action.id,
        action.title,
        action.detail,
        action.community.name if action.community else "街道",
        action.meeting.title,
        action.meeting.start_at.astimezone(_SHANGHAI).date(),
        action.lead_unit.name,
        "、".join(u.name for u in action.co_units),
        "、".join(p.label for p in action.principles),
        action.due_on,
        action.status.label,
        "逾期" if overdue else "",
        action.done_on,
        action.result,
    ]


def actions_to_xlsx(actions: Iterable, today: date) -> bytes:
    """The action ledger as an xlsx workbook."""
    return to_xlsx(ACTION_HEADERS, (action_row(a, today) for a in actions), "议定事项台账")


def actions_to_csv(actions: Iterable, today: date) -> bytes:
    """The action ledger as CSV."""
    return to_csv(ACTION_HEADERS, (action_row(a, today) for a in actions))
