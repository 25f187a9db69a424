"""The yearly transfer package (移交包) of one 全宗: pure, values in, ZIP bytes out.

One folder per 件 named by its 档号: the archival PDF/A, the files embedded in it (the
meeting's .ics and the minutes as JSON) under 附件/, and a metadata XML of DA/T 46 elements;
at the top the 归档文件目录 (DA/T 22 columns) as xlsx and PDF, and manifest.json listing every
file with its size, SHA-256 and SM3 (GB/T 32905). The same input gives the same bytes: entries
in a fixed order with a fixed time, the workbook's own zip and dates normalised, the PDF's
dates taken from the data.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

import pikepdf
from flask import render_template

from common.digests import digests
from exports.pdf import render_pdf
from exports.sheets import to_xlsx

MANIFEST = "manifest.json"
CATALOGUE_HEADERS = ["序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注"]
FIXED_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass
class PackageItem:
    """One filed 件 as the package describes it."""

    file_no: str
    fonds_code: str
    fonds_name: str
    year: int
    retention_label: str
    organ: str
    item_no: int
    archive_no: str
    title: str
    responsible: str  # 责任者: the meeting's host
    date: datetime  # the approval (the document's date)
    pages: int
    pdf: bytes
    attachments: dict[str, bytes] = field(default_factory=dict)
    ofd: bytes | None = None


@dataclass
class Package:
    fonds_code: str
    fonds_name: str
    year: int
    items: Sequence[PackageItem]
    made_by: str  # the software, with its version
    made_at: datetime  # taken from the data (the latest filing), never the clock

    @property
    def filename(self) -> str:
        return f"{self.fonds_code}-{self.year}-移交包.zip"


def _safe(name: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]", "_", name)


def _x(value) -> str:
    return escape(str(value if value is not None else ""))


def pdfa_level(pdf: bytes) -> str:
    """ "PDF/A-3a" or "PDF/A-3b" as the file's XMP says (renditions made before tagging are 3b)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        meta = document.open_metadata()
        part, conformance = meta.get("pdfaid:part", "3"), meta.get("pdfaid:conformance", "B")
    return f"PDF/A-{part}{conformance.lower()}"


def metadata_xml(item: PackageItem, pdf_name: str) -> bytes:
    """The item's description in DA/T 46-2009 elements (文书类电子文件元数据), with the
    digests as a local extension (DA/T 46 has no fixity element)."""
    sha256, sm3 = digests(item.pdf)
    day = item.date.strftime("%Y%m%d")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<文书类电子文件元数据>",
        "  <聚合层次>件</聚合层次>",
        "  <来源>",
        f"    <全宗名称>{_x(item.fonds_name)}</全宗名称>",
        f"    <立档单位名称>{_x(item.fonds_name)}</立档单位名称>",
        "  </来源>",
        f"  <电子文件号>{_x(item.file_no)}</电子文件号>",
        "  <档号>",
        f"    <全宗号>{_x(item.fonds_code)}</全宗号>",
        f"    <年度>{item.year}</年度>",
        f"    <保管期限>{_x(item.retention_label)}</保管期限>",
        f"    <机构或问题>{_x(item.organ)}</机构或问题>",
        f"    <件号>{item.item_no:04d}</件号>",
        "  </档号>",
        "  <内容描述>",
        f"    <题名>{_x(item.title)}</题名>",
        f"    <文件编号>{_x(item.archive_no)}</文件编号>",
        f"    <责任者>{_x(item.responsible)}</责任者>",
        f"    <日期>{day}</日期>",
        "    <文种>纪要</文种>",
        "  </内容描述>",
        "  <形式特征>",
        "    <件数>1</件数>",
        f"    <页数>{item.pages}</页数>",
        "    <语种>汉语</语种>",
        "    <稿本>正本</稿本>",
        "  </形式特征>",
        "  <电子属性>",
        "    <格式信息>",
        f"      <格式名称>{pdfa_level(item.pdf)}</格式名称>",
        "      <格式版本>ISO 19005-3:2012</格式版本>",
        "      <MIME媒体类型>application/pdf</MIME媒体类型>",
        "    </格式信息>",
        f"    <计算机文件名>{_x(pdf_name)}</计算机文件名>",
        f"    <计算机文件大小>{len(item.pdf)}</计算机文件大小>",
        "    <文档创建程序>共建联席会议系统</文档创建程序>",
        "  </电子属性>",
        *(
            [
                "  <版式文件>",
                "    <格式名称>OFD</格式名称>",
                "    <格式版本>GB/T 33190-2016</格式版本>",
                f"    <计算机文件名>{_x(pdf_name[:-4] + '.ofd')}</计算机文件名>",
                f"    <计算机文件大小>{len(item.ofd)}</计算机文件大小>",
                f"    <SHA-256>{digests(item.ofd)[0]}</SHA-256>",
                f"    <SM3>{digests(item.ofd)[1]}</SM3>",
                "  </版式文件>",
            ]
            if item.ofd is not None
            else []
        ),
        "  <校验码>",
        f"    <SHA-256>{sha256}</SHA-256>",
        f"    <SM3>{sm3}</SM3>",
        "  </校验码>",
        "</文书类电子文件元数据>",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def catalogue_rows(package: Package) -> list[list]:
    return [
        [
            n,
            item.file_no,
            item.archive_no,
            item.responsible,
            item.title,
            item.date.strftime("%Y%m%d"),
            "",
            item.pages,
            "",
        ]
        for n, item in enumerate(package.items, start=1)
    ]


def _normalised_zip(data: bytes, replace: dict[str, bytes] | None = None) -> bytes:
    """A zip (an xlsx) rewritten with its entries in order, at a fixed time."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = (replace or {}).get(info.filename, source.read(info.filename))
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, body, compresslevel=9)
    return out.getvalue()


def catalogue_xlsx(package: Package) -> bytes:
    data = to_xlsx(CATALOGUE_HEADERS, catalogue_rows(package), f"{package.year}年归档文件目录")
    core = zipfile.ZipFile(io.BytesIO(data)).read("docProps/core.xml").decode()
    stamp = package.made_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    core = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rf"\g<1>{stamp}\g<2>", core)
    return _normalised_zip(data, {"docProps/core.xml": core.encode()})


def catalogue_pdf(package: Package) -> bytes:
    html = render_template("pdf/catalogue.html", package=package, rows=catalogue_rows(package))
    metadata = {
        "title": f"{package.fonds_name}{package.year}年归档文件目录",
        "authors": [package.fonds_name],
        "created": package.made_at,
        "modified": package.made_at,
    }
    return render_pdf(html, metadata=metadata)


def build(package: Package) -> bytes:
    """The package as ZIP bytes (deterministic)."""
    files: list[tuple[str, bytes]] = []
    for item in package.items:
        folder = _safe(item.file_no)
        pdf_name = f"{folder}.pdf"
        files.append((f"{folder}/{pdf_name}", item.pdf))
        if item.ofd is not None:
            files.append((f"{folder}/{folder}.ofd", item.ofd))
        for name, data in sorted(item.attachments.items()):
            files.append((f"{folder}/附件/{_safe(name)}", data))
        files.append((f"{folder}/{folder}.xml", metadata_xml(item, pdf_name)))
    files.append(("归档文件目录.xlsx", catalogue_xlsx(package)))
    files.append(("归档文件目录.pdf", catalogue_pdf(package)))
    entries = []
    for path, data in files:
        sha256, sm3 = digests(data)
        entries.append({"path": path, "size": len(data), "sha256": sha256, "sm3": sm3})
    manifest = {
        "package": "会议纪要年度移交包",
        "fonds_code": package.fonds_code,
        "fonds_name": package.fonds_name,
        "year": package.year,
        "items": len(package.items),
        "made_by": package.made_by,
        "made_at": package.made_at.isoformat(),
        "files": entries,
    }
    files.append((MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files:
            info = zipfile.ZipInfo(path, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.flag_bits |= 0x800  # UTF-8 names
            archive.writestr(info, data, compresslevel=9)
    return out.getvalue()


@dataclass
class Finding:
    path: str
    problem: str


def verify(data: bytes) -> tuple[dict | None, list[Finding]]:
    """Check a package against its manifest: every listed file present with its size and both
    digests, nothing unlisted. Returns the manifest (None if unreadable) and the findings."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = json.loads(archive.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        return None, [Finding(MANIFEST, f"无法读取移交包或其清单：{exc}")]
    names = set(archive.namelist()) - {MANIFEST}
    findings = []
    for entry in manifest.get("files", []):
        path = entry["path"]
        if path not in names:
            findings.append(Finding(path, "缺失"))
            continue
        names.discard(path)
        try:
            body = archive.read(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:  # a damaged entry (CRC)
            findings.append(Finding(path, f"已损坏（{exc}）"))
            continue
        sha256, sm3 = digests(body)
        wrong = [
            name
            for name, a, b in (
                ("大小", len(body), entry["size"]),
                ("SHA-256", sha256, entry["sha256"]),
                ("SM3", sm3, entry["sm3"]),
            )
            if a != b
        ]
        if wrong:
            findings.append(Finding(path, f"已损坏：{'、'.join(wrong)}与清单不符"))
    for extra in sorted(names):
        findings.append(Finding(extra, "清单中没有这个文件"))
    return manifest, findings
