"""OFD (GB/T 33190-2016) renditions of archival PDFs: the same pages, text as text.

The PDF is read back with PDFium through pypdfium2 (characters with their origin, size, font
and colour; ruled lines and filled rectangles) and written as an OFD package: OFD.xml with the document
info (title, author, dates, and the archival description as custom data), Document.xml,
PublicRes.xml with the fonts — the app's own Noto-based faces, subset with HarfBuzz to the
characters used and embedded — and one Content.xml per page with a TextObject per run of text
and a PathObject per rule. Coordinates are millimetres from the top left, as OFD has them.
The same PDF and info give the same bytes.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import io
import math
import threading
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import uharfbuzz as hb

from exports import fonts

NS = "http://www.ofdspec.org/2016"
MM_PER_PT = 25.4 / 72
FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def _mm(value: float) -> str:
    text = f"{value * MM_PER_PT:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _color(r, g, b) -> str:
    return f"{r.value} {g.value} {b.value}"


@dataclass
class Run:
    font: str  # "Regular" or "Bold"
    size: float  # pt
    color: str
    x: float  # first origin, pt (PDF space)
    y: float  # baseline, pt
    text: list[str] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)


@dataclass
class Rule:
    points: list[tuple[float, float]]
    closed: bool
    stroke: str | None
    fill: str | None
    width: float


@dataclass
class Page:
    width: float
    height: float
    runs: list[Run]
    rules: list[Rule]


# PDFium is not thread-safe: one document at a time per process.
_PDFIUM = threading.Lock()


def _transform(m, x: float, y: float) -> tuple[float, float]:
    return (m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f)


def _rule(path) -> Rule | None:
    """A path object as a polyline in page space (curves by their end points)."""
    matrix = pdfium_c.FS_MATRIX()
    pdfium_c.FPDFPageObj_GetMatrix(path, matrix)
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDFPath_GetDrawMode(path, fill_mode, stroke)
    if not fill_mode.value and not stroke.value:
        return None  # a clipping path, drawn nowhere
    points: list[tuple[float, float]] = []
    closed = False
    x, y = ctypes.c_float(), ctypes.c_float()
    for index in range(pdfium_c.FPDFPath_CountSegments(path)):
        segment = pdfium_c.FPDFPath_GetPathSegment(path, index)
        pdfium_c.FPDFPathSegment_GetPoint(segment, x, y)
        points.append(_transform(matrix, x.value, y.value))
        closed = closed or bool(pdfium_c.FPDFPathSegment_GetClose(segment))
    if closed and len(points) > 2 and points[-1] == points[0]:
        points.pop()
    if len(points) < 2:
        return None
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    fill = stroke_color = None
    if fill_mode.value:
        pdfium_c.FPDFPageObj_GetFillColor(path, r, g, b, a)
        fill = _color(r, g, b)
    if stroke.value:
        pdfium_c.FPDFPageObj_GetStrokeColor(path, r, g, b, a)
        stroke_color = _color(r, g, b)
    width = ctypes.c_float(0.5)
    if stroke.value:
        pdfium_c.FPDFPageObj_GetStrokeWidth(path, width)
        width.value *= math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c))
    return Rule(points, closed or len(points) > 2, stroke_color, fill, width.value or 0.5)


def _runs(textpage) -> list[Run]:
    """The page's characters in content order, joined into runs of one font, size and colour."""
    runs: list[Run] = []
    matrix = pdfium_c.FS_MATRIX()
    x, y = ctypes.c_double(), ctypes.c_double()
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    name = ctypes.create_string_buffer(128)
    for index in range(pdfium_c.FPDFText_CountChars(textpage)):
        if pdfium_c.FPDFText_IsGenerated(textpage, index):
            continue
        text = chr(pdfium_c.FPDFText_GetUnicode(textpage, index))
        if not text.strip():
            continue
        pdfium_c.FPDFText_GetMatrix(textpage, index, matrix)
        pdfium_c.FPDFText_GetCharOrigin(textpage, index, x, y)
        pdfium_c.FPDFText_GetFontInfo(textpage, index, name, len(name), None)
        pdfium_c.FPDFText_GetFillColor(textpage, index, r, g, b, a)
        font = "Bold" if b"Bold" in name.value else "Regular"
        scale = math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c))
        size = round(pdfium_c.FPDFText_GetFontSize(textpage, index) * scale, 2)
        color = _color(r, g, b)
        last = runs[-1] if runs else None
        if (
            last is not None
            and (last.font, last.size, last.color) == (font, size, color)
            and abs(last.y - y.value) < 0.01
            and x.value > last.xs[-1]
        ):
            last.text.append(text)
            last.xs.append(x.value)
        else:
            runs.append(Run(font, size, color, x.value, y.value, [text], [x.value]))
    return runs


def read_pdf(pdf: bytes) -> list[Page]:
    """The PDF's pages as runs of text and rules, read by PDFium (Chrome's PDF engine)."""
    pages = []
    with _PDFIUM:
        document = pdfium.PdfDocument(pdf)
        try:
            for page in document:
                width, height = page.get_size()
                textpage = page.get_textpage()
                runs = _runs(textpage)
                rules = [
                    rule
                    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=1)
                    if (rule := _rule(obj.raw)) is not None
                ]
                pages.append(Page(float(width), float(height), runs, rules))
                textpage.close()
                page.close()
        finally:
            document.close()
    return pages


@functools.cache
def _face(style_name: str) -> hb.Face:
    """The app's face, loaded once per process (HarfBuzz faces are read-only, safe to share)."""
    path = next(f.path for f in fonts.FACES if f.style_name == style_name)
    return hb.Face(hb.Blob.from_file_path(str(path)))


def _subset_font(face: str, text: str) -> bytes:
    """The face cut to the characters of `text`, with its names and a drawn .notdef.

    HarfBuzz's subsetter (the one WeasyPrint uses for the PDF) takes a few milliseconds where
    fontTools took a quarter of a second per face; its output depends only on the font and
    the characters, so the same PDF still gives the same OFD bytes."""
    request = hb.SubsetInput()
    request.unicode_set.update(ord(char) for char in text)
    request.name_id_set.update(range(256))
    request.flags = hb.SubsetFlags.NOTDEF_OUTLINE
    return hb.subset(_face(face), request).blob.data


def _page_xml(page: Page, ids, font_ids: dict[str, int]) -> str:
    height = page.height
    box = f"0 0 {_mm(page.width)} {_mm(height)}"
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="{NS}"><ofd:Content>']
    parts.append(f'<ofd:Layer ID="{next(ids)}">')
    for rule in page.rules:
        points = [(_mm(x), _mm(height - y)) for x, y in rule.points]
        data = f"M {points[0][0]} {points[0][1]} " + " ".join(f"L {x} {y}" for x, y in points[1:])
        if rule.closed:
            data += " C"
        attrs = f' Stroke="{"true" if rule.stroke else "false"}" Fill="{"true" if rule.fill else "false"}"'
        parts.append(
            f'<ofd:PathObject ID="{next(ids)}" Boundary="{box}" LineWidth="{_mm(rule.width)}"{attrs}>'
            + (f'<ofd:FillColor Value="{rule.fill}"/>' if rule.fill else "")
            + (f'<ofd:StrokeColor Value="{rule.stroke}"/>' if rule.stroke else "")
            + f"<ofd:AbbreviatedData>{data}</ofd:AbbreviatedData></ofd:PathObject>"
        )
    for run in page.runs:
        deltas = " ".join(_mm(b - a) for a, b in zip(run.xs, run.xs[1:], strict=False))
        delta = f' DeltaX="{deltas}"' if deltas else ""
        parts.append(
            f'<ofd:TextObject ID="{next(ids)}" Boundary="{box}" Font="{font_ids[run.font]}" Size="{_mm(run.size)}"'
            + (' Weight="700"' if run.font == "Bold" else "")
            + f'><ofd:FillColor Value="{run.color}"/>'
            + f'<ofd:TextCode X="{_mm(run.x)}" Y="{_mm(height - run.y)}"{delta}>{escape("".join(run.text))}</ofd:TextCode>'
            + "</ofd:TextObject>"
        )
    parts.append("</ofd:Layer></ofd:Content></ofd:Page>")
    return "".join(parts)


def _counter(start: int = 1):
    n = start
    while True:
        yield n
        n += 1


def pdf_to_ofd(pdf: bytes, info: dict[str, str], custom: dict[str, str] | None = None) -> bytes:
    """An OFD package with the PDF's pages. `info`: title, author, subject, creation_date
    (YYYY-MM-DD), creator; `custom`: name → value (the archival description)."""
    pages = read_pdf(pdf)
    used = {"Regular": set(), "Bold": set()}
    for page in pages:
        for run in page.runs:
            used[run.font].update(run.text)
    ids = _counter(1)
    font_ids = {face: next(ids) for face in ("Regular", "Bold")}
    files: list[tuple[str, bytes]] = []
    font_xml = []
    for face, fid in font_ids.items():
        name = f"font_{fid}.otf"
        files.append((f"Doc_0/Res/{name}", _subset_font(face, "".join(sorted(used[face])) or "。")))
        font_xml.append(
            f'<ofd:Font ID="{fid}" FontName="{fonts.FAMILY}" FamilyName="{fonts.FAMILY}"'
            + (' Bold="true"' if face == "Bold" else "")
            + f"><ofd:FontFile>{name}</ofd:FontFile></ofd:Font>"
        )
    page_entries = []
    for n, page in enumerate(pages):
        pid = next(ids)
        page_entries.append(f'<ofd:Page ID="{pid}" BaseLoc="Pages/Page_{n}/Content.xml"/>')
        files.append((f"Doc_0/Pages/Page_{n}/Content.xml", _page_xml(page, ids, font_ids).encode()))
    first = pages[0] if pages else Page(595.28, 841.89, [], [])
    max_id = next(ids) - 1
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
        f"<ofd:MaxUnitID>{max_id}</ofd:MaxUnitID>"
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {_mm(first.width)} {_mm(first.height)}</ofd:PhysicalBox></ofd:PageArea>"
        "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
        f"<ofd:Pages>{''.join(page_entries)}</ofd:Pages></ofd:Document>"
    )
    public = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">'
        f"<ofd:Fonts>{''.join(font_xml)}</ofd:Fonts></ofd:Res>"
    )
    doc_id = hashlib.md5(pdf, usedforsecurity=False).hexdigest()
    custom_xml = "".join(
        f"<ofd:CustomData Name={quoteattr(k)}>{escape(v)}</ofd:CustomData>" for k, v in (custom or {}).items()
    )
    fields = [
        ("Title", "title"),
        ("Author", "author"),
        ("Subject", "subject"),
        ("CreationDate", "creation_date"),
        ("Creator", "creator"),
    ]
    info_xml = "".join(f"<ofd:{tag}>{escape(info[key])}</ofd:{tag}>" for tag, key in fields if info.get(key))
    ofd = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD">'
        f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>{doc_id}</ofd:DocID>{info_xml}"
        + (f"<ofd:CustomDatas>{custom_xml}</ofd:CustomDatas>" if custom_xml else "")
        + "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    entries = [
        ("OFD.xml", ofd.encode()),
        ("Doc_0/Document.xml", document.encode()),
        ("Doc_0/PublicRes.xml", public.encode()),
        *files,
    ]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries:
            entry = zipfile.ZipInfo(path, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data, compresslevel=6)
    return out.getvalue()
