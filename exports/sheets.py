"""Registers as spreadsheets: pure functions from rows to xlsx or CSV bytes."""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.parsers import expat

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from common.dates import SHANGHAI
from models import Unit

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


# A cell starting with one of these is run as a formula by Excel, WPS and LibreOffice when
# they open a CSV file (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _plain(value: Any) -> Any:
    """A value as it goes into a sheet: dates as dates, numbers as numbers, the rest as text."""
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(SHANGHAI).replace(tzinfo=None)
    if isinstance(value, int | float | date):
        return value
    return str(value)


def csv_escape(text: str) -> str:
    """Neutralise one CSV cell the OWASP way: an apostrophe before text that would run as a formula.

    Plain numbers such as -5 stay as they are. Text that already starts with an apostrophe gets
    one more, so that :func:`csv_unescape` undoes exactly what was added and an exported
    register imports back unchanged.
    """
    if text.startswith("'") or (text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text)):
        return "'" + text
    return text


def csv_unescape(text: str) -> str:
    """Undo :func:`csv_escape` on a cell read from a CSV file."""
    if text.startswith("'") and text[1:2] and (text[1] == "'" or text[1] in FORMULA_START):
        return text[1:]
    return text


def _csv_cell(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return csv_escape(str(value))


def _xlsx_text(text: str) -> str:
    # Control characters cannot be stored in the file format: show them escaped instead.
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so Excel and WPS show the Chinese intact."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str) -> bytes:
    """An xlsx workbook with one sheet, bold frozen header, sized columns.

    Text is written as text cells (never as formulas, whatever it starts with), so it needs
    no apostrophe and reads back exactly as it was.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    widths = [max(8, len(h) * 2 + 2) for h in headers]
    for col, header in enumerate(headers, start=1):
        ws.cell(row=1, column=col, value=header).font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            if value is None:
                continue
            value = _plain(value)
            if isinstance(value, str):
                cell = ws.cell(row=r, column=col, value=_xlsx_text(value))
                cell.data_type = "s"
            else:
                cell = ws.cell(row=r, column=col, value=value)
                if isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, datetime) else "yyyy-mm-dd"
            shown = value.strftime("%Y-%m-%d") if isinstance(value, date) else str(value)
            widths[col - 1] = min(60, max(widths[col - 1], len(shown) * 2 + 2))
    ws.freeze_panes = "A2"
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
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


def places_template_xlsx(headers: Sequence[str]) -> bytes:
    """An empty list of places: the headers only (the import page shows an example)."""
    return to_xlsx(list(headers), [], "地点导入模板")


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
    "按期完成",
    "变更与督办",
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
        action.meeting.start_at.astimezone(SHANGHAI).date(),
        action.lead_unit.name,
        "、".join(u.name for u in action.co_units),
        "、".join(p.label for p in action.principles),
        action.due_on,
        action.status.label,
        "逾期" if overdue else "",
        action.done_on,
        action.result,
        ("逾期完成" if action.done_late else "按期完成") if action.is_done else "",
        "；".join(e.summary for e in action.events),
    ]


def actions_to_xlsx(actions: Iterable, today: date) -> bytes:
    """The action ledger as an xlsx workbook."""
    return to_xlsx(ACTION_HEADERS, (action_row(a, today) for a in actions), "议定事项台账")


def actions_to_csv(actions: Iterable, today: date) -> bytes:
    """The action ledger as CSV."""
    return to_csv(ACTION_HEADERS, (action_row(a, today) for a in actions))


# --- reading ------------------------------------------------------------------------------


class SheetError(ValueError):
    """A spreadsheet that cannot be read within the limits; the message is for the user."""


@dataclass(frozen=True)
class SheetLimits:
    """How much of an uploaded spreadsheet is read, checked before anything is unpacked."""

    rows: int  # rows of the sheet, header and blank rows included
    columns: int
    file_bytes: int  # the uploaded file
    unpacked_bytes: int  # every part of an xlsx together, as its zip directory declares them
    ratio: int = 100  # largest compression ratio of an xlsx part of more than 1 MB
    structure: int = 50_000  # xlsx elements other than rows, cells and shared strings


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def read_table(filename: str, content: bytes, limits: SheetLimits) -> list[list[Any]]:
    """The first sheet of an xlsx file, or a CSV file, as rows of cell values.

    Bounded before it reads: the file size, then (xlsx) the sizes and compression ratios the
    zip declares and the sheet's declared dimension; then rows are streamed and reading stops
    at the row or column limit. Trailing empty cells are dropped. CSV cells are un-neutralised
    (:func:`csv_unescape`), so an exported register reads back as it was.
    """
    if len(content) > limits.file_bytes:
        raise SheetError(f"文件不能超过 {_mb(limits.file_bytes)}，请分批导入。")
    if filename.lower().endswith(".csv"):
        return _read_csv(content, limits)
    return _read_xlsx(content, limits)


def cell_text(value: Any) -> str:
    """A read cell as trimmed text: empty for none, 25 rather than 25.0 for a whole number."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _trimmed(row: Sequence[Any], row_no: int, limits: SheetLimits) -> list[Any]:
    tail = row[limits.columns :]
    if tail and tail.count(None) == len(tail):  # styled empty cells far to the right (fast path)
        row = row[: limits.columns]
    end = len(row)
    while end and _empty(row[end - 1]):
        end -= 1
    if end > limits.columns:
        raise SheetError(
            f"第 {row_no} 行的第 {end} 列（{get_column_letter(min(end, 16384))} 列）还有内容，"
            f"而导入最多读取 {limits.columns} 列。请删除表头右侧多余的列后再上传。"
        )
    return list(row[:end])


def _too_many_rows(limits: SheetLimits) -> SheetError:
    return SheetError(
        f"表格超过 {limits.rows} 行（之后的行仍有内容或格式）。请删除多余的行，或把数据分成几个文件导入。"
    )


def _read_csv(content: bytes, limits: SheetLimits) -> list[list[Any]]:
    # Decode as the rows are read, so only the kept rows are ever held as text.
    for encoding in ("utf-8-sig", "gb18030"):
        stream = io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="")
        rows = []
        try:
            for row_no, row in enumerate(csv.reader(stream), start=1):
                if row_no > limits.rows:
                    raise _too_many_rows(limits)
                rows.append([csv_unescape(cell) for cell in _trimmed(row, row_no, limits)])
        except UnicodeDecodeError:
            continue
        except csv.Error as exc:
            raise SheetError(
                "无法读取这个 CSV 文件（格式有误，或某个单元格过长），请用 Excel 或 WPS 另存后再试。"
            ) from exc
        return rows
    raise SheetError("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV。")


_BAD_XLSX = "无法读取这个 Excel 文件，请确认是 .xlsx 格式且未加密。"
# Elements that openpyxl reads one at a time and lets go of (a row's cells, a shared
# string's text), or keeps compactly (a row, a shared string); every other element may
# become a Python object of up to ~2 KB (a cell style, say) and counts towards
# SheetLimits.structure.
_STREAMED_CONTAINERS = {"row", "si"}
_EXCEL_COLUMNS = 16384


class _PartScan:
    """Count what one XML part holds, with expat, keeping nothing; raise past a limit."""

    def __init__(self, limits: SheetLimits, totals: dict[str, int]):
        self.limits = limits
        self.totals = totals
        self.streamed_depth = 0  # > 0 inside a row or a shared string
        self.depth = 0
        self.rows = 0
        self.cells_in_row = 0

    def start(self, name: str, attrs) -> None:
        self.depth += 1
        local = name.rpartition("}")[2]
        t, limits = self.totals, self.limits
        if self.streamed_depth:
            if local == "c":
                self.cells_in_row += 1
                t["cells"] += 1
                if self.cells_in_row > _EXCEL_COLUMNS or t["cells"] > limits.rows * limits.columns * 2:
                    raise SheetError(
                        "表格中的单元格过多（包括只有格式的空单元格）。请只保留表头和数据后再上传。"
                    )
            return
        if local in _STREAMED_CONTAINERS:
            self.streamed_depth = self.depth
            if local == "row":
                self.rows += 1
                self.cells_in_row = 0
                t["rows"] += 1
                if self.rows > limits.rows:
                    raise _too_many_rows(limits)
                if t["rows"] > limits.rows * 3:
                    raise SheetError("工作簿中各工作表的行数合计过多。请只保留要导入的那一个工作表。")
            else:
                t["strings"] += 1
                if t["strings"] > limits.rows * limits.columns:
                    raise SheetError(
                        "这个 Excel 文件中的文字条目过多，不像正常的登记表。请只保留表头和数据后再上传。"
                    )
            return
        t["structure"] += 1
        if t["structure"] > limits.structure:
            raise SheetError(
                "这个 Excel 文件的格式设置过于复杂（样式或其他部件过多）。请把数据复制到新的工作簿后再上传。"
            )

    def end(self, name: str) -> None:
        if self.depth == self.streamed_depth:
            self.streamed_depth = 0
        self.depth -= 1


def _no_dtd(*args) -> None:
    raise SheetError("这个 Excel 文件含有不允许的 XML 声明（DTD），无法导入。请用 Excel 或 WPS 另存后再试。")


def _check_zip(content: bytes, limits: SheetLimits) -> None:
    """Refuse an xlsx whose parts would unpack or parse into more than the limits allow.

    First the sizes and ratios the zip directory declares (Python's zipfile never unpacks
    more than declared), then a streaming count of every XML part's elements.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise SheetError(_BAD_XLSX) from exc
    with zf:
        parts = [p for p in zf.infolist() if not p.is_dir()]
        if len(parts) > 1000:
            raise SheetError("这个 Excel 文件包含的部件过多，不像正常的登记表，无法导入。")
        declared = sum(p.file_size for p in parts)
        if declared > limits.unpacked_bytes:
            raise SheetError(
                f"这个 Excel 文件解压后有 {_mb(declared)}，超过导入上限 {_mb(limits.unpacked_bytes)}。"
                "请只保留表头和数据，或分批导入。"
            )
        for part in parts:
            if part.file_size > 1024 * 1024 and part.file_size > limits.ratio * max(part.compress_size, 1):
                raise SheetError(
                    "这个 Excel 文件的压缩比异常，不像正常的登记表，无法导入。请用 Excel 或 WPS 另存后再试。"
                )
        totals = {"rows": 0, "cells": 0, "strings": 0, "structure": 0}
        for part in parts:
            scan = _PartScan(limits, totals)
            parser = expat.ParserCreate(namespace_separator="}")
            parser.StartElementHandler = scan.start
            parser.EndElementHandler = scan.end
            parser.StartDoctypeDeclHandler = _no_dtd
            parser.EntityDeclHandler = _no_dtd
            try:
                with zf.open(part) as stream:
                    parser.ParseFile(stream)
            except expat.ExpatError:
                continue  # not XML (an image, say); openpyxl would stop at the same place
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                raise SheetError(_BAD_XLSX) from exc


def _read_xlsx(content: bytes, limits: SheetLimits) -> list[list[Any]]:
    _check_zip(content, limits)
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise SheetError(_BAD_XLSX) from exc
    try:
        if not wb.worksheets:
            raise SheetError("这个 Excel 文件里没有工作表。")
        ws = wb.worksheets[0]
        # The range the sheet declares: refuse more rows than may be read before reading any.
        # (Formatted empty columns far to the right are common and harmless: see _trimmed.)
        if (ws.max_row or 0) > limits.rows:
            declared = f"{get_column_letter(ws.min_column or 1)}{ws.min_row or 1}:" + (
                f"{get_column_letter(min(ws.max_column or 1, _EXCEL_COLUMNS))}{ws.max_row}"
            )
            raise SheetError(
                f"工作表声明的范围是 {declared}（{ws.max_row} 行），超过导入上限 {limits.rows} 行。"
                "请把表头和数据复制到一个新的工作表，保存后再上传。"
            )
        # Then never trust it (openpyxl would pad every row to it): stream the rows really there.
        ws.reset_dimensions()
        rows = []
        try:
            for row_no, row in enumerate(ws.iter_rows(values_only=True), start=1):
                if row_no > limits.rows:
                    raise _too_many_rows(limits)
                rows.append(_trimmed(row, row_no, limits))
        except SheetError:
            raise
        except Exception as exc:
            raise SheetError(_BAD_XLSX) from exc
        return rows
    finally:
        wb.close()
